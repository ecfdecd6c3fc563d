package export

import (
	"math"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"testing"
)

// appendUint writes what strconv does: every power of ten and its
// neighbours (where a digit count changes), the extremes, and random
// values of every bit length.
func TestAppendUintMatchesStrconv(t *testing.T) {
	vals := []uint64{0, 1, 9, math.MaxUint8, math.MaxUint16, math.MaxUint32, math.MaxUint64, math.MaxUint64 - 1}
	for _, p := range pow10 {
		vals = append(vals, p-1, p, p+1)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for b := range 64 {
		for range 50 {
			vals = append(vals, rng.Uint64()>>b)
		}
	}
	for _, v := range vals {
		if got, want := string(appendUint([]byte("x"), v)), "x"+strconv.FormatUint(v, 10); got != want {
			t.Errorf("appendUint(%d) = %q, want %q", v, got, want)
		}
	}
}

// appendAddr writes what netip does, for IPv4 (every octet value in every
// position) and IPv6.
func TestAppendAddrMatchesNetip(t *testing.T) {
	var a [16]byte
	for o := range 256 {
		for pos := range 4 {
			a = [16]byte{10, 200, 3, 44}
			a[pos] = byte(o)
			want := netip.AddrFrom4([4]byte(a[:4])).String()
			if got := string(appendAddr(nil, 4, &a)); got != want {
				t.Fatalf("IPv4 %v: %q, want %q", a[:4], got, want)
			}
		}
	}
	for _, s := range []string{"::", "::1", "2001:db8::8:800:200c:417a", "fe80::1:2:3:4", "::ffff:1.2.3.4"} {
		ip := netip.MustParseAddr(s)
		a = ip.As16()
		if got := string(appendAddr([]byte("x"), 6, &a)); got != "x"+ip.String() {
			t.Errorf("IPv6 %s: %q", s, got)
		}
	}
}

func BenchmarkAppendJSON(b *testing.B) {
	r := sampleRecord()
	r.Version = 4
	copy(r.Src[:], []byte{192, 168, 1, 252})
	copy(r.Dst[:], []byte{46, 59, 52, 31})
	r.Src[15], r.Dst[15] = 0, 0
	r.File = "bench-offline-1000000.pcap"
	r.Verdict.App = ""
	r.Pkts, r.Bytes, r.FrameBytes = [2]uint64{140, 170}, [2]uint64{45180, 599200}, [2]uint64{47380, 623000}
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendJSON(buf[:0], &r)
	}
	b.SetBytes(int64(len(buf)))
}
