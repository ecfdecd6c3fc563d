//go:build !dpdk && !(livebin && linux)

package main

import (
	"fmt"
	"io"
)

// bindingNote is what --version says about the live appliance.
func bindingNote() string { return "no DPDK binding: run is not available" }

// runLive explains how to get the live appliance: this binary was built
// without the DPDK binding (no libdpdk at build time).
func runLive(args []string, stdout, stderr io.Writer) int {
	for _, a := range args {
		if a == "-h" || a == "--help" || a == "-help" {
			fmt.Fprintln(stdout, "Usage: tunnelscope run "+runSynopsis)
			fmt.Fprintln(stdout, "\nThis binary was built without DPDK; 'make build' builds with it (-tags dpdk).")
			return 0
		}
	}
	fmt.Fprintln(stderr, "tunnelscope run: this binary was built without DPDK; rebuild with 'make build' (make shim, then go build -tags dpdk) on a machine with libdpdk-dev")
	return 2
}
