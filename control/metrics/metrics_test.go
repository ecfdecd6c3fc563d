package metrics

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/tunnelscope/tunnelscope/control/metrics/promcheck"
	"github.com/tunnelscope/tunnelscope/control/reload"
	"github.com/tunnelscope/tunnelscope/dataplane"
)

// fakeSource stands in for the live appliance; the mutex lets a test move
// the counters between scrapes while the server reads them.
type fakeSource struct {
	mu      sync.Mutex
	workers []WorkerStats
	ports   []PortStats
	model   *reload.Status
	calls   int
}

func (f *fakeSource) Model() (reload.Status, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.model == nil {
		return reload.Status{}, false
	}
	return *f.model, true
}

func (f *fakeSource) Workers() []WorkerStats {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	return append([]WorkerStats(nil), f.workers...)
}

func (f *fakeSource) Ports() []PortStats {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]PortStats(nil), f.ports...)
}

func newFake() *fakeSource {
	return &fakeSource{
		workers: []WorkerStats{
			{Lcore: 1, Socket: 0, Counters: dataplane.Counters{Frames: 1000, FrameBytes: 640000, Packets: 990,
				NotIP: 4, Truncated: 3, Malformed: 2, UnknownLink: 1, TooDeep: 0, Flows: 17, Active: 5},
				DispatchDrops: 7, EventDrops: 8, Oversize: 9},
			{Lcore: 2, Socket: 1, Counters: dataplane.Counters{Frames: 2000, Packets: 2000, Flows: 40, Active: 12}},
		},
		ports: []PortStats{
			{Port: 0, Name: "0000:03:00.0", Driver: "net_ice", Socket: 0, Dispatch: "rss", RxQueues: 2,
				Ipackets: 3007, Ibytes: 1 << 40, Imissed: 11, Ierrors: 12, RxNombuf: 13},
			{Port: 1, Name: "net_null0", Driver: "net_null", Socket: 1, Dispatch: "software", RxQueues: 1,
				Err: errors.New("port 1: stats: no such device")},
		},
		model: &reload.Status{Trees: 30, LastOK: false, LastSuccess: time.Unix(1.7e9, 0), Failures: 2},
	}
}

func scrape(t *testing.T, url string) ([]byte, map[string]*dto.MetricFamily) {
	t.Helper()
	body, fams, err := promcheck.Scrape(url + "/metrics")
	if err != nil {
		t.Fatalf("%v\n%s", err, body)
	}
	return body, fams
}

// series renders every sample of a family as `{k="v",...} value` (labels in
// name order, as the exposition writes them), sorted,
// so a test states the whole family and an extra or missing series fails.
func series(t *testing.T, fams map[string]*dto.MetricFamily, name string) []string {
	t.Helper()
	f, ok := fams[name]
	if !ok {
		t.Fatalf("%s missing from the scrape", name)
	}
	var out []string
	for _, m := range f.Metric {
		var ls []string
		for _, l := range m.Label {
			ls = append(ls, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
		}
		var v float64
		switch {
		case m.Counter != nil:
			v = m.Counter.GetValue()
		case m.Gauge != nil:
			v = m.Gauge.GetValue()
		default:
			t.Fatalf("%s: neither counter nor gauge", name)
		}
		out = append(out, fmt.Sprintf("{%s} %g", strings.Join(ls, ","), v))
	}
	sort.Strings(out)
	return out
}

func wantSeries(t *testing.T, fams map[string]*dto.MetricFamily, name string, typ dto.MetricType, want ...string) {
	t.Helper()
	if f, ok := fams[name]; ok && f.GetType() != typ {
		t.Errorf("%s: type %v, want %v", name, f.GetType(), typ)
	}
	if f, ok := fams[name]; ok && f.GetHelp() == "" {
		t.Errorf("%s has no HELP", name)
	}
	got := series(t, fams, name)
	sort.Strings(want)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s:\n got %s\nwant %s", name, strings.Join(got, "\n     "), strings.Join(want, "\n     "))
	}
}

func TestScrape(t *testing.T) {
	src := newFake()
	srv := httptest.NewServer(Handler(src, "v1.2.3-test"))
	defer srv.Close()
	body, fams := scrape(t, srv.URL)
	promcheck.Check(t, body)

	C, G := dto.MetricType_COUNTER, dto.MetricType_GAUGE
	wantSeries(t, fams, "tunnelscope_worker_frames_total", C, `{lcore="1"} 1000`, `{lcore="2"} 2000`)
	wantSeries(t, fams, "tunnelscope_worker_frame_bytes_total", C, `{lcore="1"} 640000`, `{lcore="2"} 0`)
	wantSeries(t, fams, "tunnelscope_worker_packets_total", C, `{lcore="1"} 990`, `{lcore="2"} 2000`)
	wantSeries(t, fams, "tunnelscope_worker_decode_errors_total", C,
		`{lcore="1",reason="not_ip"} 4`, `{lcore="1",reason="truncated"} 3`, `{lcore="1",reason="malformed"} 2`,
		`{lcore="1",reason="unknown_link"} 1`, `{lcore="1",reason="too_deep"} 0`,
		`{lcore="2",reason="not_ip"} 0`, `{lcore="2",reason="truncated"} 0`, `{lcore="2",reason="malformed"} 0`,
		`{lcore="2",reason="unknown_link"} 0`, `{lcore="2",reason="too_deep"} 0`)
	wantSeries(t, fams, "tunnelscope_worker_flows_total", C, `{lcore="1"} 17`, `{lcore="2"} 40`)
	wantSeries(t, fams, "tunnelscope_worker_active_flows", G, `{lcore="1"} 5`, `{lcore="2"} 12`)
	wantSeries(t, fams, "tunnelscope_worker_oversize_frames_total", C, `{lcore="1"} 9`, `{lcore="2"} 0`)
	wantSeries(t, fams, "tunnelscope_ring_drops_total", C,
		`{lcore="1",ring="dispatch"} 7`, `{lcore="1",ring="event"} 8`,
		`{lcore="2",ring="dispatch"} 0`, `{lcore="2",ring="event"} 0`)
	wantSeries(t, fams, "tunnelscope_lcore_info", G, `{lcore="1",socket="0"} 1`, `{lcore="2",socket="1"} 1`)
	// Port 1's counters are unreadable: it is described, never reported as 0.
	wantSeries(t, fams, "tunnelscope_port_info", G,
		`{dispatch="rss",driver="net_ice",name="0000:03:00.0",port="0",rx_queues="2",socket="0"} 1`,
		`{dispatch="software",driver="net_null",name="net_null0",port="1",rx_queues="1",socket="1"} 1`)
	wantSeries(t, fams, "tunnelscope_port_rx_packets_total", C, `{name="0000:03:00.0",port="0"} 3007`)
	wantSeries(t, fams, "tunnelscope_port_rx_bytes_total", C, `{name="0000:03:00.0",port="0"} 1.099511627776e+12`)
	wantSeries(t, fams, "tunnelscope_port_rx_missed_total", C, `{name="0000:03:00.0",port="0"} 11`)
	wantSeries(t, fams, "tunnelscope_port_rx_errors_total", C, `{name="0000:03:00.0",port="0"} 12`)
	wantSeries(t, fams, "tunnelscope_port_rx_nombuf_total", C, `{name="0000:03:00.0",port="0"} 13`)
	wantSeries(t, fams, "tunnelscope_model_trees", G, `{} 30`)
	wantSeries(t, fams, "tunnelscope_model_last_reload_successful", G, `{} 0`)
	wantSeries(t, fams, "tunnelscope_model_last_reload_success_timestamp_seconds", G, `{} 1.7e+09`)
	wantSeries(t, fams, "tunnelscope_model_reload_failures_total", C, `{} 2`)

	bi := series(t, fams, "tunnelscope_build_info")
	if len(bi) != 1 || !strings.Contains(bi[0], `version="v1.2.3-test"`) || !strings.HasSuffix(bi[0], " 1") {
		t.Errorf("tunnelscope_build_info = %v", bi)
	}
	for _, name := range []string{"go_goroutines", "go_memstats_heap_alloc_bytes", "process_cpu_seconds_total"} {
		if _, ok := fams[name]; !ok {
			t.Errorf("%s missing: the Go and process collectors are not registered", name)
		}
	}
}

// Values are read from the Source at each scrape, not cached: a counter
// that moved between two scrapes shows its new value, and a worker that
// appeared (an lcore finishing start-up) shows up.
func TestScrapeReadsSourceEachTime(t *testing.T) {
	src := newFake()
	srv := httptest.NewServer(Handler(src, "dev"))
	defer srv.Close()
	scrape(t, srv.URL)
	src.mu.Lock()
	src.workers[0].Frames = 5000
	src.workers = append(src.workers, WorkerStats{Lcore: 7, Socket: 1, Counters: dataplane.Counters{Frames: 3}})
	src.mu.Unlock()
	_, fams := scrape(t, srv.URL)
	wantSeries(t, fams, "tunnelscope_worker_frames_total", dto.MetricType_COUNTER,
		`{lcore="1"} 5000`, `{lcore="2"} 2000`, `{lcore="7"} 3`)
	src.mu.Lock()
	calls := src.calls
	src.mu.Unlock()
	if calls != 2 {
		t.Errorf("Source.Workers called %d times for 2 scrapes", calls)
	}
}

// Only /metrics is served.
func TestOtherPaths(t *testing.T) {
	srv := httptest.NewServer(Handler(newFake(), "dev"))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /: %s, want 404", resp.Status)
	}
}

// An appliance with no worker or port yet (a scrape during start-up) still
// gives a valid exposition.
func TestEmptySource(t *testing.T) {
	srv := httptest.NewServer(Handler(&fakeSource{}, "dev"))
	defer srv.Close()
	body, fams := scrape(t, srv.URL)
	promcheck.Check(t, body)
	if _, ok := fams["tunnelscope_worker_frames_total"]; ok {
		t.Error("frames reported without workers")
	}
	if _, ok := fams["tunnelscope_build_info"]; !ok {
		t.Error("tunnelscope_build_info missing")
	}
}

// A source without a model (a tool that never classifies) exports no model
// series rather than zeros that would read as "no model loaded".
func TestNoModelNoModelSeries(t *testing.T) {
	src := newFake()
	src.model = nil
	srv := httptest.NewServer(Handler(src, "dev"))
	defer srv.Close()
	_, fams := scrape(t, srv.URL)
	for name := range fams {
		if strings.HasPrefix(name, "tunnelscope_model_") {
			t.Errorf("%s exported without a model source", name)
		}
	}
}
