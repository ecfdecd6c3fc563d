//go:build dpdk

package dpdk

// This file holds the only //export of the package; cgo then requires its
// preamble to hold declarations only, so the C side of lcore launch lives in
// eal.go.

/*
#cgo pkg-config: libdpdk
#include <stdint.h>
*/
import "C"

import (
	"fmt"
	"runtime/debug"
)

//export tsLcoreTrampoline
func tsLcoreTrampoline(handle C.uintptr_t) C.int {
	lcoreRuns.Lock()
	r := &lcoreRuns.runs[handle]
	fn := r.fn
	lcoreRuns.Unlock()
	perr := runRecovering(fn)
	lcoreRuns.Lock()
	r.fn, r.running, r.panic = nil, false, perr
	lcoreRuns.Unlock()
	if perr != nil {
		return -1
	}
	return 0
}

func runRecovering(fn func()) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("%w: %v\n%s", ErrLcorePanic, v, debug.Stack())
		}
	}()
	fn()
	return nil
}
