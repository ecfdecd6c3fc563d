package models

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
)

// FuzzRead feeds arbitrary bytes to Read. Whatever it accepts must be
// safe to predict with: Predict walks the flat arrays without bounds
// checks of its own, trusting compile's, so an accepted model that
// panics or loops here would do so on the live path. A model accepted
// must also survive a Write and Read unchanged.
func FuzzRead(f *testing.F) {
	m, err := Train(synthetic(60, 13), TrainConfig{Trees: 2, MaxDepth: 3, Seed: 1})
	if err != nil {
		f.Fatal(err)
	}
	var b bytes.Buffer
	if err := m.Write(&b); err != nil {
		f.Fatal(err)
	}
	f.Add(b.Bytes())
	f.Add([]byte(validModel))
	for _, r := range [][2]string{
		{`"left":[1,0,1]`, `"left":[0,0,1]`},
		{`"feature":[1,`, `"feature":[2,`},
		{`[0,2]`, `[0,0]`},
		{`"tor"`, `"gaming"`},
	} {
		f.Add([]byte(strings.Replace(validModel, r[0], r[1], 1)))
	}

	for _, m := range []*File{m, handFile(splitTree())} {
		c, err := m.Compile()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(c.AppendCompiled(nil))
	}

	f.Fuzz(func(t *testing.T, data []byte) {
		if isCompiled(data) && len(data) >= compiledHeader {
			// Past the checksum, or the fuzzer would hardly reach the checks
			// that keep proba's unchecked loads in bounds.
			data = resum(bytes.Clone(data))
		}
		forest, err := Read(bytes.NewReader(data))
		if err != nil {
			if !errors.Is(err, ErrCorruptModel) {
				t.Fatalf("error %v does not wrap ErrCorruptModel", err)
			}
			return
		}
		n := len(forest.Features())
		vecs := [][]float32{make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)}
		for i := range n {
			vecs[1][i] = 1e30
			vecs[2][i] = -1e30
			vecs[3][i] = float32(math.NaN())
		}
		for _, vec := range vecs {
			c, p := forest.Predict(vec)
			if !slices.Contains(forest.Classes(), c) || !(p > 0 && p <= 1.0001) {
				t.Fatalf("Predict(%v) = %v, %v: not a class of %v with a confidence in (0, 1]", vec[:min(n, 3)], c, p, forest.Classes())
			}
		}

		if isCompiled(data) {
			checkWalks(t, forest, vecs)
			if again := forest.AppendCompiled(nil); !bytes.Equal(again, data) {
				t.Fatalf("an accepted compiled model writes back other bytes")
			}
			return
		}

		// Write what was read and read it again: the same predictions.
		var file File
		dec := json.NewDecoder(bytes.NewReader(data))
		if err := dec.Decode(&file); err != nil {
			t.Fatalf("Read accepted what json rejects: %v", err)
		}
		var out bytes.Buffer
		if err := file.Write(&out); err != nil {
			t.Fatalf("Write of an accepted model: %v", err)
		}
		again, err := Read(&out)
		if err != nil {
			t.Fatalf("a written model does not read back: %v\n%s", err, out.Bytes())
		}
		for _, vec := range vecs {
			c, p := forest.Predict(vec)
			c2, p2 := again.Predict(vec)
			if c != c2 || p != p2 {
				t.Fatalf("Predict(%v): %v, %v before Write, %v, %v after", vec[:min(n, 3)], c, p, c2, p2)
			}
		}
	})
}

// checkWalks walks every tree of f for each vector as proba does, but
// with every offset checked, and fails unless each walk stays in the
// arrays and ends on a leaf whose probabilities are in range.
func checkWalks(t *testing.T, f *Forest, vecs [][]float32) {
	t.Helper()
	for _, vec := range vecs {
		for gi, g := range f.groups {
			for _, off := range g.roots {
				for range g.steps {
					i := int(off / nodeSize)
					if off%nodeSize != 0 || i >= len(f.nodes) {
						t.Fatalf("group %d: a walk reached offset %d of %d nodes", gi, off, len(f.nodes))
					}
					n := f.nodes[i]
					fi := int(n.feature / featureSize)
					if n.feature%featureSize != 0 || fi >= len(vec) {
						t.Fatalf("node %d reads feature offset %d of %d", i, n.feature, len(vec))
					}
					right := uint32(0)
					if !(n.thr >= vec[fi]) {
						right = 1
					}
					off = n.left + (right*nodeSize)&n.mask
				}
				i := int(off / nodeSize)
				if i >= len(f.nodes) || f.nodes[i].mask != 0 {
					t.Fatalf("group %d: a walk of %d steps ended off a leaf, at node %d", gi, g.steps, i)
				}
				if o := int(f.leafOff[i]); o < 0 || o+len(f.classes) > len(f.probs) {
					t.Fatalf("leaf node %d: probabilities at %d of %d", i, o, len(f.probs))
				}
			}
		}
	}
}
