package main

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tunnelscope/tunnelscope/dataplane"
	"github.com/tunnelscope/tunnelscope/features"
)

func runExtract(args []string, stdout, stderr io.Writer) int {
	var cfgPath, out, labelsPath, at string
	var workers int
	fs := newFlagSet("extract", "[-c CONFIG] [--labels FILE] [--at end|pkts:K|window:N] -o FILE.csv CAPTURE...",
		"Writes one CSV row per flow (or per snapshot): file,proto,src,sport,dst,dport,at,\n"+
			"every feature as f_<name>, then label. --at end (default) snapshots each flow\n"+
			"when it ends; pkts:K once a flow reaches K packets (shorter flows give no row);\n"+
			"window:N at the end of every N-packet histogram window, plus a flow's last\n"+
			"partial window. --labels joins a CSV in the format of flows.csv on capture\n"+
			"basename, L4 protocol and the two endpoints in either order.", stderr)
	fs.stringVar(&cfgPath, "c", "config", "", "TOML configuration file (defaults when omitted)")
	fs.stringVar(&out, "o", "out", "", "CSV file to write; - for stdout")
	fs.stringVar(&labelsPath, "", "labels", "", "CSV of flow labels (file,l4,a_ip,a_port,b_ip,b_port,...,class,...)")
	fs.stringVar(&at, "", "at", "end", "snapshot point: end, pkts:K or window:N")
	fs.intVar(&workers, "workers", 1, "worker goroutines")
	files, code, ok := fs.parse(args)
	if !ok {
		return code
	}
	if out == "" || len(files) == 0 {
		fmt.Fprintln(stderr, "tunnelscope extract: need -o FILE.csv and at least one capture")
		fs.Usage()
		return 2
	}
	cfg, err := loadConfig(cfgPath)
	if err != nil {
		fmt.Fprintf(stderr, "tunnelscope extract: %v\n", err)
		return 2
	}
	wc := workerConfig(&cfg)
	kind, n, err := parseAt(at)
	if err != nil {
		fmt.Fprintf(stderr, "tunnelscope extract: --at: %v\n", err)
		return 2
	}
	switch kind {
	case dataplane.AtEnd:
		wc.SnapEnd = true
	case dataplane.AtPackets:
		wc.SnapPackets = n
	case dataplane.AtWindow:
		wc.Features.Window = n
		wc.SnapWindows, wc.SnapEnd = true, true
	}
	var labels labelIndex
	if labelsPath != "" {
		if labels, err = loadLabels(labelsPath); err != nil {
			fmt.Fprintf(stderr, "tunnelscope extract: labels: %v\n", err)
			return 2
		}
	}
	w, closeOut, err := openOut(out, stdout)
	if err != nil {
		fmt.Fprintf(stderr, "tunnelscope extract: %v\n", err)
		return 2
	}
	sink := &csvSink{w: bufio.NewWriterSize(w, 1<<16), labels: labels, kind: kind, window: n, schema: features.Schema()}
	o := dataplane.Offline{Config: wc, Workers: workers, Progress: progressBar(stderr),
		NewSink: func(int) dataplane.Sink { return sink }}
	start := time.Now()
	res, err := o.Run(files)
	if err != nil {
		fmt.Fprintf(stderr, "tunnelscope extract: %v\n", err)
		return 2
	}
	if sink.err == nil {
		sink.err = sink.w.Flush()
	}
	if sink.err == nil {
		sink.err = closeOut()
	}
	if sink.err != nil {
		fmt.Fprintf(stderr, "tunnelscope extract: writing %s: %v\n", out, sink.err)
		return 1
	}
	if labels != nil {
		fmt.Fprintf(stderr, "tunnelscope extract: %d rows, %d labelled\n", sink.rows, sink.labelled)
	}
	return reportRun(stderr, res, time.Since(start))
}

func parseAt(s string) (dataplane.SnapshotKind, int, error) {
	if s == "end" {
		return dataplane.AtEnd, 0, nil
	}
	kind, num, found := strings.Cut(s, ":")
	n, err := strconv.Atoi(num)
	if !found || err != nil || n < 1 {
		return 0, 0, fmt.Errorf("%q is not end, pkts:K or window:N", s)
	}
	switch kind {
	case "pkts":
		return dataplane.AtPackets, n, nil
	case "window":
		if n < 8 || n > 65536 {
			return 0, 0, fmt.Errorf("window %d is outside 8..65536", n)
		}
		return dataplane.AtWindow, n, nil
	}
	return 0, 0, fmt.Errorf("%q is not end, pkts:K or window:N", s)
}

// csvSink writes snapshot rows. Several workers share it behind a lock taken
// once per row.
type csvSink struct {
	mu       sync.Mutex
	w        *bufio.Writer
	labels   labelIndex
	kind     dataplane.SnapshotKind
	window   int
	header   bool
	line     []byte
	err      error
	rows     uint64
	labelled uint64
	schema   []string
}

// FlowEnd has nothing to write: rows come from snapshots, and the run's
// flow count from the workers' counters.
func (s *csvSink) FlowEnd(*dataplane.Record) {}

func (s *csvSink) Snapshot(r *dataplane.Record, at dataplane.Snapshot, vec []float32) {
	var label string
	switch {
	case s.kind == dataplane.AtWindow && at.Kind == dataplane.AtEnd:
		// The flow's last, partial window; complete ones were written as
		// they closed.
		pkts := r.Pkts[0] + r.Pkts[1]
		if pkts%uint64(s.window) == 0 {
			return
		}
		at = dataplane.Snapshot{Kind: dataplane.AtWindow, N: int(pkts/uint64(s.window)) + 1}
	case s.kind != at.Kind:
		return
	}
	if s.labels != nil {
		label = s.labels.lookup(r)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return
	}
	if !s.header {
		s.header = true
		s.writeHeader(len(vec))
	}
	b := s.line[:0]
	b = appendCSVField(b, r.File)
	b = append(b, ',')
	b = strconv.AppendUint(b, uint64(r.Proto), 10)
	b = append(b, ',')
	b = r.SrcAddr().AppendTo(b)
	b = append(b, ',')
	b = strconv.AppendUint(b, uint64(r.SrcPort), 10)
	b = append(b, ',')
	b = r.DstAddr().AppendTo(b)
	b = append(b, ',')
	b = strconv.AppendUint(b, uint64(r.DstPort), 10)
	b = append(b, ',')
	switch at.Kind {
	case dataplane.AtEnd:
		b = append(b, "end"...)
	case dataplane.AtPackets:
		b = append(b, "pkts:"...)
		b = strconv.AppendInt(b, int64(at.N), 10)
	case dataplane.AtWindow:
		b = append(b, "window:"...)
		b = strconv.AppendInt(b, int64(at.N), 10)
	}
	for _, v := range vec {
		b = append(b, ',')
		b = strconv.AppendFloat(b, float64(v), 'g', -1, 32)
	}
	b = append(b, ',')
	b = appendCSVField(b, label)
	b = append(b, '\n')
	s.line = b
	s.rows++
	if label != "" {
		s.labelled++
	}
	_, s.err = s.w.Write(b)
}

func (s *csvSink) writeHeader(n int) {
	cols := []string{"file", "proto", "src", "sport", "dst", "dport", "at"}
	for _, name := range s.schema[:n] {
		cols = append(cols, "f_"+name)
	}
	cols = append(cols, "label")
	_, s.err = s.w.WriteString(strings.Join(cols, ",") + "\n")
}

func appendCSVField(b []byte, s string) []byte {
	if !strings.ContainsAny(s, ",\"\n\r") {
		return append(b, s...)
	}
	b = append(b, '"')
	b = append(b, strings.ReplaceAll(s, `"`, `""`)...)
	return append(b, '"')
}

// labelIndex maps (file, protocol, unordered endpoints) to a class.
type labelIndex map[labelKey]string

type labelKey struct {
	file   string
	proto  uint8
	lo, hi endpoint
}

type endpoint struct {
	addr netip.Addr
	port uint16
}

func newLabelKey(file string, proto uint8, a, b endpoint) labelKey {
	if b.addr.Less(a.addr) || (a.addr == b.addr && b.port < a.port) {
		a, b = b, a
	}
	return labelKey{file, proto, a, b}
}

var l4Numbers = map[string]uint8{"ICMP": 1, "IGMP": 2, "TCP": 6, "UDP": 17, "GRE": 47, "ESP": 50, "ICMPV6": 58, "SCTP": 132}

func (l labelIndex) lookup(r *dataplane.Record) string {
	return l[newLabelKey(r.File, r.Proto, endpoint{r.SrcAddr(), r.SrcPort}, endpoint{r.DstAddr(), r.DstPort})]
}

// loadLabels reads a flows.csv-style file: a header naming at least file,
// l4, a_ip, a_port, b_ip, b_port and class. Rows with an empty class are
// skipped (unlabelled).
func loadLabels(path string) (labelIndex, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(bufio.NewReader(f))
	head, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("%s: header: %w", path, err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[h] = i
	}
	for _, need := range []string{"file", "l4", "a_ip", "a_port", "b_ip", "b_port", "class"} {
		if _, ok := col[need]; !ok {
			return nil, fmt.Errorf("%s: header lacks column %q", path, need)
		}
	}
	idx := labelIndex{}
	for line := 2; ; line++ {
		rec, err := r.Read()
		if err == io.EOF {
			return idx, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		class := rec[col["class"]]
		if class == "" {
			continue
		}
		proto, ok := l4Numbers[strings.ToUpper(rec[col["l4"]])]
		if !ok {
			if n, err := strconv.Atoi(rec[col["l4"]]); err == nil && n >= 0 && n < 256 {
				proto, ok = uint8(n), true
			}
		}
		a, errA := parseEndpoint(rec[col["a_ip"]], rec[col["a_port"]])
		b, errB := parseEndpoint(rec[col["b_ip"]], rec[col["b_port"]])
		switch {
		case !ok:
			return nil, fmt.Errorf("%s: line %d: unknown l4 protocol %q", path, line, rec[col["l4"]])
		case errA != nil:
			return nil, fmt.Errorf("%s: line %d: endpoint a: %w", path, line, errA)
		case errB != nil:
			return nil, fmt.Errorf("%s: line %d: endpoint b: %w", path, line, errB)
		}
		idx[newLabelKey(rec[col["file"]], proto, a, b)] = class
	}
}

func parseEndpoint(ip, port string) (endpoint, error) {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return endpoint{}, err
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return endpoint{}, err
	}
	return endpoint{a.Unmap(), uint16(p)}, nil
}
