// Package metrics exposes the live appliance's counters to Prometheus, in
// the text exposition format it writes itself (see expose.go for why). The
// values are computed when a scrape arrives, from counters the workers
// already publish; nothing on the packet path updates a metric.
//
// Threading: a scrape runs on an HTTP server goroutine, possibly several
// at once (at most maxInFlight). A Source must therefore be safe for concurrent
// calls from any goroutine, and must not touch what a worker lcore owns:
// the live Source reads only atomics (dataplane.Worker.Counters, its ring
// and frame counters) and port statistics DPDK allows from any thread.
package metrics

import (
	"net/http"
	"runtime"
	"strconv"

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

const ns = "tunnelscope_"

// collect reads src once and returns the appliance's families.
func collect(src Source, version string) []*family {
	lc := "lcore"
	port := []string{"port", "name"}
	var (
		frames         = newFamily(ns+"worker_frames_total", counter, "Frames handed to the worker lcore.", lc)
		frameBytes     = newFamily(ns+"worker_frame_bytes_total", counter, "Bytes of the frames handed to the worker lcore, as on the wire.", lc)
		packets        = newFamily(ns+"worker_packets_total", counter, "Frames the worker lcore decoded and metered on a flow.", lc)
		decodeErrors   = newFamily(ns+"worker_decode_errors_total", counter, "Frames the worker lcore could not meter, by reason: not_ip (ARP, LLDP and other non-IP frames), truncated (headers cut short), malformed (impossible header values), unknown_link (link type the decoder does not know), too_deep (more nested headers than the decoder follows).", lc, "reason")
		flows          = newFamily(ns+"worker_flows_total", counter, "Flows the worker lcore ended and reported as records.", lc)
		active         = newFamily(ns+"worker_active_flows", gauge, "Flows in the worker lcore's table at its last counter publication (about every 100 ms).", lc)
		oversize       = newFamily(ns+"worker_oversize_frames_total", counter, "Frames longer than the worker lcore's scratch buffer, metered on their first part (truncated_frames in the run summary).", lc)
		ringDrops      = newFamily(ns+"ring_drops_total", counter, "Items lost to a full ring, by producing lcore: dispatch (packets for another worker under software dispatch) or event (flow records for the control plane).", lc, "ring")
		rxPackets      = newFamily(ns+"port_rx_packets_total", counter, "Packets the port received (DPDK ipackets).", port...)
		rxBytes        = newFamily(ns+"port_rx_bytes_total", counter, "Bytes the port received (DPDK ibytes).", port...)
		rxMissed       = newFamily(ns+"port_rx_missed_total", counter, "Packets the NIC dropped because no RX descriptor was free: the workers fell behind (DPDK imissed).", port...)
		rxNombuf       = newFamily(ns+"port_rx_nombuf_total", counter, "Receive failures for want of an mbuf in the port's pool (DPDK rx_nombuf).", port...)
		rxErrors       = newFamily(ns+"port_rx_errors_total", counter, "Erroneous packets the port received (DPDK ierrors).", port...)
		modelTrees     = newFamily(ns+"model_trees", gauge, "Trees of the classifier the workers use; 0 when there is none (verdicts are unknown).")
		reloadOK       = newFamily(ns+"model_last_reload_successful", gauge, "Whether the last attempt to load the model (at start or on SIGHUP) succeeded; after a failure the previous model keeps serving.")
		reloadTime     = newFamily(ns+"model_last_reload_success_timestamp_seconds", gauge, "When a model was last loaded successfully.")
		reloadFailures = newFamily(ns+"model_reload_failures_total", counter, "Model reloads that failed (unreadable, corrupt or of another feature schema).")
		portInfo       = newFamily(ns+"port_info", gauge, "A port the appliance receives from; dispatch is how its packets reach workers: rss (the NIC hashes flows over RX queues, one worker each), software (workers re-spread received packets by flow hash over rings), none (each worker keeps what its queues receive), single-queue (one queue, one worker).", "port", "name", "driver", "dispatch", "socket", "rx_queues")
		lcoreInfo      = newFamily(ns+"lcore_info", gauge, "A worker lcore and the NUMA socket it runs on.", lc, "socket")
		build          = newFamily(ns+"build_info", gauge, "A metric with a constant '1' value labeled by the tunnelscope version and the Go version it was built with.", "goversion", "version")
	)
	build.add(1, runtime.Version(), version)
	for _, w := range src.Workers() {
		l := strconv.FormatUint(uint64(w.Lcore), 10)
		lcoreInfo.add(1, l, strconv.Itoa(w.Socket))
		frames.add(float64(w.Frames), l)
		frameBytes.add(float64(w.FrameBytes), l)
		packets.add(float64(w.Packets), l)
		decodeErrors.add(float64(w.NotIP), l, "not_ip")
		decodeErrors.add(float64(w.Truncated), l, "truncated")
		decodeErrors.add(float64(w.Malformed), l, "malformed")
		decodeErrors.add(float64(w.UnknownLink), l, "unknown_link")
		decodeErrors.add(float64(w.TooDeep), l, "too_deep")
		flows.add(float64(w.Flows), l)
		active.add(float64(w.Active), l)
		oversize.add(float64(w.Oversize), l)
		ringDrops.add(float64(w.DispatchDrops), l, "dispatch")
		ringDrops.add(float64(w.EventDrops), l, "event")
	}
	for _, p := range src.Ports() {
		id := strconv.FormatUint(uint64(p.Port), 10)
		portInfo.add(1, id, p.Name, p.Driver, p.Dispatch, strconv.Itoa(p.Socket), strconv.Itoa(p.RxQueues))
		if p.Err != nil {
			continue
		}
		rxPackets.add(float64(p.Ipackets), id, p.Name)
		rxBytes.add(float64(p.Ibytes), id, p.Name)
		rxMissed.add(float64(p.Imissed), id, p.Name)
		rxNombuf.add(float64(p.RxNombuf), id, p.Name)
		rxErrors.add(float64(p.Ierrors), id, p.Name)
	}
	if m, ok := src.Model(); ok {
		modelTrees.add(float64(m.Trees))
		ok := 0.0
		if m.LastOK {
			ok = 1
		}
		reloadOK.add(ok)
		reloadTime.add(float64(m.LastSuccess.UnixNano()) / 1e9)
		reloadFailures.add(float64(m.Failures))
	}
	return []*family{frames, frameBytes, packets, decodeErrors, flows, active, oversize, ringDrops,
		rxPackets, rxBytes, rxMissed, rxNombuf, rxErrors, modelTrees, reloadOK, reloadTime, reloadFailures,
		portInfo, lcoreInfo, build}
}

// maxInFlight bounds concurrent scrapes: they are cheap but not free, and
// a runaway client must not pile up readers next to the control plane.
const maxInFlight = 4

// Handler serves /metrics for src: the appliance's metrics, computed from
// src at each scrape, the Go runtime's and the process's, and
// tunnelscope_build_info.
func Handler(src Source, version string) http.Handler {
	slots := make(chan struct{}, maxInFlight)
	mux := http.NewServeMux()
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, r *http.Request) {
		select {
		case slots <- struct{}{}:
			defer func() { <-slots }()
		default:
			http.Error(w, "too many concurrent scrapes", http.StatusServiceUnavailable)
			return
		}
		fams := append(collect(src, version), goFamilies()...)
		fams = append(fams, processFamilies()...)
		w.Header().Set("Content-Type", ContentType)
		w.Write(appendExposition(make([]byte, 0, 16<<10), fams))
	})
	return mux
}
