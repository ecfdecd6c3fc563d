//go:build !linux

package hugepage

func advise([]byte) {}

// mapAnon leaves every array to the Go heap.
func mapAnon(uintptr) []byte { return nil }

func unmapAnon([]byte) {}
