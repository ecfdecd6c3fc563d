package models

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// resum rewrites b's checksum so that a test's change to the body reaches
// the checks behind it.
func resum(b []byte) []byte {
	binary.LittleEndian.PutUint32(b[48:], crc32.ChecksumIEEE(b[compiledHeader:]))
	return b
}

// compiledSections are the byte offsets of a compiled file's arrays.
type compiledSections struct{ groups, nodes, leafOff, probs int }

func sectionsOf(b []byte) compiledSections {
	w := func(off int) int { return int(binary.LittleEndian.Uint32(b[off:])) }
	var s compiledSections
	s.groups = compiledHeader + (w(44)+3)&^3
	s.nodes = s.groups + w(32)*groupSize
	s.leafOff = s.nodes + w(36)*int(nodeSize)
	s.probs = s.leafOff + w(36)*4
	return s
}

// sameForest fails unless a and b hold the same arrays and names.
func sameForest(t *testing.T, what string, a, b *Forest) {
	t.Helper()
	if !reflect.DeepEqual(a.features, b.features) || !reflect.DeepEqual(a.classes, b.classes) ||
		!reflect.DeepEqual(a.groups, b.groups) || !reflect.DeepEqual(a.nodes, b.nodes) ||
		!reflect.DeepEqual(a.leafOff, b.leafOff) || !reflect.DeepEqual(a.probs, b.probs) ||
		a.trees != b.trees || a.pad != b.pad || a.desc != b.desc {
		t.Fatalf("%s: the forests differ", what)
	}
}

// A compiled file reads back as the forest that wrote it, array for
// array, and writes again to the same bytes, for any tree count (padded
// or not).
func TestCompiledRoundTrip(t *testing.T) {
	d := synthetic(300, 5)
	rng := rand.New(rand.NewPCG(5, 6))
	for _, trees := range []int{1, 2, 7, 8, 9, 16} {
		m := mustTrain(t, d, TrainConfig{Trees: trees, MaxDepth: 7, Seed: uint64(trees)})
		m.Description = "round trip"
		want := mustCompile(t, m)
		b := want.AppendCompiled(nil)
		if !isCompiled(b) {
			t.Fatalf("%d trees: the compiled form does not start with its magic", trees)
		}
		got, err := Read(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%d trees: %v", trees, err)
		}
		sameForest(t, "read back", want, got)
		if again := got.AppendCompiled(nil); !bytes.Equal(again, b) {
			t.Fatalf("%d trees: a forest read from a compiled file writes other bytes", trees)
		}
		vec := make([]float32, len(d.Features))
		for range 200 {
			for j := range vec {
				vec[j] = float32(rng.NormFloat64() * 2)
			}
			if p, q := got.Proba(vec, nil), want.Proba(vec, nil); !reflect.DeepEqual(p, q) {
				t.Fatalf("%d trees: Proba %v read back, %v compiled", trees, p, q)
			}
		}
	}
}

// Read uses the arrays in place, so a buffer that does not start on a
// word boundary is copied first: the result must not depend on where the
// bytes sit.
func TestCompiledMisaligned(t *testing.T) {
	want := mustCompile(t, handFile(splitTree(), splitTree()))
	b := want.AppendCompiled(nil)
	buf := make([]byte, len(b)+1)
	copy(buf[1:], b)
	got, err := readCompiled(buf[1:])
	if err != nil {
		t.Fatal(err)
	}
	sameForest(t, "misaligned", want, got)
}

// Every damage the checks guard against is refused with ErrCorruptModel
// and a message naming it, not used: proba trusts these offsets.
func TestCompiledCorrupt(t *testing.T) {
	good := mustCompile(t, handFile(splitTree())).AppendCompiled(nil)
	s := sectionsOf(good)
	le := binary.LittleEndian
	// The stump lays out as root, left leaf, right leaf; one tree pads a
	// group with the padding leaf at node 3.
	for _, c := range []struct {
		name, want string
		edit       func(b []byte) []byte
	}{
		{"short", "no header", func(b []byte) []byte { return b[:40] }},
		{"version", "version 2, this build reads 1", func(b []byte) []byte { le.PutUint32(b[8:], 2); return b }},
		{"node size", "node size 12", func(b []byte) []byte { le.PutUint32(b[12:], 12); return b }},
		{"reserved", "header byte 60 is not zero", func(b []byte) []byte { b[60] = 1; return b }},
		{"truncated", "bytes, the header's counts make", func(b []byte) []byte { return b[:len(b)-4] }},
		{"longer", "bytes, the header's counts make", func(b []byte) []byte { return append(b, 0, 0, 0, 0) }},
		{"node count", "bytes, the header's counts make", func(b []byte) []byte { le.PutUint32(b[36:], math.MaxUint32); return b }},
		{"checksum", "checksum", func(b []byte) []byte { b[len(b)-1] ^= 1; return b }},
		{"features", "string table", func(b []byte) []byte { le.PutUint32(b[16:], 1000); return resum(b) }},
		{"no features", "no features", func(b []byte) []byte {
			// Both names move to the classes; the class count says 4.
			le.PutUint32(b[16:], 0)
			le.PutUint32(b[20:], 4)
			return resum(b)
		}},
		{"class", `class "b" is not in the taxonomy`, func(b []byte) []byte {
			le.PutUint32(b[16:], 1)
			le.PutUint32(b[20:], 3)
			return resum(b)
		}},
		{"class twice", `class "tor" listed twice`, func(b []byte) []byte {
			i := bytes.Index(b, []byte("dns"))
			copy(b[i:], "tor")
			return resum(b)
		}},
		{"name length", "left in the string table", func(b []byte) []byte {
			le.PutUint32(b[compiledHeader:], 1<<20)
			return resum(b)
		}},
		{"padding", "padding byte", func(b []byte) []byte {
			if (le.Uint32(b[44:]))%4 == 0 {
				t.Fatal("the stump's string table has no padding to damage")
			}
			b[s.groups-1] = 7
			return resum(b)
		}},
		{"root", "group 0: root offset", func(b []byte) []byte { le.PutUint32(b[s.groups:], 99*nodeSize); return resum(b) }},
		{"root alignment", "group 0: root offset", func(b []byte) []byte { le.PutUint32(b[s.groups:], 3); return resum(b) }},
		{"steps", "group 0: 0 steps for a tree 1 deep", func(b []byte) []byte {
			le.PutUint32(b[s.groups+walkers*4:], 0)
			return resum(b)
		}},
		{"feature", "node 0: feature offset 8 of 2 features", func(b []byte) []byte { le.PutUint32(b[s.nodes:], 8); return resum(b) }},
		{"children", "node 0: children at offset", func(b []byte) []byte { le.PutUint32(b[s.nodes+8:], 3*nodeSize); return resum(b) }},
		{"cycle", "node 0: children at offset 0", func(b []byte) []byte { le.PutUint32(b[s.nodes+8:], 0); return resum(b) }},
		{"mask", "node 0: mask 3", func(b []byte) []byte { le.PutUint32(b[s.nodes+12:], 3); return resum(b) }},
		{"NaN", "node 0: threshold is NaN", func(b []byte) []byte {
			le.PutUint32(b[s.nodes+4:], math.Float32bits(float32(math.NaN())))
			return resum(b)
		}},
		{"leaf self", "leaf node 1 points at 0", func(b []byte) []byte { le.PutUint32(b[s.nodes+int(nodeSize)+8:], 0); return resum(b) }},
		{"leaf probabilities", "leaf node 1: probabilities at", func(b []byte) []byte { le.PutUint32(b[s.leafOff+4:], 5); return resum(b) }},
		{"negative leaf offset", "leaf node 2: probabilities at -1", func(b []byte) []byte {
			le.PutUint32(b[s.leafOff+8:], math.MaxUint32)
			return resum(b)
		}},
		{"probability", "probability 0 is NaN", func(b []byte) []byte {
			le.PutUint32(b[s.probs:], math.Float32bits(float32(math.NaN())))
			return resum(b)
		}},
		{"leaf sum", "leaf node 1: probabilities sum to 0.75, not 1/1", func(b []byte) []byte {
			le.PutUint32(b[s.probs:], math.Float32bits(0.5))
			return resum(b)
		}},
		{"padding leaf", "padding leaf: probability 0 is 0.5", func(b []byte) []byte {
			le.PutUint32(b[s.probs+16:], math.Float32bits(0.5))
			return resum(b)
		}},
		{"padding root", "group 0: root 1 at node 0 (padding node 3)", func(b []byte) []byte {
			le.PutUint32(b[s.groups+4:], 0)
			return resum(b)
		}},
		{"child is padding", "node 0: a child is the padding leaf", func(b []byte) []byte {
			le.PutUint32(b[s.nodes+8:], 2*nodeSize)
			return resum(b)
		}},
		{"trees", "groups for 9 trees", func(b []byte) []byte { le.PutUint32(b[24:], 9); return resum(b) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := c.edit(bytes.Clone(good))
			_, err := Read(bytes.NewReader(b))
			if !errors.Is(err, ErrCorruptModel) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v, want an error with %q", err, c.want)
			}
		})
	}
}

func TestSaveCompiledLoad(t *testing.T) {
	m := mustTrain(t, synthetic(200, 3), TrainConfig{Trees: 3, Seed: 1})
	want := mustCompile(t, m)
	path := filepath.Join(t.TempDir(), "model.tsm")
	if err := want.SaveCompiled(path); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	sameForest(t, "loaded", want, got)
	b, _ := os.ReadFile(path)
	if err := os.WriteFile(path, b[:len(b)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); !errors.Is(err, ErrCorruptModel) || !strings.Contains(err.Error(), "model "+path+": corrupt model file: compiled: ") {
		t.Errorf("Load of half a compiled file: %v", err)
	}
}

// The shipped compiled model must be what the shipped JSON compiles to,
// byte for byte: a retrained model.json with a stale model.tsm would
// have the appliance serve the old forest.
func TestShippedCompiledModelIsCurrent(t *testing.T) {
	f, err := Load("../configs/model.json")
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("../configs/model.tsm")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, f.AppendCompiled(nil)) {
		t.Fatal("configs/model.tsm is not configs/model.json compiled: run make model")
	}
}
