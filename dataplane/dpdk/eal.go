//go:build dpdk

package dpdk

/*
#cgo pkg-config: libdpdk
#cgo CFLAGS: -Wno-deprecated-declarations
#include <stdlib.h>
#include "binding.h"

extern int tsLcoreTrampoline(uintptr_t handle);

static int ts_lcore_entry(void *arg) { return tsLcoreTrampoline((uintptr_t)arg); }

static int ts_remote_launch(uintptr_t handle, unsigned lcore) {
	return ts_eal_remote_launch(ts_lcore_entry, (void *)handle, lcore);
}
*/
import "C"

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"
)

// LcoreIDAny is what LcoreID returns on a thread that is not an EAL lcore.
const LcoreIDAny = uint(C.LCORE_ID_ANY)

// SocketIDAny lets DPDK choose the NUMA socket.
const SocketIDAny = int(C.SOCKET_ID_ANY)

var ealUp atomic.Bool

// EALInit initialises DPDK's EAL with args, args[0] being the program name as
// in os.Args. It returns how many arguments the EAL consumed. The EAL
// initialises once per process; a second call returns ErrAlready. The
// argument strings are deliberately never freed: the EAL may keep pointers to
// them (device arguments) for the life of the process.
func EALInit(args []string) (int, error) {
	if len(args) == 0 {
		return 0, fmt.Errorf("eal init: no arguments (args[0] must be the program name): %w", ErrInvalid)
	}
	if err := loadShim(); err != nil {
		return 0, fmt.Errorf("eal init: %w", err)
	}
	if !ealUp.CompareAndSwap(false, true) {
		return 0, fmt.Errorf("eal init: %w", ErrAlready)
	}
	argv := (*[1 << 20]*C.char)(C.calloc(C.size_t(len(args)+1), C.size_t(unsafe.Sizeof((*C.char)(nil)))))[: len(args)+1 : len(args)+1]
	for i, a := range args {
		argv[i] = C.CString(a)
	}
	var e C.int
	rc := C.ts_eal_init(C.int(len(args)), &argv[0], &e)
	if rc < 0 {
		ealUp.Store(false)
		return 0, fmt.Errorf("eal init %q: %w", args[1:], errno(-int(e)))
	}
	return int(rc), nil
}

// EALCleanup releases the EAL's resources. Stop and close ports and wait for
// the lcores first; DPDK cannot be initialised again in this process.
func EALCleanup() error {
	if !ealUp.Load() {
		return fmt.Errorf("eal cleanup: %w", ErrNotInitialised)
	}
	if err := errno(int(C.ts_eal_cleanup())); err != nil {
		return fmt.Errorf("eal cleanup: %w", err)
	}
	return nil
}

// RuntimeBase is where the EAL makes each file prefix's runtime directory
// (RuntimeBase()/PREFIX), by DPDK's rule: /var/run/dpdk for root, else
// $XDG_RUNTIME_DIR/dpdk, else /tmp/dpdk. The EAL leaves that directory
// behind at exit, with --no-shconf too: whoever runs many short-lived
// processes under unique prefixes (tests, benchmarks) removes them.
func RuntimeBase() string {
	dir := "/var/run"
	if os.Getuid() != 0 {
		dir = "/tmp"
		if x := os.Getenv("XDG_RUNTIME_DIR"); x != "" {
			dir = x
		}
	}
	return filepath.Join(dir, "dpdk")
}

// LcoreID is the EAL lcore of the calling thread, LcoreIDAny off the EAL
// threads. In Go it is meaningful inside a function started by LaunchOnLcore
// (which stays on its lcore thread) or on a goroutine locked to the thread
// that called EALInit.
func LcoreID() uint {
	if !loaded() {
		return LcoreIDAny
	}
	return uint(C.ts_lcore_id())
}

// SocketID is the NUMA socket of the calling lcore, SocketIDAny off the EAL
// threads.
func SocketID() int {
	if !loaded() {
		return SocketIDAny
	}
	return int(int32(C.ts_socket_id()))
}

// LcoreSocketID is the NUMA socket of lcore.
func LcoreSocketID(lcore uint) int {
	if !loaded() {
		return SocketIDAny
	}
	return int(int32(C.ts_lcore_to_socket_id(C.uint(lcore))))
}

// MainLcore is the lcore of the thread that called EALInit.
func MainLcore() uint {
	if !loaded() {
		return LcoreIDAny
	}
	return uint(C.ts_get_main_lcore())
}

// Lcores lists the enabled worker lcores, the main lcore excluded, in order.
func Lcores() []uint {
	if !loaded() {
		return nil
	}
	var ls []uint
	main := C.ts_get_main_lcore()
	for i := C.uint(0); i < C.RTE_MAX_LCORE; i++ {
		if i != main && C.ts_lcore_is_enabled(i) != 0 {
			ls = append(ls, uint(i))
		}
	}
	return ls
}

// lcoreRun is what the trampoline needs to run on an lcore and what WaitLcore
// reports afterwards. The handle given to C is the lcore number: an lcore runs
// one function at a time, and no Go pointer crosses into C.
type lcoreRun struct {
	fn      func()
	running bool
	panic   error
}

var lcoreRuns struct {
	sync.Mutex
	runs [C.RTE_MAX_LCORE]lcoreRun
}

// LaunchOnLcore runs fn on the EAL thread of worker lcore lcore and returns
// at once. fn stays on that OS thread, so LcoreID() inside it is lcore. While
// fn runs it holds a Go P; see EnsureGOMAXPROCS. A panic in fn is recovered
// and reported by WaitLcore rather than killing the process.
func LaunchOnLcore(lcore uint, fn func()) error {
	if !loaded() {
		return fmt.Errorf("lcore %d: launch: %w", lcore, ErrNotInitialised)
	}
	if lcore >= C.RTE_MAX_LCORE || C.ts_lcore_is_enabled(C.uint(lcore)) == 0 || lcore == MainLcore() {
		return fmt.Errorf("lcore %d: launch: not an enabled worker lcore: %w", lcore, ErrInvalid)
	}
	lcoreRuns.Lock()
	r := &lcoreRuns.runs[lcore]
	if r.running {
		lcoreRuns.Unlock()
		return fmt.Errorf("lcore %d: launch: %w", lcore, ErrBusy)
	}
	*r = lcoreRun{fn: fn, running: true}
	lcoreRuns.Unlock()
	if err := errno(int(C.ts_remote_launch(C.uintptr_t(lcore), C.uint(lcore)))); err != nil {
		lcoreRuns.Lock()
		*r = lcoreRun{}
		lcoreRuns.Unlock()
		return fmt.Errorf("lcore %d: launch: %w", lcore, err)
	}
	return nil
}

// WaitLcore blocks until the function launched on lcore returns, and reports
// its panic (ErrLcorePanic) if it had one. It returns at once for an idle
// lcore, still reporting a panic not yet collected.
func WaitLcore(lcore uint) error {
	if lcore >= C.RTE_MAX_LCORE {
		return fmt.Errorf("lcore %d: wait: %w", lcore, ErrInvalid)
	}
	if !loaded() {
		return nil
	}
	C.ts_eal_wait_lcore(C.uint(lcore))
	lcoreRuns.Lock()
	defer lcoreRuns.Unlock()
	r := &lcoreRuns.runs[lcore]
	if err := r.panic; err != nil {
		r.panic = nil
		return fmt.Errorf("lcore %d: %w", lcore, err)
	}
	return nil
}

// WaitAllLcores blocks until every worker lcore is idle. Panics stay recorded
// for WaitLcore to report.
func WaitAllLcores() {
	if loaded() {
		C.ts_eal_mp_wait_lcore()
	}
}

// EnsureGOMAXPROCS raises GOMAXPROCS to at least pollers+1 and returns the
// value now in force. Each lcore running a Go polling loop holds a P and never
// gives it back; with GOMAXPROCS <= pollers the main goroutine and the garbage
// collector would never run again.
func EnsureGOMAXPROCS(pollers int) int {
	cur := runtime.GOMAXPROCS(0)
	if cur > pollers {
		return cur
	}
	runtime.GOMAXPROCS(pollers + 1)
	return pollers + 1
}
