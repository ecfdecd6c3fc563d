//go:build !amd64

package prefetch

import "unsafe"

// Without assembly for the architecture these do nothing: the hardware
// prefetcher and the caches serve as they would without the hints.

func Line(unsafe.Pointer)   {}
func LineW(unsafe.Pointer)  {}
func Lines8(unsafe.Pointer) {}
