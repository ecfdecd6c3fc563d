package hugepage

import "golang.org/x/sys/unix"

// advise asks for huge pages over b. It is only advice: where THP is
// off, or the kernel refuses, b stays in small pages and works the same.
func advise(b []byte) {
	if len(b) > 0 {
		_ = unix.Madvise(b, unix.MADV_HUGEPAGE)
	}
}
