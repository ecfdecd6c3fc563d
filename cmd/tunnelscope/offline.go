package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/term"

	"github.com/tunnelscope/tunnelscope/control/config"
	"github.com/tunnelscope/tunnelscope/dataplane"
	"github.com/tunnelscope/tunnelscope/dataplane/flow"
	"github.com/tunnelscope/tunnelscope/dataplane/packet"
	"github.com/tunnelscope/tunnelscope/features"
	"github.com/tunnelscope/tunnelscope/models"
)

// loadConfig reads the -c file, or the defaults when none is given.
func loadConfig(path string) (config.Config, error) {
	if path == "" {
		return config.Default(), nil
	}
	return config.Load(path)
}

// loadModel reads a model file and checks it against this build's
// feature schema.
func loadModel(path string) (*models.Forest, error) {
	f, err := models.Load(path)
	if err != nil {
		return nil, err
	}
	if err := f.CheckSchema(features.Schema()); err != nil {
		return nil, fmt.Errorf("model %s: %w (retrain it with this build)", path, err)
	}
	return f, nil
}

// chooseModel loads the model -m names, else the config's model.path, and
// says which file that was; with neither the model is nil (verdicts
// unknown). Start-up and SIGHUP reloads both choose by it.
func chooseModel(flagPath string, c *config.Config) (*models.Forest, string, error) {
	path := flagPath
	if path == "" {
		path = c.Model.Path
	}
	if path == "" {
		return nil, "", nil
	}
	f, err := loadModel(path)
	return f, path, err
}

// configModel puts chooseModel's model in the worker configuration.
func configModel(flagPath string, c *config.Config, wc *dataplane.Config) (err error) {
	wc.Model, _, err = chooseModel(flagPath, c)
	return err
}

// workerConfig turns the file's settings into a worker's.
func workerConfig(c *config.Config) dataplane.Config {
	var d packet.Decap
	for _, s := range []struct {
		on  bool
		bit packet.Decap
	}{{c.Decap.GTPU, packet.DecapGTPU}, {c.Decap.ESPInUDP, packet.DecapESPInUDP},
		{c.Decap.GRE, packet.DecapGRE}, {c.Decap.IPIP, packet.DecapIPIP}, {c.Decap.VXLAN, packet.DecapVXLAN}} {
		if s.on {
			d |= s.bit
		}
	}
	timeouts := func(t config.Timeouts) flow.Timeouts {
		return flow.Timeouts{Idle: t.Idle.Duration, Active: t.Active.Duration}
	}
	return dataplane.Config{
		Decap: d,
		Flow: flow.Config{
			Capacity:       c.Flow.Capacity,
			TCP:            timeouts(c.Flow.TCP),
			UDP:            timeouts(c.Flow.UDP),
			Other:          timeouts(c.Flow.Other),
			TCPCloseLinger: c.Flow.TCPCloseLinger.Duration,
		},
		Features: features.Config{
			Window:   c.Features.Window,
			SurgeGap: c.Features.SurgeGap.Duration,
			Pool:     c.Features.Pool,
		},
		Lcore: -1,
	}
}

// openOut opens -o: "-" is stdout.
func openOut(path string, stdout io.Writer) (io.Writer, func() error, error) {
	if path == "-" || path == "" {
		return stdout, func() error { return nil }, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, nil, err
	}
	return f, f.Close, nil
}

// progressBar draws one updating line on a terminal; elsewhere it is silent
// so logs stay clean.
func progressBar(stderr io.Writer) dataplane.Progress {
	f, ok := stderr.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	start := time.Now()
	var last time.Time
	return func(file string, i, n int, frames, bytes uint64, fileDone bool) {
		now := time.Now()
		if !fileDone && now.Sub(last) < 200*time.Millisecond {
			return
		}
		last = now
		const width = 24
		done := width * i / max(n, 1)
		bar := make([]byte, width)
		for j := range bar {
			bar[j] = '.'
			if j < done {
				bar[j] = '#'
			}
		}
		fmt.Fprintf(f, "\r\x1b[K[%s] %d/%d %s: %d frames, %.1f MB (%.0fs)", bar, i+1, n, trim(file, 30),
			frames, float64(bytes)/1e6, now.Sub(start).Seconds())
		if fileDone && i+1 == n {
			fmt.Fprint(f, "\r\x1b[K")
		}
	}
}

func trim(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n+1:]
}

// reportRun prints the file errors and a one-line summary; it returns the
// exit code: 1 when any file failed.
func reportRun(stderr io.Writer, res dataplane.Result, elapsed time.Duration) int {
	var c dataplane.Counters
	for _, w := range res.Counters {
		c.Flows += w.Flows
		c.Frames += w.Frames
		c.Packets += w.Packets
		c.NotIP += w.NotIP
		c.Truncated += w.Truncated
		c.Malformed += w.Malformed + w.UnknownLink + w.TooDeep
	}
	for _, e := range res.Errors {
		fmt.Fprintf(stderr, "tunnelscope: %v\n", e.Err)
	}
	rate := float64(c.Frames) / elapsed.Seconds()
	fmt.Fprintf(stderr, "tunnelscope: %d frames (%d in flows, %d not IP, %d truncated, %d malformed), %d flows, %.2fs, %.0f frames/s\n",
		c.Frames, c.Packets, c.NotIP, c.Truncated, c.Malformed, c.Flows, elapsed.Seconds(), rate)
	if len(res.Errors) > 0 {
		return 1
	}
	return 0
}
