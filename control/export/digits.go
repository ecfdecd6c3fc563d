package export

import "strconv"

// twoDigits holds "00" to "99": a pair of digits per lookup halves the
// divisions of writing a number.
const twoDigits = "00010203040506070809" + "10111213141516171819" + "20212223242526272829" +
	"30313233343536373839" + "40414243444546474849" + "50515253545556575859" +
	"60616263646566676869" + "70717273747576777879" + "80818283848586878889" +
	"90919293949596979899"

// pair writes v (below 100) into b[0:2] as two digits.
func pair(b []byte, v uint64) {
	i := v % 100 * 2
	b[0], b[1] = twoDigits[i], twoDigits[i+1]
}

// appendUint is strconv.AppendUint in base 10. A record holds fourteen
// numbers, nearly all below 10^8; for those it appends the digits as
// bytes, where strconv made a call, a digit loop into a buffer and a copy
// per number: half of a record's formatting time.
func appendUint(dst []byte, v uint64) []byte {
	if v >= 1e8 {
		return strconv.AppendUint(dst, v, 10)
	}
	if v < 1e4 {
		return appendBelow1e4(dst, v)
	}
	dst = appendBelow1e4(dst, v/1e4)
	lo := v % 1e4
	a, b := lo/100*2, lo%100*2
	return append(dst, twoDigits[a], twoDigits[a+1], twoDigits[b], twoDigits[b+1])
}

// appendBelow1e4 appends v < 10000 without leading zeros.
func appendBelow1e4(dst []byte, v uint64) []byte {
	v %= 1e4 // a no-op for the callers; it tells the compiler the indexes below are in range
	if v < 100 {
		if v < 10 {
			return append(dst, byte('0'+v))
		}
		return append(dst, twoDigits[2*v], twoDigits[2*v+1])
	}
	hi, lo := v/100, v%100*2
	if hi < 10 {
		return append(dst, byte('0'+hi), twoDigits[lo], twoDigits[lo+1])
	}
	return append(dst, twoDigits[2*hi], twoDigits[2*hi+1], twoDigits[lo], twoDigits[lo+1])
}

// appendIPv4 appends a in dotted-quad form, as netip.Addr.AppendTo does,
// without building the netip.Addr first.
func appendIPv4(dst []byte, a *[16]byte) []byte {
	dst = appendBelow1e4(dst, uint64(a[0]))
	dst = append(dst, '.')
	dst = appendBelow1e4(dst, uint64(a[1]))
	dst = append(dst, '.')
	dst = appendBelow1e4(dst, uint64(a[2]))
	dst = append(dst, '.')
	return appendBelow1e4(dst, uint64(a[3]))
}
