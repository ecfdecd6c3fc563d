package pcapsrc

import "unsafe"

// prefetchSpan asks the CPU to bring the paceMax bytes (eight cache lines)
// at p into its caches. It never faults, whatever p points to. Go has no
// prefetch intrinsic outside the runtime, hence the assembly, unrolled:
// Pace calls it once per frame.
//
//go:noescape
func prefetchSpan(p unsafe.Pointer)
