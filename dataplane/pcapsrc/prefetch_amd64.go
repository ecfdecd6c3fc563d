package pcapsrc

// prefetchSpan asks the CPU to bring the paceMax bytes (16 cache lines)
// at address p into its caches. It never faults, whatever p points to,
// so it takes a plain address, which keeps Pace cheap enough to inline.
// Go has no prefetch intrinsic outside the runtime, hence the assembly,
// unrolled: Pace calls it once per frame.
//
// The hint is non-temporal (PREFETCHNTA): most of a capture's bytes are
// payload the parser never reads, and fetched as temporal they evicted
// the flow state from L2 on their way through it (session 19: 1.023x,
// faster in 69 of 80 paired rounds). Session 12 measured the same hint
// 1.4-1.6x slower, before populate mapped the pages ahead of Pace; the
// two were not timed apart since.
func prefetchSpan(p uintptr)
