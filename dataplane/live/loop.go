//go:build dpdk

package live

import (
	"runtime"
	"sync/atomic"
	"time"

	"github.com/tunnelscope/tunnelscope/dataplane"
	"github.com/tunnelscope/tunnelscope/dataplane/dpdk"
	"github.com/tunnelscope/tunnelscope/dataplane/packet"
)

// scratchSize holds any frame: LRO is off, so frames are at most the
// largest jumbo or TSO segment a capture holds (64 KiB), with room to spare.
const scratchSize = 256 << 10

// clock turns TSC readings into epoch nanoseconds.
type clock struct {
	tsc0  uint64
	epoch int64
	hz    uint64
}

func (c clock) ns(tsc uint64) int64 {
	d := tsc - c.tsc0
	return c.epoch + int64(d/c.hz)*1e9 + int64(d%c.hz*1e9/c.hz)
}

// loop is the run-to-completion loop of one worker lcore: receive, dispatch,
// process, free in bulk, and the timer work, until stop; then it drains what
// other lcores handed it and flushes every flow. It yields to the Go
// scheduler every yield TSC cycles, never if 0 (see yieldEvery).
func (wk *worker) loop(o *Options, workers []*worker, stop *atomic.Bool, hz, yield uint64) {
	defer wk.done.Store(true)
	rx := dpdk.NewBurst(o.Burst)
	defer rx.Free()
	// A worker takes up to two bursts from each incoming ring per
	// iteration, so after a stall it drains faster than it is fed.
	popMax := 2 * o.Burst
	// Mbufs finished and not yet freed: at most a burst from each RX queue
	// with software dispatch and popMax from each incoming ring, between
	// two polls of software-dispatch queues (each frees the list) or in one
	// iteration (the other queues' bursts are freed by their next poll).
	soft := 0
	for _, q := range wk.queues {
		if q.soft {
			soft++
		}
	}
	free := dpdk.NewBurst(min(max(o.Burst*soft+popMax*len(wk.in), 1), 65535))
	defer free.Free()
	nfree := 0
	// Queues without software dispatch keep burst arrays of their own: a
	// burst's mbufs stay there until the queue's next FreeAndRxBurst frees
	// them, receives and reads the TSC, one cgo crossing per burst (go-dpdk's
	// fused free-and-receive); the lcore's clock comes from those readings
	// too (clockFromPolls below).
	polls := make([]*dpdk.Burst, len(wk.queues))
	held := make([]int, len(wk.queues))
	releaseHeld := func() {
		for qi, b := range polls {
			if b != nil && held[qi] > 0 {
				b.FreeAll(held[qi])
				held[qi] = 0
			}
		}
	}
	// Every poll reads the TSC with its receive, so an lcore with queues
	// takes its clock from them and makes no other cgo call per iteration:
	// a software-dispatching poll also frees what the lcore finished since
	// the last one (FreeOthersAndRxBurst), where a TSC call, a receive and
	// a free were three crossings.
	clockFromPolls := len(wk.queues) > 0
	for qi := range wk.queues {
		if !wk.queues[qi].soft {
			polls[qi] = dpdk.NewBurst(o.Burst)
		}
	}
	defer func() {
		releaseHeld()
		for _, b := range polls {
			if b != nil {
				b.Free()
			}
		}
	}()
	scratch := make([]byte, scratchSize)
	dyn, dynErr := dpdk.LookupTimestampDynfield()
	stamp := dynErr == nil
	dec := packet.Decoder{Decap: o.Worker.Decap}
	n := len(workers)
	clk := clock{tsc0: dpdk.TSC(), epoch: time.Now().UnixNano(), hz: hz}
	tickEvery := hz / 10
	nextTick := clk.tsc0 + tickEvery
	nextYield := clk.tsc0 + yield
	var lastPkt int64 // latest device timestamp this worker processed, ns

	freeLater := func(m dpdk.Mbuf) {
		free.Set(nfree, m)
		nfree++
	}
	done := func(m dpdk.Mbuf, t int64) {
		if wk.stamped {
			lastPkt = max(lastPkt, t)
		}
		freeLater(m)
	}
	process := func(m dpdk.Mbuf, t int64, link packet.LinkType) {
		frame := m.Frame(scratch)
		if len(frame) < int(m.PktLen()) {
			wk.truncated.Add(1)
		}
		wk.w.Frame(frame, m.PktLen(), t, link)
		done(m, t)
	}
	// receive handles a dispatched packet, from a ring or this lcore's
	// own burst; one that decoded leaves its mbuf to the dispatching lcore.
	receive := func(d *dispatched) {
		if !d.ok {
			process(dpdk.MbufOf(d.mbuf), d.t, d.link)
			return
		}
		wk.w.Decoded(&d.pkt, d.wireLen, d.t)
		if wk.stamped {
			lastPkt = max(lastPkt, d.t)
		}
	}

	for {
		wk.w.SetModel(o.Model.Current())
		stopping := stop.Load()
		var tsc uint64
		var tscNow int64
		if !clockFromPolls || stopping {
			tsc = dpdk.TSC() // once per iteration: it is a cgo call
			tscNow = clk.ns(tsc)
		}
		if stopping {
			wk.rxDone.Store(true)
			releaseHeld()
			if nfree > 0 { // no poll will free them now
				free.FreeAll(nfree)
				nfree = 0
			}
		} else {
			for qi := range wk.queues {
				q := &wk.queues[qi]
				qstamp := stamp && q.stamp
				if !q.soft {
					// Every packet stays on this lcore: no dispatch, no
					// per-packet closures, and the burst is freed whole by
					// the next poll, as l2fwd frees in bulk.
					b := polls[qi]
					nb := q.port.FreeAndRxBurst(q.q, b, held[qi])
					held[qi] = nb
					tsc = b.TSC()
					tscNow = clk.ns(tsc)
					for i := 0; i < nb; i++ {
						m := b.Mbuf(i)
						t := packetTime(m, qstamp, dyn, tscNow)
						frame := m.Frame(scratch)
						wl := m.PktLen()
						if len(frame) < int(wl) {
							wk.truncated.Add(1)
						}
						wk.w.Frame(frame, wl, t, q.link)
						if wk.stamped {
							lastPkt = max(lastPkt, t)
						}
					}
					continue
				}
				nb := q.port.FreeOthersAndRxBurst(q.q, rx, free, nfree)
				nfree = 0
				tsc = rx.TSC()
				tscNow = clk.ns(tsc)
				// The burst is decoded whole first, each packet in place in
				// stage and its index appended to its worker's selection:
				// which worker is a coin toss per packet, and a branch on it
				// mispredicted on half of them, each time only once the
				// flow hash (a chain of multiplications) was done.
				for i := 0; i < nb; i++ {
					m := rx.Mbuf(i)
					st := &wk.stage[i]
					target, ok := dataplane.DispatchFrame(&dec, m.Frame(scratch), q.link, &st.pkt, n)
					st.t, st.wireLen, st.link, st.ok, st.mbuf = packetTime(m, qstamp, dyn, tscNow), m.PktLen(), q.link, ok, m.Handle()
					wk.sel[target] = append(wk.sel[target], uint16(i))
				}
				// This worker's packets, in arrival order (one that did not
				// decode is worker 0's, which counts it).
				for _, i := range wk.sel[wk.idx] {
					st := &wk.stage[i]
					receive(st)
					if st.ok {
						freeLater(dpdk.MbufOf(st.mbuf))
					}
				}
				wk.sel[wk.idx] = wk.sel[wk.idx][:0]
				// Every other worker's packets go into its ring in one copy,
				// not one packet's work apart (ring.PutSel). A decoded
				// packet travels as its decoded view, and its mbuf is
				// freed here; one that did not decode travels as its mbuf.
				for tg, sel := range wk.sel {
					if len(sel) == 0 {
						continue
					}
					k := wk.out[tg].PutSel(wk.stage, sel)
					for j, i := range sel {
						st := &wk.stage[i]
						if j >= k { // the ring was full
							wk.dispatchDrops.Add(1)
						}
						if st.ok || j >= k {
							freeLater(dpdk.MbufOf(st.mbuf))
						}
					}
					wk.sel[tg] = sel[:0]
				}
			}
		}
		// One publication per ring per iteration, not one per packet (see
		// ring.SPSC).
		for _, r := range wk.out {
			if r != nil {
				r.Publish()
			}
		}
		for _, r := range wk.in {
			for range popMax {
				d := r.Next() // processed in its slot: no copy
				if d == nil {
					break
				}
				receive(d)
			}
			r.Release()
		}
		// What a software-dispatching lcore finished waits for its next
		// poll, unless none will come.
		if nfree > 0 && (soft == 0 || stopping) {
			free.FreeAll(nfree)
			nfree = 0
		}
		if yield != 0 && tsc >= nextYield {
			nextYield = tsc + yield
			runtime.Gosched()
		}
		if tsc >= nextTick {
			nextTick = tsc + tickEvery
			// A stamping device (net_pcap replay) keeps its own time: the
			// timer never moves the flow clock past the packets, so live and
			// offline runs over one capture agree. Otherwise the TSC is the
			// packet clock and the timer advances it.
			switch {
			case !wk.stamped:
				wk.w.Tick(tscNow)
			case lastPkt != 0:
				wk.w.Tick(lastPkt)
			default:
				wk.w.Publish()
			}
		}
		if stopping && wk.inputsDone() {
			break
		}
		if len(wk.queues) == 0 && len(wk.in) == 0 {
			runtime.Gosched()
		}
	}
	wk.flushing = true
	wk.w.Flush()
}

// packetTime is m's device timestamp in ns when the queue's device stamps
// epoch time (stamp), else now, the TSC clock.
func packetTime(m dpdk.Mbuf, stamp bool, dyn dpdk.Dynfield, now int64) int64 {
	if stamp {
		if us, ok := m.Timestamp(dyn); ok {
			return int64(us) * 1000
		}
	}
	return now
}

// inputsDone reports that every lcore feeding this one has stopped
// receiving and its rings are empty: nothing more can arrive.
func (wk *worker) inputsDone() bool {
	for i, r := range wk.in {
		if !wk.from[i].rxDone.Load() || r.Len() != 0 {
			return false
		}
	}
	return true
}
