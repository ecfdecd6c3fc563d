package smaps

import (
	"strings"
	"testing"
	"unsafe"
)

func TestFieldOfOwnMemory(t *testing.T) {
	b := make([]byte, 1<<20)
	b[0] = 1 // resident
	addr := uintptr(unsafe.Pointer(&b[0]))
	rss, err := Field(addr, "Rss")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(rss, " kB") || rss == "0 kB" {
		t.Errorf("Rss of a written heap page: %q", rss)
	}
	flags, err := Field(addr, "VmFlags")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(" "+flags+" ", " rd ") || !strings.Contains(" "+flags+" ", " wr ") {
		t.Errorf("VmFlags of heap memory: %q, want rd and wr", flags)
	}
	if _, err := Field(addr, "NoSuchField"); err == nil {
		t.Error("a field no mapping has: no error")
	}
	if _, err := Field(0, "Rss"); err == nil {
		t.Error("address 0, which nothing maps: no error")
	}
}
