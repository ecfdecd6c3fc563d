package pcapsrc

import (
	"os"
	"path/filepath"
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

// populate maps the pages it is given (and no fault is left for the
// parser to take behind Pace's prefetch, which a fault would have dropped),
// including a span that starts and ends inside pages.
func TestPopulateMapsPages(t *testing.T) {
	name := filepath.Join(t.TempDir(), "capture")
	const size = 8 << 20
	if err := os.WriteFile(name, make([]byte, size), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := mapFile(f)
	if b == nil {
		t.Fatal("not mapped")
	}
	defer unmap(b)
	if kib := mappedKiB(t, b); kib != 0 {
		t.Fatalf("a new mapping has %d KiB mapped", kib)
	}
	if !populate(b[100 : size/2-100]) {
		t.Fatal("populate failed")
	}
	if kib := mappedKiB(t, b); kib < size/2>>10 {
		t.Errorf("%d KiB mapped after populating the first %d KiB", kib, size/2>>10)
	}
}
