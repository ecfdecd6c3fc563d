package main

import (
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/tunnelscope/tunnelscope/internal/reference"
	"github.com/tunnelscope/tunnelscope/models"
)

var (
	sharedCSVOnce sync.Once
	sharedCSV     string
)

// sharedFeatures extracts the labelled end-of-flow vectors of every shared
// capture once per test binary and returns the CSV's path.
func sharedFeatures(t *testing.T) string {
	t.Helper()
	data, err := reference.SharedData(".")
	if err != nil {
		t.Fatal(err)
	}
	sharedCSVOnce.Do(func() {
		caps, err := reference.Captures(data)
		if err != nil {
			t.Fatal(err)
		}
		dir, err := os.MkdirTemp("", "tunnelscope-features-")
		if err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(dir, "features.csv")
		args := append([]string{"extract", "-c", writeTestConfig(t), "--labels", filepath.Join(data, "flows.csv"), "-o", out}, caps...)
		if code, _, errOut := run(t, args...); code != 0 {
			t.Fatalf("extract: %d %s", code, errOut)
		}
		sharedCSV = out
	})
	if sharedCSV == "" {
		t.Fatal("extracting the shared captures failed")
	}
	return sharedCSV
}

// TestAccuracyMatchesScikitLearn cross-validates our decision tree and
// random forest and scikit-learn's on the same labelled flows and the same
// folds (captures dealt round-robin), and requires the accuracies and
// macro-F1 scores to agree: ours may not be much worse (a bug in the split
// search) nor much better (a leak of test flows into training).
func TestAccuracyMatchesScikitLearn(t *testing.T) {
	csv := sharedFeatures(t)
	d, err := models.LoadDataset(csv)
	if err != nil {
		t.Fatal(err)
	}
	const folds, trees, seed = 5, 100, 1
	type score struct {
		Accuracy float64 `json:"accuracy"`
		MacroF1  float64 `json:"macro_f1"`
	}
	type reference struct {
		DecisionTree score `json:"decision_tree"`
		RandomForest score `json:"random_forest"`
		Rows         int   `json:"rows"`
	}
	sklearn := func(extra ...string) reference {
		args := append([]string{"../../scripts/sklearn-eval.py", csv, "--folds", "5", "--trees", "100", "--seed", "1"}, extra...)
		cmd := exec.Command("/usr/bin/python3", args...)
		cmd.Stderr = os.Stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("scripts/sklearn-eval.py (needs python3-sklearn; make test installs it): %v", err)
		}
		var ref reference
		if err := json.Unmarshal(out, &ref); err != nil {
			t.Fatalf("sklearn-eval output %q: %v", out, err)
		}
		if ref.Rows != d.Rows() {
			t.Fatalf("scikit-learn read %d labelled rows, we read %d", ref.Rows, d.Rows())
		}
		return ref
	}
	plain, balanced := sklearn(), sklearn("--balanced")
	for _, c := range []struct {
		name string
		cfg  models.TrainConfig
		ref  score
	}{
		{"decision tree", models.TrainConfig{Trees: 1, Seed: seed}, plain.DecisionTree},
		{"random forest", models.TrainConfig{Trees: trees, Seed: seed}, plain.RandomForest},
		{"balanced random forest", models.TrainConfig{Trees: trees, Seed: seed, Balanced: true}, balanced.RandomForest},
	} {
		r, err := models.CrossValidate(d, c.cfg, folds)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s on %d flows, %d folds by capture: accuracy %.4f (scikit-learn %.4f), macro-F1 %.4f (scikit-learn %.4f)",
			c.name, d.Rows(), folds, r.Accuracy(), c.ref.Accuracy, r.MacroF1(), c.ref.MacroF1)
		// Both draw features and bootstrap rows at random with their own
		// generators, so scores differ by chance: over seeds 1-5 each
		// side's scores spread by up to 0.05 on these flows.
		const tol = 0.06
		if d := r.Accuracy() - c.ref.Accuracy; math.Abs(d) > tol {
			t.Errorf("%s: accuracy %.4f vs scikit-learn %.4f", c.name, r.Accuracy(), c.ref.Accuracy)
		}
		if d := r.MacroF1() - c.ref.MacroF1; math.Abs(d) > tol {
			t.Errorf("%s: macro-F1 %.4f vs scikit-learn %.4f", c.name, r.MacroF1(), c.ref.MacroF1)
		}
	}
}

// TestClassifyWithModel trains a model with the command, classifies with
// it and checks every record carries the model's verdict, which must be
// the forest's prediction for that flow's extracted vector.
func TestClassifyWithModel(t *testing.T) {
	csv := sharedFeatures(t)
	model := filepath.Join(t.TempDir(), "model.json")
	code, out, errOut := run(t, "train", "-i", csv, "-o", model, "--trees", "10", "--max-depth", "8")
	if code != 0 {
		t.Fatalf("train: %d %s", code, errOut)
	}
	if !strings.Contains(out, "10 trees") {
		t.Errorf("train said %q", out)
	}
	data, err := reference.SharedData(".")
	if err != nil {
		t.Fatal(err)
	}
	tor := filepath.Join(data, "pcap", "tor.pcap")
	recs := classifyRecords(t, []string{"-m", model}, tor)
	f, err := models.Load(model)
	if err != nil {
		t.Fatal(err)
	}
	// The vectors of the same flows, in the same order, from extract.
	vecs := filepath.Join(t.TempDir(), "tor.csv")
	if code, _, errOut := run(t, "extract", "-c", writeTestConfig(t), "-o", vecs, tor); code != 0 {
		t.Fatalf("extract: %d %s", code, errOut)
	}
	rows := readCSV(t, vecs)[1:]
	if len(rows) != len(recs) {
		t.Fatalf("%d records, %d vectors", len(recs), len(rows))
	}
	for i, r := range recs {
		vec := make([]float32, 0, len(rows[i])-8)
		for _, s := range rows[i][7 : len(rows[i])-1] {
			v, err := parseFloat32(s)
			if err != nil {
				t.Fatal(err)
			}
			vec = append(vec, v)
		}
		want, conf := f.Predict(vec)
		if r.Verdict.Source != "model" || r.Verdict.Class != want.String() || math.Abs(r.Verdict.Confidence-float64(conf)) > 1e-6 {
			t.Errorf("flow %d (%s:%d-%s:%d): verdict %+v, the model says %s %.6f", i, r.Src, r.Sport, r.Dst, r.Dport, r.Verdict, want, conf)
		}
	}
}

// TestBadModelIsUsageError: a model that cannot be used stops the command
// before any capture is read, with a message naming the file and the fault.
func TestBadModelIsUsageError(t *testing.T) {
	dir := t.TempDir()
	corrupt := filepath.Join(dir, "corrupt.json")
	os.WriteFile(corrupt, []byte(`{"format":"tunnelscope-model","version":1,"kind":"random_forest","features":["x"],"classes":["tor"],"trees":[]}`), 0o644)
	other := filepath.Join(dir, "other-schema.json")
	os.WriteFile(other, []byte(`{"format":"tunnelscope-model","version":1,"kind":"decision_tree","features":["x"],"classes":["tor"],
		"trees":[{"feature":[-1],"threshold":[0],"left":[0],"right":[-1],"value":[[1]]}]}`), 0o644)
	for _, c := range []struct{ path, want string }{
		{filepath.Join(dir, "missing.json"), "no such file"},
		{corrupt, "no trees"},
		{other, "feature schema differs"},
	} {
		code, _, errOut := run(t, "classify", "-m", c.path, "-o", filepath.Join(dir, "out.jsonl"), "../../sample/tor.pcap")
		if code != 2 || !strings.Contains(errOut, c.path) || !strings.Contains(errOut, c.want) {
			t.Errorf("classify -m %s: exit %d, %q; want exit 2 naming the file and %q", c.path, code, errOut, c.want)
		}
	}
}

func parseFloat32(s string) (float32, error) {
	v, err := strconv.ParseFloat(s, 32)
	return float32(v), err
}

// The shipped model must load in this build: a change to the feature
// schema without `make model` would break `make run` and every user's
// config that names it.
func TestShippedModelLoads(t *testing.T) {
	f, err := loadModel("../../configs/model.json")
	if err != nil {
		t.Fatalf("%v (run make model)", err)
	}
	if f.Trees() < 1 || len(f.Classes()) < 2 {
		t.Fatalf("shipped model has %d trees and classes %v", f.Trees(), f.Classes())
	}
}

// eval -m tests a saved model as it is: training flags beside it would be
// ignored silently, so they are refused.
func TestEvalModelRefusesTrainingFlags(t *testing.T) {
	code, _, errOut := run(t, "eval", "-i", "features.csv", "-m", "model.json", "--trees", "5", "--balanced")
	if code != 2 || !strings.Contains(errOut, "--balanced, --trees apply to cross-validation") {
		t.Errorf("eval -m --trees --balanced: exit %d, %q", code, errOut)
	}
}

// compile writes the compiled form of a model; classify with it gives
// the records the JSON form gives, and a damaged model is refused naming
// the file.
func TestCompileCommand(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "model.tsm")
	code, stdout, errOut := run(t, "compile", "-m", "../../configs/model.json", "-o", out)
	if code != 0 || !strings.Contains(stdout, out+": 16 trees") {
		t.Fatalf("compile: exit %d, %q %q", code, stdout, errOut)
	}
	records := func(model string) string {
		t.Helper()
		path := filepath.Join(dir, filepath.Base(model)+".jsonl")
		if code, _, errOut := run(t, "classify", "-m", model, "-o", path, "../../sample/tor.pcap"); code != 0 {
			t.Fatalf("classify -m %s: exit %d, %s", model, code, errOut)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if a, b := records("../../configs/model.json"), records(out); a != b || !strings.Contains(a, `"source":"model"`) {
		t.Errorf("records with the compiled model differ from the JSON model's, or carry no verdict:\n%s\n%s", a, b)
	}

	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-1] ^= 0xff
	bad := filepath.Join(dir, "bad.tsm")
	if err := os.WriteFile(bad, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := run(t, "compile", "-m", bad, "-o", filepath.Join(dir, "x.tsm")); code != 1 ||
		!strings.Contains(errOut, "model "+bad+": corrupt model file: compiled: checksum") {
		t.Errorf("compile of a damaged model: exit %d, %q", code, errOut)
	}
	if code, _, _ := run(t, "compile", "-m", out); code != 2 {
		t.Errorf("compile without -o: exit %d, want 2", code)
	}
}
