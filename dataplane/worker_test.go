package dataplane

import (
	"io"
	"slices"
	"testing"
	"time"

	"github.com/tunnelscope/tunnelscope/dataplane/flow"
	"github.com/tunnelscope/tunnelscope/dataplane/packet"
	"github.com/tunnelscope/tunnelscope/dataplane/pcapsrc"
	"github.com/tunnelscope/tunnelscope/features"
	"github.com/tunnelscope/tunnelscope/models"
)

type capturedFrame struct {
	data    []byte
	wireLen uint32
	time    int64
	link    packet.LinkType
}

func loadFrames(t testing.TB, name string) []capturedFrame {
	t.Helper()
	s, err := pcapsrc.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var out []capturedFrame
	for {
		var fr pcapsrc.Frame
		if err := s.Next(&fr); err == io.EOF {
			return out
		} else if err != nil {
			t.Fatal(err)
		}
		out = append(out, capturedFrame{append([]byte(nil), fr.Data...), fr.WireLen, fr.Time, fr.Link})
	}
}

// countSink counts without keeping anything, so it allocates nothing.
type countSink struct{ ends, snaps, pkts, modelled uint64 }

func (s *countSink) FlowEnd(r *Record) {
	s.ends++
	s.pkts += r.Pkts[0] + r.Pkts[1]
	s.count(r)
}

func (s *countSink) Snapshot(r *Record, at Snapshot, vec []float32) {
	s.snaps++
	s.count(r)
}

func (s *countSink) count(r *Record) {
	if r.Verdict.Source == models.SourceModel {
		s.modelled++
	}
}

// newTestWorker makes a worker for cfg whose records a countSink counts.
func newTestWorker(t testing.TB, cfg Config) (*Worker, *countSink) {
	t.Helper()
	sink := &countSink{}
	w, err := NewWorker(cfg, sink)
	if err != nil {
		t.Fatal(err)
	}
	return w, sink
}

// testModel is a one-split tree on the schema: flows of more than 4
// packets are Tor, others DNS.
func testModel(t testing.TB) *models.Forest {
	t.Helper()
	schema := features.Schema()
	f, err := (&models.File{Kind: "decision_tree", Features: schema, Classes: []string{"dns", "tor"},
		Trees: []models.Tree{{
			Feature: []int32{int32(slices.Index(schema, "both_packets")), -1, -1}, Threshold: []float32{4, 0, 0},
			Left: []int32{1, 0, 1}, Right: []int32{2, -1, -1}, Value: [][]float32{{1, 0}, {0, 1}},
		}}}).Compile()
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func testConfig(capacity int) Config {
	fc := flow.DefaultConfig()
	fc.Capacity = capacity
	xc := features.DefaultConfig()
	xc.Window, xc.Pool = 32, 64
	return Config{Decap: packet.DecapAll, Flow: fc, Features: xc, SnapEnd: true, SnapWindows: true, SnapPackets: 8, Lcore: -1}
}

// The whole per-packet path — decode, flow lookup and creation, feature
// update, pooled state, snapshots, timer expiry and eviction of a full
// table, and the model's verdict at each snapshot and flow end —
// allocates nothing.
func TestWorkerDoesNotAllocate(t *testing.T) {
	frames := loadFrames(t, "../sample/tor.pcap")
	// 4 slots for a capture with up to 6 flows at once: eviction happens
	// every round.
	cfg := testConfig(4)
	cfg.Model = testModel(t)
	w, sink := newTestWorker(t, cfg)
	var shift int64
	round := func() {
		for _, f := range frames {
			w.Frame(f.data, f.wireLen, f.time+shift, f.link)
		}
		// The next round starts an hour later: every flow expires by timer.
		shift += int64(time.Hour)
	}
	round()
	if allocs := testing.AllocsPerRun(20, round); allocs != 0 {
		t.Fatalf("%.1f allocations per replay of %d frames", allocs, len(frames))
	}
	st := w.TableStats()
	if st.Evicted == 0 || sink.ends == 0 || sink.snaps == 0 {
		t.Fatalf("the test did not exercise eviction/ends/snapshots: %+v, sink %+v", st, sink)
	}
	if sink.modelled != sink.ends+sink.snaps {
		t.Fatalf("%d of %d records and snapshots carry the model's verdict", sink.modelled, sink.ends+sink.snaps)
	}
}

// No packet is lost: after a flush, the records account for every frame
// that decoded into a flow.
func TestWorkerConservesPackets(t *testing.T) {
	frames := loadFrames(t, "../sample/tor.pcap")
	w, sink := newTestWorker(t, testConfig(16))
	for _, f := range frames {
		w.Frame(f.data, f.wireLen, f.time, f.link)
	}
	w.Flush()
	c := w.Counters()
	if c.Frames != uint64(len(frames)) || sink.pkts != c.Packets || c.Packets+c.NotIP+c.Truncated+c.Malformed+c.UnknownLink+c.TooDeep != c.Frames {
		t.Fatalf("counters %+v, records hold %d packets", c, sink.pkts)
	}
}

func TestDispatchIsUniformAndInRange(t *testing.T) {
	for _, n := range []int{1, 2, 3, 8} {
		counts := make([]int, n)
		h := uint64(0x9e3779b97f4a7c15)
		for i := 0; i < 80000; i++ {
			h ^= h << 13
			h ^= h >> 7
			h ^= h << 17
			d := Dispatch(h, n)
			if d < 0 || d >= n {
				t.Fatalf("Dispatch(%x, %d) = %d", h, n, d)
			}
			counts[d]++
		}
		for i, c := range counts {
			if c < 80000/n*9/10 {
				t.Errorf("n=%d: worker %d got %d of 80000", n, i, c)
			}
		}
	}
}

func BenchmarkWorkerFrame(b *testing.B) {
	frames := loadFrames(b, "../sample/tor.pcap")
	cfg := testConfig(4096)
	// classify's configuration: records only, no snapshot vectors.
	cfg.SnapEnd, cfg.SnapWindows, cfg.SnapPackets = false, false, 0
	w, _ := newTestWorker(b, cfg)
	b.ReportAllocs()
	b.ResetTimer()
	var shift int64
	for i := 0; i < b.N; i++ {
		f := &frames[i%len(frames)]
		if i%len(frames) == 0 {
			shift += int64(time.Hour)
		}
		w.Frame(f.data, f.wireLen, f.time+shift, f.link)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/frame")
}

// A million mostly-short flows must stay small: every slot of a
// million-flow worker costs the entry, its index share and the hot feature
// state (B/flow), and short flows (up to features.HotPackets packets) take
// nothing from the histogram pool.
func BenchmarkWorkerMillionFlowTable(b *testing.B) {
	cfg := testConfig(1 << 20)
	cfg.SnapEnd, cfg.SnapWindows, cfg.SnapPackets = false, false, 0
	w, _ := newTestWorker(b, cfg)
	frames := loadFrames(b, "../sample/tor.pcap")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f := &frames[i%len(frames)]
		w.Frame(f.data, f.wireLen, f.time, f.link)
	}
	b.ReportMetric(w.BytesPerFlow(), "B/flow")
}

func TestBytesPerFlow(t *testing.T) {
	w, _ := newTestWorker(t, testConfig(1<<16))
	// 128-byte entry + index (up to 16 bytes a slot with its growth reserve)
	// + 256-byte hot feature state + 12 bytes of bookkeeping.
	if b := w.BytesPerFlow(); b < 256+128 || b > 512 {
		t.Fatalf("%.0f bytes per flow", b)
	}
	t.Logf("%.0f bytes per flow slot", w.BytesPerFlow())
}

// A frame that does not decode still moves the flow clock: a flow idle
// longer than its timeout by a later non-IP frame's time ends as idle, not
// at the flush, as the live loop's timer ends it.
func TestUndecodedFrameMovesTheClock(t *testing.T) {
	frames := loadFrames(t, "../sample/tor.pcap")
	w, sink := newTestWorker(t, testConfig(64))
	var last int64
	for _, f := range frames {
		w.Frame(f.data, f.wireLen, f.time, f.link)
		last = max(last, f.time)
	}
	active := w.TableStats().Created - sink.ends
	if active == 0 {
		t.Fatal("no flow left active to expire")
	}
	// Four bytes of Ethernet: truncated, no flow.
	w.Frame([]byte{0, 1, 2, 3}, 4, last+int64(time.Hour), packet.LinkEthernet)
	w.Publish()
	if c := w.Counters(); c.Truncated == 0 {
		t.Fatalf("the frame decoded: %+v", c)
	}
	if left := w.TableStats().Created - sink.ends; left != 0 {
		t.Fatalf("%d of %d flows still active an hour after the last packet", left, active)
	}
}
