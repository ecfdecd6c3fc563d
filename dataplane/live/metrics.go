//go:build dpdk

package live

import (
	"github.com/tunnelscope/tunnelscope/control/metrics"
	"github.com/tunnelscope/tunnelscope/control/reload"
	"github.com/tunnelscope/tunnelscope/dataplane/dpdk"
)

// source is the running appliance as the metrics collector sees it. Scrapes
// come on HTTP goroutines at any time, so it reads only atomics and port
// statistics (safe from any thread), never a worker's own state.
type source struct {
	model   *reload.Model
	workers []*worker
	sockets []int // of each worker's lcore, looked up once
	ports   []dpdk.Port
	reports []PortReport // a copy: the summary writes into its own
}

func newSource(model *reload.Model, workers []*worker, ports []dpdk.Port, reports []PortReport) *source {
	s := &source{model: model, workers: workers, ports: ports, reports: append([]PortReport(nil), reports...)}
	for _, wk := range workers {
		s.sockets = append(s.sockets, dpdk.LcoreSocketID(wk.lcore))
	}
	return s
}

func (s *source) Workers() []metrics.WorkerStats {
	out := make([]metrics.WorkerStats, len(s.workers))
	for i, wk := range s.workers {
		out[i] = metrics.WorkerStats{Lcore: wk.lcore, Socket: s.sockets[i],
			DispatchDrops: wk.dispatchDrops.Load(), EventDrops: wk.eventDrops.Load(), Oversize: wk.truncated.Load()}
		// Until its lcore has built the Worker there is nothing counted yet.
		if w := wk.published.Load(); w != nil {
			out[i].Counters = w.Counters()
		}
	}
	return out
}

func (s *source) Ports() []metrics.PortStats {
	out := make([]metrics.PortStats, len(s.ports))
	for i, p := range s.ports {
		r := &s.reports[i]
		ps := metrics.PortStats{Port: r.Port, Name: r.Name, Driver: r.Driver, Socket: r.Socket,
			Dispatch: r.Dispatch, RxQueues: r.RxQueues}
		st, err := p.Stats()
		ps.Err = err
		ps.Ipackets, ps.Ibytes, ps.Imissed, ps.Ierrors, ps.RxNombuf = st.Ipackets, st.Ibytes, st.Imissed, st.Ierrors, st.RxNombuf
		out[i] = ps
	}
	return out
}

func (s *source) Model() (reload.Status, bool) { return s.model.Status(), true }
