//go:build dpdk

package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/tunnelscope/tunnelscope/control/config"
	"github.com/tunnelscope/tunnelscope/control/export"
	"github.com/tunnelscope/tunnelscope/control/reload"
	"github.com/tunnelscope/tunnelscope/dataplane/dpdk"
	"github.com/tunnelscope/tunnelscope/dataplane/live"
	"github.com/tunnelscope/tunnelscope/dataplane/packet"
	"github.com/tunnelscope/tunnelscope/models"
)

// bindingNote is what --version says about the live appliance: the DPDK
// release the binding was built for, whose libraries run needs. A function,
// so start-up does not format it for every other command.
func bindingNote() string { return "DPDK binding for " + dpdk.BuiltVersion() + ", loaded by run" }

// nameProcess names the process and the threads it has so far after
// argv[0], as an exec of a file of that name would have: the pure-Go build
// starts this one from a memory file (run_livebin.go), which the kernel
// names after the descriptor's number, and ps and top would show that.
// Cosmetic, so failures are ignored.
func nameProcess() {
	name := filepath.Base(os.Args[0])
	was, err := os.ReadFile("/proc/self/comm")
	if err != nil || strings.TrimSpace(string(was)) == name {
		return
	}
	tasks, _ := filepath.Glob("/proc/self/task/*/comm")
	for _, comm := range tasks {
		if b, err := os.ReadFile(comm); err == nil && string(b) == string(was) {
			_ = os.WriteFile(comm, []byte(name), 0)
		}
	}
}

// listFlag collects a repeatable flag (--eal).
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, " ") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func runLive(args []string, stdout, stderr io.Writer) int {
	nameProcess()
	var cfgPath, modelPath, out, summaryPath, metricsAddr string
	var eal listFlag
	var workers int
	var exitIdle, duration time.Duration
	fs := newFlagSet("run", runSynopsis,
		"Runs the live appliance on DPDK ports: worker lcores receive, meter and classify\n"+
			"every flow; records go to -o as JSON Lines. The run ends on SIGINT/SIGTERM,\n"+
			"after --duration, or after --exit-idle without a packet; every active flow is\n"+
			"then written with end = \"eof\".", stderr)
	fs.stringVar(&cfgPath, "c", "config", "", "TOML configuration file (defaults: one port, one worker)")
	fs.stringVar(&modelPath, "m", "model", "", "model file from 'tunnelscope train' (default: the config's model.path; none: verdicts unknown)")
	fs.Var(&eal, "eal", "an EAL argument (repeatable); replaces the config's [live] eal list")
	fs.intVar(&workers, "workers", 0, "worker lcores (default: the config's live.workers)")
	fs.stringVar(&out, "o", "out", "", "write records to FILE; - for stdout (default: the config's output.records)")
	fs.DurationVar(&exitIdle, "exit-idle", 0, "end the run after this long without a packet (finite captures)")
	fs.DurationVar(&duration, "duration", 0, "end the run after this long")
	fs.stringVar(&summaryPath, "", "summary", "", "write a JSON summary of the run to FILE at exit")
	fs.stringVar(&metricsAddr, "", "metrics", "", "serve Prometheus metrics at http://ADDR/metrics (host:port; default: the config's live.metrics)")
	pos, code, ok := fs.parse(args)
	if !ok {
		return code
	}
	if len(pos) > 0 {
		fmt.Fprintf(stderr, "tunnelscope run: unexpected argument %q (ports come from the config or --eal)\n", pos[0])
		return 2
	}
	cfg, err := loadConfig(cfgPath)
	if err != nil {
		fmt.Fprintf(stderr, "tunnelscope run: %v\n", err)
		return 2
	}
	if out == "" {
		out = cfg.Output.Records
	}
	if metricsAddr != "" {
		if err := config.CheckListenAddr(metricsAddr); err != nil {
			fmt.Fprintf(stderr, "tunnelscope run: --metrics %q: %v\n", metricsAddr, err)
			return 2
		}
		cfg.Live.Metrics = metricsAddr
	}
	o := liveOptions(&cfg)
	if err := configModel(modelPath, &cfg, &o.Worker); err != nil {
		fmt.Fprintf(stderr, "tunnelscope run: %v\n", err)
		return 2
	}
	// The model the lcores read once per burst; SIGHUP reloads it.
	o.Model = reload.New(o.Worker.Model, time.Now())
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go reloadOnHUP(hup, o.Model, cfgPath, modelPath, stderr)
	w, closeOut, err := openOut(out, stdout)
	if err != nil {
		fmt.Fprintf(stderr, "tunnelscope run: %v\n", err)
		return 2
	}
	sink := &recordSink{w: export.NewWriter(w)}
	if len(eal) > 0 {
		o.EAL = eal
	}
	if workers > 0 {
		o.Workers = workers
	}
	o.Duration, o.ExitIdle = duration, exitIdle
	o.Record = sink.FlowEnd
	o.Warn = func(err error) { fmt.Fprintf(stderr, "tunnelscope run: warning: %v\n", err) }
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	stop := make(chan struct{})
	go func() {
		<-sig
		close(stop)
	}()
	o.Stop = stop
	sum, runErr := live.Run(o)
	if runErr != nil {
		fmt.Fprintf(stderr, "tunnelscope run: %v\n", runErr)
		if len(sum.Ports) == 0 {
			return 1 // it never ran: nothing to write
		}
	}
	if err := sink.close(closeOut); err != nil {
		fmt.Fprintf(stderr, "tunnelscope run: writing %s: %v\n", out, err)
		return 1
	}
	if summaryPath != "" {
		b, _ := json.MarshalIndent(sum, "", "  ")
		if err := os.WriteFile(summaryPath, append(b, '\n'), 0o644); err != nil {
			fmt.Fprintf(stderr, "tunnelscope run: summary: %v\n", err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "tunnelscope run: %d packets, %d flows, %.2fs, %.3f Mpps, drops: imissed %d rx_nombuf %d ring %d\n",
		sum.RxPackets, sum.Records, sum.ElapsedS, sum.Mpps, sum.Drops.Imissed, sum.Drops.RxNombuf, sum.Drops.Ring)
	if runErr != nil {
		return 1
	}
	return 0
}

// reloadOnHUP reloads the model at each SIGHUP: from -m's file when given,
// else from the model.path of the config file, read and validated again
// (other changed settings need a restart). A failure leaves the serving
// model in place; either way one line says what happened.
func reloadOnHUP(hup <-chan os.Signal, m *reload.Model, cfgPath, modelPath string, stderr io.Writer) {
	for range hup {
		var path string
		f, err := m.Reload(func() (f *models.Forest, err error) {
			var c config.Config // only read when -m does not name the model
			if modelPath == "" {
				if c, err = loadConfig(cfgPath); err != nil {
					return nil, err
				}
			}
			f, path, err = chooseModel(modelPath, &c)
			return f, err
		}, time.Now())
		switch {
		case err != nil:
			fmt.Fprintf(stderr, "tunnelscope run: SIGHUP: model not reloaded, the previous one keeps serving: %v\n", err)
		case f == nil:
			fmt.Fprintln(stderr, "tunnelscope run: SIGHUP: no model configured: verdicts are unknown from now on")
		default:
			fmt.Fprintf(stderr, "tunnelscope run: SIGHUP: model reloaded from %s: %d trees, %d classes\n", path, f.Trees(), len(f.Classes()))
		}
	}
}

func liveOptions(c *config.Config) live.Options {
	l := &c.Live
	o := live.Options{
		EAL: l.EAL, Worker: workerConfig(c), Workers: l.Workers,
		Mbufs: l.Mbufs, MbufCache: l.MbufCache, DataRoom: l.DataRoom, RxDesc: l.RxDesc, Burst: l.Burst,
		EventRing: l.EventRing, DispatchRing: l.DispatchRing, Dispatch: l.Dispatch,
		Metrics: l.Metrics, Version: version,
	}
	for _, p := range l.Ports {
		o.Ports = append(o.Ports, live.Port{Device: p.Device, Link: packet.LinkType(config.LinkTypes[p.LinkType]),
			RxQueues: p.RxQueues, Lcores: p.Lcores})
	}
	return o
}
