// Package hugepage allocates the large pointer-free arrays of a worker
// (flow slab, per-flow features, histogram pool) so that the kernel can
// back them with transparent huge pages.
//
// A worker's live flows occupy the low slots of those arrays, a few
// megabytes at most, which in 4 KiB pages take a fault and a TLB entry
// apiece: in huge pages, classify over the offline bench capture takes
// about 770 fewer page faults and 2-4% less time (docs/performance-log.md,
// session 16). An allocation from the Go heap starts wherever its span
// does, so advising the huge pages inside it leaves out the partial one
// at its start, which is exactly where the live flows are: Make aligns
// the array's start to a huge page instead.
//
// Threading: Make may be called from any goroutine; the memory it returns
// is the caller's. The first touch of each huge page zeroes 2 MiB, so a
// worker should touch its arrays' heads (Touch) before its loop starts,
// on the thread that will use them (first touch also places them on that
// thread's NUMA node).
package hugepage

import "unsafe"

// Size is the huge page size Make aligns to (x86-64 and arm64 with 4 KiB
// base pages).
const Size = 2 << 20

// Make returns a slice of n zero values of T whose first element starts
// on a huge page boundary, with the huge pages it spans advised for
// transparent huge pages where the system allows it (mode madvise or
// always); elsewhere it is ordinary memory. T must hold no pointers: the
// memory is allocated as bytes, which the garbage collector never scans.
// Arrays smaller than a huge page are allocated as usual.
func Make[T any](n int) []T {
	var zero T
	size := uintptr(n) * unsafe.Sizeof(zero)
	if size < Size { // zero-size elements included
		return make([]T, n)
	}
	buf := make([]byte, size+Size)
	base := uintptr(unsafe.Pointer(unsafe.SliceData(buf)))
	off := (Size - base%Size) % Size
	start := unsafe.Pointer(unsafe.SliceData(buf[off:]))
	advise(unsafe.Slice((*byte)(start), size&^(Size-1)))
	// The slice points into buf, which keeps all of buf alive.
	return unsafe.Slice((*T)(start), n)
}

// Touch writes a zero to the first byte of each huge page the first n
// bytes of s span, so that their faults (and zeroing) happen now rather
// than on a packet. It is for a fresh array: call it before s holds data.
func Touch[T any](s []T, n uintptr) {
	if len(s) == 0 {
		return
	}
	var zero T
	total := uintptr(len(s)) * unsafe.Sizeof(zero)
	b := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), total)
	for i := uintptr(0); i < min(n, total); i += Size {
		b[i] = 0
	}
}
