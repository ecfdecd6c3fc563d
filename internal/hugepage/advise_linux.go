package hugepage

import "golang.org/x/sys/unix"

// advise asks for huge pages over b. It is only advice: where THP is
// off, or the kernel refuses, b stays in small pages and works the same.
func advise(b []byte) {
	if len(b) > 0 {
		_ = unix.Madvise(b, unix.MADV_HUGEPAGE)
	}
}

// mapAnon maps n bytes of zeroed private memory, or returns nil.
func mapAnon(n uintptr) []byte {
	b, err := unix.Mmap(-1, 0, int(n), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return nil
	}
	return b
}

func unmapAnon(b []byte) { _ = unix.Munmap(b) }
