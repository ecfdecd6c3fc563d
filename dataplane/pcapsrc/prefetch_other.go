//go:build !amd64

package pcapsrc

import "unsafe"

// prefetchSpan does nothing where there is no assembly for it: the
// hardware prefetcher alone serves the mapped file.
func prefetchSpan(unsafe.Pointer) {}
