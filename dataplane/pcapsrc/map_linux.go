package pcapsrc

import (
	"math"
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// mapMin is the smallest file Open maps: below it, the mapping's system
// calls cost more than the copy they save. A variable so tests can map
// small captures.
var mapMin int64 = 1 << 20

// mapFile maps f read-only if it is a regular file of at least mapMin
// bytes, and returns nil (read it instead) otherwise or on any failure.
func mapFile(f *os.File) []byte {
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() || st.Size() < mapMin || st.Size() > math.MaxInt {
		return nil
	}
	b, err := syscall.Mmap(int(f.Fd()), 0, int(st.Size()), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil
	}
	// Where the page cache holds the file in 2 MiB folios (ext4 and XFS on
	// recent kernels, once the file has been read from disk), this lets one
	// fault map a whole folio instead of 16 pages: about 200 faults for a
	// 400 MB capture instead of 7,000. Advice only: failure changes nothing.
	_ = syscall.Madvise(b, syscall.MADV_HUGEPAGE)
	return b
}

func unmap(b []byte) { _ = syscall.Munmap(b) }

var pageSize = uintptr(os.Getpagesize())

// populate maps the pages b spans into the process, reading them from disk
// if the page cache lacks them, and reports whether the kernel could
// (MADV_POPULATE_READ is Linux 5.14's). The span is widened to whole pages,
// as madvise needs: a mapping's pages belong to it entirely.
//
// A raw system call: the scheduler is not told, so the goroutine keeps its
// P. Told, it let the runtime's monitor thread take the P away during the
// call (a chunk from the page cache takes a millisecond or two), wake
// another thread for it and, for the next few milliseconds, wake itself
// every 20 µs; pinned to one CPU as the benchmark runs classify, each wake
// displaced the parser (212 context switches a run instead of 143; 1.1%
// faster by scripts/ab.sh, 33 of 40 rounds). The price is where the file
// is not cached: while the chunk is read from disk, a stop for the garbage
// collector or a signal's delivery waits for it, and only the reading
// goroutine's own work waits on the chunk in any case.
func populate(b []byte) bool {
	if len(b) == 0 {
		return true
	}
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	start, end := p&^(pageSize-1), (p+uintptr(len(b))+pageSize-1)&^(pageSize-1)
	_, _, errno := unix.RawSyscall(unix.SYS_MADVISE, start, end-start, unix.MADV_POPULATE_READ)
	return errno == 0
}
