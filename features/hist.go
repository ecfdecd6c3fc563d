package features

import (
	"slices"
	"unsafe"
)

// PoolStateBytes is the size of one pooled histogram state: a worker's
// pool costs Config.Pool times this.
const PoolStateBytes = int(unsafe.Sizeof(histState{}))

// histState holds the window histograms of one flow. It lives in the
// Extractor's pool, not in Flow, so that short flows do not pay for it.
type histState struct {
	h1 [2 * bins][bins]uint16 // [signed size bin][IAT bin], packets
	h2 [2 * bins][bins]uint16 // [signed burst bytes bin][surge period bin], bursts
	h3 [2 * bins][bins]uint16 // [signed burst packets bin][surge period bin], bursts

	// Bursts already ended in the open surge, by row of h2 and h3: their
	// column (the surge period) is known only when the surge ends.
	pendBytes [2 * bins]uint16
	pendPkts  [2 * bins]uint16

	burstBytes uint64 // open burst
	surgeStart int64  // first packet of the open surge, ns
	last       int64  // last packet added, ns
	packets    uint32 // in the window
	bursts     uint32 // ended in the window, open burst excluded
	burstPkts  uint32 // open burst; 0 when none is open
	burstBwd   bool
}

// add counts one packet; iat is since the flow's previous packet. It
// returns true when the packet completes a window, whose histograms then
// stay until the next add.
func (s *histState) add(backward bool, t, iat int64, size uint32, window uint32, gap int64) bool {
	if s.packets == window {
		*s = histState{}
	}
	switch {
	case s.packets == 0:
		s.surgeStart = t
	case t-s.last > gap:
		s.endBurst()
		s.endSurge()
		s.surgeStart = t
	case backward != s.burstBwd:
		// endBurst written out: the call was 4% of classify, and a burst
		// is open, since the previous packet opened or continued it.
		inc16(&s.pendBytes[signedRow(s.burstBwd, burstBytesBin(s.burstBytes))], 1)
		inc16(&s.pendPkts[signedRow(s.burstBwd, burstPktsBin(s.burstPkts))], 1)
		s.bursts++
		s.burstPkts = 0
		s.burstBytes = 0
	}
	inc16(&s.h1[signedRow(backward, sizeBin(size))][iatBin(iat)], 1)
	if s.burstPkts == 0 {
		s.burstBwd = backward
	}
	s.burstPkts++
	s.burstBytes += uint64(size)
	s.last = t
	s.packets++
	if s.packets == window {
		s.endBurst()
		s.endSurge()
		return true
	}
	return false
}

func (s *histState) endBurst() {
	if s.burstPkts == 0 {
		return
	}
	inc16(&s.pendBytes[signedRow(s.burstBwd, burstBytesBin(s.burstBytes))], 1)
	inc16(&s.pendPkts[signedRow(s.burstBwd, burstPktsBin(s.burstPkts))], 1)
	s.bursts++
	s.burstPkts = 0
	s.burstBytes = 0
}

func (s *histState) endSurge() {
	p := periodBin(s.last - s.surgeStart)
	for r := range s.pendBytes {
		inc16(&s.h2[r][p], s.pendBytes[r])
		inc16(&s.h3[r][p], s.pendPkts[r])
	}
	s.pendBytes = [2 * bins]uint16{}
	s.pendPkts = [2 * bins]uint16{}
}

// appendTo appends hist_valid, hist_packets, hist_bursts and the three
// histograms normalised to fractions, so that a partial window compares
// with a full one. The state must have no open burst or surge.
func (s *histState) appendTo(dst []float32, valid bool) []float32 {
	v := float32(0)
	if valid {
		v = 1
	}
	dst = append(dst, v, float32(s.packets), float32(s.bursts))
	dst = appendFractions(dst, &s.h1, s.packets)
	dst = appendFractions(dst, &s.h2, s.bursts)
	return appendFractions(dst, &s.h3, s.bursts)
}

// appendFractions grows dst once and stores into a fixed-size view of the
// new tail: an append per cell, with its capacity check, cost more than
// the conversion itself, and a verdict builds three of these per flow.
// Empty rows, the most of them, are stored as zeros without converting.
func appendFractions(dst []float32, h *[2 * bins][bins]uint16, total uint32) []float32 {
	scale := 0.0
	if total > 0 {
		scale = 1 / float64(total)
	}
	n := len(dst)
	dst = slices.Grow(dst, 2*bins*bins)[:n+2*bins*bins]
	out := (*[2 * bins * bins]float32)(dst[n:])
	for r := range h {
		row, o := &h[r], (*[bins]float32)(out[r*bins:])
		if *row == [bins]uint16{} { // most rows of a flow's histograms
			*o = [bins]float32{}
			continue
		}
		for j, c := range row {
			o[j] = float32(float64(c) * scale)
		}
	}
	return dst
}
