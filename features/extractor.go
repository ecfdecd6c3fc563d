package features

import (
	"fmt"
	"math"
	"math/bits"

	"github.com/tunnelscope/tunnelscope/internal/hugepage"
)

// Stats describes the histogram pool of one Extractor.
type Stats struct {
	PoolSize      int    // states preallocated (Config.Pool)
	PoolInUse     int    // states held by flows now
	PoolPeak      int    // most states held at once
	PoolTaken     uint64 // flows that took a state
	PoolExhausted uint64 // flows that passed HotPackets packets while the pool was empty
}

// Extractor updates Flow values and turns them into vectors. See the
// package comment for threading rules.
type Extractor struct {
	window  uint32
	gap     int64
	pool    []histState
	free    []uint32 // stack of released pool indices, taken before fresh ones
	fresh   uint32   // pool[fresh:] has never been handed out
	scratch histState
	stats   Stats
}

// NewExtractor preallocates cfg.Pool histogram states.
func NewExtractor(cfg Config) (*Extractor, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("new extractor: %w", err)
	}
	x := &Extractor{
		window: uint32(cfg.Window),
		gap:    cfg.SurgeGap.Nanoseconds(),
		pool:   hugepage.Make[histState](cfg.Pool),
		// Untouched until released states need it: a stack filled at
		// start would fault in its pages in every process.
		free: make([]uint32, 0, cfg.Pool),
	}
	return x, nil
}

// Start resets f for a new flow of IP protocol proto whose first packet
// is no earlier than now (ns). Pooled state still held by f is returned
// first, so a forgotten Release does not leak the pool.
func (x *Extractor) Start(f *Flow, proto uint8, now int64) {
	x.Release(f)
	f.proto = proto
	f.dir[0].last, f.dir[1].last = now, now
	f.dir[0].iat.min, f.dir[1].iat.min, f.iat.min = math.MaxUint32, math.MaxUint32, math.MaxUint32
}

// Release returns f's pooled state, if any, and zeroes f.
func (x *Extractor) Release(f *Flow) {
	if f.slot != 0 {
		x.free = append(x.free, f.slot-1) // within capacity: never allocates
	}
	*f = Flow{}
}

// Packet adds one packet at time now (ns) of size IP-layer bytes carrying
// payload L4 bytes; tcpFlags is the TCP flags byte (0 for other
// protocols). It returns true when the packet completes a histogram
// window.
func (x *Extractor) Packet(f *Flow, backward bool, now int64, size, payload uint32, tcpFlags uint8) bool {
	d := 0
	if backward {
		d = 1
	}
	s := &f.dir[d]
	prev := f.lastTime()
	t := max(now, prev) // the caller promises order; a step back counts as IAT 0
	// The steady state of a long flow, kept free of calls but the
	// histogram's: past the hot buffer, this direction seen before, both
	// IAT moments still exact integers with room for this packet's square.
	if f.welford == 0 && s.pkts != 0 && f.packets() > HotPackets {
		iat, dirIAT := t-prev, t-s.last
		hiAll, loAll := bits.Mul64(uint64(iat), uint64(iat))
		accAll, cAll := bits.Add64(f.iat.acc, loAll, 0)
		hiDir, loDir := bits.Mul64(uint64(dirIAT), uint64(dirIAT))
		accDir, cDir := bits.Add64(s.iat.acc, loDir, 0)
		if hiAll|cAll|hiDir|cDir == 0 {
			f.iat.acc, s.iat.acc = accAll, accDir
			f.iat.extremes(iat)
			s.iat.extremes(dirIAT)
			f.countSize(d, size, payload, t)
			f.countFlags(tcpFlags)
			if backward {
				f.countEntropy(size, dirIAT)
			}
			if f.slot == 0 {
				return false
			}
			return x.pool[f.slot-1].add(backward, t, iat, size, x.window, x.gap)
		}
	}
	return x.packet(f, backward, t, size, payload, tcpFlags)
}

// packet is Packet in general, for a time t no earlier than the flow's
// last packet. It stays out of Packet: inlined there (PGO did so), its
// uses of Packet's arguments after calls made Packet spill them on entry,
// on the steady-state path too (ab.sh: 1.004x, 128 of 200 rounds, and
// 151 of 200 the other way round).
//
//go:noinline
func (x *Extractor) packet(f *Flow, backward bool, t int64, size, payload uint32, tcpFlags uint8) bool {
	d := 0
	if backward {
		d = 1
	}
	n := f.packets()
	prev := f.lastTime()
	var iat, first int64
	if n > 0 {
		iat, first = t-prev, f.firstTime()
	}
	if n == HotPackets {
		x.promote(f)
	}

	s := &f.dir[d]
	dirIAT := int64(-1)
	if s.pkts == 0 {
		s.first = t
		f.sizeMin[d], f.sizeMax[d] = math.MaxUint16, 0
	} else {
		dirIAT = t - s.last
		if bit := welfordFwd << d; !s.iat.add(f.welford&bit != 0, dirIAT) {
			addWelford(&s.iat, &f.welford, bit, s.pkts, s.first, s.last, t)
		}
	}
	f.countSize(d, size, payload, t)
	if n > 0 {
		if !f.iat.add(f.welford&welfordAll != 0, iat) {
			addWelford(&f.iat, &f.welford, welfordAll, n, first, prev, t)
		}
	}
	f.countFlags(tcpFlags)

	if n < HotPackets {
		f.putHot(int(n), backward, size, iat)
		return false
	}
	if backward {
		if dirIAT >= 0 {
			f.countEntropy(size, dirIAT)
		} else { // the direction's first packet: no IAT yet
			inc32(&f.ov[sizeBin(size)])
		}
	}
	if f.slot == 0 {
		return false
	}
	return x.pool[f.slot-1].add(backward, t, iat, size, x.window, x.gap)
}

// promote turns the hot buffer of a flow that has HotPackets packets into
// entropy counts and, if the pool has a state, into histograms.
func (x *Extractor) promote(f *Flow) {
	var buf [HotPackets]hotPkt
	pkts := f.hot(&buf)
	f.ov = [ovWords]uint32{}
	sizes, iats := f.entropyCounts()
	countBackward(pkts, sizes, iats)
	// Released states first, then fresh ones in order: a lightly used
	// pool touches few pages.
	var i uint32
	switch {
	case len(x.free) > 0:
		i = x.free[len(x.free)-1]
		x.free = x.free[:len(x.free)-1]
	case int(x.fresh) < len(x.pool):
		i = x.fresh
		x.fresh++
	default:
		x.stats.PoolExhausted++
		return
	}
	s := &x.pool[i]
	*s = histState{}
	x.replay(s, pkts)
	f.slot = i + 1
	x.stats.PoolTaken++
	x.stats.PoolPeak = max(x.stats.PoolPeak, x.inUse())
}

func (x *Extractor) replay(s *histState, pkts []hotPkt) {
	for _, p := range pkts {
		s.add(p.backward, p.t, p.iat, p.size, x.window, x.gap)
	}
}

// Vector appends VectorLen values in Schema order. It may be called at
// any point and does not change f or the Extractor's flows; with enough
// capacity in dst it does not allocate.
func (x *Extractor) Vector(f *Flow, dst []float32) []float32 {
	var buf [HotPackets]hotPkt
	var sizes, iats [bins]uint32
	var pkts []hotPkt
	hot := f.packets() <= HotPackets
	if hot {
		pkts = f.hot(&buf)
		countBackward(pkts, &sizes, &iats)
	} else {
		s, i := f.entropyCounts()
		sizes, iats = *s, *i
	}
	dst = f.appendStats(dst, &sizes, &iats)

	s := &x.scratch
	switch {
	case f.slot != 0:
		*s = x.pool[f.slot-1]
	case hot:
		*s = histState{}
		x.replay(s, pkts)
	default:
		*s = histState{}
		return s.appendTo(dst, false)
	}
	s.endBurst()
	s.endSurge()
	return s.appendTo(dst, true)
}

// Stats returns the pool counters.
func (x *Extractor) Stats() Stats {
	s := x.stats
	s.PoolSize, s.PoolInUse = len(x.pool), x.inUse()
	return s
}

// Prefault takes now the page faults of the pool states the first flows
// will use (see flow.Table.Prefault), before the first flow.
func (x *Extractor) Prefault() { hugepage.Touch(x.pool, hugepage.Size) }

func (x *Extractor) inUse() int { return int(x.fresh) - len(x.free) }

// Close returns the histogram pool to the kernel (see hugepage.Free). The
// Extractor, and every Flow it started, must not be used afterwards.
func (x *Extractor) Close() {
	hugepage.Free(x.pool)
	x.pool = nil
}
