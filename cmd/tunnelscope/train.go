package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/tunnelscope/tunnelscope/features"
	"github.com/tunnelscope/tunnelscope/models"
)

// trainFlags are the tree-growing flags train and eval share.
type trainFlags struct {
	cfg models.TrainConfig
}

func (t *trainFlags) register(fs *flagSet) {
	fs.intVar(&t.cfg.Trees, "trees", 100, "trees: 1 grows one decision tree on all features, more a random forest")
	fs.intVar(&t.cfg.MaxDepth, "max-depth", 0, "deepest level of a tree; 0 grows until leaves are pure")
	fs.intVar(&t.cfg.MinLeaf, "min-leaf", 1, "fewest flows in a leaf")
	fs.intVar(&t.cfg.MaxFeatures, "max-features", 0, "features drawn per split; 0: sqrt(features) for a forest, all for one tree")
	fs.Uint64Var(&t.cfg.Seed, "seed", 1, "random seed: the same seed and data give the same model")
	fs.BoolVar(&t.cfg.Balanced, "balanced", false, "weigh classes inversely to their frequency (scikit-learn's class_weight=\"balanced\")")
}

func (t *trainFlags) describe() string {
	return fmt.Sprintf("trees=%d max-depth=%d min-leaf=%d max-features=%d seed=%d balanced=%v",
		t.cfg.Trees, t.cfg.MaxDepth, t.cfg.MinLeaf, t.cfg.MaxFeatures, t.cfg.Seed, t.cfg.Balanced)
}

// loadDataset reads -i and checks that its features are this build's.
func loadDataset(path string) (*models.Dataset, error) {
	d, err := models.LoadDataset(path)
	if err != nil {
		return nil, err
	}
	if err := models.CheckSchema(d.Features, features.Schema()); err != nil {
		return nil, fmt.Errorf("%s: %w (extract it again with this build)", path, err)
	}
	return d, nil
}

func runTrain(args []string, stdout, stderr io.Writer) int {
	var in, out string
	var tf trainFlags
	fs := newFlagSet("train", "-i FEATURES.csv -o MODEL.json [--trees N] [--max-depth D] [--min-leaf N] [--max-features N] [--seed S] [--balanced]",
		"Grows a random forest (or, with --trees 1, a decision tree) on the labelled rows\n"+
			"of a CSV written by 'extract --labels', and saves it for classify -m and run -m.", stderr)
	fs.stringVar(&in, "i", "in", "", "feature CSV from 'tunnelscope extract --labels'")
	fs.stringVar(&out, "o", "out", "", "model file to write")
	tf.register(fs)
	pos, code, ok := fs.parse(args)
	if !ok {
		return code
	}
	if in == "" || out == "" || len(pos) > 0 {
		fmt.Fprintln(stderr, "tunnelscope train: need -i FEATURES.csv and -o MODEL.json, and nothing else")
		fs.Usage()
		return 2
	}
	d, err := loadDataset(in)
	if err != nil {
		fmt.Fprintf(stderr, "tunnelscope train: %v\n", err)
		return 1
	}
	start := time.Now()
	m, err := models.Train(d, tf.cfg)
	if err != nil {
		fmt.Fprintf(stderr, "tunnelscope train: %v\n", err)
		return 2
	}
	m.Description = fmt.Sprintf("tunnelscope %s train %s on %d flows of %s", version, tf.describe(), d.Rows(), in)
	f, err := m.Compile()
	if err != nil {
		fmt.Fprintf(stderr, "tunnelscope train: %v\n", err)
		return 1
	}
	if err := m.Save(out); err != nil {
		fmt.Fprintf(stderr, "tunnelscope train: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: %d trees, %d nodes, %d classes (%s), trained on %d flows in %.1fs; accuracy on its own training flows %.4f\n",
		out, f.Trees(), f.Nodes(), len(f.Classes()), classList(f.Classes()), d.Rows(), time.Since(start).Seconds(),
		models.Evaluate(f, d).Accuracy())
	return 0
}

func runEval(args []string, stdout, stderr io.Writer) int {
	var in, model string
	var folds int
	var tf trainFlags
	fs := newFlagSet("eval", "-i FEATURES.csv [-m MODEL | --folds K [training flags]]",
		"With -m, tests a saved model on the labelled rows of FEATURES.csv. Without,\n"+
			"cross-validates: the captures are dealt into K folds, and each fold is\n"+
			"predicted by a model grown on the others, so no flow is tested by a model\n"+
			"that saw its capture. Prints per-class precision, recall and F1.", stderr)
	fs.stringVar(&in, "i", "in", "", "feature CSV from 'tunnelscope extract --labels'")
	fs.stringVar(&model, "m", "model", "", "saved model to test (no cross-validation)")
	fs.intVar(&folds, "folds", 5, "cross-validation folds, grouped by capture file")
	tf.register(fs)
	pos, code, ok := fs.parse(args)
	if !ok {
		return code
	}
	if in == "" || len(pos) > 0 {
		fmt.Fprintln(stderr, "tunnelscope eval: need -i FEATURES.csv, and no other arguments")
		fs.Usage()
		return 2
	}
	if model != "" {
		// A saved model is tested as it is: growing flags would be ignored.
		var ignored []string
		fs.Visit(func(f *flag.Flag) {
			if f.Name != "i" && f.Name != "in" && f.Name != "m" && f.Name != "model" {
				ignored = append(ignored, "--"+f.Name)
			}
		})
		if len(ignored) > 0 {
			fmt.Fprintf(stderr, "tunnelscope eval: %s apply to cross-validation, not to a saved model (-m)\n", strings.Join(ignored, ", "))
			return 2
		}
	}
	d, err := loadDataset(in)
	if err != nil {
		fmt.Fprintf(stderr, "tunnelscope eval: %v\n", err)
		return 1
	}
	var r *models.Report
	if model != "" {
		f, err := loadModel(model)
		if err != nil {
			fmt.Fprintf(stderr, "tunnelscope eval: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "model %s on %d flows of %s\n", model, d.Rows(), in)
		r = models.Evaluate(f, d)
	} else {
		fmt.Fprintf(stdout, "%d-fold cross-validation by capture, %s, on %d flows of %s\n", folds, tf.describe(), d.Rows(), in)
		if r, err = models.CrossValidate(d, tf.cfg, folds); err != nil {
			fmt.Fprintf(stderr, "tunnelscope eval: %v\n", err)
			return 2
		}
	}
	r.Print(stdout)
	return 0
}

func runCompile(args []string, stdout, stderr io.Writer) int {
	var in, out string
	fs := newFlagSet("compile", "-m MODEL -o MODEL.tsm",
		"Writes a model (JSON from 'train', or compiled) in the compiled form: the\n"+
			"forest's arrays as classify and run use them, which they load in a tenth\n"+
			"of a millisecond instead of parsing JSON. -m takes either form everywhere.\n"+
			"A compiled file is read only by builds of its version: keep the JSON.", stderr)
	fs.stringVar(&in, "m", "model", "", "model file to compile")
	fs.stringVar(&out, "o", "out", "", "compiled model file to write")
	pos, code, ok := fs.parse(args)
	if !ok {
		return code
	}
	if in == "" || out == "" || len(pos) > 0 {
		fmt.Fprintln(stderr, "tunnelscope compile: need -m MODEL and -o FILE, and nothing else")
		fs.Usage()
		return 2
	}
	f, err := loadModel(in)
	if err == nil {
		err = f.SaveCompiled(out)
	}
	if err != nil {
		fmt.Fprintf(stderr, "tunnelscope compile: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: %d trees, %d nodes, %d classes, compiled from %s\n", out, f.Trees(), f.Nodes(), len(f.Classes()), in)
	return 0
}

func classList(cs []models.Class) string {
	names := make([]string, len(cs))
	for i, c := range cs {
		names[i] = c.String()
	}
	return strings.Join(names, " ")
}
