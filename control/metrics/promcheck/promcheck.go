// Package promcheck lints a Prometheus text exposition with promtool, for
// tests of anything serving /metrics.
//
// Threading: Check may be called from parallel tests; each call runs its own
// promtool process.
package promcheck

import (
	"bytes"
	"os/exec"
	"testing"
)

// Path is where Debian's prometheus package installs promtool.
const Path = "/usr/bin/promtool"

// Check fails t when promtool is missing or reports any problem in body.
// A missing promtool is a failure, not a skip: the lint is part of what the
// tests promise, and scripts/deps.sh installs it.
func Check(t testing.TB, body []byte) {
	t.Helper()
	if _, err := exec.LookPath(Path); err != nil {
		t.Fatalf("promtool not found at %s (run scripts/deps.sh): %v", Path, err)
	}
	cmd := exec.Command(Path, "check", "metrics")
	cmd.Stdin = bytes.NewReader(body)
	out, err := cmd.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) != 0 {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
}
