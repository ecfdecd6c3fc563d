package models

import (
	"errors"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// splitTree is a stump on feature 1 at 0.5: left leaf 3 dns to 1 tor,
// right leaf 2 tor.
func splitTree() Tree {
	return Tree{
		Feature:   []int32{1, -1, -1},
		Threshold: []float32{0.5, 0, 0},
		Left:      []int32{1, 0, 1},
		Right:     []int32{2, -1, -1},
		Value:     [][]float32{{3, 1}, {0, 2}},
	}
}

func handFile(trees ...Tree) *File {
	return &File{Format: FileFormat, Version: FileVersion, Kind: "random_forest", Description: "by hand",
		Features: []string{"a", "b"}, Classes: []string{"dns", "tor"}, Trees: trees}
}

func TestPredictOneTree(t *testing.T) {
	f := mustCompile(t, handFile(splitTree()))
	if f.Trees() != 1 || f.Nodes() != 3 || f.Description() != "by hand" ||
		!reflect.DeepEqual(f.Features(), []string{"a", "b"}) || !reflect.DeepEqual(f.Classes(), []Class{DNS, Tor}) {
		t.Errorf("forest: %d trees, %d nodes, %q, features %q, classes %v",
			f.Trees(), f.Nodes(), f.Description(), f.Features(), f.Classes())
	}
	nan := float32(math.NaN())
	for _, c := range []struct {
		vec  []float32
		want Class
		conf float32
	}{
		{[]float32{0, 0.5}, DNS, 0.75}, // equal to the threshold goes left
		{[]float32{0, 0.6}, Tor, 1},
		{[]float32{0, nan}, Tor, 1},      // NaN fails <= and goes right
		{[]float32{nan, 0.4}, DNS, 0.75}, // an unused feature is never read
		{[]float32{0, 0.5, 9}, DNS, 0.75},
		{[]float32{0}, Unknown, 0}, // shorter than the schema
		{nil, Unknown, 0},
	} {
		c0, p := f.Predict(c.vec)
		if c0 != c.want || p != c.conf {
			t.Errorf("Predict(%v) = %v, %v, want %v, %v", c.vec, c0, p, c.want, c.conf)
		}
		want := Verdict{}
		if c.want != Unknown {
			want = Verdict{Class: c.want, Source: SourceModel, Confidence: c.conf}
		}
		if v := f.Verdict(c.vec); v != want {
			t.Errorf("Verdict(%v) = %+v, want %+v", c.vec, v, want)
		}
	}
}

func TestPredictAveragesTrees(t *testing.T) {
	// The second tree splits feature 0 at 1 and stores its leaves in the
	// other order than its nodes, so a wrong node or leaf offset in the
	// flattened arrays changes the answer.
	second := Tree{
		Feature:   []int32{0, -1, -1},
		Threshold: []float32{1, 0, 0},
		Left:      []int32{1, 1, 0},
		Right:     []int32{2, -1, -1},
		Value:     [][]float32{{0, 5}, {1, 1}},
	}
	f := mustCompile(t, handFile(splitTree(), second))
	if f.Trees() != 2 || f.Nodes() != 6 {
		t.Fatalf("%d trees, %d nodes, want 2, 6", f.Trees(), f.Nodes())
	}
	for _, c := range []struct {
		vec      []float32
		want     Class
		dns, tor float32
	}{
		{[]float32{0, 0.5}, DNS, 0.625, 0.375}, // (0.75 + 0.5) / 2
		{[]float32{0, 0.6}, Tor, 0.25, 0.75},   // (1 + 0.5) / 2
		{[]float32{2, 0.5}, Tor, 0.375, 0.625}, // (0.25 + 1) / 2
		{[]float32{2, 0.6}, Tor, 0, 1},
	} {
		c0, p := f.Predict(c.vec)
		want := max(c.dns, c.tor)
		if c0 != c.want || p != want {
			t.Errorf("Predict(%v) = %v, %v, want %v, %v", c.vec, c0, p, c.want, want)
		}
		if got := f.Proba(c.vec, nil); !reflect.DeepEqual(got, []float32{c.dns, c.tor}) {
			t.Errorf("Proba(%v) = %v, want [%v %v]", c.vec, got, c.dns, c.tor)
		}
	}
	// A tie goes to the class first in taxonomy order, as numpy's argmax
	// in scikit-learn's predict does.
	tie := Tree{Feature: []int32{-1}, Threshold: []float32{0}, Left: []int32{0}, Right: []int32{-1}, Value: [][]float32{{2, 2}}}
	if c, p := mustCompile(t, handFile(tie)).Predict([]float32{0, 0}); c != DNS || p != 0.5 {
		t.Errorf("tie: Predict = %v, %v, want dns, 0.5", c, p)
	}

	// Proba reuses a long enough dst and answers zeros for a short vector.
	dst := make([]float32, 0, 4)
	if got := f.Proba([]float32{0, 0.6}, dst); &got[0] != &dst[:1][0] {
		t.Error("Proba did not reuse dst")
	}
	if got := f.Proba([]float32{0}, []float32{7, 7, 7}); !reflect.DeepEqual(got, []float32{0, 0}) {
		t.Errorf("Proba of a short vector = %v, want [0 0]", got)
	}
}

var sinkClass Class
var sinkVerdict Verdict

// Predict runs on the live path once per flow and must not allocate.
func TestPredictZeroAlloc(t *testing.T) {
	d := synthetic(200, 8)
	f := mustCompile(t, mustTrain(t, d, TrainConfig{Trees: 10, Seed: 1}))
	i := 0
	allocs := testing.AllocsPerRun(100, func() {
		sinkClass, _ = f.Predict(d.Row(i % d.Rows()))
		i++
	})
	if allocs != 0 {
		t.Errorf("Predict: %v allocations, want 0", allocs)
	}
	allocs = testing.AllocsPerRun(100, func() {
		sinkVerdict = f.Verdict(d.Row(i % d.Rows()))
		i++
	})
	if allocs != 0 {
		t.Errorf("Verdict: %v allocations, want 0", allocs)
	}
}

// validModel is the File of splitTree as JSON; every case of
// TestReadCorrupt changes one thing in it.
const validModel = `{"format":"tunnelscope-model","version":1,"kind":"decision_tree",` +
	`"features":["a","b"],"classes":["dns","tor"],"trees":[` + validTree + `]}`

const validTree = `{"feature":[1,-1,-1],"threshold":[0.5,0,0],"left":[1,0,1],"right":[2,-1,-1],"value":[[3,1],[0,2]]}`

func TestReadValid(t *testing.T) {
	f, err := Read(strings.NewReader(validModel))
	if err != nil {
		t.Fatal(err)
	}
	want := mustCompile(t, handFile(splitTree()))
	for _, vec := range [][]float32{{0, 0.5}, {0, 0.6}, {0, -1}} {
		c, p := f.Predict(vec)
		wc, wp := want.Predict(vec)
		if c != wc || p != wp {
			t.Errorf("Predict(%v) = %v, %v; the same File compiled says %v, %v", vec, c, p, wc, wp)
		}
	}
	// Trailing white space is not data.
	if _, err := Read(strings.NewReader(validModel + "\n\n \t")); err != nil {
		t.Errorf("trailing white space: %v", err)
	}
}

func TestReadCorrupt(t *testing.T) {
	for _, c := range []struct {
		name     string
		old, new string // replaced once in validModel; old "" replaces it all
		want     string // in the error
	}{
		{"wrong format", `"tunnelscope-model"`, `"tunnelscope-modle"`, `format "tunnelscope-modle"`},
		{"no format", `"format":"tunnelscope-model",`, ``, `format ""`},
		{"newer version", `"version":1`, `"version":2`, "version 2"},
		{"unknown kind", `"decision_tree"`, `"gradient_boosting"`, `kind "gradient_boosting"`},
		{"unknown key", `"kind":`, `"depth":3,"kind":`, `unknown key "depth"`},
		{"unknown key in a tree", `"value":`, `"weight":[],"value":`, `tree 0: unknown key "weight"`},
		// encoding/json matches keys regardless of case; a model may not.
		{"key in another case", `"format":`, `"FORMAT":`, `unknown key "FORMAT"`},
		{"tree key in another case", `"value":`, `"Value":`, `tree 0: unknown key "Value"`},
		{"data after the object", validModel, validModel + ` {}`, "data after the model"},
		{"garbage after the object", validModel, validModel + `x`, "data after the model"},
		{"not JSON", validModel, "tunnelscope model v1", "invalid character"},
		{"empty", validModel, "", "EOF"},
		{"truncated", validModel, validModel[:len(validModel)/2], "unexpected EOF"},
		{"wrong type", `"version":1`, `"version":"1"`, "version"},
		{"threshold overflows float32", `"threshold":[0.5,`, `"threshold":[1e39,`, "float32"},
		{"no trees", `[` + validTree + `]`, `[]`, "no trees"},
		{"no features", `"features":["a","b"]`, `"features":[]`, "no features"},
		{"no classes", `"classes":["dns","tor"]`, `"classes":[]`, "no classes"},
		{"class outside the taxonomy", `"tor"`, `"gaming"`, `class "gaming" is not in the taxonomy`},
		{"class unknown", `"tor"`, `"unknown"`, `class "unknown" is not in the taxonomy`},
		{"class twice", `["dns","tor"]`, `["tor","tor"]`, `class "tor" listed twice`},
		{"tree without nodes", validTree, `{"feature":[],"threshold":[],"left":[],"right":[],"value":[]}`, "tree 0: no nodes"},
		{"node arrays differ", `"threshold":[0.5,0,0]`, `"threshold":[0.5,0]`, "node arrays differ in length"},
		{"child before its parent", `"left":[1,0,1]`, `"left":[0,0,1]`, "node 0: children 0 and 2 must follow it"},
		{"child out of range", `"right":[2,-1,-1]`, `"right":[3,-1,-1]`, "node 0: children 1 and 3 must follow it within 3 nodes"},
		{"node with two parents", `"right":[2,-1,-1]`, `"right":[1,-1,-1]`, "node 0: child 1 or 1 has another parent"},
		{"leaf index out of range", `"left":[1,0,1]`, `"left":[1,0,2]`, "leaf node 2: feature -1, leaf 2 of 2"},
		{"negative leaf index", `"left":[1,0,1]`, `"left":[1,-1,1]`, "leaf node 1: feature -1, leaf -1 of 2"},
		{"feature out of range", `"feature":[1,`, `"feature":[2,`, "node 0: feature 2 of 2"},
		{"feature below -1", `"feature":[1,-1,-1]`, `"feature":[1,-2,-1]`, "leaf node 1: feature -2"},
		{"leaf with a value too many", `[0,2]`, `[0,2,1]`, "leaf 1 has 3 values for 2 classes"},
		{"leaf with a value too few", `[3,1]`, `[3]`, "leaf 0 has 1 values for 2 classes"},
		{"negative value", `[3,1]`, `[3,-1]`, "leaf 0 has value -1"},
		{"leaf without weight", `[0,2]`, `[0,0]`, "leaf 1 has no weight"},
		{"weights overflow float32 together", `[3,1]`, `[3e38,3e38]`, "leaf 0 has no weight"},
		// A NaN threshold cannot be written in JSON; compile checks it anyway.
	} {
		text := strings.Replace(validModel, c.old, c.new, 1)
		if c.old == validModel {
			text = c.new
		} else if n := strings.Count(validModel, c.old); n != 1 {
			t.Fatalf("%s: %q occurs %d times in the valid model", c.name, c.old, n)
		}
		f, err := Read(strings.NewReader(text))
		if !errors.Is(err, ErrCorruptModel) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Read(%s) = %v, want an ErrCorruptModel mentioning %q", c.name, text, err, c.want)
		}
		if f != nil {
			t.Errorf("%s: Read returned a forest with its error", c.name)
		}
	}
}

// A stray closing bracket after the model is data after the model too;
// json.Decoder.More reports false before ']' and '}', so Read once took it.
func TestReadTrailingBracket(t *testing.T) {
	for _, tail := range []string{"}", "]", " ]]", "]]]garbage"} {
		if _, err := Read(strings.NewReader(validModel + tail)); !errors.Is(err, ErrCorruptModel) {
			t.Errorf("model followed by %q: %v, want ErrCorruptModel", tail, err)
		}
	}
}

func TestCompileNaNThreshold(t *testing.T) {
	tr := splitTree()
	tr.Threshold[0] = float32(math.NaN())
	if _, err := handFile(tr).Compile(); !errors.Is(err, ErrCorruptModel) || !strings.Contains(err.Error(), "threshold is NaN") {
		t.Errorf("Compile with a NaN threshold: %v", err)
	}
	tr = splitTree()
	tr.Value[1][0] = float32(math.Inf(1))
	if _, err := handFile(tr).Compile(); !errors.Is(err, ErrCorruptModel) || !strings.Contains(err.Error(), "leaf 1 has value +Inf") {
		t.Errorf("Compile with an infinite weight: %v", err)
	}
}

func TestSaveLoad(t *testing.T) {
	d := synthetic(300, 9)
	m := mustTrain(t, d, TrainConfig{Trees: 7, Seed: 3})
	m.Description = "synthetic, 7 trees"
	dir := t.TempDir()
	path := filepath.Join(dir, "model.json")
	if err := m.Save(path); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("Save left %d files in its directory, want 1", len(entries))
	}
	loaded, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	trained := mustCompile(t, m)
	if loaded.Description() != m.Description || loaded.Nodes() != trained.Nodes() {
		t.Errorf("loaded %q with %d nodes, trained %q with %d", loaded.Description(), loaded.Nodes(), m.Description, trained.Nodes())
	}
	// Thresholds are float32 and JSON keeps them exactly, so the saved
	// model must agree with the trained one to the last bit, also off the
	// training rows.
	check := func(vec []float32) {
		c, p := loaded.Predict(vec)
		wc, wp := trained.Predict(vec)
		if c != wc || p != wp {
			t.Errorf("Predict(%v): loaded %v, %v; trained %v, %v", vec, c, p, wc, wp)
		}
	}
	for i := range d.Rows() {
		check(d.Row(i))
	}
	held := synthetic(300, 10)
	for i := range held.Rows() {
		check(held.Row(i))
	}

	// Overwriting replaces the file whole.
	m.Description = "second"
	if err := m.Save(path); err != nil {
		t.Fatal(err)
	}
	if f, err := Load(path); err != nil || f.Description() != "second" {
		t.Errorf("after a second Save: %v, %v", f, err)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.json")
	if _, err := Load(missing); err == nil || !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Errorf("Load(missing) = %v, want a not-exist error naming the path", err)
	}
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(strings.Replace(validModel, `"version":1`, `"version":2`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(bad); !errors.Is(err, ErrCorruptModel) || !strings.Contains(err.Error(), bad) {
		t.Errorf("Load(corrupt) = %v, want an ErrCorruptModel naming the path", err)
	}
	if err := handFile(splitTree()).Save(filepath.Join(dir, "no", "such", "dir.json")); err == nil {
		t.Error("Save into a missing directory succeeded")
	}
}

func TestCheckSchema(t *testing.T) {
	for _, c := range []struct {
		name       string
		have, want []string
		errs       []string // in the error; nil: no error
	}{
		{"equal", []string{"a", "b", "c"}, []string{"a", "b", "c"}, nil},
		{"both empty", nil, []string{}, nil},
		{"renamed", []string{"a", "b", "c"}, []string{"a", "x", "c"}, []string{"feature 1", `"b"`, `"x"`}},
		{"reordered", []string{"a", "b"}, []string{"b", "a"}, []string{"feature 0", `"a"`, `"b"`}},
		{"one more here", []string{"a", "b"}, []string{"a", "b", "c"}, []string{"2 features there, 3 here"}},
		{"one more there", []string{"a", "b", "c"}, []string{"a", "b"}, []string{"3 features there, 2 here"}},
	} {
		err := CheckSchema(c.have, c.want)
		if c.errs == nil {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		if !errors.Is(err, ErrSchema) {
			t.Errorf("%s: %v, want ErrSchema", c.name, err)
			continue
		}
		for _, s := range c.errs {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("%s: %q does not mention %s", c.name, err, s)
			}
		}
	}
	f := mustCompile(t, handFile(splitTree()))
	if err := f.CheckSchema([]string{"a", "b"}); err != nil {
		t.Errorf("Forest.CheckSchema of its own features: %v", err)
	}
	if err := f.CheckSchema([]string{"a", "c"}); !errors.Is(err, ErrSchema) {
		t.Errorf("Forest.CheckSchema of other features: %v", err)
	}
}

// A file that calls itself a decision tree holds one tree.
func TestReadDecisionTreeOfOneTree(t *testing.T) {
	i := strings.Index(validModel, `"trees":[`) + len(`"trees":[`)
	tree := validModel[i:strings.LastIndex(validModel, "]")]
	two := validModel[:i] + tree + "," + tree + "]}"
	if _, err := Read(strings.NewReader(two)); !errors.Is(err, ErrCorruptModel) || !strings.Contains(err.Error(), "decision_tree with 2 trees") {
		t.Errorf("decision_tree with two trees: %v", err)
	}
	forest := strings.Replace(two, `"decision_tree"`, `"random_forest"`, 1)
	if _, err := Read(strings.NewReader(forest)); err != nil {
		t.Errorf("the same trees as a random_forest: %v", err)
	}
}

// fileProba walks m's trees one at a time, straight from the file's
// arrays, as a reference for the compiled forest's interleaved walks.
func fileProba(m *File, vec []float32) []float32 {
	p := make([]float32, len(m.Classes))
	scale := 1 / float32(len(m.Trees))
	for _, t := range m.Trees {
		i := int32(0)
		for t.Feature[i] >= 0 {
			if vec[t.Feature[i]] <= t.Threshold[i] {
				i = t.Left[i]
			} else {
				i = t.Right[i]
			}
		}
		v := t.Value[t.Left[i]]
		var sum float32
		for _, x := range v {
			sum += x
		}
		for k, x := range v {
			p[k] += x / sum * scale
		}
	}
	return p
}

// The compiled forest walks trees in groups, pads the last group and lays
// nodes out anew; none of that may change a single probability, for any
// tree count (padded or not) and any value, NaN included.
func TestProbaMatchesFile(t *testing.T) {
	d := synthetic(400, 7)
	rng := rand.New(rand.NewPCG(3, 4))
	for _, trees := range []int{1, 2, 3, 4, 5, 7, 8, 9} {
		m, err := Train(d, TrainConfig{Trees: trees, MaxDepth: 6, Seed: uint64(trees)})
		if err != nil {
			t.Fatal(err)
		}
		f := mustCompile(t, m)
		if f.Trees() != trees {
			t.Errorf("%d trees compiled as %d", trees, f.Trees())
		}
		nodes := 0
		for _, tr := range m.Trees {
			nodes += len(tr.Feature)
		}
		if f.Nodes() != nodes {
			t.Errorf("%d trees: %d nodes compiled, the file has %d", trees, f.Nodes(), nodes)
		}
		vec := make([]float32, len(d.Features))
		for r := range 300 {
			for j := range vec {
				switch {
				case r%50 == 0 && j%3 == 0:
					vec[j] = float32(math.NaN())
				case r < 150:
					vec[j] = d.Row(r)[j] // on the training data: thresholds lie between its values
				default:
					vec[j] = float32(rng.NormFloat64() * 4)
				}
			}
			want := fileProba(m, vec)
			if got := f.Proba(vec, nil); !reflect.DeepEqual(got, want) {
				t.Fatalf("%d trees, vector %d: Proba = %v, walking the file gives %v", trees, r, got, want)
			}
		}
	}
}
