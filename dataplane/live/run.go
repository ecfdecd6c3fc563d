//go:build dpdk

package live

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tunnelscope/tunnelscope/control/metrics"
	"github.com/tunnelscope/tunnelscope/control/reload"
	"github.com/tunnelscope/tunnelscope/dataplane"
	"github.com/tunnelscope/tunnelscope/dataplane/dpdk"
	"github.com/tunnelscope/tunnelscope/dataplane/ring"
)

// Run starts the EAL and the ports, runs the workers until the run ends,
// flushes every flow and returns the summary. An error with a summary that
// lists ports means the run happened but a worker failed during it. The
// EAL can be initialised once per process, so Run can be called once.
func Run(o Options) (Summary, error) {
	if o.Workers < 1 {
		o.Workers = 1
	}
	if o.Record == nil {
		return Summary{}, fmt.Errorf("%w: no record callback", ErrOptions)
	}
	if err := checkQueueWorkers(o.Ports, o.Workers); err != nil {
		return Summary{}, err
	}
	if o.Model == nil {
		o.Model = reload.New(o.Worker.Model, time.Now())
	}
	// Bind before anything starts, so a taken address fails the run at once
	// and cleanly; scrapes wait in the backlog until the workers are up.
	var metricsLn net.Listener
	if o.Metrics != "" {
		ln, err := net.Listen("tcp", o.Metrics)
		if err != nil {
			var oe *net.OpError
			if errors.As(err, &oe) {
				err = oe.Err // net's message repeats the address
			}
			return Summary{}, fmt.Errorf("metrics: listen %s: %w", o.Metrics, err)
		}
		metricsLn = ln
		defer ln.Close()
	}
	// rte_eal_init pins the calling thread to the main lcore's CPU; keep
	// this goroutine on it so the rest of the program is not confined there.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if _, err := dpdk.EALInit(ealArgs(&o)); err != nil {
		return Summary{}, err
	}
	defer dpdk.EALCleanup()
	lcores := dpdk.Lcores()
	if len(lcores) < o.Workers {
		return Summary{}, fmt.Errorf("%w: %d workers need %d worker lcores, the EAL has %d", ErrOptions, o.Workers, o.Workers, len(lcores))
	}
	lcores = lcores[:o.Workers]
	dpdk.EnsureGOMAXPROCS(o.Workers)

	workers := make([]*worker, o.Workers)
	// A worker whose event ring fills past a quarter wakes the control
	// loop at once, not at its next drain (see nextDrain).
	kick := make(chan struct{}, 1)
	for i := range workers {
		events, err := ring.New[dataplane.Record](o.EventRing)
		if err != nil {
			return Summary{}, fmt.Errorf("%w: event ring: %w", ErrOptions, err)
		}
		workers[i] = &worker{idx: i, lcore: lcores[i], events: events, kick: kick}
	}
	ports, reports, err := setupPorts(&o, workers)
	if err != nil {
		return Summary{}, err
	}
	if err := setupRings(&o, workers); err != nil {
		return Summary{}, err
	}

	var stop atomic.Bool
	tscHz := dpdk.TSCHz()
	// Each Worker is built on its own lcore and prefaults its tables'
	// first huge pages there, so they live on that lcore's NUMA node. The
	// lcores then wait for begin, closed once the main lcore has seen
	// where they all run and chosen yield (see yieldEvery).
	ready := make(chan error, len(workers))
	begin := make(chan struct{})
	var yield uint64
	for _, wk := range workers {
		wk := wk
		if err := dpdk.LaunchOnLcore(wk.lcore, func() {
			wk.tid.Store(int32(unix.Gettid()))
			if unix.SchedGetaffinity(0, &wk.cpus) != nil {
				wk.cpus = unix.CPUSet{} // unknown: counts as no CPU
			}
			w, err := dataplane.NewWorker(withLcore(o.Worker, wk.lcore), eventSink{wk})
			if err != nil {
				wk.done.Store(true)
				ready <- err
				return
			}
			w.Prefault()
			// Set before the send, so the main lcore sees it once ready.
			wk.w = w
			wk.published.Store(w)
			ready <- nil
			<-begin
			wk.loop(&o, workers, &stop, tscHz, yield)
		}); err != nil {
			stop.Store(true)
			close(begin)
			return Summary{}, err
		}
	}
	for range workers {
		if err := <-ready; err != nil {
			stop.Store(true)
			close(begin)
			dpdk.WaitAllLcores()
			return Summary{}, err
		}
	}

	// Threads the runtime clones from a worker lcore from now on inherit
	// its pin; they get back the CPU set the process started with.
	lcoreTIDs := make([]int, len(workers))
	for i, wk := range workers {
		lcoreTIDs[i] = int(wk.tid.Load())
	}
	release := func() {}
	var processCPUs unix.CPUSet
	if err := unix.SchedGetaffinity(0, &processCPUs); err != nil {
		o.warn(fmt.Errorf("process CPU affinity: %w (threads cloned from worker lcores stay pinned to them)", err))
	} else {
		release = func() {
			if _, err := releaseClones(&processCPUs, lcoreTIDs); err != nil {
				o.warn(fmt.Errorf("unpinning threads cloned from worker lcores: %w", err))
				release = func() {} // said once; the run goes on
			}
		}
	}
	release()
	lcoreCPUs := make([]unix.CPUSet, len(workers))
	for i, wk := range workers {
		lcoreCPUs[i] = wk.cpus
	}
	if workersFillCPUs(processCPUs, lcoreCPUs) {
		yield = yieldEvery(tscHz)
	}
	close(begin)

	var srv *http.Server
	if metricsLn != nil {
		srv = &http.Server{Handler: metrics.Handler(newSource(o.Model, workers, ports, reports), o.Version),
			ReadHeaderTimeout: 5 * time.Second}
		// Serve's only error after a successful Listen is the shutdown
		// below; a failing scraper sees its own connection error.
		go srv.Serve(metricsLn)
	}

	start := time.Now()
	var records uint64
	var rec dataplane.Record
	// drain returns the most records it took from one worker's ring.
	drain := func() (most int) {
		for _, wk := range workers {
			n := 0
			for wk.events.Pop(&rec) {
				n++
				o.Record(&rec)
			}
			records += uint64(n)
			most = max(most, n)
		}
		return most
	}
	var lastFrames uint64
	lastChange := start
	timeout := (<-chan time.Time)(nil)
	if o.Duration > 0 {
		timeout = time.After(o.Duration)
	}
	every := drainMin
	tick := time.NewTimer(every)
	defer tick.Stop()
	nextRelease := start.Add(time.Second)
	for !stop.Load() {
		select {
		case <-o.Stop:
			stop.Store(true)
		case <-timeout:
			stop.Store(true)
		case <-kick:
		case now := <-tick.C:
			if now.After(nextRelease) {
				release()
				nextRelease = now.Add(time.Second)
			}
		}
		every = nextDrain(every, drain(), o.EventRing)
		tick.Reset(every)
		if o.ExitIdle > 0 {
			var frames uint64
			for _, wk := range workers {
				frames += wk.w.Counters().Frames
			}
			if frames != lastFrames {
				lastFrames, lastChange = frames, time.Now()
			} else if time.Since(lastChange) >= o.ExitIdle {
				stop.Store(true)
			}
		}
	}
	// Workers now finish what they hold and flush; keep draining so a
	// flushing lcore never waits for long.
	for {
		drain()
		all := true
		for _, wk := range workers {
			all = all && wk.done.Load()
		}
		if all {
			break
		}
		time.Sleep(100 * time.Microsecond)
	}
	dpdk.WaitAllLcores()
	drain()
	// A worker that panicked lost its flows: the run failed, whatever the
	// others did, and must not end as if it had succeeded.
	var lcoreErr error
	for _, wk := range workers {
		if err := dpdk.WaitLcore(wk.lcore); err != nil && lcoreErr == nil {
			lcoreErr = fmt.Errorf("worker on lcore %d: %w", wk.lcore, err)
		}
	}
	if srv != nil {
		// Scrapes end before the ports stop and the EAL goes: a scrape in
		// flight may finish, then the listener closes.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		if srv.Shutdown(ctx) != nil {
			srv.Close()
		}
		cancel()
	}
	elapsed := time.Since(start)
	if o.ExitIdle > 0 && lastChange.After(start) {
		// The idle wait after the last packet is not receive time.
		elapsed = lastChange.Sub(start)
	}
	sum := summarize(workers, ports, reports, records, elapsed)
	if yield != 0 {
		sum.YieldMs = int(yieldPeriod / time.Millisecond)
	}
	return sum, lcoreErr
}

func withLcore(c dataplane.Config, lcore uint) dataplane.Config {
	c.Lcore = int32(lcore)
	return c
}

func summarize(workers []*worker, ports []dpdk.Port, reports []PortReport, records uint64, elapsed time.Duration) Summary {
	s := Summary{ElapsedS: elapsed.Seconds(), Records: records, Ports: reports}
	for i, p := range ports {
		st, err := p.Stats()
		if err != nil {
			continue
		}
		s.RxPackets += st.Ipackets
		s.RxBytes += st.Ibytes
		s.Drops.Imissed += st.Imissed
		s.Drops.RxNombuf += st.RxNombuf
		s.Drops.Ierrors += st.Ierrors
		s.Ports[i].Packets = st.Ipackets
		_ = p.Stop()
	}
	for _, wk := range workers {
		c := wk.w.Counters()
		s.Lcores = append(s.Lcores, LcoreReport{Lcore: wk.lcore, Socket: dpdk.LcoreSocketID(wk.lcore), CPUs: cpuList(&wk.cpus),
			Packets: c.Packets, Frames: c.Frames, Flows: c.Flows, NotIP: c.NotIP,
			Bad: c.Truncated + c.Malformed + c.UnknownLink + c.TooDeep})
		s.Drops.DispatchRing += wk.dispatchDrops.Load()
		s.Drops.EventRing += wk.eventDrops.Load()
		s.Drops.Truncated += wk.truncated.Load()
	}
	s.Drops.Ring = s.Drops.DispatchRing + s.Drops.EventRing
	if s.ElapsedS > 0 {
		s.Mpps = float64(s.RxPackets) / s.ElapsedS / 1e6
	}
	return s
}
