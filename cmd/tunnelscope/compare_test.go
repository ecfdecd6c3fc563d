package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/tunnelscope/tunnelscope/internal/reference"
)

// jsonRecord is the flow-record schema as a reader of our output sees it.
type jsonRecord struct {
	File          string `json:"file"`
	Proto         int    `json:"proto"`
	Src           string `json:"src"`
	Sport         uint16 `json:"sport"`
	Dst           string `json:"dst"`
	Dport         uint16 `json:"dport"`
	FirstSeen     string `json:"first_seen"`
	LastSeen      string `json:"last_seen"`
	PktsFwd       uint64 `json:"pkts_fwd"`
	PktsBwd       uint64 `json:"pkts_bwd"`
	BytesFwd      uint64 `json:"bytes_fwd"`
	BytesBwd      uint64 `json:"bytes_bwd"`
	FrameBytesFwd uint64 `json:"frame_bytes_fwd"`
	FrameBytesBwd uint64 `json:"frame_bytes_bwd"`
	LenMinFwd     uint64 `json:"frame_len_min_fwd"`
	LenMinBwd     uint64 `json:"frame_len_min_bwd"`
	LenMaxFwd     uint64 `json:"frame_len_max_fwd"`
	LenMaxBwd     uint64 `json:"frame_len_max_bwd"`
	End           string `json:"end"`
	Verdict       struct {
		Class      string  `json:"class"`
		App        string  `json:"app"`
		Source     string  `json:"source"`
		Confidence float64 `json:"confidence"`
	} `json:"verdict"`
	Lcore *int `json:"lcore"`
}

// testConfig keeps tables small: the shared captures hold at most a few
// hundred concurrent flows.
const testConfig = "[flow]\ncapacity = 65536\n[features]\npool = 4096\n"

func writeTestConfig(t testing.TB) string {
	p := filepath.Join(t.TempDir(), "test.toml")
	if err := os.WriteFile(p, []byte(testConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// classifyRecords runs `tunnelscope classify` in-process and parses its output.
func classifyRecords(t testing.TB, extra []string, files ...string) []jsonRecord {
	t.Helper()
	out := filepath.Join(t.TempDir(), "flows.jsonl")
	args := append([]string{"classify", "-c", writeTestConfig(t), "-o", out}, extra...)
	var stderr strings.Builder
	if code := mainArgs(append(args, files...), os.Stdout, &stderr); code != 0 {
		t.Fatalf("classify exit %d: %s", code, stderr.String())
	}
	return readRecords(t, out)
}

func readRecords(t testing.TB, path string) []jsonRecord {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var recs []jsonRecord
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var r jsonRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("record %d: %v: %s", len(recs)+1, err, sc.Text())
		}
		recs = append(recs, r)
	}
	return recs
}

var (
	allRecordsOnce sync.Once
	allRecords     []jsonRecord
	allCaptures    []string
)

// sharedRecords classifies every shared capture once per test binary.
func sharedRecords(t *testing.T) ([]jsonRecord, []string) {
	data, err := reference.SharedData(".")
	if err != nil {
		t.Fatal(err)
	}
	allRecordsOnce.Do(func() {
		allCaptures, err = reference.Captures(data)
		if err == nil {
			allRecords = classifyRecords(t, nil, allCaptures...)
		}
	})
	if err != nil || allRecords == nil {
		t.Fatalf("classifying the shared captures failed: %v", err)
	}
	return allRecords, allCaptures
}

// convKey names a conversation: protocol and endpoints in sorted order.
func convKey(file string, proto int, a, b string) string {
	if b < a {
		a, b = b, a
	}
	return fmt.Sprintf("%s %d %s %s", file, proto, a, b)
}

func endpointString(addr string, port uint16) string {
	ap, err := netip.ParseAddr(addr)
	if err != nil {
		return addr + "|" + fmt.Sprint(port)
	}
	return netip.AddrPortFrom(ap.Unmap(), port).String()
}

// exceptions reads a committed file of "key<TAB>reason" lines.
func exceptions(t *testing.T, name string) map[string]string {
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, reason, ok := strings.Cut(line, "\t")
		if !ok || strings.TrimSpace(reason) == "" {
			t.Fatalf("testdata/%s: line %q needs a TAB and a reason", name, line)
		}
		m[key] = reason
	}
	return m
}

// checkAgainst compares our per-conversation values with a reference's and
// fails on any disagreement not listed (with its reason) in the exceptions
// file; listed exceptions that now agree are reported as stale.
func checkAgainst(t *testing.T, what, excFile string, ours, theirs map[string]string) {
	exc := exceptions(t, excFile)
	keys := make([]string, 0, len(theirs))
	for k := range theirs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	agree, excused := 0, 0
	for _, k := range keys {
		if ours[k] == theirs[k] {
			agree++
			if _, listed := exc[k]; listed {
				t.Errorf("%s: stale exception (now agrees): %s", excFile, k)
			}
			continue
		}
		if _, listed := exc[k]; listed {
			excused++
			continue
		}
		t.Errorf("%s: %s: ours %q, %s %q", what, k, ours[k], what, theirs[k])
	}
	t.Logf("%d conversations agree with %s exactly, %d listed exceptions", agree, what, excused)
	if agree == 0 {
		t.Fatalf("nothing compared")
	}
}

// Per unordered TCP/UDP 5-tuple, our packet counts (summed over records)
// equal tshark's count of frames with exactly one IP header and that tuple.
func TestPacketCountsMatchTshark(t *testing.T) {
	recs, files := sharedRecords(t)
	ours := map[string]string{}
	oursN := map[string]uint64{}
	for _, r := range recs {
		if r.Proto != 6 && r.Proto != 17 {
			continue
		}
		k := convKey(r.File, r.Proto, endpointString(r.Src, r.Sport), endpointString(r.Dst, r.Dport))
		oursN[k] += r.PktsFwd + r.PktsBwd
	}
	theirsN := map[string]uint64{}
	for _, f := range files {
		rows, err := reference.Tshark(f, []string{"-o", "ip.defragment:FALSE", "-o", "ipv6.defragment:FALSE"},
			"ip.src", "ip.dst", "ipv6.src", "ipv6.dst", "tcp.srcport", "tcp.dstport", "udp.srcport", "udp.dstport")
		if err != nil {
			t.Fatal(err)
		}
		for _, row := range rows {
			row = append(row, make([]string, 8-len(row))...)
			src, dst := row[0], row[1]
			if (row[0] == "") == (row[2] == "") {
				continue // no IP header, or IPv4 and IPv6 both: tunnelled
			}
			if src == "" {
				src, dst = row[2], row[3]
			}
			if strings.Contains(src, ",") {
				continue // more than one IP header
			}
			var proto int
			var sp, dp string
			switch {
			case row[4] != "" && row[6] == "":
				proto, sp, dp = 6, row[4], row[5]
			case row[6] != "" && row[4] == "":
				proto, sp, dp = 17, row[6], row[7]
			default:
				continue
			}
			if strings.Contains(sp, ",") {
				continue
			}
			k := convKey(filepath.Base(f), proto, src+"|"+sp, dst+"|"+dp)
			theirsN[k]++
		}
	}
	theirs := map[string]string{}
	for k, n := range theirsN {
		// Normalise tshark's "addr|port" into netip's AddrPort text.
		f := strings.Fields(k)
		theirs[convKey(f[0], atoi(f[1]), apText(f[2]), apText(f[3]))] = fmt.Sprint(n)
	}
	for k, n := range oursN {
		ours[k] = fmt.Sprint(n)
	}
	checkAgainst(t, "tshark", "tshark-exceptions.tsv", ours, theirs)
}

func atoi(s string) int {
	var n int
	fmt.Sscan(s, &n)
	return n
}

func apText(s string) string {
	addr, port, _ := strings.Cut(s, "|")
	var p uint16
	fmt.Sscan(port, &p)
	return endpointString(addr, p)
}

var ndpiProtos = map[string]int{"TCP": 6, "UDP": 17, "ICMP": 1, "ICMPV6": 58, "ESP": 50, "IGMP": 2}

// For every flow in nDPI's expected results, our per-direction packet
// counts (summed over our records of that conversation, oriented to nDPI's
// client) and smallest and largest frame per direction equal nDPI's.
func TestPacketCountsMatchNDPI(t *testing.T) {
	recs, _ := sharedRecords(t)
	data, _ := reference.SharedData(".")
	outs, _ := filepath.Glob(filepath.Join(data, "ndpi-expected", "*.out"))
	theirs := map[string]string{}
	clients := map[string]string{}
	withLen := map[string]bool{}
	for _, o := range outs {
		flows, err := reference.NDPIFlows(o)
		if err != nil {
			t.Fatal(err)
		}
		file := strings.TrimSuffix(filepath.Base(o), ".out")
		for _, fl := range flows {
			proto, ok := ndpiProtos[fl.Proto]
			if !ok {
				t.Fatalf("%s: unknown protocol %s", o, fl.Proto)
			}
			k := convKey(file, proto, fl.A.String(), fl.B.String())
			theirs[k] = fmt.Sprintf("pkts %d/%d", fl.Pkts[0], fl.Pkts[1])
			if fl.HasLen {
				theirs[k] += fmt.Sprintf(" len min %d/%d max %d/%d", fl.LenMin[0], fl.LenMin[1], fl.LenMax[0], fl.LenMax[1])
				withLen[k] = true
			}
			clients[k] = fl.A.String()
		}
	}
	type agg struct{ pkts, min, max [2]uint64 }
	sums := map[string]*agg{}
	for _, r := range recs {
		src, dst := endpointString(r.Src, r.Sport), endpointString(r.Dst, r.Dport)
		k := convKey(r.File, r.Proto, src, dst)
		client, ok := clients[k]
		if !ok {
			continue
		}
		s := sums[k]
		if s == nil {
			s = &agg{}
			sums[k] = s
		}
		pkts := [2]uint64{r.PktsFwd, r.PktsBwd}
		lmin := [2]uint64{r.LenMinFwd, r.LenMinBwd}
		lmax := [2]uint64{r.LenMaxFwd, r.LenMaxBwd}
		for d := range 2 {
			c := d // nDPI's direction: 0 = from its client
			if src != client {
				c = 1 - d
			}
			if pkts[d] == 0 {
				continue
			}
			if s.pkts[c] == 0 || lmin[d] < s.min[c] {
				s.min[c] = lmin[d]
			}
			s.max[c] = max(s.max[c], lmax[d])
			s.pkts[c] += pkts[d]
		}
	}
	ours := map[string]string{}
	for k, s := range sums {
		ours[k] = fmt.Sprintf("pkts %d/%d", s.pkts[0], s.pkts[1])
		if withLen[k] {
			ours[k] += fmt.Sprintf(" len min %d/%d max %d/%d", s.min[0], s.min[1], s.max[0], s.max[1])
		}
	}
	checkAgainst(t, "nDPI", "ndpi-exceptions.tsv", ours, theirs)
}

// With NAT-T decapsulation off, the UDP 4500 conversations listed as
// exceptions above agree with tshark and nDPI exactly: the exception is the
// decapsulation, not a counting error.
func TestESPInUDPDecapOff(t *testing.T) {
	data, err := reference.SharedData(".")
	if err != nil {
		t.Fatal(err)
	}
	capture := filepath.Join(data, "pcap", "ipsec_isakmp_esp.pcap")
	cfg := filepath.Join(t.TempDir(), "nonatt.toml")
	os.WriteFile(cfg, []byte(testConfig+"[decap]\nesp_in_udp = false\n"), 0o644)
	out := filepath.Join(t.TempDir(), "flows.jsonl")
	var stderr strings.Builder
	if code := mainArgs([]string{"classify", "-c", cfg, "-o", out, capture}, os.Stdout, &stderr); code != 0 {
		t.Fatalf("classify: %d %s", code, stderr.String())
	}
	ours := map[string]uint64{}
	for _, r := range readRecords(t, out) {
		if r.Proto == 50 {
			t.Errorf("ESP flow %s-%s with decapsulation off", r.Src, r.Dst)
		}
		ours[convKey(r.File, r.Proto, endpointString(r.Src, r.Sport), endpointString(r.Dst, r.Dport))] += r.PktsFwd + r.PktsBwd
	}
	flows, err := reference.NDPIFlows(filepath.Join(data, "ndpi-expected", "ipsec_isakmp_esp.pcap.out"))
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, fl := range flows {
		if fl.Proto != "UDP" || (fl.A.Port() != 4500 && fl.B.Port() != 4500) {
			continue
		}
		k := convKey("ipsec_isakmp_esp.pcap", 17, fl.A.String(), fl.B.String())
		if ours[k] != fl.Pkts[0]+fl.Pkts[1] {
			t.Errorf("%s: ours %d, nDPI %d", k, ours[k], fl.Pkts[0]+fl.Pkts[1])
		}
		checked++
	}
	if checked < 10 {
		t.Fatalf("only %d NAT-T conversations checked", checked)
	}
}
