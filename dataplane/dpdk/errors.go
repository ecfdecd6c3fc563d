//go:build dpdk

package dpdk

import (
	"errors"
	"syscall"
)

// Sentinel errors. DPDK reports failures as negative errno values (or sets
// rte_errno); they are returned as syscall.Errno, so errors.Is works both with
// these names and with the syscall constants.
var (
	ErrInvalid      error = syscall.EINVAL
	ErrNoDevice     error = syscall.ENODEV
	ErrNotSupported error = syscall.ENOTSUP
	ErrBusy         error = syscall.EBUSY
	ErrNoMemory     error = syscall.ENOMEM
	ErrIO           error = syscall.EIO
	ErrExists       error = syscall.EEXIST
	ErrNotFound     error = syscall.ENOENT
	ErrAlready      error = syscall.EALREADY

	// ErrLcorePanic is wrapped by WaitLcore when the launched function panicked.
	ErrLcorePanic = errors.New("lcore function panicked")
	// ErrNotInitialised is returned by calls that need the EAL before EALInit.
	ErrNotInitialised = errors.New("EAL not initialised")
)

// errno turns DPDK's negative return codes into errors; nil for success.
func errno(rc int) error {
	if rc >= 0 {
		return nil
	}
	return syscall.Errno(-rc)
}
