package dataplane

import (
	"errors"
	"io"
	"path/filepath"
	"runtime/debug"
	"sync"

	"github.com/tunnelscope/tunnelscope/dataplane/flow"
	"github.com/tunnelscope/tunnelscope/dataplane/packet"
	"github.com/tunnelscope/tunnelscope/dataplane/pcapsrc"
)

// Dispatch maps a flow hash to one of n workers. Live software dispatch and
// offline --workers use this one function, so both give every worker the
// same packets in the same order and produce the same records.
func Dispatch(hash uint64, n int) int {
	// Multiply-shift over the high half: uniform without a division.
	return int((hash >> 32) * uint64(n) >> 32)
}

// DispatchFrame decodes frame into p and picks the worker of its flow; a
// frame that does not decode carries no flow and goes to worker 0, which
// counts it. The live software dispatch and offline --workers both call it,
// so the rule cannot drift between them.
func DispatchFrame(dec *packet.Decoder, frame []byte, link packet.LinkType, p *packet.Packet, n int) (worker int, decoded bool) {
	if dec.Decode(frame, link, p) != nil {
		return 0, false
	}
	return Dispatch(flow.HashOf(p), n), true
}

// Progress reports how far an offline run has got; it is called from the
// reading goroutine every few thousand frames (fileDone false) and once at
// each file's end or failure (fileDone true).
type Progress func(file string, fileIndex, files int, frames, bytes uint64, fileDone bool)

// Offline runs captures through workers: one Worker per goroutine, fed by
// the reading goroutine through Dispatch when there is more than one.
type Offline struct {
	Config   Config
	Workers  int
	Progress Progress
	// NewSink makes worker i's sink; it is called once per worker before any
	// frame is read. Sinks of different workers run concurrently.
	NewSink func(i int) Sink
}

// FileError reports a capture that could not be read (in full or at all).
// Frames read before the fault have been processed and their flows emitted.
type FileError struct {
	File string
	Err  error
}

func (e *FileError) Error() string { return e.Err.Error() }
func (e *FileError) Unwrap() error { return e.Err }

// Result sums what an offline run did.
type Result struct {
	Frames   uint64
	Counters []Counters // per worker
	Tables   []flow.Stats
	Errors   []*FileError
}

// batch carries frames from the reader to one worker; batches are recycled
// so steady-state reading allocates nothing.
type batch struct {
	data  []byte // bytes of the frames that did not decode
	frame []frameRef
	file  string // the capture these frames come from, set before the first of them
	eof   bool   // end the capture's flows after these frames
}

// frameRef is one frame for a worker. The reader decoded it to pick the
// worker, so a frame that decoded (ok) travels as its decoded view, as in
// live software dispatch, and the worker does not decode it again; one
// that did not travels as bytes (data[off:off+n]) for the worker to count.
type frameRef struct {
	pkt     packet.Packet
	ok      bool
	off, n  uint32
	wireLen uint32
	time    int64
	link    packet.LinkType
}

const batchFrames = 256

// Run processes the files in order. Every file's flows are ended with
// end = "eof" at the file's end, so files never mix. An unreadable or
// truncated file is reported in Result.Errors and the run goes on.
func (o *Offline) Run(files []string) (Result, error) {
	n := o.Workers
	if n < 1 {
		n = 1
	}
	workers, err := o.newWorkers(n)
	if err != nil {
		return Result{}, err
	}
	var res Result
	if n == 1 {
		res = o.runInline(workers[0], files)
	} else {
		res = o.runDispatched(workers, files)
	}
	for _, w := range workers {
		res.Counters = append(res.Counters, w.Counters())
		res.Tables = append(res.Tables, w.TableStats())
		w.Close()
	}
	return res, nil
}

// newWorkers makes n workers with the garbage collector paused: what of
// their state the Go heap holds lives as long as the run, so the
// collections its growth of the heap would set off could free nothing.
// On Linux that is little, as the large arrays are mapped outside the
// heap (see hugepage); elsewhere it is tens of MB by default. Afterwards
// the collector paces itself from the heap with that state in it.
func (o *Offline) newWorkers(n int) ([]*Worker, error) {
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	workers := make([]*Worker, 0, n)
	for i := range n {
		w, err := NewWorker(o.Config, o.NewSink(i))
		if err != nil {
			for _, w := range workers {
				w.Close()
			}
			return nil, err
		}
		workers = append(workers, w)
	}
	return workers, nil
}

func (o *Offline) runInline(w *Worker, files []string) Result {
	var res Result
	for i, name := range files {
		w.SetFile(filepath.Base(name))
		err := o.readFile(name, i, len(files), func(src *pcapsrc.Source, frames []pcapsrc.Frame) {
			w.frames(src, frames)
		}, &res)
		if err != nil {
			res.Errors = append(res.Errors, &FileError{File: name, Err: err})
		}
		w.EndFile()
	}
	return res
}

// frames runs a batch of frames from src through w, as Frame does one
// at a time. The loop sits in the worker, not the caller, so that a frame
// costs one call fewer (Decode is too large to inline, Fast is not):
// 930 to 911 instructions a packet on the offline bench capture, and
// 1.014x by ab.sh (171 of 200 rounds).
func (w *Worker) frames(src *pcapsrc.Source, frames []pcapsrc.Frame) {
	for i := range frames {
		fr := &frames[i]
		src.Pace()
		if fr.Link == packet.LinkEthernet && w.dec.Fast(fr.Data, &w.pkt) {
			w.Decoded(&w.pkt, fr.WireLen, fr.Time)
			continue
		}
		w.Frame(fr.Data, fr.WireLen, fr.Time, fr.Link)
	}
}

// readFile feeds every frame of one capture to fn, a batch at a time (the
// frames are valid during the call); fn calls the source's Pace once per
// frame. A truncated or corrupt capture, or one cut short while it is
// read, returns its error after the frames before the fault were fed.
func (o *Offline) readFile(name string, i, files int, fn func(*pcapsrc.Source, []pcapsrc.Frame), res *Result) error {
	src, err := pcapsrc.Open(name)
	if err != nil {
		return err
	}
	defer src.Close()
	var frames [readBatch]pcapsrc.Frame
	var bytes uint64
	return src.Guard(func() error {
		for {
			n, err := src.NextBatch(frames[:])
			if err != nil {
				if o.Progress != nil {
					o.Progress(name, i, files, src.Frames(), bytes, true)
				}
				if errors.Is(err, io.EOF) {
					return nil
				}
				return err
			}
			res.Frames += uint64(n)
			fn(src, frames[:n])
			if o.Progress != nil { // only a terminal shows progress: spare the loop elsewhere
				for k := range frames[:n] { // still valid until the next NextBatch
					bytes += uint64(len(frames[k].Data))
				}
				if src.Frames()%progressEvery < uint64(n) {
					o.Progress(name, i, files, src.Frames(), bytes, false)
				}
			}
		}
	})
}

// readBatch is how many frames readFile hands over at once: enough to
// spread the per-call costs, few enough to stay in the L1 cache. With
// pcapsrc's non-temporal prefetch, 16 is faster than 8, 12, 24 or 32
// (session 19: against 32, 1.015x, faster in 35 of 40 paired rounds;
// 64 is 7% slower).
const readBatch = 16

// progressEvery is how many frames pass between progress reports.
const progressEvery = 8192

func (o *Offline) runDispatched(workers []*Worker, files []string) Result {
	n := len(workers)
	free := make(chan *batch, 8*n)
	for range 8 * n {
		free <- &batch{data: make([]byte, 0, 256<<10), frame: make([]frameRef, 0, batchFrames)}
	}
	in := make([]chan *batch, n)
	var wg sync.WaitGroup
	for i, w := range workers {
		in[i] = make(chan *batch, 4)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range in[i] {
				if b.file != "" {
					w.SetFile(b.file)
				}
				for k := range b.frame {
					f := &b.frame[k]
					if f.ok {
						w.Decoded(&f.pkt, f.wireLen, f.time)
					} else {
						w.Frame(b.data[f.off:f.off+f.n], f.wireLen, f.time, f.link)
					}
				}
				if b.eof {
					w.EndFile()
				}
				b.data, b.frame, b.file, b.eof = b.data[:0], b.frame[:0], "", false
				free <- b
			}
		}()
	}
	cur := make([]*batch, n)
	take := func(i int) *batch {
		if cur[i] == nil {
			cur[i] = <-free
		}
		return cur[i]
	}
	send := func(i int) {
		if cur[i] != nil {
			in[i] <- cur[i]
			cur[i] = nil
		}
	}
	var res Result
	var dec = packet.Decoder{Decap: o.Config.Decap}
	var pkt packet.Packet
	for fi, name := range files {
		base := filepath.Base(name)
		for i := range n {
			take(i).file = base
		}
		err := o.readFile(name, fi, len(files), func(src *pcapsrc.Source, frames []pcapsrc.Frame) {
			for k := range frames {
				fr := &frames[k]
				src.Pace()
				i, ok := DispatchFrame(&dec, fr.Data, fr.Link, &pkt, n)
				b := take(i)
				ref := frameRef{ok: ok, wireLen: fr.WireLen, time: fr.Time, link: fr.Link}
				if ok {
					ref.pkt = pkt
				} else {
					ref.off, ref.n = uint32(len(b.data)), uint32(len(fr.Data))
					b.data = append(b.data, fr.Data...)
				}
				b.frame = append(b.frame, ref)
				if len(b.frame) == batchFrames {
					send(i)
				}
			}
		}, &res)
		if err != nil {
			res.Errors = append(res.Errors, &FileError{File: name, Err: err})
		}
		for i := range n {
			take(i).eof = true
			send(i)
		}
	}
	for i := range n {
		close(in[i])
	}
	wg.Wait()
	return res
}
