//go:build dpdk

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/tunnelscope/tunnelscope/control/metrics/promcheck"
	"github.com/tunnelscope/tunnelscope/features"
	"github.com/tunnelscope/tunnelscope/models"
)

// saveConstantModel writes a one-leaf tree on this build's schema that
// calls every flow class: which model made a verdict is then plain.
func saveConstantModel(t *testing.T, path, class string) {
	t.Helper()
	m := &models.File{Format: models.FileFormat, Version: models.FileVersion, Kind: "decision_tree",
		Features: features.Schema(), Classes: []string{class},
		Trees: []models.Tree{{Feature: []int32{-1}, Threshold: []float32{0}, Left: []int32{0}, Right: []int32{-1}, Value: [][]float32{{1}}}}}
	if err := m.Save(path); err != nil {
		t.Fatal(err)
	}
}

func gaugeValue(fams map[string]*dto.MetricFamily, name string) (float64, bool) {
	f := fams[name]
	if f == nil || len(f.Metric) != 1 {
		return 0, false
	}
	if c := f.Metric[0].Counter; c != nil {
		return c.GetValue(), true
	}
	return f.Metric[0].GetGauge().GetValue(), true
}

// SIGHUP swaps the model of a running appliance: while net_pcap replays the
// sample capture endlessly (its flows stay open until the end), a good
// model file replaces the serving one, a corrupt one is refused and leaves
// it serving, and the metrics say so each time. A flow is classified when
// it ends, by the model serving then.
func TestModelReloadLive(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "model.json")
	saveConstantModel(t, model, "dns")
	sample, _ := filepath.Abs("../../sample/tor.pcap")
	cfg := filepath.Join(dir, "reload.toml")
	text := testConfig + fmt.Sprintf(`[model]
path = %q
[live]
eal = ["--no-huge", "-m", "256", "--no-shconf", "--no-pci", "--log-level=*:error", "--file-prefix=%s"]
mbufs = 4095
[[live.port]]
device = "net_pcap0,rx_pcap=%s,infinite_rx=1"
`, model, ealPrefix("tsreload"), sample)
	if err := os.WriteFile(cfg, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := freeLoopbackAddr(t)
	url := "http://" + addr + "/metrics"
	out := filepath.Join(dir, "out.jsonl")
	c := startRun(t, "-c", cfg, "--metrics", addr, "-o", out)
	cmd, exited, stderr := c.cmd, c.exited, &c.stderr

	// waitFor scrapes until cond holds on the metrics.
	waitFor := func(what string, cond func(map[string]*dto.MetricFamily) bool) {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			select {
			case <-exited:
				t.Fatalf("run exited while waiting for %s: %v\n%s", what, c.err, stderr.String())
			default:
			}
			if _, fams, err := promcheck.Scrape(url); err == nil && cond(fams) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("no %s after 20 s\n%s", what, stderr.String())
			}
		}
	}
	var started float64
	waitFor("traffic and the first model", func(f map[string]*dto.MetricFamily) bool {
		frames, _ := counterSum(f, "tunnelscope_worker_frames_total")
		trees, _ := gaugeValue(f, "tunnelscope_model_trees")
		ok, _ := gaugeValue(f, "tunnelscope_model_last_reload_successful")
		started, _ = gaugeValue(f, "tunnelscope_model_last_reload_success_timestamp_seconds")
		return frames > 0 && trees == 1 && ok == 1
	})

	saveConstantModel(t, model, "tor")
	cmd.Process.Signal(syscall.SIGHUP)
	waitFor("a successful reload", func(f map[string]*dto.MetricFamily) bool {
		at, _ := gaugeValue(f, "tunnelscope_model_last_reload_success_timestamp_seconds")
		ok, _ := gaugeValue(f, "tunnelscope_model_last_reload_successful")
		return at > started && ok == 1
	})

	if err := os.WriteFile(model, []byte(`{"format":"tunnelscope-model","version":1,`), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd.Process.Signal(syscall.SIGHUP)
	waitFor("a failed reload", func(f map[string]*dto.MetricFamily) bool {
		failures, _ := gaugeValue(f, "tunnelscope_model_reload_failures_total")
		ok, _ := gaugeValue(f, "tunnelscope_model_last_reload_successful")
		trees, _ := gaugeValue(f, "tunnelscope_model_trees")
		return failures == 1 && ok == 0 && trees == 1
	})

	cmd.Process.Signal(os.Interrupt)
	select {
	case <-exited:
		if c.err != nil {
			t.Fatalf("run did not exit cleanly: %v\n%s", c.err, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("run still going 30 s after SIGINT\n%s", stderr.String())
	}
	log := stderr.String()
	if !strings.Contains(log, "SIGHUP: model reloaded from "+model) || !strings.Contains(log, "SIGHUP: model not reloaded, the previous one keeps serving") ||
		!strings.Contains(log, "corrupt model file") {
		t.Errorf("stderr does not tell of both reloads:\n%s", log)
	}
	// One worker writes records in the order flows end: flows the replay
	// closed (FIN, RST) before the reload carry the first model's verdict,
	// every later one the second's, and the corrupt file changed nothing.
	recs := readRecords(t, out)
	seenTor, eof := false, 0
	for _, r := range recs {
		if r.Verdict.Source != "model" || r.Verdict.Confidence != 1 {
			t.Fatalf("record %s:%d-%s:%d: verdict %+v is not a model's", r.Src, r.Sport, r.Dst, r.Dport, r.Verdict)
		}
		switch {
		case r.Verdict.Class == "tor":
			seenTor = true
		case r.Verdict.Class != "dns" || seenTor:
			t.Fatalf("record %s:%d-%s:%d (end %s): verdict %s after the reload to tor", r.Src, r.Sport, r.Dst, r.Dport, r.End, r.Verdict.Class)
		}
		if r.End == "eof" {
			eof++
		}
	}
	if eof == 0 || !seenTor {
		t.Fatalf("%d records, %d ended at shutdown, tor seen: %v", len(recs), eof, seenTor)
	}
	t.Logf("%d records, the last %d at shutdown, by the reloaded model", len(recs), eof)
}
