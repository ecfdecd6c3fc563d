package features

import (
	"math"
	"math/bits"
)

// dirStats accumulates one direction. Means come from exact integer sums
// (bytes/pkts, (last-first)/(pkts-1)), the size variance from an exact
// integer sum of squares, and the IAT variance from an exact integer sum of
// squares too while it fits in 64 bits, then from Welford's update (see
// iatStats.add), so nothing cancels catastrophically however long the flow runs.
type dirStats struct {
	pkts    uint64
	bytes   uint64
	payload uint64
	sizeSq  uint64 // Σ size²: exact up to ~4·10⁹ packets of 64 KiB
	first   int64  // ns, valid when pkts > 0
	last    int64  // ns; Start's time while pkts == 0
	iat     iatStats
}

// iatStats accumulates the IATs of one sequence of packets (see add).
type iatStats struct {
	acc      uint64
	min, max uint32 // float32 bits of the µs values (already the precision of the output vector); min starts at ^0
}

// ovWords is the size of Flow.ov, shared by the hot buffer and, after
// HotPackets packets, the backward entropy counts.
const ovWords = 2 * bins

// The hot buffer takes a size word and a two-word time delta per packet.
const _ = uint(ovWords - 3*HotPackets)

const hotBwd = 1 << 31

// Flow is the per-flow state. It is pointer-free so that a table of
// millions of them costs the garbage collector nothing; the zero value is
// ready for Start.
type Flow struct {
	dir   [2]dirStats // fwd, bwd
	iat   iatStats    // both directions
	flags [8]uint32   // by flag bit number

	// ov holds, while the flow has at most HotPackets packets, the hot
	// buffer: ov[i] = size | hotBwd, ov[HotPackets+2i:+2] = ns since the
	// previous packet. Afterwards ov[:bins] counts backward packets per
	// size bin and ov[bins:] backward IATs per IAT bin. Sharing the words
	// keeps Flow within 256 bytes.
	ov      [ovWords]uint32
	sizeMin [2]uint16
	sizeMax [2]uint16
	slot    uint32 // pool index + 1; 0: no histogram state
	proto   uint8
	welford uint8 // which iatAcc hold Welford's M2: welfordFwd, welfordBwd (= welfordFwd<<1), welfordAll
}

const (
	welfordFwd uint8 = 1 << iota
	welfordBwd
	welfordAll
)

func (f *Flow) packets() uint64 { return f.dir[0].pkts + f.dir[1].pkts }

func (f *Flow) lastTime() int64 { return max(f.dir[0].last, f.dir[1].last) }

func (f *Flow) firstTime() int64 {
	switch {
	case f.dir[0].pkts == 0:
		return f.dir[1].first
	case f.dir[1].pkts == 0:
		return f.dir[0].first
	}
	return min(f.dir[0].first, f.dir[1].first)
}

func (f *Flow) entropyCounts() (sizes, iats *[bins]uint32) {
	return (*[bins]uint32)(f.ov[:bins]), (*[bins]uint32)(f.ov[bins:])
}

func (f *Flow) putHot(i int, backward bool, size uint32, dt int64) {
	w := min(size, hotBwd-1)
	if backward {
		w |= hotBwd
	}
	f.ov[i] = w
	f.ov[HotPackets+2*i] = uint32(dt)
	f.ov[HotPackets+2*i+1] = uint32(uint64(dt) >> 32)
}

// countSize adds a packet of size bytes (payload of them L4 payload) at
// time t to direction d's counts and size extremes.
func (f *Flow) countSize(d int, size, payload uint32, t int64) {
	s := &f.dir[d&1]
	size16 := uint16(min(size, math.MaxUint16))
	f.sizeMin[d&1], f.sizeMax[d&1] = min(f.sizeMin[d&1], size16), max(f.sizeMax[d&1], size16)
	s.pkts++
	s.bytes += uint64(size)
	s.payload += uint64(payload)
	s.sizeSq += uint64(size) * uint64(size)
	s.last = t
}

// countFlags counts each TCP flag set in flags.
func (f *Flow) countFlags(flags uint8) {
	for fl := flags; fl != 0; fl &= fl - 1 {
		inc32(&f.flags[bits.TrailingZeros8(fl)])
	}
}

// countEntropy adds a backward packet past the hot buffer to the entropy
// counts: its size, and its IAT since the previous backward packet.
func (f *Flow) countEntropy(size uint32, dirIAT int64) {
	// f.ov indexed directly (see entropyCounts), which keeps this small
	// enough to inline.
	inc32(&f.ov[sizeBin(size)])
	inc32(&f.ov[bins+iatBin(dirIAT)])
}

// hotPkt is one buffered packet with its absolute time restored.
type hotPkt struct {
	t, iat   int64
	size     uint32
	backward bool
}

// hot decodes the buffer of a flow with at most HotPackets packets.
func (f *Flow) hot(out *[HotPackets]hotPkt) []hotPkt {
	n := int(f.packets())
	t := f.firstTime()
	for i := range n {
		dt := int64(uint64(f.ov[HotPackets+2*i]) | uint64(f.ov[HotPackets+2*i+1])<<32)
		t += dt
		out[i] = hotPkt{t: t, iat: dt, size: f.ov[i] &^ hotBwd, backward: f.ov[i]&hotBwd != 0}
	}
	return out[:n]
}

// countBackward adds the entropy counts of buffered packets.
func countBackward(pkts []hotPkt, sizes, iats *[bins]uint32) {
	seen := false
	var prev int64
	for _, p := range pkts {
		if !p.backward {
			continue
		}
		inc32(&sizes[sizeBin(p.size)])
		if seen {
			inc32(&iats[iatBin(p.t-prev)])
		}
		seen, prev = true, p.t
	}
}

// add folds an IAT, x, of a sequence into a, unless a
// already holds Welford's M2 (welford) or x's square would overflow it:
// then it reports false and addWelford must finish the job. The µs minimum
// and maximum are kept as float32 bits: IATs are never negative, so the
// bits order as the values do.
//
// While every square so far fits, acc is the exact Σ IAT² and the variance
// comes from it and the exact sum in 128 bits: no division per packet,
// whose latency was the largest single cost of a packet's features. The
// first square that overflows (an IAT over ~4.3 s, or very many long ones)
// turns acc, for good, into Welford's M2 as float64 bits.
func (a *iatStats) add(welford bool, x int64) bool {
	a.extremes(x)
	hi, lo := bits.Mul64(uint64(x), uint64(x))
	sum, carry := bits.Add64(a.acc, lo, 0)
	if hi|carry != 0 || welford {
		return false
	}
	a.acc = sum
	return true
}

func (a *iatStats) extremes(x int64) {
	us := math.Float32bits(float32(float64(x) * 1e-3))
	// Branches, not min and max: a new extreme is rare after a flow's
	// first packets, so they predict well and spare two stores a packet.
	if us < a.min {
		a.min = us
	}
	if us > a.max {
		a.max = us
	}
}

// addWelford folds the k-th IAT, t-prev, of a sequence that started at
// first into a.acc as Welford's M2, converting acc first if it still holds
// Σ IAT² of the k-1 earlier IATs (bit in *welford says which). With the old mean
// (prev-first)/(k-1) taken exactly from the endpoints, Welford's
// (x-old)(x-new) becomes (x(k-1) - (prev-first))² / (k(k-1)): one division
// instead of three, and the same cancellation as Welford's own x-old.
func addWelford(a *iatStats, welford *uint8, bit uint8, k uint64, first, prev, t int64) {
	acc := &a.acc
	if *welford&bit == 0 {
		*acc = math.Float64bits(sizeVariance(k-1, uint64(prev-first), *acc) * float64(k-1))
		*welford |= bit
	}
	if k == 1 {
		return
	}
	km1 := float64(k - 1)
	d := float64(t-prev)*km1 - float64(prev-first)
	*acc = math.Float64bits(math.Float64frombits(*acc) + d*d/(float64(k)*km1))
}

// iatVariance is the variance in ns² of the n IATs summing to span that
// add and addWelford folded into acc.
func iatVariance(acc uint64, welford bool, n uint64, span int64) float64 {
	if n == 0 {
		return 0
	}
	if welford {
		return math.Float64frombits(acc) / float64(n)
	}
	return sizeVariance(n, uint64(span), acc)
}

// sizeVariance is (n·Σx² − (Σx)²)/n², with the numerator computed exactly
// in 128 bits.
func sizeVariance(n, sum, sumSq uint64) float64 {
	if n == 0 {
		return 0
	}
	hi1, lo1 := bits.Mul64(n, sumSq)
	hi2, lo2 := bits.Mul64(sum, sum)
	lo, borrow := bits.Sub64(lo1, lo2, 0)
	hi, under := bits.Sub64(hi1, hi2, borrow)
	if under != 0 { // only after Σx² overflowed
		return 0
	}
	nf := float64(n)
	return (float64(hi)*0x1p64 + float64(lo)) / (nf * nf)
}

// appendGroup appends the eleven statistics of one direction prefix.
func appendGroup(dst []float32, n, bytes, payload, sumSq uint64, smin, smax uint16,
	iatSpan int64, iat *iatStats, welford bool) []float32 {
	var mean, variance, iatMean, iatVar float64
	var iatMin, iatMax float32
	if n > 0 {
		mean = float64(bytes) / float64(n)
		variance = sizeVariance(n, bytes, sumSq)
	}
	if n > 1 {
		k := float64(n - 1)
		iatMean = float64(iatSpan) / k / 1e3
		iatVar = iatVariance(iat.acc, welford, n-1, iatSpan) / 1e6
		iatMin, iatMax = math.Float32frombits(iat.min), math.Float32frombits(iat.max)
	}
	return append(dst, float32(n), float32(bytes), float32(payload),
		float32(smin), float32(smax), float32(mean), float32(variance),
		iatMin, iatMax, float32(iatMean), float32(iatVar))
}

func (f *Flow) appendStats(dst []float32, sizes, iats *[bins]uint32) []float32 {
	for d := range f.dir {
		s := &f.dir[d]
		dst = appendGroup(dst, s.pkts, s.bytes, s.payload, s.sizeSq, f.sizeMin[d], f.sizeMax[d],
			s.last-s.first, &s.iat, f.welford&(welfordFwd<<d) != 0)
	}
	fw, bw := &f.dir[0], &f.dir[1]
	n := f.packets()
	var smin, smax uint16
	var span int64
	switch {
	case fw.pkts == 0:
		smin, smax = f.sizeMin[1], f.sizeMax[1]
	case bw.pkts == 0:
		smin, smax = f.sizeMin[0], f.sizeMax[0]
	default:
		smin, smax = min(f.sizeMin[0], f.sizeMin[1]), max(f.sizeMax[0], f.sizeMax[1])
	}
	if n > 0 {
		span = f.lastTime() - f.firstTime()
	}
	dst = appendGroup(dst, n, fw.bytes+bw.bytes, fw.payload+bw.payload, fw.sizeSq+bw.sizeSq,
		smin, smax, span, &f.iat, f.welford&welfordAll != 0)
	dst = append(dst, float32(float64(span)/1e3), float32(f.proto),
		float32(entropyBits(sizes)), float32(entropyBits(iats)))
	for _, c := range f.flags {
		dst = append(dst, float32(c))
	}
	return dst
}
