package models

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
)

func TestGroupFolds(t *testing.T) {
	for _, c := range []struct {
		groups []string
		k      int
		want   []int
	}{
		// Sorted, the groups are a, b, c: dealt 0, 1, 0.
		{[]string{"c", "a", "b", "a"}, 2, []int{0, 0, 1, 0}},
		{[]string{"c", "a", "b", "a"}, 3, []int{2, 0, 1, 0}},
		// More folds than groups leaves folds empty.
		{[]string{"x", "x"}, 5, []int{0, 0}},
		{nil, 2, []int{}},
	} {
		if got := GroupFolds(c.groups, c.k); !reflect.DeepEqual(got, c.want) {
			t.Errorf("GroupFolds(%q, %d) = %v, want %v", c.groups, c.k, got, c.want)
		}
	}
	d := synthetic(100, 11)
	folds := GroupFolds(d.Groups, 3)
	fold := map[string]int{}
	for i, g := range d.Groups {
		if f, ok := fold[g]; ok && f != folds[i] {
			t.Errorf("group %s is in folds %d and %d", g, f, folds[i])
		}
		fold[g] = folds[i]
	}
	if len(fold) != 10 {
		t.Errorf("%d groups, want 10", len(fold))
	}
}

// report is a confusion over three classes and a miss:
//
//	truth \ predicted  dns  tor  voip  unknown
//	dns                  6    2     0        0
//	tor                  1    3     0        0
//	voip                 1    0     1        1
func report() *Report {
	r := &Report{}
	add := func(truth, predicted Class, n int) {
		for range n {
			r.Add(truth, predicted)
		}
	}
	add(DNS, DNS, 6)
	add(DNS, Tor, 2)
	add(Tor, DNS, 1)
	add(Tor, Tor, 3)
	add(VoIP, DNS, 1)
	add(VoIP, VoIP, 1)
	add(VoIP, Unknown, 1)
	return r
}

func TestReport(t *testing.T) {
	r := report()
	if r.Rows() != 15 {
		t.Errorf("%d rows, want 15", r.Rows())
	}
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-12 }
	// 6 + 3 + 1 right of 15; an Unknown prediction is a wrong one.
	if got := r.Accuracy(); !near(got, 10.0/15) {
		t.Errorf("accuracy %v, want 2/3", got)
	}
	want := []ClassScore{
		// voip: 1 of 1 predicted is right, 1 of 3 found: F1 = 2(1)(1/3)/(4/3) = 1/2.
		{Class: VoIP, Precision: 1, Recall: 1.0 / 3, F1: 0.5, Support: 3},
		// dns: 6 of 8 predicted, 6 of 8 found: F1 = 3/4.
		{Class: DNS, Precision: 0.75, Recall: 0.75, F1: 0.75, Support: 8},
		// tor: 3 of 5 predicted, 3 of 4 found: F1 = 2(3/5)(3/4)/(27/20) = 2/3.
		{Class: Tor, Precision: 0.6, Recall: 0.75, F1: 2.0 / 3, Support: 4},
	}
	got := r.Scores()
	if len(got) != len(want) {
		t.Fatalf("scores %+v, want %+v", got, want)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Class != w.Class || g.Support != w.Support || !near(g.Precision, w.Precision) ||
			!near(g.Recall, w.Recall) || !near(g.F1, w.F1) {
			t.Errorf("score %d = %+v, want %+v", i, g, w)
		}
	}
	// (1/2 + 3/4 + 2/3) / 3 = 23/36: unknown is no class of the truth.
	if got := r.MacroF1(); !near(got, 23.0/36) {
		t.Errorf("macro-F1 %v, want 23/36", got)
	}
	var b strings.Builder
	r.Print(&b)
	for _, s := range []string{"voip", "dns", "tor", "accuracy 0.6667", "macro-F1 0.6389", "over 15 flows"} {
		if !strings.Contains(b.String(), s) {
			t.Errorf("Print does not say %q:\n%s", s, b.String())
		}
	}
	if strings.Contains(b.String(), "unknown") {
		t.Errorf("Print lists unknown, which no row truly is:\n%s", b.String())
	}

	// A class never predicted has precision 0 rather than NaN, and F1 0.
	var never Report
	never.Add(Tor, DNS)
	never.Add(DNS, DNS)
	for _, s := range never.Scores() {
		if s.Class == Tor && (s.Precision != 0 || s.Recall != 0 || s.F1 != 0) {
			t.Errorf("tor never predicted: %+v", s)
		}
	}

	var empty Report
	if empty.Rows() != 0 || empty.Accuracy() != 0 || empty.MacroF1() != 0 || empty.Scores() != nil {
		t.Error("an empty report must score 0 and list no class")
	}
}

func TestCrossValidate(t *testing.T) {
	d := synthetic(300, 12)
	for _, k := range []int{1, 0, -3} {
		if r, err := CrossValidate(d, TrainConfig{Trees: 1}, k); !errors.Is(err, ErrTrain) || r != nil {
			t.Errorf("k = %d: %v, %v, want an ErrTrain", k, r, err)
		}
	}
	r, err := CrossValidate(d, TrainConfig{Trees: 10, Seed: 1}, 5)
	if err != nil {
		t.Fatal(err)
	}
	// Every row is held out exactly once.
	if r.Rows() != d.Rows() {
		t.Errorf("%d predictions for %d rows", r.Rows(), d.Rows())
	}
	if acc := r.Accuracy(); acc < 0.9 {
		t.Errorf("cross-validated accuracy %v, want >= 0.9", acc)
	}
	// With more folds than the 10 groups, the empty folds are skipped.
	if r, err := CrossValidate(d, TrainConfig{Trees: 1}, 15); err != nil {
		t.Errorf("15 folds over 10 groups: %v", err)
	} else if r.Rows() != d.Rows() {
		t.Errorf("15 folds over 10 groups: %d predictions for %d rows", r.Rows(), d.Rows())
	}
	// A bad configuration is reported, not skipped, by fold.
	if _, err := CrossValidate(d, TrainConfig{Trees: 0}, 2); !errors.Is(err, ErrTrain) || !strings.Contains(err.Error(), "fold 0") {
		t.Errorf("0 trees: %v, want an ErrTrain naming the fold", err)
	}
}

func TestCrossValidateNeedsGroups(t *testing.T) {
	d := synthetic(40, 2)
	d.Groups = nil
	if _, err := CrossValidate(d, TrainConfig{Trees: 1}, 2); !errors.Is(err, ErrTrain) {
		t.Errorf("CrossValidate without captures: %v, want ErrTrain", err)
	}
}
