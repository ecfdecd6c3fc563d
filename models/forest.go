package models

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"unsafe"
)

// Forest is a compiled decision-tree ensemble: every tree's nodes in one
// flat array, the leaves' class probabilities in another, so predicting is
// a few hundred loads, walked eight trees at a time, and no allocation. One tree is a forest
// of one. A Forest is immutable once built and safe for every worker.
type Forest struct {
	features []string // the feature schema it was trained on, in vector order
	classes  []Class  // what leaf probabilities are indexed by
	groups   []group
	nodes    []node
	leafOff  []int32   // per node slot, where a leaf's probabilities start
	probs    []float32 // per distinct leaf, len(classes) values already divided by the tree count
	trees    int       // without the padding
	pad      int       // padding nodes
	desc     string
}

// walkers is how many trees one walk descends together. A step down a
// tree waits on the node it loads and on the feature that node names;
// walking several trees in turn gives the CPU independent loads to
// overlap, where one tree at a time leaves it waiting. On the shared
// captures' flows (BenchmarkPredictSharedFlows) eight were about 10%
// faster than four, and four 24% faster than one tree at a time with a
// branch per node. A single decision tree walks with seven padding
// leaves beside it, a few hundred nanoseconds at most.
const walkers = 8

// group is walkers trees walked together: their roots, and steps, the
// depth of the deepest, after which every walk rests on a leaf. A forest
// whose tree count is not a multiple of walkers pads its last group with
// a leaf of zero probabilities, which leaves every sum as it was.
type group struct {
	roots [walkers]uint32 // byte offsets into nodes
	steps int32
}

// node is a slot of the flat forest. An internal node sends a value <=
// thr to the slot at left, any other, NaN included, to the one after it:
// siblings sit side by side, so a step adds the comparison's outcome
// instead of branching on it (the comparison follows the data, and a
// branch on it would be mispredicted at about every other level). A leaf
// has mask 0 and left pointing at itself, so further steps stay on it
// whatever the comparison says (it compares feature 0, which every vector
// Predict accepts has); internal nodes have mask nodeSize.
//
// feature and left are byte offsets (into the vector and into the node
// array), so that a step is a few loads and adds with no index scaling,
// sign extension or bounds check: a quarter fewer instructions per walk
// on the shipped model. compile checks every offset against the arrays
// once, which is what makes step's unchecked loads safe.
type node struct {
	feature uint32 // featureSize × the feature's index
	thr     float32
	left    uint32 // nodeSize × the left child's slot
	mask    uint32
}

// nodeSize and featureSize are the byte sizes of a node and of a vector
// element, the units of node's offsets.
const (
	nodeSize    = uint32(unsafe.Sizeof(node{}))
	featureSize = uint32(unsafe.Sizeof(float32(0)))
)

// nodeAt is the byte offset of node slot i.
func nodeAt[I int | int32](i I) uint32 { return uint32(i) * nodeSize }

// Features is the feature schema the forest expects, in vector order.
// Workers share the Forest: the caller must not modify the slice.
func (f *Forest) Features() []string { return f.features }

// Classes is what the forest can predict, in the file's order (train
// writes taxonomy order); Predict breaks ties by it. The caller must not
// modify the slice.
func (f *Forest) Classes() []Class { return f.classes }

// Trees is the number of trees.
func (f *Forest) Trees() int { return f.trees }

// Nodes is the number of nodes over all trees (padding excluded).
func (f *Forest) Nodes() int { return len(f.nodes) - f.pad }

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
	// compile made every offset a node holds, and every root, land inside
	// nodes, and every feature offset fall inside the first len(f.features)
	// <= len(vec) elements of vec; see step.
	nodes, v := unsafe.Pointer(unsafe.SliceData(f.nodes)), unsafe.Pointer(unsafe.SliceData(vec))
	for gi := range f.groups {
		g := &f.groups[gi]
		// Eight variables, not an array: each walk's index stays in a
		// register instead of going through memory at every step (an
		// array was slower than one tree at a time).
		a, b, c, d := g.roots[0], g.roots[1], g.roots[2], g.roots[3]
		e, h, j, l := g.roots[4], g.roots[5], g.roots[6], g.roots[7]
		for range g.steps {
			a, b, c, d = step(nodes, v, a), step(nodes, v, b), step(nodes, v, c), step(nodes, v, d)
			e, h, j, l = step(nodes, v, e), step(nodes, v, h), step(nodes, v, j), step(nodes, v, l)
		}
		// Each class's sum in a register across the group's eight leaves,
		// added in tree order as one tree at a time would: the same sums,
		// without a store and reload of p[k] per tree.
		l0, l1, l2, l3 := f.leaf(a, nc), f.leaf(b, nc), f.leaf(c, nc), f.leaf(d, nc)
		l4, l5, l6, l7 := f.leaf(e, nc), f.leaf(h, nc), f.leaf(j, nc), f.leaf(l, nc)
		for k := range p {
			v := p[k]
			v += l0[k]
			v += l1[k]
			v += l2[k]
			v += l3[k]
			v += l4[k]
			v += l5[k]
			v += l6[k]
			v += l7[k]
			p[k] = v
		}
	}
	return p
}

// leaf is the probabilities of the leaf at byte offset off, nc of them.
func (f *Forest) leaf(off uint32, nc int) []float32 {
	o := int(f.leafOff[off/nodeSize])
	return f.probs[o : o+nc : o+nc]
}

// step moves a walk from the node at byte offset off of nodes to the
// child the vector at vec sends it to; a leaf stays where it is. Both
// pointers and every offset must be as proba describes: nothing is
// checked here.
func step(nodes, vec unsafe.Pointer, off uint32) uint32 {
	n := (*node)(unsafe.Add(nodes, off))
	// Written so that the compiler sets the offset from the comparison's
	// flag (SETCC) rather than branching; NaN sets it too.
	var right uint32
	if !(n.thr >= *(*float32)(unsafe.Add(vec, n.feature))) {
		right = 1 // a constant other than 1 compiles to a branch
	}
	return n.left + (right*nodeSize)&n.mask
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
	// Every tree is checked before the flat arrays are sized for them all:
	// a corrupt file is refused before it can ask for much memory.
	total, largest := 1, 0 // room for a padding tree's leaf
	for ti := range m.Trees {
		t := &m.Trees[ti]
		if err := t.check(len(m.Features), nc); err != nil {
			return nil, fmt.Errorf("%w: tree %d: %v", ErrCorruptModel, ti, err)
		}
		total += len(t.Feature)
		largest = max(largest, len(t.Feature))
	}
	// Offsets are 32 bits (see node).
	if uint64(total)*uint64(nodeSize) > math.MaxUint32 || uint64(len(m.Features))*uint64(featureSize) > math.MaxUint32 {
		return nil, fmt.Errorf("%w: %d nodes and %d features are more than a forest can address", ErrCorruptModel, total, len(m.Features))
	}
	f.nodes, f.leafOff = make([]node, 0, total), make([]int32, 0, total)
	var roots []uint32
	var depth []int32
	// Sized for the distinct leaves of a typical forest (the shipped one
	// has under 700), so that growing them is rare.
	const distinct = 1024
	shared := make(map[[numClasses]uint32]int32, distinct)
	f.probs = make([]float32, 0, distinct*nc)
	order, level := make([]int32, 0, largest), make([]int32, 0, largest) // layout's scratch, tree after tree
	for ti := range m.Trees {
		t := &m.Trees[ti]
		roots = append(roots, nodeAt(len(f.nodes)))
		var d int32
		f.nodes, f.leafOff, d = t.layout(f.nodes, f.leafOff, f.leaves(t, scale, shared), order, level)
		depth = append(depth, d)
	}
	f.trees = len(roots)
	if len(roots)%walkers != 0 {
		// The padding tree: one leaf of zeros.
		f.pad = 1
		pad := nodeAt(len(f.nodes))
		f.nodes = append(f.nodes, node{left: pad})
		f.leafOff = append(f.leafOff, int32(len(f.probs)))
		f.probs = append(f.probs, make([]float32, nc)...)
		for len(roots)%walkers != 0 {
			roots, depth = append(roots, pad), append(depth, 0)
		}
	}
	for k := 0; k < len(roots); k += walkers {
		g := group{roots: [walkers]uint32(roots[k:])}
		g.steps = slices.Max(depth[k : k+walkers])
		f.groups = append(f.groups, g)
	}
	return f, nil
}

// leaves adds t's leaf probabilities to f.probs, each divided by its
// leaf's weight and scaled by 1/trees, and returns where each leaf's
// probabilities start. A probability vector already there is shared: most leaves of a
// forest are pure, one class at 1/trees, so the shipped forest's 5,240
// leaves hold 624 distinct vectors, and a verdict's leaf reads stay in
// 32 KB instead of 272 KB.
func (f *Forest) leaves(t *Tree, scale float32, seen map[[numClasses]uint32]int32) []int32 {
	offs := make([]int32, len(t.Value))
	for li, v := range t.Value {
		var sum float32
		for _, x := range v {
			sum += x
		}
		// Keyed by the values' bits, which hash as plain memory (a float
		// key hashes value by value): x >= 0 and sum > 0 (check), so every
		// value is a number and no -0 differs in bits from an equal +0.
		var p [numClasses]float32
		var key [numClasses]uint32
		for k, x := range v {
			p[k] = x / sum * scale
			key[k] = math.Float32bits(p[k])
		}
		off, ok := seen[key]
		if !ok {
			off = int32(len(f.probs))
			f.probs = append(f.probs, p[:len(v)]...)
			seen[key] = off
		}
		offs[li] = off
	}
	return offs
}

// layout appends t's nodes to nodes breadth first, each internal node's
// two children side by side (see node), and their leaf offsets to leafOff
// (leaf i's probabilities start at offs[i]); it returns both and t's
// depth. check has made sure t is a tree: every node but the first has
// one parent, so each is placed once. order and level are scratch with
// room for t's nodes.
func (t *Tree) layout(nodes []node, leafOff, offs, order, level []int32) ([]node, []int32, int32) {
	base := int32(len(nodes))
	order = append(order[:0], 0) // order[k] is the file's node now at base+k
	level = append(level[:0], 0) // its depth
	var depth int32
	for k := 0; k < len(order); k++ {
		i, slot := order[k], base+int32(k)
		depth = max(depth, level[k])
		if t.Feature[i] < 0 {
			nodes = append(nodes, node{left: nodeAt(slot)})
			leafOff = append(leafOff, offs[t.Left[i]])
			continue
		}
		nodes = append(nodes, node{
			feature: uint32(t.Feature[i]) * featureSize, thr: t.Threshold[i],
			left: nodeAt(base + int32(len(order))), mask: nodeSize,
		})
		leafOff = append(leafOff, 0)
		order = append(order, t.Left[i], t.Right[i])
		level = append(level, level[k]+1, level[k]+1)
	}
	return nodes, leafOff, depth
}

// check validates one tree: indices in range, children after their
// parent and no node with two parents, so every walk ends at a leaf and
// layout places each node once.
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
			if !(x >= 0 && x <= math.MaxFloat32) { // NaN, negative or infinite
				return fmt.Errorf("leaf %d has value %v", i, x)
			}
			sum += x
		}
		if !(sum > 0 && sum <= math.MaxFloat32) {
			return fmt.Errorf("leaf %d has no weight", i)
		}
	}
	parented := make([]bool, n)
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
		case l == r || parented[l] || parented[r]:
			return fmt.Errorf("node %d: child %d or %d has another parent", i, l, r)
		default:
			parented[l], parented[r] = true, true
		}
	}
	return nil
}
