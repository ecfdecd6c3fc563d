package features

import (
	"math"
	"math/rand/v2"
	"testing"
)

// The lookup tables must give logBin's bin for every value: at each power
// of two and its neighbours, where bins change, and at random values.
func TestBinTablesMatchLogBin(t *testing.T) {
	tables := []struct {
		name       string
		t          *binTable
		low, shift uint
	}{
		{"size", &sizeBins, 6, 1},
		{"iat", &iatBins, 14, 3},
		{"period", &periodBins, 16, 3},
		{"burst bytes", &burstBytesBins, 7, 2},
		{"burst packets", &burstPktsBins, 1, 1},
	}
	values := []uint64{0, 1, math.MaxUint64}
	for n := range 64 {
		p := uint64(1) << n
		values = append(values, p-1, p, p+1)
	}
	r := rand.New(rand.NewPCG(5, 6))
	for range 10000 {
		values = append(values, r.Uint64()>>r.IntN(64))
	}
	for _, tb := range tables {
		for _, v := range values {
			if got, want := tb.t.lookup(v), logBin(v, tb.low, tb.shift); got != want {
				t.Fatalf("%s bin of %d: table %d, logBin %d", tb.name, v, got, want)
			}
		}
	}
}
