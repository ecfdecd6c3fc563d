// Package promcheck lints a Prometheus text exposition with promtool, for
// tests of anything serving /metrics.
//
// Threading: Check and Scrape may be called from parallel tests; each Check
// runs its own promtool process.
package promcheck

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
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

// Scrape GETs url (a /metrics endpoint) and parses its text exposition.
// It returns the body too, for Check and for failure messages.
func Scrape(url string) ([]byte, map[string]*dto.MetricFamily, error) {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("GET %s: %s: %s", url, resp.Status, body)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		return body, nil, fmt.Errorf("exposition does not parse: %w", err)
	}
	return body, fams, nil
}
