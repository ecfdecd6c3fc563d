package export

import (
	"math"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"testing"
)

// appendUint must print what strconv does, at every change of digit count
// and of code path and over random values of every size.
func TestAppendUintMatchesStrconv(t *testing.T) {
	check := func(v uint64) {
		t.Helper()
		if got, want := string(appendUint([]byte("x"), v)), "x"+strconv.FormatUint(v, 10); got != want {
			t.Fatalf("appendUint(%d) = %q, want %q", v, got, want)
		}
	}
	for v := range uint64(100_000) {
		check(v)
	}
	for p := uint64(1); p <= 1e19 && p != 0; p *= 10 {
		check(p - 1)
		check(p)
		check(p + 1)
	}
	check(math.MaxUint64)
	r := rand.New(rand.NewPCG(3, 4))
	for range 100_000 {
		check(r.Uint64() >> r.UintN(64))
	}
}

func TestAppendAddrMatchesNetip(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for i := range 100_000 {
		var a [16]byte
		for j := range a {
			a[j] = byte(r.UintN(256))
		}
		if i < 256 { // every octet value in every position
			a[0], a[1], a[2], a[3] = byte(i), byte(255-i), byte(i/2), byte(i*7)
		}
		want4 := netip.AddrFrom4([4]byte{a[0], a[1], a[2], a[3]}).String()
		if got := string(appendAddr(nil, 4, &a)); got != want4 {
			t.Fatalf("IPv4 %v = %q, want %q", a[:4], got, want4)
		}
		if got, want := string(appendAddr(nil, 6, &a)), netip.AddrFrom16(a).String(); got != want {
			t.Fatalf("IPv6 %v = %q, want %q", a, got, want)
		}
	}
}
