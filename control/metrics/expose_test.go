package metrics

import (
	"bytes"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tunnelscope/tunnelscope/control/metrics/promcheck"
)

// The exposition escapes what the format asks, writes labels in name
// order whatever order they were declared in, leaves out families without
// samples, and reads back through promtool and Prometheus's parser.
func TestExpositionFormat(t *testing.T) {
	f := newFamily("t_odd", gauge, `back\slash and
newline`, "z", "a")
	f.add(math.Inf(1), `q"uote`, "back\\slash\nline")
	f.add(math.NaN(), "", "x")
	f.add(-0.5, "1", "2")
	empty := newFamily("t_empty_total", counter, "never sampled")
	c := newFamily("t_count_total", counter, "a counter")
	c.add(1 << 53)
	got := string(appendExposition(nil, []*family{f, empty, c}))
	want := `# HELP t_count_total a counter
# TYPE t_count_total counter
t_count_total 9.007199254740992e+15
# HELP t_odd back\\slash and\nnewline
# TYPE t_odd gauge
t_odd{a="back\\slash\nline",z="q\"uote"} +Inf
t_odd{a="x",z=""} NaN
t_odd{a="2",z="1"} -0.5
`
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	promcheck.Check(t, []byte(got))
}

func TestAddWrongLabelCountPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic")
		}
	}()
	newFamily("t", gauge, "h", "a").add(1)
}

// The process series describe this process: its start a little before
// now, some CPU time, a resident set.
func TestProcessFamilies(t *testing.T) {
	vals := map[string]float64{}
	for _, f := range processFamilies() {
		if len(f.samples) != 1 {
			t.Fatalf("%s: %d samples", f.name, len(f.samples))
		}
		vals[f.name] = f.samples[0].v
	}
	now := float64(time.Now().UnixNano()) / 1e9
	if s := vals["process_start_time_seconds"]; s > now || s < now-3600 {
		t.Errorf("process_start_time_seconds %v, now %v", s, now)
	}
	if vals["process_resident_memory_bytes"] < 1<<20 || vals["process_virtual_memory_bytes"] < vals["process_resident_memory_bytes"] {
		t.Errorf("memory: %v", vals)
	}
	if vals["process_open_fds"] < 3 || vals["process_max_fds"] < vals["process_open_fds"] || vals["process_cpu_seconds_total"] <= 0 {
		t.Errorf("fds and CPU: %v", vals)
	}
}

// blockingSource holds every scrape inside Workers until released.
type blockingSource struct {
	fakeSource
	entered chan struct{}
	release chan struct{}
}

func (b *blockingSource) Workers() []WorkerStats {
	select {
	case <-b.release: // released: scrapes from now on pass
		return nil
	case b.entered <- struct{}{}:
	}
	<-b.release
	return nil
}

// More than maxInFlight concurrent scrapes: the extra one is refused with
// 503 at once, and the others complete once the source answers.
func TestScrapesInFlightBounded(t *testing.T) {
	src := &blockingSource{entered: make(chan struct{}), release: make(chan struct{})}
	srv := httptest.NewServer(Handler(src, "dev"))
	defer srv.Close()
	var wg sync.WaitGroup
	codes := make(chan int, maxInFlight)
	for range maxInFlight {
		wg.Go(func() {
			resp, err := http.Get(srv.URL + "/metrics")
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			codes <- resp.StatusCode
		})
		<-src.entered
	}
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	body.ReadFrom(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("scrape %d: %s %s, want 503", maxInFlight+1, resp.Status, body.String())
	}
	close(src.release)
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != http.StatusOK {
			t.Errorf("a held scrape ended %d", c)
		}
	}
	resp, err = http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Errorf("after the burst: %s, %q", resp.Status, resp.Header.Get("Content-Type"))
	}
}
