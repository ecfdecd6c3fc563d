// Package reference reads the independent implementations tunnelscope is
// tested against: tshark's per-packet fields and nDPI's expected per-flow
// results in ../shared/data. It is for tests and tools, never the data path.
//
// Threading: functions are safe for concurrent use; the tshark cache is a
// directory of files written atomically.
package reference

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// SharedData finds ../shared/data above dir (a test's package directory).
func SharedData(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for d := abs; ; d = filepath.Dir(d) {
		p := filepath.Join(d, "..", "shared", "data")
		if st, err := os.Stat(filepath.Join(p, "pcap")); err == nil && st.IsDir() {
			return filepath.Clean(p), nil
		}
		if filepath.Dir(d) == d {
			return "", errors.New("../shared/data not found above " + abs)
		}
	}
}

// Captures lists the capture files under data/pcap.
func Captures(data string) ([]string, error) {
	var out []string
	for _, pat := range []string{"*.pcap", "*.pcapng"} {
		m, err := filepath.Glob(filepath.Join(data, "pcap", pat))
		if err != nil {
			return nil, err
		}
		out = append(out, m...)
	}
	if len(out) == 0 {
		return nil, errors.New("no captures in " + data)
	}
	return out, nil
}

// Tshark returns one row per frame with the given fields, from
// `tshark -r capture -T fields`. Extra arguments (e.g. "-o",
// "ip.defragment:FALSE") go before the field list. Results are cached in
// the user cache directory, keyed by the capture's path, size, mtime and
// the arguments, because tshark takes a second per file to start.
func Tshark(capture string, extra []string, fields ...string) ([][]string, error) {
	st, err := os.Stat(capture)
	if err != nil {
		return nil, err
	}
	args := []string{"-n", "-r", capture}
	args = append(args, extra...)
	args = append(args, "-T", "fields", "-E", "separator=\t", "-E", "occurrence=a", "-E", "aggregator=,")
	for _, f := range fields {
		args = append(args, "-e", f)
	}
	h := sha256.Sum256([]byte(fmt.Sprint(capture, st.Size(), st.ModTime().UnixNano(), args)))
	cacheDir := filepath.Join(os.TempDir(), "tunnelscope-tshark-cache")
	cache := filepath.Join(cacheDir, hex.EncodeToString(h[:12])+".tsv")
	out, err := os.ReadFile(cache)
	if err != nil {
		cmd := exec.Command("tshark", args...)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err = cmd.Output()
		// tshark exits 2 on a capture cut short mid-record after printing
		// every frame before it; that output is what we compare against.
		var ee *exec.ExitError
		if err != nil && !(errors.As(err, &ee) && strings.Contains(stderr.String(), "cut short")) {
			return nil, fmt.Errorf("tshark %s: %v: %s", filepath.Base(capture), err, stderr.String())
		}
		if err := os.MkdirAll(cacheDir, 0o755); err == nil {
			tmp := cache + ".tmp" + strconv.Itoa(os.Getpid())
			if os.WriteFile(tmp, out, 0o644) == nil {
				_ = os.Rename(tmp, cache)
			}
		}
	}
	var rows [][]string
	for _, line := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		if line == "" {
			continue
		}
		rows = append(rows, strings.Split(line, "\t"))
	}
	return rows, nil
}

// NDPIFlow is one flow line of an nDPI expected-result file. A is nDPI's
// client (c2s direction), B its server.
type NDPIFlow struct {
	Proto       string // TCP, UDP, ICMP, ICMPV6, ESP, IGMP, ...
	A, B        netip.AddrPort
	Bidir       bool
	App         string // e.g. "TLS.Tor"
	Category    string
	ServerName  string
	Pkts, Bytes [2]uint64 // c2s, s2c
	HasLen      bool      // nDPI printed length statistics (it omits them for short flows)
	LenMin      [2]uint64 // packet length min c2s, s2c (frame bytes)
	LenMax      [2]uint64
}

var (
	reFlowHead = regexp.MustCompile(`^\s*\d+\s+(\S+)\s+(\S+)\s+(<->|->)\s+(\S+)\s+(?:\[VLAN: \d+\])?\[proto: (?:\w+:)?[^/]*/([^\]]*)\]`)
	reCounts   = regexp.MustCompile(`\[(\d+) pkts/(\d+) bytes (?:<->|->) (\d+) pkts/(\d+) bytes\]`)
	reLen      = regexp.MustCompile(`\[Pkt Len c2s/s2c min/avg/max/stddev: (\d+)/(\d+) [\d.]+/[\d.]+ (\d+)/(\d+)`)
	reCat      = regexp.MustCompile(`\[cat: ([^/\]]+)`)
	reSNI      = regexp.MustCompile(`\[Hostname/SNI: ([^\]]*)\]`)
)

// NDPIFlows parses the flow lines of one nDPI .out file.
func NDPIFlows(path string) ([]NDPIFlow, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var flows []NDPIFlow
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		m := reFlowHead.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		fl := NDPIFlow{Proto: m[1], Bidir: m[3] == "<->", App: m[5]}
		if fl.A, err = parseEndpoint(m[2]); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, n, err)
		}
		if fl.B, err = parseEndpoint(m[4]); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, n, err)
		}
		c := reCounts.FindStringSubmatch(line)
		if c == nil {
			return nil, fmt.Errorf("%s:%d: no packet counts", path, n)
		}
		fl.Pkts = [2]uint64{atou(c[1]), atou(c[3])}
		fl.Bytes = [2]uint64{atou(c[2]), atou(c[4])}
		if l := reLen.FindStringSubmatch(line); l != nil {
			fl.HasLen = true
			fl.LenMin = [2]uint64{atou(l[1]), atou(l[2])}
			fl.LenMax = [2]uint64{atou(l[3]), atou(l[4])}
		}
		if c := reCat.FindStringSubmatch(line); c != nil {
			fl.Category = c[1]
		}
		if s := reSNI.FindStringSubmatch(line); s != nil {
			fl.ServerName = s[1]
		}
		flows = append(flows, fl)
	}
	return flows, sc.Err()
}

func atou(s string) uint64 {
	v, _ := strconv.ParseUint(s, 10, 64)
	return v
}

// parseEndpoint reads "1.2.3.4:80" or "[2001:db8::1]:443".
func parseEndpoint(s string) (netip.AddrPort, error) {
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("endpoint %q: %w", s, err)
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil
}
