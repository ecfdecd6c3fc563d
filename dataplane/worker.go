package dataplane

import (
	"errors"
	"fmt"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/tunnelscope/tunnelscope/dataplane/flow"
	"github.com/tunnelscope/tunnelscope/dataplane/packet"
	"github.com/tunnelscope/tunnelscope/features"
	"github.com/tunnelscope/tunnelscope/internal/hugepage"
	"github.com/tunnelscope/tunnelscope/models"
)

// SnapshotKind says when a feature snapshot was taken.
type SnapshotKind uint8

// Snapshot points, for early classification and for building data sets.
const (
	AtEnd     SnapshotKind = iota // when the flow ends
	AtPackets                     // once, when the flow reaches N packets
	AtWindow                      // at the end of each histogram window; N is the window's number from 1
)

// Snapshot identifies one snapshot of a flow's features.
type Snapshot struct {
	Kind SnapshotKind
	N    int
}

// Sink receives a worker's output on the worker's own thread. The Record
// and vector are reused after the call returns: copy what must be kept.
type Sink interface {
	FlowEnd(r *Record)
	Snapshot(r *Record, at Snapshot, vec []float32)
}

// Config is everything a Worker needs; it is fixed for the worker's life.
type Config struct {
	Decap    packet.Decap
	Flow     flow.Config
	Features features.Config
	// Snapshots to take; the zero value takes none (classify needs only the
	// record). Vectors are computed only for the snapshots asked for.
	SnapPackets int  // snapshot when a flow reaches this many packets (0: off)
	SnapWindows bool // snapshot at every window end
	SnapEnd     bool // snapshot when the flow ends
	// Tick is the expiry period in packet time: idle flows end within Tick
	// of their timeout even when nothing else arrives for them.
	Tick  time.Duration
	Lcore int32
	// Model classifies each flow at its end and at each snapshot; nil
	// leaves verdicts unknown. Live workers swap it with SetModel.
	Model *models.Forest
}

// Counters are a worker's packet and flow counts.
type Counters struct {
	Frames      uint64 // frames handed to the worker
	FrameBytes  uint64
	Packets     uint64 // frames decoded into a flow
	NotIP       uint64 // ARP, LLDP and other non-IP frames
	Truncated   uint64 // headers cut short by the capture or the wire
	Malformed   uint64 // impossible header values
	UnknownLink uint64 // frames of a link type the decoder does not know
	TooDeep     uint64 // more nested headers than the decoder follows
	Flows       uint64 // flows ended and handed to the sink
	Active      uint64 // flows in the table at the last publication
}

const numCounters = 10

func (c *Counters) array() [numCounters]uint64 {
	return [numCounters]uint64{c.Frames, c.FrameBytes, c.Packets, c.NotIP, c.Truncated,
		c.Malformed, c.UnknownLink, c.TooDeep, c.Flows, c.Active}
}

func countersFrom(a *[numCounters]atomic.Uint64) Counters {
	return Counters{a[0].Load(), a[1].Load(), a[2].Load(), a[3].Load(), a[4].Load(),
		a[5].Load(), a[6].Load(), a[7].Load(), a[8].Load(), a[9].Load()}
}

// Worker runs the pipeline for the flows one thread owns.
type Worker struct {
	dec   packet.Decoder
	table *flow.Table
	fx    *features.Extractor
	feats []features.Flow
	sink  Sink
	cfg   Config
	model *models.Forest

	pkt packet.Packet
	key flow.Key
	rec Record
	vec []float32
	// windows counts each slot's completed histogram windows, for
	// AtWindow numbering; read only for snapshots. What every packet
	// updates lives in the flow's Entry and features.Flow.
	windows  []int32
	nextTick int64

	c   Counters
	pub [numCounters]atomic.Uint64 // c as of the last Publish, for other goroutines
}

// ErrConfig wraps a configuration the worker cannot run with.
var ErrConfig = errors.New("worker configuration")

// NewWorker allocates every table the worker will use; nothing is allocated
// after this returns.
func NewWorker(cfg Config, sink Sink) (*Worker, error) {
	if cfg.Tick <= 0 {
		cfg.Tick = time.Second
	}
	if sink == nil {
		return nil, fmt.Errorf("%w: nil sink", ErrConfig)
	}
	w := &Worker{dec: packet.Decoder{Decap: cfg.Decap}, sink: sink, cfg: cfg, model: cfg.Model, rec: Record{Lcore: cfg.Lcore}}
	t, err := flow.New(cfg.Flow, w.flowEnd)
	if err != nil {
		return nil, fmt.Errorf("%w: flow table: %w", ErrConfig, err)
	}
	fx, err := features.NewExtractor(cfg.Features)
	if err != nil {
		return nil, fmt.Errorf("%w: features: %w", ErrConfig, err)
	}
	w.table, w.fx = t, fx
	w.feats = hugepage.Make[features.Flow](t.Capacity())
	w.windows = hugepage.MakeLazy[int32](t.Capacity())
	w.vec = make([]float32, 0, features.VectorLen)
	return w, nil
}

// SetModel replaces the model for the flows that end from now on. The
// live loop calls it once per burst with the control plane's current
// model, so a reload reaches every lcore without a lock.
func (w *Worker) SetModel(m *models.Forest) { w.model = m }

// SetFile names the capture the following frames come from (offline); it is
// copied into every record.
func (w *Worker) SetFile(name string) { w.rec.File = name }

// Frame runs one frame through the pipeline. wireLen is the frame's length
// on the wire; now is its timestamp in ns since the epoch.
//
// A frame that does not decode still moves the flow clock: time passed on
// the wire whatever the frame was, and the live loop, whose timer expires
// flows at the latest frame time it has seen, must end the same flows the
// same way as an offline run of the same frames.
func (w *Worker) Frame(frame []byte, wireLen uint32, now int64, link packet.LinkType) {
	if err := w.dec.Decode(frame, link, &w.pkt); err != nil {
		w.c.Frames++
		w.c.FrameBytes += uint64(wireLen)
		w.countError(err)
		w.table.Expire(now)
		return
	}
	w.Decoded(&w.pkt, wireLen, now)
}

// Prefault takes, on the calling thread, the page faults of the state the
// worker's first flows will use (flow.Table.Prefault): a live lcore calls
// it before its loop, so that those faults, and the first touch that
// places the pages on the lcore's NUMA node, happen before any packet.
// Call it before the first packet.
func (w *Worker) Prefault() {
	w.table.Prefault()
	w.fx.Prefault()
	hugepage.Touch(w.feats, hugepage.Size)
}

// Close returns the worker's flow state to the kernel: its flow table,
// feature pool and per-flow features (see hugepage.Free). Active flows
// are dropped, not ended: call EndFile first to record them. The worker
// must not be used afterwards, from any goroutine (TableStats and
// Counters included).
func (w *Worker) Close() {
	w.table.Close()
	w.fx.Close()
	hugepage.Free(w.feats)
	hugepage.Free(w.windows)
	w.feats, w.windows = nil, nil
}

// Decoded runs a packet that another stage already decoded (the live
// software dispatch decodes to find the worker) through the rest of the
// pipeline, exactly as Frame would have; p is not kept.
func (w *Worker) Decoded(p *packet.Packet, wireLen uint32, now int64) {
	w.c.Frames++
	w.c.FrameBytes += uint64(wireLen)
	w.c.Packets++
	if now >= w.nextTick {
		w.Tick(now)
	}
	k := &w.key
	fromB := k.Set(p)
	slot, dir, created := w.table.Packet(k, fromB, now, p, wireLen)
	f := &w.feats[slot]
	t := w.table.Now() // clamped: features never see time run backwards
	if created {
		w.fx.Start(f, k.Proto, t)
		w.windows[slot] = 0
	}
	windowEnd := w.fx.Packet(f, dir == flow.Backward, t, p.IPLen, p.PayloadLen, p.TCPFlags)
	if w.cfg.SnapPackets > 0 || w.cfg.SnapWindows {
		w.snapshots(slot, windowEnd)
	}
}

func (w *Worker) snapshots(slot uint32, windowEnd bool) {
	e := w.table.Entry(slot)
	if w.cfg.SnapPackets > 0 && e.Pkts[0]+e.Pkts[1] == uint64(w.cfg.SnapPackets) {
		w.snapshot(slot, e, Snapshot{Kind: AtPackets, N: w.cfg.SnapPackets}, flow.EndEOF)
	}
	if w.cfg.SnapWindows && windowEnd {
		w.windows[slot]++
		w.snapshot(slot, e, Snapshot{Kind: AtWindow, N: int(w.windows[slot])}, flow.EndEOF)
	}
}

func (w *Worker) snapshot(slot uint32, e *flow.Entry, at Snapshot, why flow.EndReason) {
	w.rec.fill(e, why)
	w.classify(slot)
	w.sink.Snapshot(&w.rec, at, w.vec)
}

// classify puts slot's feature vector in w.vec and the model's verdict on
// it in w.rec.
func (w *Worker) classify(slot uint32) {
	w.vec = w.fx.Vector(&w.feats[slot], w.vec[:0])
	w.rec.Verdict = models.Verdict{}
	if w.model != nil {
		w.rec.Verdict = w.model.Verdict(w.vec)
	}
}

func (w *Worker) countError(err error) {
	switch err {
	case packet.ErrNotIP:
		w.c.NotIP++
	case packet.ErrTruncated:
		w.c.Truncated++
	case packet.ErrUnknownLink:
		w.c.UnknownLink++
	case packet.ErrTooDeep:
		w.c.TooDeep++
	default:
		w.c.Malformed++
	}
}

// flowEnd is the flow table's end callback: the one place a record leaves
// the worker.
func (w *Worker) flowEnd(slot uint32, e *flow.Entry, why flow.EndReason) {
	w.rec.fill(e, why)
	if w.model != nil || w.cfg.SnapEnd {
		w.classify(slot)
	} else {
		w.rec.Verdict = models.Verdict{}
	}
	if w.cfg.SnapEnd {
		w.sink.Snapshot(&w.rec, Snapshot{Kind: AtEnd}, w.vec)
	}
	w.c.Flows++
	w.sink.FlowEnd(&w.rec)
	w.fx.Release(&w.feats[slot])
}

// Tick runs the timer work: expiry of flows whose timeouts passed by now
// (packet time offline, the TSC-derived clock live) and publication of the
// counters. The live loop calls it from its TSC timer; Frame calls it as
// packet time crosses each Tick period.
func (w *Worker) Tick(now int64) {
	w.table.Expire(now)
	w.nextTick = now + int64(w.cfg.Tick)
	w.Publish()
}

// Flush ends every flow (end of capture, shutdown) with end = "eof".
func (w *Worker) Flush() {
	w.table.Flush(flow.EndEOF)
	w.nextTick = 0
	w.Publish()
}

// Publish makes the counters visible to Snapshot readers.
func (w *Worker) Publish() {
	w.c.Active = uint64(w.table.Len())
	a := w.c.array()
	for i := range a {
		w.pub[i].Store(a[i])
	}
}

// Counters returns the counters as of the last Publish; safe from any goroutine.
func (w *Worker) Counters() Counters { return countersFrom(&w.pub) }

// TableStats returns the flow table's statistics; call it only from the
// worker's own thread (or after the worker stopped).
func (w *Worker) TableStats() flow.Stats { return w.table.Stats() }

// EndFile ends every flow of the capture just read (end = "eof") and resets
// packet time, so the next capture's clock starts afresh.
func (w *Worker) EndFile() {
	w.Flush()
	w.table.Reset()
}

// BytesPerFlow is the memory the worker holds for each flow-table slot:
// the flow entry and its share of the hash index, the hot feature state and
// the per-slot bookkeeping. Histogram state is separate: it comes from the
// feature pool, and only flows past features.HotPackets packets take it.
func (w *Worker) BytesPerFlow() float64 {
	perSlot := int(unsafe.Sizeof(features.Flow{})) + int(unsafe.Sizeof(int32(0)))
	return float64(w.table.Footprint())/float64(w.table.Capacity()) + float64(perSlot)
}
