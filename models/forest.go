package models

import (
	"errors"
	"fmt"
	"math"
)

// Forest is a compiled decision-tree ensemble: every tree's nodes in one
// flat array, the leaves' class probabilities in another, so predicting is
// a few hundred predictable loads and no allocation. One tree is a forest
// of one. A Forest is immutable once built and safe for every worker.
type Forest struct {
	features []string // the feature schema it was trained on, in vector order
	classes  []Class  // what leaf probabilities are indexed by
	roots    []int32  // first node of each tree
	nodes    []node
	probs    []float32 // per leaf, len(classes) values already divided by the tree count
	desc     string
}

// node is an internal node (feature >= 0: a value <= thr goes left, any
// other, NaN included, goes right) or a leaf (feature < 0; left is the
// offset of its probabilities in Forest.probs).
type node struct {
	feature int32
	thr     float32
	left    int32
	right   int32
}

// Features is the feature schema the forest expects, in vector order.
// Workers share the Forest: the caller must not modify the slice.
func (f *Forest) Features() []string { return f.features }

// Classes is what the forest can predict, in the file's order (train
// writes taxonomy order); Predict breaks ties by it. The caller must not
// modify the slice.
func (f *Forest) Classes() []Class { return f.classes }

// Trees is the number of trees.
func (f *Forest) Trees() int { return len(f.roots) }

// Nodes is the number of nodes over all trees.
func (f *Forest) Nodes() int { return len(f.nodes) }

// Description is the free text saved with the model (how it was trained).
func (f *Forest) Description() string { return f.desc }

// ErrSchema is returned by CheckSchema when a model was trained on other
// features than the running extractor produces.
var ErrSchema = errors.New("feature schema differs from this build's")

// CheckSchema reports whether the forest's features are schema, naming the
// first difference: a model trained by another version would otherwise
// read the wrong values silently.
func (f *Forest) CheckSchema(schema []string) error { return CheckSchema(f.features, schema) }

// CheckSchema compares the features a model or data set has with those
// this build's extractor produces (want), naming the first difference.
func CheckSchema(have, want []string) error {
	for i := range min(len(have), len(want)) {
		if have[i] != want[i] {
			return fmt.Errorf("%w: feature %d is %q there, %q here", ErrSchema, i, have[i], want[i])
		}
	}
	if len(have) != len(want) {
		return fmt.Errorf("%w: %d features there, %d here", ErrSchema, len(have), len(want))
	}
	return nil
}

// Predict returns the class with the highest mean leaf probability over
// the trees, and that probability as the confidence. vec must hold at
// least len(Features()) values; a shorter one gives Unknown with zero
// confidence. It does not allocate.
func (f *Forest) Predict(vec []float32) (Class, float32) {
	var acc [numClasses]float32
	p := f.proba(vec, &acc)
	if p == nil {
		return Unknown, 0
	}
	best := 0
	for i := 1; i < len(p); i++ {
		if p[i] > p[best] {
			best = i
		}
	}
	return f.classes[best], p[best]
}

// Proba fills dst[i] with the mean probability of Classes()[i] and returns
// dst[:len(Classes())]; dst is grown when too short.
func (f *Forest) Proba(vec []float32, dst []float32) []float32 {
	var acc [numClasses]float32
	p := f.proba(vec, &acc)
	dst = dst[:0]
	if p == nil {
		for range f.classes {
			dst = append(dst, 0)
		}
		return dst
	}
	return append(dst, p...)
}

func (f *Forest) proba(vec []float32, acc *[numClasses]float32) []float32 {
	if len(vec) < len(f.features) {
		return nil
	}
	nc := len(f.classes)
	p := acc[:nc]
	for _, r := range f.roots {
		i := r
		for {
			n := &f.nodes[i]
			if n.feature < 0 {
				leaf := f.probs[n.left : int(n.left)+nc]
				for k := range p {
					p[k] += leaf[k]
				}
				break
			}
			if vec[n.feature] <= n.thr {
				i = n.left
			} else {
				i = n.right
			}
		}
	}
	return p
}

// Verdict is Predict as a verdict from the model.
func (f *Forest) Verdict(vec []float32) Verdict {
	c, p := f.Predict(vec)
	if c == Unknown {
		return Verdict{}
	}
	return Verdict{Class: c, Source: SourceModel, Confidence: p}
}

// compile checks a model file's content and flattens it into a Forest. It
// is the one way a Forest is made, whether trained here or loaded, so a
// saved model predicts exactly what the trained one did.
func compile(m *File) (*Forest, error) {
	if len(m.Features) == 0 {
		return nil, fmt.Errorf("%w: no features", ErrCorruptModel)
	}
	if len(m.Trees) == 0 {
		return nil, fmt.Errorf("%w: no trees", ErrCorruptModel)
	}
	f := &Forest{features: m.Features, desc: m.Description}
	seen := map[Class]bool{}
	for _, name := range m.Classes {
		c, ok := ParseClass(name)
		if !ok || c == Unknown {
			return nil, fmt.Errorf("%w: class %q is not in the taxonomy", ErrCorruptModel, name)
		}
		if seen[c] {
			return nil, fmt.Errorf("%w: class %q listed twice", ErrCorruptModel, name)
		}
		seen[c] = true
		f.classes = append(f.classes, c)
	}
	if len(f.classes) == 0 {
		return nil, fmt.Errorf("%w: no classes", ErrCorruptModel)
	}
	nc := len(f.classes)
	scale := 1 / float32(len(m.Trees))
	for ti := range m.Trees {
		t := &m.Trees[ti]
		if err := t.check(len(m.Features), nc); err != nil {
			return nil, fmt.Errorf("%w: tree %d: %v", ErrCorruptModel, ti, err)
		}
		base, leafBase := int32(len(f.nodes)), int32(len(f.probs))
		f.roots = append(f.roots, base)
		for i, feat := range t.Feature {
			if feat < 0 {
				f.nodes = append(f.nodes, node{feature: -1, left: leafBase + t.Left[i]*int32(nc)})
				continue
			}
			f.nodes = append(f.nodes, node{feature: feat, thr: t.Threshold[i], left: base + t.Left[i], right: base + t.Right[i]})
		}
		for _, v := range t.Value {
			var sum float32
			for _, x := range v {
				sum += x
			}
			for _, x := range v {
				f.probs = append(f.probs, x/sum*scale)
			}
		}
	}
	return f, nil
}

// check validates one tree: indices in range and children after their
// parent, so every walk ends at a leaf.
func (t *Tree) check(nfeat, nc int) error {
	n := len(t.Feature)
	if n == 0 {
		return errors.New("no nodes")
	}
	if len(t.Threshold) != n || len(t.Left) != n || len(t.Right) != n {
		return fmt.Errorf("node arrays differ in length (feature %d, threshold %d, left %d, right %d)",
			n, len(t.Threshold), len(t.Left), len(t.Right))
	}
	for i, v := range t.Value {
		if len(v) != nc {
			return fmt.Errorf("leaf %d has %d values for %d classes", i, len(v), nc)
		}
		var sum float32
		for _, x := range v {
			if !(x >= 0) || math.IsInf(float64(x), 0) {
				return fmt.Errorf("leaf %d has value %v", i, x)
			}
			sum += x
		}
		if !(sum > 0) || math.IsInf(float64(sum), 0) {
			return fmt.Errorf("leaf %d has no weight", i)
		}
	}
	for i := range n {
		f, l, r := t.Feature[i], t.Left[i], t.Right[i]
		switch {
		case f < 0:
			if f != -1 || l < 0 || int(l) >= len(t.Value) {
				return fmt.Errorf("leaf node %d: feature %d, leaf %d of %d", i, f, l, len(t.Value))
			}
		case int(f) >= nfeat:
			return fmt.Errorf("node %d: feature %d of %d", i, f, nfeat)
		case math.IsNaN(float64(t.Threshold[i])):
			return fmt.Errorf("node %d: threshold is NaN", i)
		case int(l) <= i || int(l) >= n || int(r) <= i || int(r) >= n:
			return fmt.Errorf("node %d: children %d and %d must follow it within %d nodes", i, l, r, n)
		}
	}
	return nil
}
