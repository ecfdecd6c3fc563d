//go:build linux

package memfile

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"testing"

	"golang.org/x/sys/unix"
)

// The file holds the image, reads back by its path, and refuses change.
func TestNewHoldsSealedImage(t *testing.T) {
	image := []byte("\x7fELF and then some bytes")
	f, err := New("memfile-test", image)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := os.ReadFile(Path(f))
	if err != nil || !bytes.Equal(got, image) {
		t.Fatalf("read back %q, %v; want %q", got, err, image)
	}
	seals, err := unix.FcntlInt(f.Fd(), unix.F_GET_SEALS, 0)
	if err != nil || seals&Seals != Seals {
		t.Fatalf("seals %#x, %v; want %#x", seals, err, Seals)
	}
	if _, err := f.WriteAt([]byte("x"), 0); !errors.Is(err, unix.EPERM) {
		t.Fatalf("a write to the sealed file returned %v, want EPERM", err)
	}
	if err := f.Truncate(1); !errors.Is(err, unix.EPERM) {
		t.Fatalf("truncating the sealed file returned %v, want EPERM", err)
	}
}

// A program in a memory file runs by its path.
func TestNewImageRuns(t *testing.T) {
	truePath, err := exec.LookPath("true")
	if err != nil {
		t.Fatal(err)
	}
	image, err := os.ReadFile(truePath)
	if err != nil {
		t.Fatal(err)
	}
	f, err := New("memfile-true", image)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// The forked child still has the close-on-exec descriptor when its
	// execve opens /proc/self/fd/N, as a process exec'ing itself has.
	cmd := exec.Command(Path(f))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("running %s from a memory file: %v %s", truePath, err, out)
	}
}
