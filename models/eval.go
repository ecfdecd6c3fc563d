package models

import (
	"fmt"
	"io"
	"slices"
)

// GroupFolds assigns each row a fold in [0, k): the sorted distinct groups
// (capture files) are dealt round-robin, so all rows of one capture fall in
// one fold. Flows of one capture share a host, an application and often a
// label; testing on captures not trained on is what says how a model does
// on traffic it has never seen. scripts/sklearn-eval.py deals the same way.
func GroupFolds(groups []string, k int) []int {
	names := slices.Clone(groups)
	slices.Sort(names)
	names = slices.Compact(names)
	fold := make(map[string]int, len(names))
	for i, g := range names {
		fold[g] = i % k
	}
	out := make([]int, len(groups))
	for i, g := range groups {
		out[i] = fold[g]
	}
	return out
}

// Report is a confusion matrix over the taxonomy and what follows from it.
type Report struct {
	// Confusion[true][predicted] counts rows; Unknown is a prediction
	// only (no model returns it for a full vector).
	Confusion [numClasses][numClasses]int
}

// Add counts one prediction.
func (r *Report) Add(truth, predicted Class) { r.Confusion[truth][predicted]++ }

// Rows is how many predictions were counted.
func (r *Report) Rows() int {
	n := 0
	for t := range r.Confusion {
		for p := range r.Confusion[t] {
			n += r.Confusion[t][p]
		}
	}
	return n
}

// Accuracy is the fraction of rows predicted right.
func (r *Report) Accuracy() float64 {
	right := 0
	for c := range r.Confusion {
		right += r.Confusion[c][c]
	}
	if n := r.Rows(); n > 0 {
		return float64(right) / float64(n)
	}
	return 0
}

// ClassScore is one class's precision, recall and F1 and how many rows
// truly are of it.
type ClassScore struct {
	Class                 Class
	Precision, Recall, F1 float64
	Support               int
}

// Scores lists every class that occurs in the truth, in taxonomy order.
func (r *Report) Scores() []ClassScore {
	var out []ClassScore
	for c := range Class(numClasses) {
		support, predicted := 0, 0
		for p := range r.Confusion[c] {
			support += r.Confusion[c][p]
		}
		for t := range r.Confusion {
			predicted += r.Confusion[t][c]
		}
		if support == 0 {
			continue
		}
		s := ClassScore{Class: c, Support: support}
		tp := float64(r.Confusion[c][c])
		s.Recall = tp / float64(support)
		if predicted > 0 {
			s.Precision = tp / float64(predicted)
		}
		if s.Precision+s.Recall > 0 {
			s.F1 = 2 * s.Precision * s.Recall / (s.Precision + s.Recall)
		}
		out = append(out, s)
	}
	return out
}

// MacroF1 is the unweighted mean F1 over the classes in the truth. In
// cross-validation every predicted class is also a true one, and it equals
// scikit-learn's f1_score(average="macro"); that also averages in a 0 for
// a class predicted but absent from the truth, which eval -m can meet.
func (r *Report) MacroF1() float64 {
	s := r.Scores()
	if len(s) == 0 {
		return 0
	}
	var sum float64
	for _, c := range s {
		sum += c.F1
	}
	return sum / float64(len(s))
}

// Print writes the per-class table and the totals.
func (r *Report) Print(w io.Writer) {
	fmt.Fprintf(w, "%-16s %9s %9s %9s %8s\n", "class", "precision", "recall", "f1", "flows")
	for _, s := range r.Scores() {
		fmt.Fprintf(w, "%-16s %9.3f %9.3f %9.3f %8d\n", s.Class, s.Precision, s.Recall, s.F1, s.Support)
	}
	fmt.Fprintf(w, "accuracy %.4f  macro-F1 %.4f  over %d flows\n", r.Accuracy(), r.MacroF1(), r.Rows())
}

// CrossValidate trains on all folds but one and tests on that one, for
// each of k folds from GroupFolds, and reports every held-out prediction.
func CrossValidate(d *Dataset, cfg TrainConfig, k int) (*Report, error) {
	if k < 2 {
		return nil, fmt.Errorf("%w: %d folds (need at least 2)", ErrTrain, k)
	}
	if len(d.Groups) != d.Rows() {
		return nil, fmt.Errorf("%w: %d captures named for %d rows", ErrTrain, len(d.Groups), d.Rows())
	}
	folds := GroupFolds(d.Groups, k)
	r := &Report{}
	for f := range k {
		var train, test []int
		for i, fi := range folds {
			if fi == f {
				test = append(test, i)
			} else {
				train = append(train, i)
			}
		}
		if len(test) == 0 || len(train) == 0 {
			continue // fewer captures than folds
		}
		m, err := Train(d.Subset(train), cfg)
		if err != nil {
			return nil, fmt.Errorf("fold %d: %w", f, err)
		}
		forest, err := m.Compile()
		if err != nil {
			return nil, fmt.Errorf("fold %d: %w", f, err)
		}
		for _, i := range test {
			c, _ := forest.Predict(d.Row(i))
			r.Add(d.Y[i], c)
		}
	}
	return r, nil
}

// Evaluate tests a trained forest on every row of d.
func Evaluate(f *Forest, d *Dataset) *Report {
	r := &Report{}
	for i := range d.Rows() {
		c, _ := f.Predict(d.Row(i))
		r.Add(d.Y[i], c)
	}
	return r
}
