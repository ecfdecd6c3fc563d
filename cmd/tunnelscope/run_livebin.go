//go:build livebin && linux && !dpdk

package main

import (
	_ "embed"
	"fmt"
	"io"
	"os"
	"syscall"

	"github.com/tunnelscope/tunnelscope/internal/memfile"
)

// liveProgram is this same command built with the DPDK binding (-tags dpdk,
// and so with cgo), which `make build` writes to livebin/ before building
// this one. Only run needs cgo; every other command runs in this pure-Go
// build, which starts about 1 ms sooner than a cgo one (the dynamic
// loader, glibc's start-up and the runtime's cgo threads: 2.3% of an
// offline benchmark run; docs/performance-log.md, "Session 25"). run
// replaces this process with the live program, so bin/tunnelscope stays
// one file that does everything.
//
//go:embed livebin/tunnelscope-live
var liveProgram []byte

// liveDPDK is the DPDK release the live program's binding was built for,
// set by `make build` (-X), since this build cannot read DPDK's headers.
var liveDPDK = "unknown"

// bindingNote is what --version says about the live appliance.
func bindingNote() string {
	return "DPDK binding for " + liveDPDK + ", in the live program run starts"
}

// runLive replaces the process with the live program, which runs
// `tunnelscope run` with the same arguments, environment and open files.
// It returns only if that could not be done.
func runLive(args []string, stdout, stderr io.Writer) int {
	argv := append([]string{os.Args[0], "run"}, args...)
	err := execProgram("tunnelscope-live", liveProgram, argv, os.Environ())
	fmt.Fprintf(stderr, "tunnelscope run: start the live program: %v\n", err)
	return 1
}

// execProgram puts an executable image in a sealed memory file and
// executes it in place of this process. It returns only on failure, as
// syscall.Exec does.
func execProgram(name string, image []byte, argv, env []string) error {
	f, err := memfile.New(name, image)
	if err != nil {
		return err
	}
	defer f.Close()
	// syscall.Exec, not a raw execveat: it holds off the runtime's thread
	// creation and restores the open-file limit Go raised at start. The
	// descriptor is close-on-exec; the kernel opens the path before it
	// closes descriptors, and reads nothing from it afterwards (an ELF
	// image, not a script). The live program renames its threads after
	// argv[0] (nameProcess in run_dpdk.go), since the kernel names them
	// after the path, "N".
	return fmt.Errorf("exec %s: %w", name, syscall.Exec(memfile.Path(f), argv, env))
}
