//go:build dpdk

package dpdk

/*
#cgo pkg-config: libdpdk
#cgo CFLAGS: -Wno-deprecated-declarations
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <rte_version.h>
#include "binding.h"

struct ts_api ts_dpdk;

// ts_load copies dlerror's text into msg within the failing call: it is
// per thread, and the goroutine may move before Go could read it.
static int ts_load(const char *path, char *msg, size_t n) {
	void *h = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
	if (h == NULL) {
		snprintf(msg, n, "%s", dlerror());
		return -1;
	}
	const struct ts_api *api = dlsym(h, TS_API_SYMBOL);
	if (api == NULL) {
		snprintf(msg, n, "%s", dlerror());
		dlclose(h);
		return -1;
	}
	if (api->version != TS_API_VERSION || api->size != sizeof(struct ts_api)) {
		snprintf(msg, n, "entry table version %u (%u bytes), this build wants %u (%zu bytes)",
			api->version, api->size, TS_API_VERSION, sizeof(struct ts_api));
		dlclose(h);
		return -1;
	}
	memcpy(&ts_dpdk, api, sizeof(ts_dpdk));
	return 0;
}
*/
import "C"

import (
	_ "embed"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/tunnelscope/tunnelscope/internal/memfile"
)

// shimLibrary is libtsdpdk.so, built from shim/ by `make shim` (every make
// target that builds with the dpdk tag runs it first). It is embedded so
// that bin/tunnelscope stays one file, and loaded from memory.
//
//go:embed shim/libtsdpdk.so
var shimLibrary []byte

// BuiltVersion is the DPDK release whose headers the binding was compiled
// against; its libraries (same ABI) must be installed for run to load it.
func BuiltVersion() string {
	return fmt.Sprintf("%d.%02d.%d", C.RTE_VER_YEAR, C.RTE_VER_MONTH, C.RTE_VER_MINOR)
}

// ErrNoBinding is wrapped when the DPDK libraries cannot be loaded (DPDK is
// not installed on this machine, or the embedded library is damaged).
var ErrNoBinding = errors.New("DPDK binding unavailable (is DPDK installed? scripts/deps.sh installs it)")

var shim struct {
	once   sync.Once
	err    error
	loaded atomic.Bool
	file   *os.File // the memory file the binding was loaded from
}

// loaded reports whether the binding is in; the functions that may be
// called at any time check it and answer as DPDK would with no EAL.
func loaded() bool { return shim.loaded.Load() }

// loadShim loads libtsdpdk.so, and with it DPDK's libraries, the first time
// it is called; later calls return the first one's result. Every function
// of this package that calls DPDK runs after it (EALInit calls it first).
func loadShim() error {
	shim.once.Do(func() { shim.err = openShim(shimLibrary) })
	return shim.err
}

// openShim loads lib, an ELF shared object exporting the entry table, from
// memory, and on success fills ts_dpdk.
func openShim(lib []byte) error {
	// From a memory file, so nothing is installed beside the binary or
	// left behind.
	f, err := memfile.New("tunnelscope-dpdk", lib)
	if err != nil {
		return fmt.Errorf("load DPDK binding: %w: %w", err, ErrNoBinding)
	}
	path := C.CString(memfile.Path(f))
	defer C.free(unsafe.Pointer(path))
	var msg [512]C.char
	if C.ts_load(path, &msg[0], C.size_t(len(msg))) != 0 {
		f.Close()
		return fmt.Errorf("load DPDK binding: %s: %w", C.GoString(&msg[0]), ErrNoBinding)
	}
	// The file stays open for good: the dynamic loader knows the library
	// by its path, and a later dlopen of a reused descriptor number would
	// otherwise be handed this library instead of the file it names.
	shim.file = f
	shim.loaded.Store(true)
	return nil
}
