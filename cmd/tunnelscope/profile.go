package main

import (
	"fmt"
	"io"
	"os"
	"runtime/pprof"
)

// profileEnv names a file to write a CPU profile of the whole command to.
// It is for developers: `make pgo` uses it to refresh default.pgo, the
// profile the Go compiler optimises the binary with.
const profileEnv = "TUNNELSCOPE_CPUPROFILE"

// startProfile starts the CPU profile profileEnv asks for, if any, and
// returns the function that stops it and writes the file.
func startProfile(stderr io.Writer) func() {
	path := os.Getenv(profileEnv)
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err == nil {
		err = pprof.StartCPUProfile(f)
	}
	if err != nil {
		fmt.Fprintf(stderr, "tunnelscope: %s: %v\n", profileEnv, err)
		if f != nil {
			f.Close()
		}
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			fmt.Fprintf(stderr, "tunnelscope: %s: %v\n", profileEnv, err)
		}
	}
}
