package main

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tunnelscope/tunnelscope/internal/reference"
)

func run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e strings.Builder
	code = mainArgs(args, &o, &e)
	return code, o.String(), e.String()
}

func TestHelpAndVersion(t *testing.T) {
	if code, out, _ := run(t, "--version"); code != 0 || !strings.HasPrefix(out, "tunnelscope ") || !strings.Contains(out, "DPDK binding") {
		t.Errorf("--version: %d %q", code, out)
	}
	if code, out, _ := run(t, "--help"); code != 0 || !strings.Contains(out, "classify") || !strings.Contains(out, "extract") {
		t.Errorf("--help: %d %q", code, out)
	}
	for _, cmd := range []string{"classify", "extract", "run"} {
		code, out, errOut := run(t, cmd, "--help")
		if code != 0 || !strings.Contains(out+errOut, "Usage: tunnelscope "+cmd) {
			t.Errorf("%s --help: exit %d, output %q", cmd, code, out+errOut)
		}
		if !strings.Contains(out+errOut, "Flags:") {
			continue // run in a build without DPDK
		}
		// Each flag once, short and long name together.
		for _, want := range []string{"-c, --config ", "-o, --out "} {
			if n := strings.Count(out+errOut, want); n != 1 {
				t.Errorf("%s --help lists %q %d times:\n%s", cmd, want, n, out+errOut)
			}
		}
		if strings.Contains(out+errOut, "--c ") || strings.Contains(out+errOut, "--o ") {
			t.Errorf("%s --help shows a one-letter flag as long:\n%s", cmd, out+errOut)
		}
	}
	if code, out, errOut := run(t, "compile", "--help"); code != 0 || !strings.Contains(out+errOut, "Usage: tunnelscope compile") ||
		strings.Count(out+errOut, "-m, --model ") != 1 || strings.Count(out+errOut, "-o, --out ") != 1 {
		t.Errorf("compile --help: exit %d, output %q", code, out+errOut)
	}
	if code, _, errOut := run(t, "frobnicate"); code != 2 || !strings.Contains(errOut, "frobnicate") {
		t.Errorf("unknown command: %d %q", code, errOut)
	}
	if code, _, _ := run(t, "classify", "--no-such-flag"); code != 2 {
		t.Errorf("bad flag: exit %d", code)
	}
}

// A missing file and a file that is not a capture are each reported in one
// line naming them; the good capture between them is still classified and
// the exit code says something failed.
func TestBadFilesDoNotStopTheRun(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "notes.txt")
	os.WriteFile(junk, []byte("not a capture\n"), 0o644)
	out := filepath.Join(dir, "flows.jsonl")
	code, _, errOut := run(t, "classify", "-c", writeTestConfig(t), "-o", out,
		filepath.Join(dir, "missing.pcap"), "../../sample/tor.pcap", junk)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	for _, name := range []string{"missing.pcap", "notes.txt"} {
		if !strings.Contains(errOut, name) {
			t.Errorf("stderr does not name %s: %s", name, errOut)
		}
	}
	if recs := readRecords(t, out); len(recs) != 17 {
		t.Errorf("%d records from tor.pcap, want its 17 flows", len(recs))
	}
}

func TestBadConfigIsUsageError(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "bad.toml")
	os.WriteFile(cfg, []byte("[flow]\ncapacty = 1\n"), 0o644)
	code, _, errOut := run(t, "classify", "-c", cfg, "../../sample/tor.pcap")
	if code != 2 || !strings.Contains(errOut, "flow.capacty") || !strings.Contains(errOut, "bad.toml") {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
}

func readCSV(t *testing.T, path string) [][]string {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// extract writes one row per flow with the schema's columns, and joins the
// labels of flows.csv on file and unordered endpoints: every labelled flow
// of tor.pcap in flows.csv finds its row.
func TestExtractWithLabels(t *testing.T) {
	data, err := reference.SharedData(".")
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "tor.csv")
	code, _, errOut := run(t, "extract", "-c", writeTestConfig(t), "--labels", filepath.Join(data, "flows.csv"),
		"-o", out, filepath.Join(data, "pcap", "tor.pcap"))
	if code != 0 {
		t.Fatalf("extract: %d %s", code, errOut)
	}
	rows := readCSV(t, out)
	head := rows[0]
	if strings.Join(head[:7], ",") != "file,proto,src,sport,dst,dport,at" || head[len(head)-1] != "label" {
		t.Fatalf("header %v", head[:8])
	}
	for _, h := range head[7 : len(head)-1] {
		if !strings.HasPrefix(h, "f_") {
			t.Fatalf("feature column %q lacks f_", h)
		}
	}
	recs := classifyRecords(t, nil, filepath.Join(data, "pcap", "tor.pcap"))
	if len(rows)-1 != len(recs) {
		t.Errorf("%d rows, %d flows", len(rows)-1, len(recs))
	}
	// The labels we expect, read independently from flows.csv.
	want := map[string]string{}
	for _, r := range readCSV(t, filepath.Join(data, "flows.csv"))[1:] {
		if r[0] == "tor.pcap" && r[8] != "" {
			want[convKey("", map[string]int{"TCP": 6, "UDP": 17}[r[1]], endpointString(r[2], atou16(r[3])), endpointString(r[4], atou16(r[5])))] = r[8]
		}
	}
	got := map[string]string{}
	for _, r := range rows[1:] {
		if r[len(r)-1] != "" {
			got[convKey("", atoi(r[1]), endpointString(r[2], atou16(r[3])), endpointString(r[4], atou16(r[5])))] = r[len(r)-1]
		}
		if r[6] != "end" {
			t.Errorf("at = %q, want end", r[6])
		}
	}
	if len(want) == 0 {
		t.Fatal("flows.csv labels nothing in tor.pcap")
	}
	for k, class := range want {
		if got[k] != class {
			t.Errorf("%s: label %q, want %q", k, got[k], class)
		}
	}
}

func atou16(s string) uint16 { return uint16(atoi(s)) }

// --at pkts:K gives one row per flow that reaches K packets; --at window:N
// gives a row per N-packet window (plus a partial last one), numbered from 1.
func TestExtractSnapshotPoints(t *testing.T) {
	capture := "../../sample/tor.pcap"
	recs := classifyRecords(t, nil, capture)
	reaching, windows := 0, 0
	for _, r := range recs {
		n := r.PktsFwd + r.PktsBwd
		if n >= 10 {
			reaching++
		}
		windows += int((n + 7) / 8)
	}
	dir := t.TempDir()
	for _, tc := range []struct {
		at   string
		rows int
	}{{"pkts:10", reaching}, {"window:8", windows}} {
		out := filepath.Join(dir, strings.ReplaceAll(tc.at, ":", "_")+".csv")
		if code, _, e := run(t, "extract", "-c", writeTestConfig(t), "--at", tc.at, "-o", out, capture); code != 0 {
			t.Fatalf("%s: %s", tc.at, e)
		}
		rows := readCSV(t, out)[1:]
		if len(rows) != tc.rows {
			t.Errorf("--at %s: %d rows, want %d", tc.at, len(rows), tc.rows)
		}
		kind, _, _ := strings.Cut(tc.at, ":")
		for _, r := range rows {
			if !strings.HasPrefix(r[6], kind+":") {
				t.Errorf("--at %s: row at %q", tc.at, r[6])
			}
		}
	}
	for _, bad := range []string{"pkts:0", "window:4", "later", "pkts:x"} {
		if code, _, e := run(t, "extract", "--at", bad, "-o", filepath.Join(dir, "x.csv"), capture); code != 2 || !strings.Contains(e, "--at") {
			t.Errorf("--at %s: exit %d %q", bad, code, e)
		}
	}
}
