// Package metrics exposes the live appliance's counters to Prometheus. The
// values are computed when a scrape arrives, from counters the workers
// already publish; nothing on the packet path updates a metric.
//
// Threading: Collect runs on HTTP server goroutines, possibly several at
// once (concurrent scrapes). A Source must therefore be safe for concurrent
// calls from any goroutine, and must not touch what a worker lcore owns:
// the live Source reads only atomics (dataplane.Worker.Counters, its ring
// and frame counters) and port statistics DPDK allows from any thread.
package metrics

import (
	"net/http"
	"runtime"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tunnelscope/tunnelscope/control/reload"
	"github.com/tunnelscope/tunnelscope/dataplane"
)

// Source is what the collector reads at each scrape.
type Source interface {
	Workers() []WorkerStats
	Ports() []PortStats
	// Model reports the classifier and its reloads; ok is false when the
	// source has no notion of one (no model metrics are then exported).
	Model() (s reload.Status, ok bool)
}

// WorkerStats is one worker lcore's counters.
type WorkerStats struct {
	Lcore  uint
	Socket int
	dataplane.Counters
	DispatchDrops uint64 // packets the software dispatch could not hand to another lcore
	EventDrops    uint64 // flow records lost to a full event ring
	Oversize      uint64 // frames longer than the lcore's scratch buffer
}

// PortStats describes one port and holds its receive counters.
type PortStats struct {
	Port     uint16
	Name     string
	Driver   string
	Socket   int
	Dispatch string // "rss", "software", "none" or "single-queue"
	RxQueues int
	// Err says the counters could not be read; the port is then reported
	// by tunnelscope_port_info alone rather than with made-up zeros.
	Err                                          error
	Ipackets, Ibytes, Imissed, Ierrors, RxNombuf uint64
}

const ns = "tunnelscope"

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(ns+"_"+name, help, labels, nil)
}

// collector turns a Source into metrics; it keeps no state between scrapes.
type collector struct {
	src Source

	frames, frameBytes, packets, decodeErrors, flows, active, oversize *prometheus.Desc
	ringDrops                                                          *prometheus.Desc
	rxPackets, rxBytes, rxMissed, rxNombuf, rxErrors                   *prometheus.Desc
	portInfo, lcoreInfo                                                *prometheus.Desc
	modelTrees, reloadOK, reloadTime, reloadFailures                   *prometheus.Desc
}

// NewCollector returns a collector reading src at every scrape.
func NewCollector(src Source) prometheus.Collector {
	lc := "lcore"
	port := []string{"port", "name"}
	return &collector{
		src:            src,
		frames:         desc("worker_frames_total", "Frames handed to the worker lcore.", lc),
		frameBytes:     desc("worker_frame_bytes_total", "Bytes of the frames handed to the worker lcore, as on the wire.", lc),
		packets:        desc("worker_packets_total", "Frames the worker lcore decoded and metered on a flow.", lc),
		decodeErrors:   desc("worker_decode_errors_total", "Frames the worker lcore could not meter, by reason: not_ip (ARP, LLDP and other non-IP frames), truncated (headers cut short), malformed (impossible header values), unknown_link (link type the decoder does not know), too_deep (more nested headers than the decoder follows).", lc, "reason"),
		flows:          desc("worker_flows_total", "Flows the worker lcore ended and reported as records.", lc),
		active:         desc("worker_active_flows", "Flows in the worker lcore's table at its last counter publication (about every 100 ms).", lc),
		oversize:       desc("worker_oversize_frames_total", "Frames longer than the worker lcore's scratch buffer, metered on their first part (truncated_frames in the run summary).", lc),
		ringDrops:      desc("ring_drops_total", "Items lost to a full ring, by producing lcore: dispatch (packets for another worker under software dispatch) or event (flow records for the control plane).", lc, "ring"),
		rxPackets:      desc("port_rx_packets_total", "Packets the port received (DPDK ipackets).", port...),
		rxBytes:        desc("port_rx_bytes_total", "Bytes the port received (DPDK ibytes).", port...),
		rxMissed:       desc("port_rx_missed_total", "Packets the NIC dropped because no RX descriptor was free: the workers fell behind (DPDK imissed).", port...),
		rxNombuf:       desc("port_rx_nombuf_total", "Receive failures for want of an mbuf in the port's pool (DPDK rx_nombuf).", port...),
		rxErrors:       desc("port_rx_errors_total", "Erroneous packets the port received (DPDK ierrors).", port...),
		modelTrees:     desc("model_trees", "Trees of the classifier the workers use; 0 when there is none (verdicts are unknown)."),
		reloadOK:       desc("model_last_reload_successful", "Whether the last attempt to load the model (at start or on SIGHUP) succeeded; after a failure the previous model keeps serving."),
		reloadTime:     desc("model_last_reload_success_timestamp_seconds", "When a model was last loaded successfully."),
		reloadFailures: desc("model_reload_failures_total", "Model reloads that failed (unreadable, corrupt or of another feature schema)."),
		portInfo:       desc("port_info", "A port the appliance receives from; dispatch is how its packets reach workers: rss (the NIC hashes flows over RX queues, one worker each), software (workers re-spread received packets by flow hash over rings), none (each worker keeps what its queues receive), single-queue (one queue, one worker).", "port", "name", "driver", "dispatch", "socket", "rx_queues"),
		lcoreInfo:      desc("lcore_info", "A worker lcore and the NUMA socket it runs on.", lc, "socket"),
	}
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.frames, c.frameBytes, c.packets, c.decodeErrors, c.flows, c.active,
		c.oversize, c.ringDrops, c.rxPackets, c.rxBytes, c.rxMissed, c.rxNombuf, c.rxErrors, c.portInfo, c.lcoreInfo,
		c.modelTrees, c.reloadOK, c.reloadTime, c.reloadFailures} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	for _, w := range c.src.Workers() {
		lc := strconv.FormatUint(uint64(w.Lcore), 10)
		gauge(c.lcoreInfo, 1, lc, strconv.Itoa(w.Socket))
		counter(c.frames, w.Frames, lc)
		counter(c.frameBytes, w.FrameBytes, lc)
		counter(c.packets, w.Packets, lc)
		counter(c.decodeErrors, w.NotIP, lc, "not_ip")
		counter(c.decodeErrors, w.Truncated, lc, "truncated")
		counter(c.decodeErrors, w.Malformed, lc, "malformed")
		counter(c.decodeErrors, w.UnknownLink, lc, "unknown_link")
		counter(c.decodeErrors, w.TooDeep, lc, "too_deep")
		counter(c.flows, w.Flows, lc)
		gauge(c.active, float64(w.Active), lc)
		counter(c.oversize, w.Oversize, lc)
		counter(c.ringDrops, w.DispatchDrops, lc, "dispatch")
		counter(c.ringDrops, w.EventDrops, lc, "event")
	}
	for _, p := range c.src.Ports() {
		id := strconv.FormatUint(uint64(p.Port), 10)
		gauge(c.portInfo, 1, id, p.Name, p.Driver, p.Dispatch, strconv.Itoa(p.Socket), strconv.Itoa(p.RxQueues))
		if p.Err != nil {
			continue
		}
		counter(c.rxPackets, p.Ipackets, id, p.Name)
		counter(c.rxBytes, p.Ibytes, id, p.Name)
		counter(c.rxMissed, p.Imissed, id, p.Name)
		counter(c.rxNombuf, p.RxNombuf, id, p.Name)
		counter(c.rxErrors, p.Ierrors, id, p.Name)
	}
	if m, ok := c.src.Model(); ok {
		gauge(c.modelTrees, float64(m.Trees))
		ok := 0.0
		if m.LastOK {
			ok = 1
		}
		gauge(c.reloadOK, ok)
		gauge(c.reloadTime, float64(m.LastSuccess.UnixNano())/1e9)
		counter(c.reloadFailures, m.Failures)
	}
}

// Handler serves /metrics for src from a registry of its own (so nothing
// registered globally by a library leaks in): the appliance's metrics, the
// Go runtime's and the process's, and tunnelscope_build_info.
func Handler(src Source, version string) http.Handler {
	reg := prometheus.NewPedanticRegistry()
	build := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        ns + "_build_info",
		Help:        "A metric with a constant '1' value labeled by the tunnelscope version and the Go version it was built with.",
		ConstLabels: prometheus.Labels{"version": version, "goversion": runtime.Version()},
	})
	build.Set(1)
	reg.MustRegister(NewCollector(src), build,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		// A port whose counters fail still leaves the rest worth serving.
		ErrorHandling: promhttp.ContinueOnError,
		// Scrapes are cheap but not free; a runaway client must not pile
		// up readers next to the control plane.
		MaxRequestsInFlight: 4,
	}))
	return mux
}
