package features

import (
	"math"
	"math/bits"
)

// bins is the number of bins of every histogram axis (per sign for sizes).
const bins = 8

// logBin returns 0 below 2^low and then one bin per factor 2^shift,
// saturating at bins-1. It defines the bins; the per-packet path looks
// them up in tables made from it (binTable).
func logBin(v uint64, low, shift uint) uint {
	// m bits above 2^low: bin ceil(m/shift), 0 for m = 0.
	m := uint(bits.Len64(v >> low))
	return min((m+shift-1)/shift, bins-1)
}

// binTable maps bits.Len64(v) to logBin(v, low, shift): the bin depends on
// v only through its bit length, so a 65-byte table replaces the shift,
// the division and the clamp on the per-packet path.
type binTable [65]uint8

func makeBinTable(low, shift uint) (t binTable) {
	for n := range t {
		v := uint64(0)
		if n > 0 {
			v = 1 << (n - 1)
		}
		t[n] = uint8(logBin(v, low, shift))
	}
	return t
}

var (
	sizeBins       = makeBinTable(6, 1)
	iatBins        = makeBinTable(14, 3)
	periodBins     = makeBinTable(16, 3)
	burstBytesBins = makeBinTable(7, 2)
	burstPktsBins  = makeBinTable(1, 1)
)

// lookup is t's bin for v; the mask tells the compiler the result is
// below bins, so indexing by it needs no bounds check.
func (t *binTable) lookup(v uint64) uint {
	return uint(t[bits.Len64(v)]) & (bins - 1)
}

func sizeBin(size uint32) uint        { return sizeBins.lookup(uint64(size)) }
func iatBin(ns int64) uint            { return iatBins.lookup(uint64(max(ns, 0))) }
func periodBin(ns int64) uint         { return periodBins.lookup(uint64(max(ns, 0))) }
func burstBytesBin(bytes uint64) uint { return burstBytesBins.lookup(bytes) }
func burstPktsBin(pkts uint32) uint   { return burstPktsBins.lookup(uint64(pkts)) }

// signedRow places forward bins in rows 0..7 and backward in 8..15.
func signedRow(backward bool, bin uint) uint {
	if backward {
		bin += bins
	}
	return bin & (2*bins - 1)
}

// entropyBits is the Shannon entropy in bits of the distribution whose
// counts are c.
func entropyBits(c *[bins]uint32) float64 {
	var total uint64
	for _, v := range c {
		total += uint64(v)
	}
	if total == 0 {
		return 0
	}
	var h float64
	for _, v := range c {
		if v != 0 {
			p := float64(v) / float64(total)
			h -= p * math.Log2(p)
		}
	}
	return h
}

// inc16 saturates instead of wrapping: a wrapped count would turn the
// fullest cell into the emptiest.
func inc16(c *uint16, by uint16) {
	*c = uint16(min(uint32(*c)+uint32(by), math.MaxUint16))
}

func inc32(c *uint32) {
	if *c != math.MaxUint32 {
		*c++
	}
}
