package dataplane

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"testing"

	"github.com/tunnelscope/tunnelscope/dataplane/pcapsrc"
)

// A capture cut short by another process while classify reads it (Open
// maps files of a MiB or more, so the cut is a fault, not a short read)
// ends with an error naming it; the frames before the cut are processed
// and their flows emitted, and the next file is still read.
func TestOfflineSurvivesShrinkingCapture(t *testing.T) {
	sample, err := os.ReadFile("../sample/tor.pcap")
	if err != nil {
		t.Fatal(err)
	}
	// The sample's records repeated to 4 MiB, so the file is mapped and
	// progress reports come before the end.
	var b bytes.Buffer
	b.Write(sample)
	for b.Len() < 4<<20 {
		b.Write(sample[24:])
	}
	dir := t.TempDir()
	big := filepath.Join(dir, "shrinking.pcap")
	if err := os.WriteFile(big, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	// Progress comes from the reading goroutine, between batches: the cut
	// happens mid-run, after the first report.
	cut := false
	var sinks []*countSink
	off := Offline{
		Config:  testConfig(64),
		Workers: 1,
		NewSink: func(int) Sink { s := &countSink{}; sinks = append(sinks, s); return s },
		Progress: func(file string, _, _ int, frames, _ uint64, done bool) {
			if file == big && !done && !cut {
				cut = true
				if err := os.Truncate(big, 64<<10); err != nil {
					t.Error(err)
				}
			}
		},
	}
	res, err := off.Run([]string{big, "../sample/tor.pcap"})
	if err != nil {
		t.Fatal(err)
	}
	if !cut {
		t.Fatal("the capture was never cut: no progress report came")
	}
	if len(res.Errors) != 1 || res.Errors[0].File != big || !errors.Is(res.Errors[0], pcapsrc.ErrShrunk) {
		t.Fatalf("errors %v, want one ErrShrunk for %s", res.Errors, big)
	}
	whole := loadFrames(t, "../sample/tor.pcap")
	c := res.Counters[0]
	// More than the small file alone: the big file's frames before the cut count.
	if res.Frames <= uint64(len(whole)) || c.Frames != res.Frames || sinks[0].pkts != c.Packets {
		t.Fatalf("%d frames read (%d in the small file), counters %+v, records hold %d packets",
			res.Frames, len(whole), c, sinks[0].pkts)
	}
}

// Making the workers' tables sets off no collection, and leaves the
// collector as it found it.
func TestNewWorkersPausesCollector(t *testing.T) {
	cfg := testConfig(1 << 20) // a few hundred MB of tables
	off := Offline{Config: cfg, NewSink: func(int) Sink { return &countSink{} }}
	before := debug.SetGCPercent(100)
	defer debug.SetGCPercent(before)
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	workers, err := off.newWorkers(2)
	runtime.ReadMemStats(&m1)
	if err != nil || len(workers) != 2 {
		t.Fatal(err)
	}
	if m1.NumGC != m0.NumGC {
		t.Errorf("%d collections while %d MB of tables were made", m1.NumGC-m0.NumGC, (m1.HeapAlloc-m0.HeapAlloc)>>20)
	}
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("GC percent %d after, want 100", got)
	}
	runtime.KeepAlive(workers)
}
