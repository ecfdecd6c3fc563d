package main

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/tunnelscope/tunnelscope/control/export"
	"github.com/tunnelscope/tunnelscope/dataplane"
)

func runClassify(args []string, stdout, stderr io.Writer) int {
	var cfgPath, modelPath, out string
	var workers int
	fs := newFlagSet("classify", "[-c CONFIG] [-m MODEL] [-o FILE|-] [--workers N] CAPTURE...",
		"Reads pcap/pcapng captures and writes one JSON object per flow (JSON Lines).\n"+
			"Each capture's flows end at its end (end = \"eof\"); an unreadable capture is\n"+
			"reported and skipped, and the exit code is then 1.", stderr)
	fs.stringVar(&cfgPath, "c", "config", "", "TOML configuration file (defaults when omitted)")
	fs.stringVar(&modelPath, "m", "model", "", "model file from 'tunnelscope train' (default: the config's model.path; none: verdicts unknown)")
	fs.stringVar(&out, "o", "out", "", "write records to FILE; - for stdout (default: the config's output.records)")
	fs.intVar(&workers, "workers", 1, "worker goroutines, fed by the same symmetric-hash dispatch as live mode")
	files, code, ok := fs.parse(args)
	if !ok {
		return code
	}
	if len(files) == 0 {
		fmt.Fprintln(stderr, "tunnelscope classify: no capture files given")
		fs.Usage()
		return 2
	}
	cfg, err := loadConfig(cfgPath)
	if err != nil {
		fmt.Fprintf(stderr, "tunnelscope classify: %v\n", err)
		return 2
	}
	if out == "" {
		out = cfg.Output.Records
	}
	if workers < 1 {
		fmt.Fprintln(stderr, "tunnelscope classify: --workers must be at least 1")
		return 2
	}
	wc := workerConfig(&cfg)
	if err := configModel(modelPath, &cfg, &wc); err != nil {
		fmt.Fprintf(stderr, "tunnelscope classify: %v\n", err)
		return 2
	}
	w, closeOut, err := openOut(out, stdout)
	if err != nil {
		fmt.Fprintf(stderr, "tunnelscope classify: %v\n", err)
		return 2
	}
	jw := export.NewWriter(w)
	sink := &recordSink{w: jw}
	start := time.Now()
	o := dataplane.Offline{
		Config:   wc,
		Workers:  workers,
		Progress: progressBar(stderr),
		NewSink:  func(int) dataplane.Sink { return sink },
	}
	res, err := o.Run(files)
	if err != nil {
		fmt.Fprintf(stderr, "tunnelscope classify: %v\n", err)
		return 2
	}
	if err := sink.close(closeOut); err != nil {
		fmt.Fprintf(stderr, "tunnelscope classify: writing %s: %v\n", out, err)
		return 1
	}
	return reportRun(stderr, res, time.Since(start))
}

// recordSink writes finished flows; with several workers it serialises
// them, which costs a lock per flow, never per packet.
type recordSink struct {
	mu  sync.Mutex
	w   *export.Writer
	err error
}

func (s *recordSink) FlowEnd(r *dataplane.Record) {
	s.mu.Lock()
	if s.err == nil {
		s.err = s.w.Write(r)
	}
	s.mu.Unlock()
}

func (s *recordSink) Snapshot(*dataplane.Record, dataplane.Snapshot, []float32) {}

func (s *recordSink) close(closeOut func() error) error {
	if s.err != nil {
		return s.err
	}
	if err := s.w.Flush(); err != nil {
		return err
	}
	return closeOut()
}
