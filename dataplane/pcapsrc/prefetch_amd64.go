package pcapsrc

import "unsafe"

// prefetchRange asks the CPU to bring the cache lines of p[:n] into its
// caches. It never faults, whatever p points to. Go has no prefetch
// intrinsic outside the runtime, hence the assembly; it is called once per
// batch of frames, not per frame.
//
//go:noescape
func prefetchRange(p unsafe.Pointer, n uintptr)
