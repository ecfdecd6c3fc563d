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
// On Linux, Make maps those arrays from the kernel, outside the Go heap:
// the runtime's bookkeeping for a heap object of hundreds of megabytes
// (a span entry per 8 KiB page, in metadata it faults in per 64 MiB
// arena) cost classify about 150 page faults and 0.5 ms a process, 1.4%
// of a bench run (session 19). The garbage collector neither scans nor
// frees that memory: Free returns it, and an array that is never freed
// lives as long as the process. Elsewhere, or if the kernel refuses the
// mapping, the array comes from the Go heap and Free leaves it to the
// collector.
//
// MakeLazy maps an array the same way without the huge-page advice, for
// one of which only a small head is used (the flow index): outside the
// heap, its size does not pace the collector.
//
// Threading: Make and Free may be called from any goroutine; the memory
// Make returns is the caller's, and nothing may use it after Free. The
// first touch of each huge page zeroes 2 MiB, so a worker should touch
// its arrays' heads (Touch) before its loop starts, on the thread that
// will use them (first touch also places them on that thread's NUMA
// node).
package hugepage

import (
	"sync"
	"unsafe"
)

// Size is the huge page size Make aligns to (x86-64 and arm64 with 4 KiB
// base pages).
const Size = 2 << 20

// Make returns a slice of n zero values of T whose first element starts
// on a huge page boundary, with the huge pages it spans advised for
// transparent huge pages where the system allows it (mode madvise or
// always); elsewhere it is ordinary memory. T must hold no pointers: the
// garbage collector never scans the memory. Arrays smaller than a huge
// page are allocated as usual. Free returns the array's memory.
func Make[T any](n int) []T { return makeArray[T](n, true) }

// MakeLazy is Make without the huge-page advice, for a large array of
// which only a head is used at first, and perhaps ever: the flow index
// starts at 32 KiB of up to 16 MiB. A huge page would zero 2 MiB to hold
// that head, where small pages fault in as it grows. Like Make's, the
// array lives outside the Go heap, so its size does not pace the
// garbage collector (on the Go heap, the index set off a collection at a
// classify's end that could free nothing).
func MakeLazy[T any](n int) []T { return makeArray[T](n, false) }

func makeArray[T any](n int, huge bool) []T {
	var zero T
	size := uintptr(n) * unsafe.Sizeof(zero)
	if size < Size { // zero-size elements included
		return make([]T, n)
	}
	buf := mapAnon(size + Size)
	mapped := buf != nil
	if !mapped {
		buf = make([]byte, size+Size) // the slice below keeps it alive
	}
	base := uintptr(unsafe.Pointer(unsafe.SliceData(buf)))
	off := (Size - base%Size) % Size
	start := unsafe.Pointer(unsafe.SliceData(buf[off:]))
	if huge {
		advise(unsafe.Slice((*byte)(start), size&^(Size-1)))
	}
	if mapped {
		mappings.Lock()
		mappings.m[uintptr(start)] = buf
		mappings.Unlock()
	}
	return unsafe.Slice((*T)(start), n)
}

// Free returns the memory of s, an array as Make returned it, to the
// kernel; s and every slice of it must not be used afterwards. It does
// nothing for an array the Go heap holds (small, or where mapping
// failed), nor for nil.
func Free[T any](s []T) {
	first := uintptr(unsafe.Pointer(unsafe.SliceData(s)))
	mappings.Lock()
	buf, ok := mappings.m[first]
	delete(mappings.m, first)
	mappings.Unlock()
	if ok {
		unmapAnon(buf)
	}
}

// mappings holds the mapping of each array Make mapped, by the array's
// first element, until Free.
var mappings = struct {
	sync.Mutex
	m map[uintptr][]byte
}{m: map[uintptr][]byte{}}

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
