package hugepage

import (
	"os"
	"slices"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/tunnelscope/tunnelscope/internal/smaps"
)

// TestMakeAdvisesHugePages checks, in /proc/self/smaps, that the mapping
// holding a Make array carries the huge-page advice (VmFlags "hg"), which
// the kernel records whatever its system-wide THP mode, and that a fresh
// mapping nobody advised does not: the control shows the reader can tell
// the two apart.
func TestMakeAdvisesHugePages(t *testing.T) {
	if _, err := os.Stat("/sys/kernel/mm/transparent_hugepage/enabled"); err != nil {
		t.Skipf("kernel built without transparent huge pages, so there is no advice to give: %v", err)
	}
	s := Make[uint64](4 * Size / 8)
	if !hasVmFlag(t, uintptr(unsafe.Pointer(&s[0])), "hg") {
		t.Errorf("the mapping holding a Make array has no VmFlags hg: Make did not advise it")
	}
	control, err := unix.Mmap(-1, 0, 4*Size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(control)
	if hasVmFlag(t, uintptr(unsafe.Pointer(&control[0])), "hg") {
		t.Fatal("a fresh, unadvised mapping shows VmFlags hg: the smaps reader is wrong")
	}
}

// TestMakeLazyMapsWithoutAdvice checks that a large MakeLazy array is a
// mapping of its own, outside the Go heap (Free removes it), that carries
// no huge-page advice, so its head takes small pages.
func TestMakeLazyMapsWithoutAdvice(t *testing.T) {
	s := MakeLazy[uint64](4 * Size / 8)
	s[0], s[len(s)-1] = 1, 1
	addr := uintptr(unsafe.Pointer(&s[0]))
	if hasVmFlag(t, addr, "hg") {
		t.Error("the mapping holding a MakeLazy array has VmFlags hg")
	}
	Free(s)
	if v, err := smaps.Field(addr, "Rss"); err == nil {
		t.Fatalf("after Free the array's mapping is still there (Rss %s)", v)
	}
}

// hasVmFlag reports whether the mapping holding addr has flag among its
// VmFlags in /proc/self/smaps.
func hasVmFlag(t *testing.T, addr uintptr, flag string) bool {
	t.Helper()
	flags, err := smaps.Field(addr, "VmFlags")
	if err != nil {
		t.Fatal(err)
	}
	return slices.Contains(strings.Fields(flags), flag)
}

// TestFreeUnmaps checks that a large Make array is a mapping of its own,
// outside the Go heap, that Free removes it, and that Free leaves arrays
// it did not map alone.
func TestFreeUnmaps(t *testing.T) {
	s := Make[uint64](4 * Size / 8)
	s[len(s)-1] = 1
	addr := uintptr(unsafe.Pointer(&s[0]))
	if _, err := smaps.Field(addr, "Rss"); err != nil {
		t.Fatalf("before Free: %v", err)
	}
	Free(s)
	if v, err := smaps.Field(addr, "Rss"); err == nil {
		t.Fatalf("after Free the array's mapping is still there (Rss %s)", v)
	}
	small := Make[uint64](16)
	Free(small)
	small[0] = 1 // still the caller's: Free left the Go heap's array alone
	Free([]uint64(nil))
}
