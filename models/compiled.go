package models

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"unsafe"
)

// The compiled form of a model is the Forest's flat arrays as they sit in
// memory, behind a header, so that loading one is a read and a check
// instead of a parse and a compile: on the shipped forest, most of what a
// fresh `classify -m` spent before its first packet (about 1.4 ms, 268
// page faults, for 0.1 ms). The JSON form stays the model's source: train
// writes it and other tools read it; `tunnelscope compile` makes the
// compiled form from it, and Load and Read accept either, told apart by
// the first bytes.
//
// Layout, little-endian throughout:
//
//	offset  size  field
//	0       8     compiledMagic
//	8       4     CompiledVersion
//	12      4     node size in bytes (16)
//	16      4     features
//	20      4     classes
//	24      4     trees (without the padding tree)
//	28      4     padding nodes (0 or 1)
//	32      4     groups of walkers trees
//	36      4     nodes
//	40      4     probabilities
//	44      4     string table bytes (before its padding to 4)
//	48      4     CRC-32 (IEEE) of every byte after the header
//	52      12    zero
//	64            string table: each feature name, class name and the
//	              description as a uint32 length and its bytes; zero
//	              padding to a multiple of 4
//	              groups: 8 uint32 root offsets and an int32 step count each
//	              nodes: feature offset, threshold (float32 bits), left
//	              child offset, mask, a uint32 each (see node)
//	              leaf offsets: an int32 per node
//	              probabilities: float32
//
// Every offset is checked when the file is read (checkCompiled), since
// proba's loads are unchecked; the CRC catches damage that stays in range
// but would change verdicts.
const (
	compiledMagic = "\x7fTSMODEL" // no JSON text starts with 0x7f
	// CompiledVersion is the compiled form's version: a build reads its
	// own only (the JSON form is the one to keep across builds).
	CompiledVersion = 1

	compiledHeader = 64
)

// groupSize is the bytes of a group in the file; the layout of group and
// node in memory must be the file's for Read to use the bytes in place.
const groupSize = walkers*4 + 4

var (
	_ = [1]struct{}{}[unsafe.Sizeof(group{})-groupSize]
	_ = [1]struct{}{}[nodeSize-16]
)

// isCompiled reports whether b, a model file's first bytes (at least 8),
// starts a compiled model.
func isCompiled(b []byte) bool {
	return len(b) >= len(compiledMagic) && string(b[:len(compiledMagic)]) == compiledMagic
}

// WriteCompiled writes f in the compiled form.
func (f *Forest) WriteCompiled(w io.Writer) error {
	_, err := w.Write(f.AppendCompiled(nil))
	return err
}

// AppendCompiled appends f's compiled form to b.
func (f *Forest) AppendCompiled(b []byte) []byte {
	le := binary.LittleEndian
	start := len(b)
	b = append(b, make([]byte, compiledHeader)...)
	body := len(b)
	putString := func(s string) {
		b = le.AppendUint32(b, uint32(len(s)))
		b = append(b, s...)
	}
	for _, s := range f.features {
		putString(s)
	}
	for _, c := range f.classes {
		putString(c.String())
	}
	putString(f.desc)
	strs := len(b) - body
	for (len(b)-body)%4 != 0 {
		b = append(b, 0)
	}
	for _, g := range f.groups {
		for _, r := range g.roots {
			b = le.AppendUint32(b, r)
		}
		b = le.AppendUint32(b, uint32(g.steps))
	}
	for _, n := range f.nodes {
		b = le.AppendUint32(b, n.feature)
		b = le.AppendUint32(b, math.Float32bits(n.thr))
		b = le.AppendUint32(b, n.left)
		b = le.AppendUint32(b, n.mask)
	}
	for _, o := range f.leafOff {
		b = le.AppendUint32(b, uint32(o))
	}
	for _, p := range f.probs {
		b = le.AppendUint32(b, math.Float32bits(p))
	}
	h := b[start:body]
	copy(h, compiledMagic)
	for i, v := range []int{CompiledVersion, int(nodeSize), len(f.features), len(f.classes),
		f.trees, f.pad, len(f.groups), len(f.nodes), len(f.probs), strs} {
		le.PutUint32(h[8+4*i:], uint32(v))
	}
	le.PutUint32(h[48:], crc32.ChecksumIEEE(b[body:]))
	return b
}

// errBigEndian refuses a compiled model on a host whose byte order is not
// the file's: its arrays are used in place.
var errBigEndian = errors.New("compiled models are read on little-endian hosts only: load the JSON form")

// littleEndian is the host's byte order.
var littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// readCompiled builds a Forest from a compiled model's bytes, whose
// arrays it uses in place: b must not be changed afterwards.
func readCompiled(b []byte) (*Forest, error) {
	f, err := decodeCompiled(aligned(b))
	if err != nil {
		return nil, fmt.Errorf("%w: compiled: %v", ErrCorruptModel, err)
	}
	return f, nil
}

func decodeCompiled(b []byte) (*Forest, error) {
	if len(b) < compiledHeader { // parse has seen the magic
		return nil, errors.New("no header")
	}
	le := binary.LittleEndian
	word := func(off int) int { return int(le.Uint32(b[off:])) }
	if v := word(8); v != CompiledVersion {
		return nil, fmt.Errorf("version %d, this build reads %d", v, CompiledVersion)
	}
	if !littleEndian {
		return nil, errBigEndian
	}
	if ns := word(12); ns != int(nodeSize) {
		return nil, fmt.Errorf("node size %d, want %d", ns, nodeSize)
	}
	for off := 52; off < compiledHeader; off++ {
		if b[off] != 0 {
			return nil, fmt.Errorf("header byte %d is not zero", off)
		}
	}
	nfeat, nc, trees, pad := word(16), word(20), word(24), word(28)
	ngroups, nnodes, nprobs, strs := word(32), word(36), word(40), word(44)
	// Sizes in 64 bits: the counts are up to 2³²-1 each.
	padded := (uint64(strs) + 3) &^ 3
	want := compiledHeader + padded + uint64(ngroups)*groupSize + uint64(nnodes)*(uint64(nodeSize)+4) + uint64(nprobs)*4
	if want != uint64(len(b)) {
		return nil, fmt.Errorf("%d bytes, the header's counts make %d", len(b), want)
	}
	body := b[compiledHeader:]
	if sum := crc32.ChecksumIEEE(body); sum != le.Uint32(b[48:]) {
		return nil, fmt.Errorf("checksum %08x, the header says %08x", sum, le.Uint32(b[48:]))
	}
	f := &Forest{trees: trees, pad: pad}
	if err := f.readStrings(string(body[:strs]), nfeat, nc); err != nil {
		return nil, err
	}
	for i := strs; i < int(padded); i++ {
		if body[i] != 0 {
			return nil, fmt.Errorf("string table padding byte %d is not zero", i-strs)
		}
	}
	rest := body[padded:]
	take := func(n int) unsafe.Pointer {
		p := unsafe.Pointer(unsafe.SliceData(rest))
		rest = rest[n:]
		return p
	}
	f.groups = unsafe.Slice((*group)(take(ngroups*groupSize)), ngroups)
	f.nodes = unsafe.Slice((*node)(take(nnodes*int(nodeSize))), nnodes)
	f.leafOff = unsafe.Slice((*int32)(take(nnodes*4)), nnodes)
	f.probs = unsafe.Slice((*float32)(take(nprobs*4)), nprobs)
	if err := f.checkCompiled(); err != nil {
		return nil, err
	}
	return f, nil
}

// aligned returns b, or a copy of it that starts on an 8-byte boundary so
// that the arrays in it can be used in place.
func aligned(b []byte) []byte {
	if uintptr(unsafe.Pointer(unsafe.SliceData(b)))%8 == 0 {
		return b
	}
	words := make([]uint64, (len(b)+7)/8)
	c := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(words))), len(b))
	copy(c, b)
	return c
}

// readStrings reads the string table t: nfeat feature names, nc class
// names and the description, all substrings of t.
func (f *Forest) readStrings(t string, nfeat, nc int) error {
	next := func(what string, i int) (string, error) {
		if len(t) < 4 {
			return "", fmt.Errorf("string table ends before %s %d", what, i)
		}
		n := uint64(t[0]) | uint64(t[1])<<8 | uint64(t[2])<<16 | uint64(t[3])<<24
		if n > uint64(len(t)-4) {
			return "", fmt.Errorf("%s %d: %d bytes, %d left in the string table", what, i, n, len(t)-4)
		}
		s := t[4 : 4+n]
		t = t[4+n:]
		return s, nil
	}
	// Each name takes at least its 4-byte length: counts beyond what the
	// table can hold are refused before anything is sized by them.
	if uint64(nfeat)+uint64(nc) > uint64(len(t)/4) {
		return fmt.Errorf("%d features and %d classes in a string table of %d bytes", nfeat, nc, len(t))
	}
	if nfeat == 0 {
		return errors.New("no features")
	}
	f.features = make([]string, nfeat)
	for i := range f.features {
		s, err := next("feature", i)
		if err != nil {
			return err
		}
		f.features[i] = s
	}
	f.classes = make([]Class, 0, nc)
	var seen [numClasses]bool
	for i := range nc {
		s, err := next("class", i)
		if err != nil {
			return err
		}
		c, ok := ParseClass(s)
		if !ok || c == Unknown {
			return fmt.Errorf("class %q is not in the taxonomy", s)
		}
		if seen[c] {
			return fmt.Errorf("class %q listed twice", s)
		}
		seen[c] = true
		f.classes = append(f.classes, c)
	}
	if nc == 0 {
		return errors.New("no classes")
	}
	desc, err := next("description", 0)
	if err != nil {
		return err
	}
	if len(t) != 0 {
		return fmt.Errorf("%d bytes after the description in the string table", len(t))
	}
	f.desc = desc
	return nil
}

// checkCompiled holds a Forest read from a compiled file to what compile
// guarantees, proba's unchecked loads first: every offset a node or group
// holds lands in its array, internal nodes' children follow them, every
// walk has the steps to reach a leaf, and probabilities are numbers.
func (f *Forest) checkCompiled() error {
	nn, nc := len(f.nodes), len(f.classes)
	if nn == 0 {
		return errors.New("no nodes")
	}
	if uint64(nn)*uint64(nodeSize) > math.MaxUint32 {
		return fmt.Errorf("%d nodes are more than a forest can address", nn)
	}
	if f.trees < 1 || f.pad < 0 || f.pad > 1 {
		return fmt.Errorf("%d trees and %d padding nodes", f.trees, f.pad)
	}
	if slots := len(f.groups) * walkers; slots < f.trees || slots >= f.trees+walkers || (slots > f.trees) != (f.pad == 1) {
		return fmt.Errorf("%d groups for %d trees and %d padding nodes", len(f.groups), f.trees, f.pad)
	}
	if len(f.probs) < nc {
		return fmt.Errorf("%d probabilities for %d classes", len(f.probs), nc)
	}
	for i, p := range f.probs {
		if !(p >= 0 && p <= 1) {
			return fmt.Errorf("probability %d is %v", i, p)
		}
	}
	// The padding tree, if any, is the last node: a leaf of zeros that no
	// real tree reaches and that fills the last group's slots after the
	// real trees, and only them. Every other leaf holds one tree's share
	// of a verdict: its probabilities sum to 1/trees, give or take their
	// rounding.
	padNode := -1
	if f.pad == 1 {
		padNode = nn - 1
	}
	share := 1 / float64(f.trees)
	featEnd := uint64(len(f.features)) * uint64(featureSize)
	for i := range f.nodes {
		n, off := &f.nodes[i], nodeAt(i)
		if n.feature%featureSize != 0 || uint64(n.feature) >= featEnd {
			return fmt.Errorf("node %d: feature offset %d of %d features", i, n.feature, len(f.features))
		}
		switch n.mask {
		case 0:
			if n.left != off {
				return fmt.Errorf("leaf node %d points at %d, not at itself", i, n.left)
			}
			lo := f.leafOff[i]
			if lo < 0 || int(lo) > len(f.probs)-nc {
				return fmt.Errorf("leaf node %d: probabilities at %d of %d", i, lo, len(f.probs))
			}
			probs := f.probs[lo : int(lo)+nc]
			if i == padNode {
				for k, p := range probs {
					if p != 0 {
						return fmt.Errorf("padding leaf: probability %d is %v", k, p)
					}
				}
				continue
			}
			var sum float64
			for _, p := range probs {
				sum += float64(p)
			}
			if math.Abs(sum-share) > share*1e-4 {
				return fmt.Errorf("leaf node %d: probabilities sum to %v, not 1/%d", i, sum, f.trees)
			}
		case nodeSize:
			if i == padNode {
				return fmt.Errorf("padding node %d is not a leaf", padNode)
			}
			if n.left%nodeSize != 0 || n.left <= off || uint64(n.left/nodeSize)+1 >= uint64(nn) {
				return fmt.Errorf("node %d: children at offset %d of %d nodes", i, n.left, nn)
			}
			if padNode >= 0 && int(n.left/nodeSize)+1 >= padNode {
				return fmt.Errorf("node %d: a child is the padding leaf", i)
			}
			if math.IsNaN(float64(n.thr)) {
				return fmt.Errorf("node %d: threshold is NaN", i)
			}
		default:
			return fmt.Errorf("node %d: mask %d", i, n.mask)
		}
	}
	// Heights, leaves up: children follow their parent, so one backward
	// pass sees both children of a node before the node.
	height := make([]int32, nn)
	for i := nn - 1; i >= 0; i-- {
		if n := &f.nodes[i]; n.mask != 0 {
			c := n.left / nodeSize
			height[i] = 1 + max(height[c], height[c+1])
		}
	}
	for gi := range f.groups {
		g := &f.groups[gi]
		for k, r := range g.roots {
			if r%nodeSize != 0 || uint64(r/nodeSize) >= uint64(nn) {
				return fmt.Errorf("group %d: root offset %d of %d nodes", gi, r, nn)
			}
			if isPad := gi*walkers+k >= f.trees; isPad != (int(r/nodeSize) == padNode) {
				return fmt.Errorf("group %d: root %d at node %d (padding node %d)", gi, k, r/nodeSize, padNode)
			}
			if h := height[r/nodeSize]; g.steps < h {
				return fmt.Errorf("group %d: %d steps for a tree %d deep", gi, g.steps, h)
			}
		}
		if int(g.steps) > nn {
			return fmt.Errorf("group %d: %d steps in %d nodes", gi, g.steps, nn)
		}
	}
	return nil
}
