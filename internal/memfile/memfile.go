//go:build linux

// Package memfile puts an executable image (a program or a shared library)
// in a sealed memory file, so that it can be executed or loaded by path
// (/proc/self/fd/N) without anything being installed beside the binary or
// left behind.
//
// Threading: New is safe from any goroutine.
package memfile

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// Seals applied by New: once they are, the image cannot change between
// its writing and its use.
const Seals = unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE

// New returns a close-on-exec memory file named name holding image, sealed
// against change. Kernels since 6.3 can be set (vm.memfd_noexec) to make
// memory files unexecutable unless created with MFD_EXEC, which older
// kernels refuse as unknown: New asks for it, and goes without it only
// where it is refused.
func New(name string, image []byte) (*os.File, error) {
	const flags = unix.MFD_CLOEXEC | unix.MFD_ALLOW_SEALING
	fd, err := unix.MemfdCreate(name, flags|unix.MFD_EXEC)
	if errors.Is(err, unix.EINVAL) {
		fd, err = unix.MemfdCreate(name, flags)
	}
	if err != nil {
		return nil, fmt.Errorf("memfd_create %s: %w", name, err)
	}
	f := os.NewFile(uintptr(fd), name)
	if _, err := f.Write(image); err != nil {
		f.Close()
		return nil, fmt.Errorf("write memory file %s: %w", name, err)
	}
	if _, err := unix.FcntlInt(f.Fd(), unix.F_ADD_SEALS, Seals); err != nil {
		f.Close()
		return nil, fmt.Errorf("seal memory file %s: %w", name, err)
	}
	return f, nil
}

// Path is the path by which f can be executed or loaded while it is open.
func Path(f *os.File) string { return fmt.Sprintf("/proc/self/fd/%d", f.Fd()) }
