package models

import (
	"math/rand/v2"
	"os"
	"testing"
)

// BenchmarkPredictShipped times one verdict of the shipped forest
// (configs/model.json): the per-flow cost a worker pays at each flow end.
func BenchmarkPredictShipped(b *testing.B) {
	f, err := Load("../configs/model.json")
	if err != nil {
		b.Fatal(err)
	}
	// Vectors of plausible magnitudes: each feature drawn over a wide
	// log range, so walks take varied paths.
	rng := rand.New(rand.NewPCG(1, 2))
	vecs := make([][]float32, 256)
	for i := range vecs {
		v := make([]float32, len(f.Features()))
		for j := range v {
			v[j] = float32(rng.ExpFloat64() * float64(int(1)<<rng.IntN(20)))
		}
		vecs[i] = v
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		f.Predict(vecs[i&255])
	}
}

// BenchmarkLoadShippedModel times Load of the shipped forest in both
// forms: the start-up cost every classify -m run pays before its first
// packet (the file comes from the page cache).
func BenchmarkLoadShippedModel(b *testing.B) {
	for _, c := range []struct{ name, path string }{
		{"json", "../configs/model.json"},
		{"compiled", "../configs/model.tsm"},
	} {
		b.Run(c.name, func(b *testing.B) {
			st, err := os.Stat(c.path)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(st.Size())
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Load(c.path); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
