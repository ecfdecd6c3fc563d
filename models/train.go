package models

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
)

// TrainConfig sets how Train grows trees. The defaults and the split rule
// follow scikit-learn's DecisionTreeClassifier and RandomForestClassifier
// (Gini impurity, thresholds halfway between neighbouring values, a
// feature draw per node), so that their accuracies can be compared on the
// same folds.
type TrainConfig struct {
	// Trees is the number of trees; 1 grows one decision tree on every
	// row and, unless MaxFeatures says otherwise, every feature. More
	// grows a random forest: a bootstrap sample per tree and sqrt(features)
	// drawn per node.
	Trees       int
	MaxDepth    int // 0: until leaves are pure or too small to split
	MinLeaf     int // fewest rows in a leaf; 0 means 1
	MaxFeatures int // features drawn per node; 0 picks as above
	Seed        uint64
	Workers     int // trees grown at once; 0 means GOMAXPROCS
	// Balanced weighs each row by rows/(classes × rows of its class), as
	// scikit-learn's class_weight="balanced": rare classes (VoIP, mail)
	// then count in the splits as much as common ones (web, P2P).
	Balanced bool
}

// ErrTrain is wrapped by errors about what Train was given.
var ErrTrain = errors.New("cannot train")

// Train grows a forest on d and returns it as a model file (Compile it to
// predict). The result depends only on d, cfg and the seed, not on
// Workers.
func Train(d *Dataset, cfg TrainConfig) (*File, error) {
	if d.Rows() == 0 || len(d.Features) == 0 {
		return nil, fmt.Errorf("%w: no labelled rows", ErrTrain)
	}
	if cfg.Trees < 1 {
		return nil, fmt.Errorf("%w: %d trees", ErrTrain, cfg.Trees)
	}
	if cfg.MaxDepth < 0 || cfg.MinLeaf < 0 || cfg.MaxFeatures < 0 || cfg.MaxFeatures > len(d.Features) {
		return nil, fmt.Errorf("%w: max depth %d, min leaf %d, max features %d (of %d)",
			ErrTrain, cfg.MaxDepth, cfg.MinLeaf, cfg.MaxFeatures, len(d.Features))
	}
	if len(d.X) != d.Rows()*len(d.Features) {
		return nil, fmt.Errorf("%w: %d values for %d rows of %d features", ErrTrain, len(d.X), d.Rows(), len(d.Features))
	}
	for i, c := range d.Y {
		if c == Unknown || c >= numClasses {
			return nil, fmt.Errorf("%w: row %d is labelled %q, not a class", ErrTrain, i, c)
		}
	}
	// NaN has no place in a sort or a threshold: it would split nothing
	// off, and the same rows would be split again without end.
	for i, v := range d.X {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, fmt.Errorf("%w: row %d, feature %s is %v", ErrTrain, i/len(d.Features), d.Features[i%len(d.Features)], v)
		}
	}
	mtry := cfg.MaxFeatures
	if mtry == 0 {
		mtry = len(d.Features)
		if cfg.Trees > 1 {
			mtry = max(1, int(math.Sqrt(float64(len(d.Features)))))
		}
	}
	// Classes are those present, in taxonomy order; y indexes them.
	var present [numClasses]bool
	for _, c := range d.Y {
		present[c] = true
	}
	m := &File{Format: FileFormat, Version: FileVersion, Kind: "random_forest", Features: d.Features}
	if cfg.Trees == 1 {
		m.Kind = "decision_tree"
	}
	var index [numClasses]uint16
	for c := range present {
		if present[c] {
			index[c] = uint16(len(m.Classes))
			m.Classes = append(m.Classes, Class(c).String())
		}
	}
	n, nf := d.Rows(), len(d.Features)
	g := &grower{
		n: n, nf: nf, nc: len(m.Classes), mtry: mtry,
		maxDepth: cfg.MaxDepth, minLeaf: max(cfg.MinLeaf, 1),
		cols: make([]float32, n*nf), y: make([]uint16, n), w: make([]float64, len(m.Classes)),
	}
	// Column-major, so a node's sort reads one feature's values together.
	for i := range n {
		row := d.Row(i)
		for j, v := range row {
			g.cols[j*n+i] = v
		}
		g.y[i] = index[d.Y[i]]
	}
	for k := range g.w {
		g.w[k] = 1
	}
	if cfg.Balanced {
		per := make([]int, g.nc)
		for _, c := range g.y {
			per[c]++
		}
		for k, c := range per {
			g.w[k] = float64(n) / float64(g.nc*c)
		}
	}
	m.Trees = make([]Tree, cfg.Trees)
	workers := cfg.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	var wg sync.WaitGroup
	next := make(chan int)
	for range min(workers, cfg.Trees) {
		wg.Go(func() {
			for t := range next {
				rng := rand.New(rand.NewPCG(cfg.Seed, uint64(t)))
				m.Trees[t] = g.grow(rng, cfg.Trees > 1)
			}
		})
	}
	for t := range cfg.Trees {
		next <- t
	}
	close(next)
	wg.Wait()
	return m, nil
}

// grower holds the training data shared, read-only, by the goroutines
// growing trees.
type grower struct {
	n, nf, nc int
	mtry      int
	maxDepth  int
	minLeaf   int
	cols      []float32 // feature j of row i at j*n+i
	y         []uint16
	w         []float64 // weight of a row of each class
}

// treeState is one tree under construction and its scratch space.
type treeState struct {
	g     *grower
	rng   *rand.Rand
	t     Tree
	pairs []pair
	feats []int32
	cnt   []float64 // class weights of the node
	cl    []float64 // left class weights during a sweep
}

type pair struct {
	v float32
	y uint16
}

func (g *grower) grow(rng *rand.Rand, bootstrap bool) Tree {
	idx := make([]int32, g.n)
	for i := range idx {
		idx[i] = int32(i)
		if bootstrap {
			idx[i] = int32(rng.IntN(g.n))
		}
	}
	s := &treeState{g: g, rng: rng, pairs: make([]pair, g.n), feats: make([]int32, g.nf),
		cnt: make([]float64, g.nc), cl: make([]float64, g.nc)}
	for j := range s.feats {
		s.feats[j] = int32(j)
	}
	s.build(idx, 0)
	return s.t
}

// build adds the subtree over rows idx and returns its root's index.
// Children are added after their parent, which Tree.check relies on.
func (s *treeState) build(idx []int32, depth int) int32 {
	g := s.g
	me := int32(len(s.t.Feature))
	s.t.Feature = append(s.t.Feature, -1)
	s.t.Threshold = append(s.t.Threshold, 0)
	s.t.Left = append(s.t.Left, 0)
	s.t.Right = append(s.t.Right, -1)

	clear(s.cnt)
	classes := 0
	for _, i := range idx {
		c := g.y[i]
		if s.cnt[c] == 0 {
			classes++
		}
		s.cnt[c] += g.w[c]
	}
	pure := classes == 1
	if pure || len(idx) < 2*g.minLeaf || (g.maxDepth > 0 && depth >= g.maxDepth) {
		s.leaf(me)
		return me
	}
	feat, thr, ok := s.bestSplit(idx)
	if !ok {
		s.leaf(me)
		return me
	}
	// Partition in place: rows going left first.
	lo, hi := 0, len(idx)
	col := g.cols[int(feat)*g.n : (int(feat)+1)*g.n]
	for lo < hi {
		if col[idx[lo]] <= thr {
			lo++
		} else {
			hi--
			idx[lo], idx[hi] = idx[hi], idx[lo]
		}
	}
	if lo == 0 || lo == len(idx) {
		s.leaf(me) // cannot happen with finite values; never loop on it
		return me
	}
	s.t.Feature[me], s.t.Threshold[me] = feat, thr
	l := s.build(idx[:lo], depth+1)
	r := s.build(idx[lo:], depth+1)
	s.t.Left[me], s.t.Right[me] = l, r
	return me
}

// leaf makes node me a leaf holding the class weights in s.cnt.
func (s *treeState) leaf(me int32) {
	v := make([]float32, len(s.cnt))
	for k, c := range s.cnt {
		v[k] = float32(c)
	}
	s.t.Left[me] = int32(len(s.t.Value))
	s.t.Value = append(s.t.Value, v)
}

// bestSplit finds the split of rows idx with the lowest weighted Gini
// impurity over mtry features drawn at random; like scikit-learn it keeps
// drawing past features that are constant on these rows. s.cnt holds the
// node's class weights; minLeaf counts rows, unweighted, and a row drawn
// twice by the bootstrap counts twice (scikit-learn counts it once, so the
// two agree for single trees and for MinLeaf 1).
func (s *treeState) bestSplit(idx []int32) (feat int32, thr float32, ok bool) {
	g := s.g
	n := len(idx)
	// Maximising sum(wl²)/Wl + sum(wr²)/Wr, with wl the left weight of
	// each class and Wl their sum, is minimising the weighted Gini.
	best := math.Inf(-1)
	tried := 0
	for k := 0; k < g.nf && tried < g.mtry; k++ {
		// Partial Fisher-Yates: feats[k] is a fresh random feature.
		j := k + s.rng.IntN(g.nf-k)
		s.feats[k], s.feats[j] = s.feats[j], s.feats[k]
		f := s.feats[k]
		col := g.cols[int(f)*g.n : (int(f)+1)*g.n]
		p := s.pairs[:n]
		for i, r := range idx {
			p[i] = pair{col[r], g.y[r]}
		}
		slices.SortFunc(p, func(a, b pair) int {
			switch {
			case a.v < b.v:
				return -1
			case a.v > b.v:
				return 1
			}
			return 0
		})
		if p[0].v == p[n-1].v {
			continue // constant here: does not count as tried
		}
		tried++
		clear(s.cl)
		var sqL, sqR, wL, wR float64
		for _, c := range s.cnt {
			sqR += c * c
			wR += c
		}
		for i := 0; i < n-1; i++ {
			c := p[i].y
			w := g.w[c]
			sqL += (2*s.cl[c] + w) * w
			sqR -= (2*(s.cnt[c]-s.cl[c]) - w) * w
			s.cl[c] += w
			wL += w
			wR -= w
			nl := i + 1
			if p[i].v == p[i+1].v || nl < g.minLeaf || n-nl < g.minLeaf {
				continue
			}
			if score := sqL/wL + sqR/wR; score > best {
				best, feat, ok = score, f, true
				thr = midpoint(p[i].v, p[i+1].v)
			}
		}
	}
	return feat, thr, ok
}

// midpoint is the threshold between neighbouring values a < b, computed
// in float64 and kept below b after rounding to float32 (as scikit-learn
// does), so that b goes right.
func midpoint(a, b float32) float32 {
	m := float32((float64(a) + float64(b)) / 2)
	if m >= b || math.IsInf(float64(m), 0) {
		m = a
	}
	return m
}
