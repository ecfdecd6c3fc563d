package features

import (
	"testing"
	"time"
	"unsafe"
)

// TestZeroAlloc covers a whole flow's life, including the packet that
// takes pooled state, a window end and Vector into a preallocated slice.
func TestZeroAlloc(t *testing.T) {
	x := newExtractor(t, Config{Window: 8, SurgeGap: time.Second, Pool: 2})
	var f Flow
	dst := make([]float32, 0, VectorLen)
	allocs := testing.AllocsPerRun(100, func() {
		x.Start(&f, 6, 0)
		for i := range 3 * 8 {
			x.Packet(&f, i%3 == 0, int64(i)*int64(time.Millisecond), 1500, 1460, 0x10)
			if i == HotPackets-1 || i == HotPackets || i == 7 {
				dst = x.Vector(&f, dst[:0])
			}
		}
		dst = x.Vector(&f, dst[:0])
		x.Release(&f)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per flow, want 0", allocs)
	}
	if x.Stats().PoolTaken == 0 {
		t.Error("the flows never took pooled state")
	}
}

func BenchmarkPacket(b *testing.B) {
	x := newExtractor(b, DefaultConfig())
	var f Flow
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if i%HotPackets == 0 {
			x.Start(&f, 6, int64(i))
		}
		x.Packet(&f, i&1 == 1, int64(i)*1000, uint32(40+i%1460), 0, 0x10)
	}
	b.ReportMetric(float64(unsafe.Sizeof(Flow{})), "B/flow")
}

func BenchmarkPacketPooled(b *testing.B) {
	x := newExtractor(b, DefaultConfig())
	var f Flow
	x.Start(&f, 6, 0)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		x.Packet(&f, i%5 < 2, int64(i)*37000, uint32(40+i*7%1460), 0, 0x18)
	}
	b.ReportMetric(float64(int(unsafe.Sizeof(Flow{}))+PoolStateBytes), "B/flow")
}

func BenchmarkVector(b *testing.B) {
	x := newExtractor(b, DefaultConfig())
	var f Flow
	x.Start(&f, 6, 0)
	for i := range 1000 {
		x.Packet(&f, i%5 < 2, int64(i)*37000, uint32(40+i*7%1460), 0, 0x18)
	}
	dst := make([]float32, 0, VectorLen)
	b.ReportAllocs()
	for b.Loop() {
		dst = x.Vector(&f, dst[:0])
	}
}
