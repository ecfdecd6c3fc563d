package export

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// appendTime must write exactly what the standard library writes.
func TestAppendTimeMatchesTime(t *testing.T) {
	check := func(ns int64) {
		t.Helper()
		got := string(appendTime(nil, ns))
		want := time.Unix(0, ns).UTC().Format(TimeLayout)
		if got != want {
			t.Fatalf("appendTime(%d) = %s, want %s", ns, got, want)
		}
	}
	edges := []int64{
		0, 1, 999999999, 1e9, -1, -1e9 - 1, math.MinInt64, math.MaxInt64,
		time.Date(2000, 2, 29, 23, 59, 59, 999999999, time.UTC).UnixNano(),
		time.Date(2100, 3, 1, 0, 0, 0, 0, time.UTC).UnixNano(),
		time.Date(2024, 12, 31, 12, 0, 0, 1, time.UTC).UnixNano(),
	}
	for _, ns := range edges {
		check(ns)
	}
	// Every day boundary of four centuries (leap rules of 4, 100, 400).
	for d := int64(0); d < 146097+365; d++ {
		check(d*86400e9 - 1)
		check(d * 86400e9)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 100000 {
		check(r.Int64())
		check(r.Int64N(4102444800e9)) // up to 2100
	}
}

func BenchmarkAppendTime(b *testing.B) {
	b.ReportAllocs()
	buf := make([]byte, 0, 64)
	ns := time.Date(2026, 11, 22, 9, 0, 0, 123456789, time.UTC).UnixNano()
	for i := 0; i < b.N; i++ {
		buf = appendTime(buf[:0], ns+int64(i))
	}
}

func BenchmarkAppendFormat(b *testing.B) {
	b.ReportAllocs()
	buf := make([]byte, 0, 64)
	ns := time.Date(2026, 11, 22, 9, 0, 0, 123456789, time.UTC).UnixNano()
	for i := 0; i < b.N; i++ {
		buf = time.Unix(0, ns+int64(i)).UTC().AppendFormat(buf[:0], TimeLayout)
	}
}
