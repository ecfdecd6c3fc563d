package models

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// synthetic is n rows whose class follows from features 0 and 2 alone
// (a <= 0.5: dns; else c <= 0.5: tor; else voip); features 1 and 3 are
// noise the trees must learn to ignore. Informative values keep clear of
// the thresholds so that a held-out set drawn the same way is separable
// by what the training set shows. Rows are spread over ten groups.
func synthetic(n int, seed uint64) *Dataset {
	rng := rand.New(rand.NewPCG(seed, 0))
	informative := func() float32 {
		for {
			if v := rng.Float32(); math.Abs(float64(v)-0.5) > 0.05 {
				return v
			}
		}
	}
	d := &Dataset{Features: []string{"a", "noise1", "c", "noise3"}}
	for i := range n {
		a, c := informative(), informative()
		d.X = append(d.X, a, rng.Float32(), c, rng.Float32()*100)
		switch {
		case a <= 0.5:
			d.Y = append(d.Y, DNS)
		case c <= 0.5:
			d.Y = append(d.Y, Tor)
		default:
			d.Y = append(d.Y, VoIP)
		}
		d.Groups = append(d.Groups, fmt.Sprintf("capture%02d.pcap", i%10))
	}
	return d
}

// randomLabels is n rows of noise with random labels: trees grown on it
// without limits end in many tiny leaves, which is what the depth and
// leaf-size limits are tested against.
func randomLabels(n int, seed uint64) *Dataset {
	rng := rand.New(rand.NewPCG(seed, 1))
	classes := []Class{DNS, Tor, VoIP}
	d := &Dataset{Features: []string{"a", "b", "c"}}
	for i := range n {
		d.X = append(d.X, rng.Float32(), rng.Float32(), rng.Float32())
		d.Y = append(d.Y, classes[rng.IntN(len(classes))])
		d.Groups = append(d.Groups, fmt.Sprint(i%5))
	}
	return d
}

func mustTrain(t testing.TB, d *Dataset, cfg TrainConfig) *File {
	t.Helper()
	m, err := Train(d, cfg)
	if err != nil {
		t.Fatalf("Train(%+v): %v", cfg, err)
	}
	return m
}

func mustCompile(t testing.TB, m *File) *Forest {
	t.Helper()
	f, err := m.Compile()
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return f
}

func TestTrainSeparable(t *testing.T) {
	train, held := synthetic(400, 1), synthetic(400, 2)

	tree := mustTrain(t, train, TrainConfig{Trees: 1, Seed: 7})
	if tree.Kind != "decision_tree" {
		t.Errorf("kind %q for one tree, want decision_tree", tree.Kind)
	}
	// Classes are those present, in taxonomy order (VoIP < DNS < Tor).
	if want := []string{"voip", "dns", "tor"}; !reflect.DeepEqual(tree.Classes, want) {
		t.Errorf("classes %q, want %q", tree.Classes, want)
	}
	// Without bootstrap or feature sampling a tree grows until its leaves
	// are pure, so it recalls its own training set exactly.
	if acc := Evaluate(mustCompile(t, tree), train).Accuracy(); acc != 1 {
		t.Errorf("decision tree: training accuracy %v, want 1", acc)
	}

	forest := mustTrain(t, train, TrainConfig{Trees: 25, Seed: 7})
	if forest.Kind != "random_forest" || len(forest.Trees) != 25 {
		t.Errorf("kind %q with %d trees, want random_forest with 25", forest.Kind, len(forest.Trees))
	}
	if acc := Evaluate(mustCompile(t, forest), held).Accuracy(); acc < 0.95 {
		t.Errorf("random forest: held-out accuracy %v, want >= 0.95", acc)
	}
}

func TestTrainDeterministic(t *testing.T) {
	d := synthetic(200, 3)
	cfg := TrainConfig{Trees: 8, Seed: 42, Workers: 1}
	a := mustTrain(t, d, cfg)
	if b := mustTrain(t, d, cfg); !reflect.DeepEqual(a, b) {
		t.Error("two trainings with the same seed differ")
	}
	// Trees are handed to workers in whatever order they ask; each tree's
	// generator is seeded by its index, so the result must not change.
	cfg.Workers = 4
	if b := mustTrain(t, d, cfg); !reflect.DeepEqual(a, b) {
		t.Error("4 workers grow another forest than 1 worker")
	}
	// Each tree draws its own bootstrap sample and features.
	for i := 1; i < len(a.Trees); i++ {
		if reflect.DeepEqual(a.Trees[0], a.Trees[i]) {
			t.Errorf("trees 0 and %d are the same", i)
		}
	}
	cfg.Seed = 43
	if b := mustTrain(t, d, cfg); reflect.DeepEqual(a.Trees, b.Trees) {
		t.Error("another seed grows the same forest")
	}
}

// depth is the number of edges on the longest path from node i down.
func depth(tr *Tree, i int32) int {
	if tr.Feature[i] < 0 {
		return 0
	}
	return 1 + max(depth(tr, tr.Left[i]), depth(tr, tr.Right[i]))
}

func TestTrainMaxDepth(t *testing.T) {
	d := randomLabels(300, 4)
	// The limit must be what stops the tree: unlimited, noise grows deep.
	free := mustTrain(t, d, TrainConfig{Trees: 1, Seed: 1})
	if got := depth(&free.Trees[0], 0); got <= 2 {
		t.Fatalf("unlimited tree on noise has depth %d: the test would prove nothing", got)
	}
	m := mustTrain(t, d, TrainConfig{Trees: 5, MaxDepth: 2, Seed: 1})
	for ti := range m.Trees {
		if got := depth(&m.Trees[ti], 0); got > 2 {
			t.Errorf("tree %d has depth %d with MaxDepth 2", ti, got)
		}
	}
}

func TestTrainMinLeaf(t *testing.T) {
	d := randomLabels(300, 5)
	smallest := func(m *File) float32 {
		least := float32(math.Inf(1))
		for _, v := range m.Trees[0].Value {
			var sum float32
			for _, x := range v {
				sum += x
			}
			least = min(least, sum)
		}
		return least
	}
	// One tree is grown on every row once, so a leaf's weights count rows.
	if got := smallest(mustTrain(t, d, TrainConfig{Trees: 1, Seed: 1})); got >= 5 {
		t.Fatalf("unlimited tree's smallest leaf holds %v rows: the test would prove nothing", got)
	}
	if got := smallest(mustTrain(t, d, TrainConfig{Trees: 1, MinLeaf: 5, Seed: 1})); got < 5 {
		t.Errorf("smallest leaf holds %v rows with MinLeaf 5", got)
	}
}

func TestTrainConstantFeatures(t *testing.T) {
	d := &Dataset{Features: []string{"a", "b"}}
	for _, c := range []Class{Tor, DNS, DNS, VoIP, Tor, DNS} {
		d.X = append(d.X, 1, -3)
		d.Y = append(d.Y, c)
		d.Groups = append(d.Groups, "g")
	}
	m := mustTrain(t, d, TrainConfig{Trees: 1})
	// Nothing to split on: the root is a leaf holding the class counts,
	// in the order of Classes (voip, dns, tor).
	want := Tree{Feature: []int32{-1}, Threshold: []float32{0}, Left: []int32{0}, Right: []int32{-1},
		Value: [][]float32{{1, 3, 2}}}
	if !reflect.DeepEqual(m.Trees[0], want) {
		t.Errorf("tree %+v, want %+v", m.Trees[0], want)
	}
	if c, p := mustCompile(t, m).Predict([]float32{0, 0}); c != DNS || p != 0.5 {
		t.Errorf("Predict = %v, %v, want dns, 0.5", c, p)
	}
}

func TestTrainErrors(t *testing.T) {
	d := synthetic(20, 6)
	for _, c := range []struct {
		name string
		d    *Dataset
		cfg  TrainConfig
	}{
		{"no trees", d, TrainConfig{Trees: 0}},
		{"negative trees", d, TrainConfig{Trees: -1}},
		{"more features drawn than there are", d, TrainConfig{Trees: 1, MaxFeatures: 5}},
		{"negative depth", d, TrainConfig{Trees: 1, MaxDepth: -1}},
		{"negative leaf size", d, TrainConfig{Trees: 1, MinLeaf: -1}},
		{"empty data set", &Dataset{Features: d.Features}, TrainConfig{Trees: 1}},
		{"no features", &Dataset{Y: []Class{DNS}, Groups: []string{"g"}}, TrainConfig{Trees: 1}},
		{"a row labelled unknown", &Dataset{Features: []string{"a"}, X: []float32{1, 2}, Y: []Class{DNS, Unknown}, Groups: []string{"g", "g"}}, TrainConfig{Trees: 1}},
		{"a label outside the taxonomy", &Dataset{Features: []string{"a"}, X: []float32{1, 2}, Y: []Class{DNS, 200}, Groups: []string{"g", "g"}}, TrainConfig{Trees: 1}},
		{"values missing", &Dataset{Features: []string{"a", "b"}, X: []float32{1, 2}, Y: []Class{DNS, Tor}, Groups: []string{"g", "g"}}, TrainConfig{Trees: 1}},
	} {
		m, err := Train(c.d, c.cfg)
		if !errors.Is(err, ErrTrain) || m != nil {
			t.Errorf("%s: Train = %v, %v, want an ErrTrain", c.name, m, err)
		}
	}
}

func TestMidpoint(t *testing.T) {
	if got := midpoint(1, 2); got != 1.5 {
		t.Errorf("midpoint(1, 2) = %v, want 1.5", got)
	}
	// Between neighbouring float32 values the halfway point rounds to one
	// of them; it must never be b, or b would go left with a.
	for _, a := range []float32{0, 1, -1, 1e-30, 3.4e38, -3.4e38, 16777216, math.SmallestNonzeroFloat32} {
		b := math.Nextafter32(a, float32(math.Inf(1)))
		if m := midpoint(a, b); !(m >= a && m < b) {
			t.Errorf("midpoint(%v, %v) = %v, not in [a, b)", a, b, m)
		}
	}
	// Near the top of the range the float64 mean still fits, but a split
	// between the largest value and +Inf must not be Inf.
	big := float32(math.MaxFloat32)
	if m := midpoint(big, float32(math.Inf(1))); m != big {
		t.Errorf("midpoint(MaxFloat32, +Inf) = %v, want MaxFloat32", m)
	}
}

// Balanced weighs rows by rows/(classes × rows of the class): a stump on
// 9 DNS rows and 1 Tor row that cannot separate them holds weights 5 and 5
// (10/(2·9) each DNS row, 10/(2·1) the Tor row), where unweighted it holds
// counts 9 and 1; on data with equal classes the weights are all 1 and the
// model is the unweighted one.
func TestTrainBalanced(t *testing.T) {
	d := &Dataset{Features: []string{"x"}}
	for i := range 10 {
		d.X = append(d.X, 1) // constant: no split
		c := DNS
		if i == 0 {
			c = Tor
		}
		d.Y = append(d.Y, c)
		d.Groups = append(d.Groups, "g")
	}
	for _, c := range []struct {
		balanced bool
		want     []float32
	}{{false, []float32{9, 1}}, {true, []float32{5, 5}}} {
		m, err := Train(d, TrainConfig{Trees: 1, Balanced: c.balanced})
		if err != nil {
			t.Fatal(err)
		}
		v := m.Trees[0].Value
		if len(v) != 1 || len(v[0]) != 2 || math.Abs(float64(v[0][0]-c.want[0])) > 1e-5 || math.Abs(float64(v[0][1]-c.want[1])) > 1e-5 {
			t.Errorf("balanced=%v: leaf %v, want %v", c.balanced, v, c.want)
		}
	}
	// Three equally frequent classes.
	eq := &Dataset{Features: []string{"a", "b"}}
	for i := range 30 {
		eq.X = append(eq.X, float32(i%7), float32(i%5))
		eq.Y = append(eq.Y, []Class{DNS, Tor, VoIP}[i%3])
		eq.Groups = append(eq.Groups, "g")
	}
	a, _ := Train(eq, TrainConfig{Trees: 5, Seed: 3})
	b, _ := Train(eq, TrainConfig{Trees: 5, Seed: 3, Balanced: true})
	if !reflect.DeepEqual(a, b) {
		t.Error("with equal classes, Balanced changed the forest")
	}
}

// Values a split cannot order are refused up front: with NaN the sort and
// the threshold would send every row one way and the tree would split the
// same rows again without end.
func TestTrainRejectsNonFinite(t *testing.T) {
	for _, v := range []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))} {
		d := synthetic(20, 9)
		d.X[5] = v
		if m, err := Train(d, TrainConfig{Trees: 1}); !errors.Is(err, ErrTrain) || m != nil || !strings.Contains(err.Error(), "row 1") {
			t.Errorf("value %v: Train = %v, %v; want an ErrTrain naming row 1", v, m, err)
		}
	}
}
