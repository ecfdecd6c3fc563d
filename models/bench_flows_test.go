package models_test

import (
	"path/filepath"
	"testing"

	"github.com/tunnelscope/tunnelscope/dataplane"
	"github.com/tunnelscope/tunnelscope/dataplane/flow"
	"github.com/tunnelscope/tunnelscope/features"
	"github.com/tunnelscope/tunnelscope/internal/reference"
	"github.com/tunnelscope/tunnelscope/models"
)

// vectorSink keeps each flow's vector at its end.
type vectorSink struct{ vecs [][]float32 }

func (s *vectorSink) FlowEnd(*dataplane.Record) {}
func (s *vectorSink) Snapshot(_ *dataplane.Record, _ dataplane.Snapshot, vec []float32) {
	s.vecs = append(s.vecs, append([]float32(nil), vec...))
}

// BenchmarkPredictSharedFlows times one verdict of the shipped forest on
// the end-of-flow vectors of the shared captures' flows, each copied
// into one buffer first, as a worker builds it just before predicting.
// Real flows take the walks the model was trained for; random vectors
// (BenchmarkPredictShipped) take fewer and more predictable ones.
func BenchmarkPredictSharedFlows(b *testing.B) {
	f, err := models.Load("../configs/model.json")
	if err != nil {
		b.Fatal(err)
	}
	data, err := reference.SharedData(".")
	if err != nil {
		b.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(data, "pcap", "*"))
	if err != nil || len(files) == 0 {
		b.Fatalf("no shared captures under %s: %v", data, err)
	}
	sink := &vectorSink{} // one worker (Offline.Workers 0), so one sink
	off := dataplane.Offline{
		Config: dataplane.Config{
			Flow:     flow.DefaultConfig(),
			Features: features.DefaultConfig(),
			SnapEnd:  true,
			Lcore:    -1,
		},
		NewSink: func(int) dataplane.Sink { return sink },
	}
	if _, err := off.Run(files); err != nil {
		b.Fatal(err)
	}
	if len(sink.vecs) < 1000 {
		b.Fatalf("%d flows in the shared captures, expected thousands", len(sink.vecs))
	}
	vec := make([]float32, len(f.Features()))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		copy(vec, sink.vecs[i%len(sink.vecs)])
		f.Predict(vec)
	}
}
