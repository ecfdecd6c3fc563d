package pcapsrc

import (
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"github.com/tunnelscope/tunnelscope/internal/smaps"
)

// mappedKiB is the Rss of the mapping that holds b's first byte: how
// much of it the process's page tables map.
func mappedKiB(t *testing.T, b []byte) int {
	t.Helper()
	rss, err := smaps.Field(uintptr(unsafe.Pointer(unsafe.SliceData(b))), "Rss")
	if err != nil {
		t.Fatal(err)
	}
	kib, err := strconv.Atoi(strings.TrimSuffix(rss, " kB"))
	if err != nil {
		t.Fatal(err)
	}
	return kib
}

// mapZeros maps a new file of size zero bytes, unmapped at the test's end.
func mapZeros(t *testing.T, size int) (b []byte, name string) {
	t.Helper()
	name = filepath.Join(t.TempDir(), "capture")
	if err := os.WriteFile(name, make([]byte, size), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close() // the mapping outlives the descriptor
	if b = mapFile(f); b == nil {
		t.Fatal("not mapped")
	}
	t.Cleanup(func() { unmap(b) })
	return b, name
}

// populate maps the pages it is given (and no fault is left for the
// parser to take behind Pace's prefetch, which a fault would have dropped),
// including a span that starts and ends inside pages.
func TestPopulateMapsPages(t *testing.T) {
	const size = 8 << 20
	b, _ := mapZeros(t, size)
	if kib := mappedKiB(t, b); kib != 0 {
		t.Fatalf("a new mapping has %d KiB mapped", kib)
	}
	if _, ok := populate(b[100 : size/2-100]); !ok {
		t.Fatal("populate failed")
	}
	if kib := mappedKiB(t, b); kib < size/2>>10 {
		t.Errorf("%d KiB mapped after populating the first %d KiB", kib, size/2>>10)
	}
}

// A span the file no longer holds (another process cut it short) makes
// populate report false, not crash, so the parser can still read up to the
// cut; and it leaves the goroutine's fault setting as it found it.
func TestPopulateCutFile(t *testing.T) {
	const size = 8 << 20
	b, name := mapZeros(t, size)
	if err := os.Truncate(name, 1<<20); err != nil {
		t.Fatal(err)
	}
	if _, ok := populate(b[:1<<20]); !ok {
		t.Error("populate failed on the part the file still holds")
	}
	if _, ok := populate(b[2<<20 : 3<<20]); ok {
		t.Error("populate reported success on pages past the file's end")
	}
	if debug.SetPanicOnFault(false) {
		t.Error("populate left panic-on-fault set")
	}
}
