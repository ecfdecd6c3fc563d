package main

import (
	"os/exec"
	"strings"
	"testing"
)

// heavyImports are packages whose initialisers every command would pay
// before main, whichever command runs (docs/performance-log.md, "Session
// 20": client_golang's cost every process 0.8 ms, a seventh of classify's
// fixed cost). A change that needs one should weigh that first.
var heavyImports = []string{
	"github.com/prometheus/client_golang/",
	"github.com/prometheus/procfs",
	"google.golang.org/protobuf/",
}

func TestBinaryLeavesOutHeavyImports(t *testing.T) {
	for _, tags := range []string{"", "dpdk"} {
		out, err := exec.Command("go", "list", "-tags", tags, "-deps", ".").CombinedOutput()
		if err != nil {
			t.Fatalf("go list -tags %q: %v\n%s", tags, err, out)
		}
		for _, pkg := range strings.Fields(string(out)) {
			for _, heavy := range heavyImports {
				if strings.HasPrefix(pkg, heavy) {
					t.Errorf("tags %q: the binary links %s", tags, pkg)
				}
			}
		}
	}
}
