package prefetch

import "unsafe"

// Line asks for the cache line holding p, to read.
//
//go:noescape
func Line(p unsafe.Pointer)

// LineW asks for the cache line holding p, to write: in the exclusive
// state, so the store that follows need not wait for other cores' copies
// to be invalidated.
//
//go:noescape
func LineW(p unsafe.Pointer)

// Lines8 asks for the eight cache lines from p on (512 bytes), to read.
//
//go:noescape
func Lines8(p unsafe.Pointer)
