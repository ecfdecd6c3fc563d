//go:build !amd64

package pcapsrc

import "unsafe"

// prefetchRange does nothing where there is no assembly for it: the
// hardware prefetcher alone serves the mapped file.
func prefetchRange(unsafe.Pointer, uintptr) {}
