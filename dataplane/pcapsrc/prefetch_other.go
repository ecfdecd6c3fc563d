//go:build !amd64

package pcapsrc

// prefetchSpan does nothing where there is no assembly for it: the
// hardware prefetcher alone serves the mapped file.
func prefetchSpan(uintptr) {}
