//go:build dpdk

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"golang.org/x/sys/unix"

	"github.com/tunnelscope/tunnelscope/control/config"
	"github.com/tunnelscope/tunnelscope/control/metrics/promcheck"
	"github.com/tunnelscope/tunnelscope/dataplane/dpdk"
	"github.com/tunnelscope/tunnelscope/dataplane/pcapsrc"
	"github.com/tunnelscope/tunnelscope/internal/reference"
)

// The EAL initialises once per process, so each live run is a child: this
// test binary re-executed as the tunnelscope command.
func TestMain(m *testing.M) {
	if os.Getenv("TUNNELSCOPE_AS_MAIN") == "1" {
		os.Exit(mainArgs(os.Args[1:], os.Stdout, os.Stderr))
	}
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	// The EAL leaves each child's runtime directory behind.
	ealPrefixes.Range(func(p, _ any) bool {
		os.RemoveAll(filepath.Join(dpdk.RuntimeBase(), p.(string)))
		return true
	})
	os.Exit(code)
}

// ealPrefixes holds every EAL file prefix handed to a child run.
var ealPrefixes sync.Map

// ealPrefix is the EAL file prefix name+<this process's ID>, which keeps
// a child's EAL files apart from other test processes'; TestMain removes
// its runtime directory at the end.
func ealPrefix(name string) string {
	p := fmt.Sprintf("%s%d", name, os.Getpid())
	ealPrefixes.Store(p, struct{}{})
	return p
}

func linkTypeName(t *testing.T, capture string) string {
	s, err := pcapsrc.Open(capture)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var fr pcapsrc.Frame
	if err := s.Next(&fr); err != nil {
		t.Fatalf("%s: %v", capture, err)
	}
	for name, v := range config.LinkTypes {
		if v == uint16(fr.Link) {
			return name
		}
	}
	t.Fatalf("%s: link type %d has no config name", capture, fr.Link)
	return ""
}

// normalised makes records of the two modes comparable: live records carry
// the lcore and no file name, and net_pcap stamps microseconds.
func normalised(recs []jsonRecord, verdicts bool) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		r.File, r.Lcore = "", nil
		r.FirstSeen, r.LastSeen = r.FirstSeen[:26], r.LastSeen[:26]
		if !verdicts {
			r.Verdict.Confidence, r.Verdict.Class = 0, ""
		}
		b, _ := json.Marshal(r)
		out[i] = string(b)
	}
	sort.Strings(out)
	return out
}

// nanoStamped reports whether any record's time has a sub-microsecond part.
func nanoStamped(recs []jsonRecord) bool {
	for _, r := range recs {
		for _, ts := range []string{r.FirstSeen, r.LastSeen} {
			if len(ts) > 27 && ts[26:29] != "000" {
				return true
			}
		}
	}
	return false
}

type liveSummary struct {
	RxPackets uint64 `json:"rx_packets"`
	Drops     struct {
		Ring, Imissed, RxNombuf, Truncated uint64
	} `json:"drops"`
	Lcores []struct {
		Lcore  int    `json:"lcore"`
		Frames uint64 `json:"frames"`
		CPUs   []int  `json:"cpus"`
	} `json:"lcores"`
	YieldMs int `json:"yield_ms"`
}

// checkYield fails unless the run's workers yielded to the Go scheduler
// exactly when their CPUs covered every CPU this process may use (the
// child's set too: it inherits it), as live.yieldEvery says they must.
func checkYield(t *testing.T, name string, sum *liveSummary) {
	t.Helper()
	var process unix.CPUSet
	if err := unix.SchedGetaffinity(0, &process); err != nil {
		t.Fatal(err)
	}
	var workers unix.CPUSet
	for _, l := range sum.Lcores {
		if len(l.CPUs) == 0 {
			t.Errorf("%s: lcore %d reports no CPU", name, l.Lcore)
		}
		for _, c := range l.CPUs {
			workers.Set(c)
		}
	}
	covered := true
	for i := range process {
		covered = covered && process[i]&^workers[i] == 0
	}
	if covered != (sum.YieldMs > 0) {
		t.Errorf("%s: workers on CPUs %v of the process's %d: yield_ms %d", name, sum.Lcores, process.Count(), sum.YieldMs)
	}
}

// Over every shared capture, `run` on net_pcap writes exactly the records
// `classify` writes for the same capture — flows, packets, bytes, frame
// lengths, end reasons, verdicts, timestamps to the microsecond — with one
// worker, and with two workers behind the software dispatch compared with
// `classify --workers 2`. Every conversation is metered on one lcore and no
// ring drops a packet.
func TestRunMatchesClassify(t *testing.T) {
	data, err := reference.SharedData(".")
	if err != nil {
		t.Fatal(err)
	}
	captures, err := reference.Captures(data)
	if err != nil {
		t.Fatal(err)
	}
	if testing.Short() {
		captures = captures[:5]
	}
	dir := t.TempDir()
	// A model, so that verdicts are compared too, not only "unknown".
	model := filepath.Join(dir, "model.json")
	if code, _, errOut := run(t, "train", "-i", sharedFeatures(t), "-o", model, "--trees", "10", "--max-depth", "8"); code != 0 {
		t.Fatalf("train: %d %s", code, errOut)
	}
	compared, modelled := 0, 0
	for i, capture := range captures {
		abs, _ := filepath.Abs(capture)
		cfg := filepath.Join(dir, "live.toml")
		// Rings and pools large enough for a whole capture: the software
		// dispatch may run ahead of the second worker, and nothing may drop.
		text := testConfig + fmt.Sprintf(`[live]
eal = ["--no-huge", "-m", "256", "--no-shconf", "--no-pci", "--log-level=*:error", "--file-prefix=%s"]
mbufs = 32767
dispatch_ring = 16384
event_ring = 8192
[[live.port]]
device = "net_pcap0,rx_pcap=%s"
link_type = %q
[model]
path = %q
`, ealPrefix("tsrun"), abs, linkTypeName(t, capture), model)
		if err := os.WriteFile(cfg, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, workers := range []string{"1", "2"} {
			offline := classifyRecords(t, []string{"--workers", workers, "-m", model}, capture)
			liveOut := filepath.Join(dir, fmt.Sprintf("live%d-%s.jsonl", i, workers))
			sumPath := filepath.Join(dir, "summary.json")
			// A generous idle limit: a worker descheduled on a busy CI
			// machine must not end the replay early.
			cmd := exec.Command(os.Args[0], "run", "-c", cfg, "--workers", workers, "--exit-idle", "1s",
				"-o", liveOut, "--summary", sumPath)
			cmd.Env = append(os.Environ(), "TUNNELSCOPE_AS_MAIN=1")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%s: run --workers %s: %v\n%s", filepath.Base(capture), workers, err, out)
			}
			liveRecs := readRecords(t, liveOut)
			var sum liveSummary
			b, _ := os.ReadFile(sumPath)
			if err := json.Unmarshal(b, &sum); err != nil {
				t.Fatal(err)
			}
			name := filepath.Base(capture) + " workers=" + workers
			checkYield(t, name, &sum)
			if sum.Drops.Ring != 0 || sum.Drops.Imissed != 0 || sum.Drops.RxNombuf != 0 || sum.Drops.Truncated != 0 {
				t.Errorf("%s: drops %+v", name, sum.Drops)
			}
			// net_pcap hands timestamps over in microseconds, so a capture
			// stamped in nanoseconds reaches the live features with its
			// inter-arrival times rounded, and the model may weigh them
			// differently: its verdicts are compared only where the
			// capture's own times are whole microseconds.
			verdicts := !nanoStamped(offline)
			a, o := normalised(liveRecs, verdicts), normalised(offline, verdicts)
			if strings.Join(a, "\n") != strings.Join(o, "\n") {
				t.Errorf("%s: %d live records differ from %d classify records", name, len(a), len(o))
				for j := 0; j < len(a) && j < len(o); j++ {
					if a[j] != o[j] {
						t.Logf("first difference:\n live    %s\n offline %s", a[j], o[j])
						break
					}
				}
				continue
			}
			lcoreOf := map[string]int{}
			for _, r := range liveRecs {
				if r.Lcore == nil {
					t.Fatalf("%s: live record without lcore", name)
				}
				k := convKey("", r.Proto, endpointString(r.Src, r.Sport), endpointString(r.Dst, r.Dport))
				if l, seen := lcoreOf[k]; seen && l != *r.Lcore {
					t.Errorf("%s: conversation %s metered on lcores %d and %d", name, k, l, *r.Lcore)
				}
				lcoreOf[k] = *r.Lcore
				if r.Verdict.Source == "model" {
					modelled++
				}
			}
			compared++
		}
	}
	t.Logf("%d capture runs agree between run and classify, %d records with the model's verdict", compared, modelled)
	if modelled == 0 {
		t.Error("no live record carries the model's verdict")
	}
}

// nullConfig writes a config for two workers on a net_null port of two
// queues, one per worker, behind the software dispatch: net_null's frames do
// not decode, so all of them go to the first worker over a ring. prefix
// keeps each child's EAL files apart.
func nullConfig(t *testing.T, dir, prefix string) string {
	cfg := filepath.Join(dir, "null.toml")
	text := testConfig + fmt.Sprintf(`[live]
eal = ["--no-huge", "-m", "256", "--no-shconf", "--no-pci", "--log-level=*:error", "--file-prefix=%s"]
mbufs = 8191
dispatch = "software"
[[live.port]]
device = "net_null0"
rx_queues = 2
lcores = [0, 1]
`, ealPrefix(prefix))
	if err := os.WriteFile(cfg, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// A stop request (SIGTERM) ends every lcore loop, even while packets keep
// arriving (net_null never runs dry): the process exits 0 after flushing,
// and every received frame was processed. Tested by
// outcome: the child is signalled once it is busy, not after a fixed sleep,
// and a loop that ignored the stop would hang the test.
func TestStopEndsEveryLcore(t *testing.T) {
	dir := t.TempDir()
	cfg := nullConfig(t, dir, "tsstop")
	sumPath := filepath.Join(dir, "summary.json")
	cmd := exec.Command(os.Args[0], "run", "-c", cfg, "--workers", "2", "-o", filepath.Join(dir, "out.jsonl"), "--summary", sumPath)
	cmd.Env = append(os.Environ(), "TUNNELSCOPE_AS_MAIN=1")
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Nothing is printed until the end; the process's CPU time says when
	// its lcores are polling.
	waitBusy(t, cmd.Process.Pid)
	cmd.Process.Signal(os.Interrupt)
	msg, _ := io.ReadAll(stderr)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("run did not exit cleanly after SIGINT: %v\n%s", err, msg)
	}
	var sum liveSummary
	b, err := os.ReadFile(sumPath)
	if err != nil || json.Unmarshal(b, &sum) != nil {
		t.Fatalf("no summary after stop: %v %s", err, msg)
	}
	// Each lcore polls its own queue; net_null's frames do not decode, so
	// lcore 2 hands them all to lcore 1 over its ring, faster than lcore 1
	// can take them. Every received frame is processed or counted as a
	// ring drop: none vanishes at stop.
	if len(sum.Lcores) != 2 || sum.RxPackets == 0 || sum.Lcores[0].Frames+sum.Lcores[1].Frames+sum.Drops.Ring != sum.RxPackets {
		t.Fatalf("summary %+v", sum)
	}
}

// waitBusy returns once the process has used a second of CPU: the EAL is up
// and the lcores are polling.
func waitBusy(t *testing.T, pid int) {
	for i := 0; i < 3000; i++ {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			t.Fatal(err)
		}
		f := strings.Fields(string(b)[strings.LastIndexByte(string(b), ')')+2:])
		var utime int
		fmt.Sscan(f[11], &utime)
		if utime > 100 { // clock ticks
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("run never got busy")
}

// freeLoopbackAddr returns a loopback address with a port nobody listens on
// now: run needs a fixed port, since with port 0 nobody could learn it.
func freeLoopbackAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func labels(m *dto.Metric) map[string]string {
	l := map[string]string{}
	for _, p := range m.Label {
		l[p.GetName()] = p.GetValue()
	}
	return l
}

func counterSum(fams map[string]*dto.MetricFamily, name string) (sum float64, n int) {
	if f := fams[name]; f != nil {
		for _, m := range f.Metric {
			sum += m.GetCounter().GetValue()
			n++
		}
	}
	return sum, n
}

// child is `tunnelscope run` started as a child process (this test binary
// re-executed); exited closes when it is gone, and err is then its exit
// status, so every wait can watch it. The test's clean-up kills it.
type child struct {
	cmd    *exec.Cmd
	stderr bytes.Buffer
	exited chan struct{}
	err    error
}

func startRun(t *testing.T, args ...string) *child {
	t.Helper()
	c := &child{cmd: exec.Command(os.Args[0], append([]string{"run"}, args...)...), exited: make(chan struct{})}
	c.cmd.Env = append(os.Environ(), "TUNNELSCOPE_AS_MAIN=1")
	c.cmd.Stderr = &c.stderr
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { c.err = c.cmd.Wait(); close(c.exited) }()
	t.Cleanup(func() {
		c.cmd.Process.Kill() // a no-op once it exited
		<-c.exited
	})
	return c
}

// `run --metrics` serves /metrics while net_null traffic flows through two
// workers behind the software dispatch: the port is described with its
// dispatch mode, the workers' frame counters move between scrapes, promtool
// finds nothing to complain about, and SIGINT still ends the run cleanly
// and takes the server down with it.
func TestMetricsLive(t *testing.T) {
	dir := t.TempDir()
	cfg := nullConfig(t, dir, "tsmetrics")
	addr := freeLoopbackAddr(t)
	url := "http://" + addr + "/metrics"
	sumPath := filepath.Join(dir, "summary.json")
	c := startRun(t, "-c", cfg, "--workers", "2", "--metrics", addr, "-o", filepath.Join(dir, "out.jsonl"), "--summary", sumPath)
	cmd, exited, stderr := c.cmd, c.exited, &c.stderr

	// The first scrape that answers and shows frames; the EAL start-up
	// takes a moment.
	var body []byte
	var fams map[string]*dto.MetricFamily
	var err error
	var frames0 float64
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		select {
		case <-exited:
			t.Fatalf("run exited before serving metrics: %v\n%s", c.err, stderr.String())
		default:
		}
		body, fams, err = promcheck.Scrape(url)
		if err == nil {
			if frames0, _ = counterSum(fams, "tunnelscope_worker_frames_total"); frames0 > 0 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no frames in %s after 10 s: %v\n%s", url, err, body)
		}
	}
	promcheck.Check(t, body)

	info := fams["tunnelscope_port_info"]
	if info == nil || len(info.Metric) != 1 {
		t.Fatalf("tunnelscope_port_info: %v", info)
	}
	l := labels(info.Metric[0])
	if l["dispatch"] != "software" || l["driver"] != "net_null" || l["rx_queues"] != "2" || l["port"] != "0" ||
		info.Metric[0].GetGauge().GetValue() != 1 {
		t.Errorf("tunnelscope_port_info = %v %g, want the net_null port with software dispatch over 2 queues",
			l, info.Metric[0].GetGauge().GetValue())
	}
	if _, n := counterSum(fams, "tunnelscope_worker_frames_total"); n != 2 {
		t.Errorf("frames reported for %d lcores, want 2", n)
	}
	if f := fams["tunnelscope_lcore_info"]; f == nil || len(f.Metric) != 2 {
		t.Errorf("tunnelscope_lcore_info: %v", f)
	}
	if rx, n := counterSum(fams, "tunnelscope_port_rx_packets_total"); n != 1 || rx < frames0 {
		t.Errorf("port rx packets %g (%d series) below the %g frames the workers processed", rx, n, frames0)
	}
	// net_null never runs dry, so the counters must move; they are
	// published every 100 ms.
	var frames1 float64
	for deadline := time.Now().Add(5 * time.Second); frames1 <= frames0; time.Sleep(150 * time.Millisecond) {
		_, fams, err = promcheck.Scrape(url)
		if err != nil {
			t.Fatal(err)
		}
		frames1, _ = counterSum(fams, "tunnelscope_worker_frames_total")
		if time.Now().After(deadline) {
			t.Fatalf("tunnelscope_worker_frames_total stuck at %g", frames0)
		}
	}

	cmd.Process.Signal(os.Interrupt)
	select {
	case <-exited:
		if c.err != nil {
			t.Fatalf("run did not exit cleanly after SIGINT: %v\n%s", c.err, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("run still going 30 s after SIGINT\n%s", stderr.String())
	}
	var sum liveSummary
	if b, err := os.ReadFile(sumPath); err != nil || json.Unmarshal(b, &sum) != nil {
		t.Fatalf("no summary: %v\n%s", err, stderr.String())
	}
	if float64(sum.RxPackets) < frames1 {
		t.Errorf("summary rx_packets %d below the %g frames scraped during the run", sum.RxPackets, frames1)
	}
	if _, _, err := promcheck.Scrape(url); err == nil {
		t.Error("metrics still served after the run ended")
	}
}

// An address already in use fails the run at once, naming the address.
func TestMetricsAddressInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr := ln.Addr().String()
	cmd := exec.Command(os.Args[0], "run", "--metrics", addr, "-o", filepath.Join(t.TempDir(), "out.jsonl"),
		"--eal=--no-huge", "--eal=-m", "--eal=256", "--eal=--no-shconf", "--eal=--no-pci", "--eal=--vdev=net_null0",
		"--eal=--file-prefix="+ealPrefix("tsinuse"))
	cmd.Env = append(os.Environ(), "TUNNELSCOPE_AS_MAIN=1")
	out, err := cmd.CombinedOutput()
	want := "metrics: listen " + addr + ": bind: address already in use"
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(string(out), want) {
		t.Fatalf("run with a taken metrics address: %v\n%s\nwant exit 1 and %q", err, out, want)
	}
}

// A malformed --metrics is a usage error before anything starts.
func TestMetricsFlagInvalid(t *testing.T) {
	cmd := exec.Command(os.Args[0], "run", "--metrics", "9650")
	cmd.Env = append(os.Environ(), "TUNNELSCOPE_AS_MAIN=1")
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || !strings.Contains(string(out), `--metrics "9650": not host:port`) {
		t.Fatalf("run --metrics 9650: %v\n%s", err, out)
	}
}

// One worker polling two queues: every frame of both replays is processed
// (a burst from each queue fits the worker's free list) and the run exits 0.
func TestOneWorkerTwoQueues(t *testing.T) {
	dir := t.TempDir()
	sample, _ := filepath.Abs("../../sample/tor.pcap")
	cfg := filepath.Join(dir, "q2.toml")
	os.WriteFile(cfg, []byte(testConfig+fmt.Sprintf(`[live]
eal = ["--no-huge", "-m", "256", "--no-shconf", "--no-pci", "--log-level=*:error", "--file-prefix=%s"]
mbufs = 8191
[[live.port]]
device = "net_pcap0,rx_pcap=%s,rx_pcap=%s"
rx_queues = 2
`, ealPrefix("tsq2"), sample, sample)), 0o644)
	sumPath := filepath.Join(dir, "summary.json")
	cmd := exec.Command(os.Args[0], "run", "-c", cfg, "--exit-idle", "1s", "-o", filepath.Join(dir, "out.jsonl"), "--summary", sumPath)
	cmd.Env = append(os.Environ(), "TUNNELSCOPE_AS_MAIN=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("run: %v\n%s", err, out)
	}
	var sum liveSummary
	b, _ := os.ReadFile(sumPath)
	if err := json.Unmarshal(b, &sum); err != nil {
		t.Fatal(err)
	}
	if sum.RxPackets != 2*514 || len(sum.Lcores) != 1 || sum.Lcores[0].Frames != sum.RxPackets {
		t.Fatalf("summary %+v, want both replays of the 514-frame capture processed", sum)
	}
}
