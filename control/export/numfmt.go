package export

import (
	"math/bits"
	"net/netip"
	"slices"
)

// A record holds thirteen integers and two addresses: written through
// strconv and netip they were about half of its cost (3,700 instructions
// a record on the offline bench capture), mostly in their layers of calls
// and temporary buffers. These write the same text straight into dst.

// pow10 holds 10^0 to 10^19.
var pow10 = func() (p [20]uint64) {
	p[0] = 1
	for i := 1; i < len(p); i++ {
		p[i] = p[i-1] * 10
	}
	return p
}()

// decimalLen is the number of decimal digits of v (1 for 0): the bit
// length gives the count to within one (1233/4096 ≈ log10 2).
func decimalLen(v uint64) int {
	n := (bits.Len64(v) * 1233) >> 12
	if v >= pow10[n%20] { // n <= 19: the index is n
		n++
	}
	return max(n, 1)
}

// appendUint appends v in decimal, as strconv.AppendUint(dst, v, 10).
func appendUint(dst []byte, v uint64) []byte {
	if v < 10 {
		return append(dst, byte('0'+v))
	}
	n := decimalLen(v)
	start := len(dst)
	dst = slices.Grow(dst, n)[:start+n]
	b := dst[start:]
	for v >= 100 {
		q := v / 100
		pair(b[n-2:n], v-q*100)
		n -= 2
		v = q
	}
	if n == 2 {
		pair(b[:2], v)
	} else {
		b[0] = byte('0' + v)
	}
	return dst
}

// appendAddr appends the address of a record endpoint (see
// dataplane.Record.SrcAddr): dotted decimal for IPv4, netip's text for
// IPv6, which is rarer and whose zero compression is not worth copying.
func appendAddr(dst []byte, version uint8, a *[16]byte) []byte {
	if version != 4 {
		return netip.AddrFrom16(*a).AppendTo(dst)
	}
	dst = appendUint(dst, uint64(a[0]))
	for _, o := range a[1:4] {
		dst = appendUint(append(dst, '.'), uint64(o))
	}
	return dst
}
