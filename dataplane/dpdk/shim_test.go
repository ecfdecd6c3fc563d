//go:build dpdk

package dpdk

import (
	"debug/elf"
	"errors"
	"os"
	"strings"
	"testing"
)

// The binding reaches DPDK only through the shim it loads at EALInit, so a
// binary built with it must not name any DPDK library: if one crept back
// (a DPDK symbol used from a cgo preamble), every offline command would
// again pay for loading DPDK at start-up.
func TestBinaryLinksNoDPDKLibrary(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	f, err := elf.Open(exe)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	libs, err := f.ImportedLibraries()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range libs {
		if strings.HasPrefix(l, "librte_") {
			t.Errorf("%s needs %s (all of %v); DPDK must come only from the shim", exe, l, libs)
		}
	}
	if !loaded() {
		t.Error("EAL is up but the shim reports not loaded")
	}
}

// The shim brought DPDK in: the process now maps the EAL library.
func TestShimMapsDPDK(t *testing.T) {
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"tunnelscope-dpdk", "librte_eal.so"} {
		if !strings.Contains(string(maps), want) {
			t.Errorf("/proc/self/maps has no %s after EALInit", want)
		}
	}
}

// A damaged library is refused with the loader's reason, and the binding
// already loaded stays in use.
func TestOpenShimRefusesDamagedLibrary(t *testing.T) {
	for name, lib := range map[string][]byte{
		"empty":           nil,
		"not ELF":         []byte("#!/bin/sh\necho not a library\n"),
		"ELF header only": shimLibrary[:64],
	} {
		err := openShim(lib)
		if !errors.Is(err, ErrNoBinding) {
			t.Errorf("%s: got %v, want ErrNoBinding", name, err)
			continue
		}
		t.Logf("%s: %v", name, err)
	}
	if _, err := portSimple.Info(); err != nil {
		t.Errorf("after refused loads: %v", err)
	}
}
