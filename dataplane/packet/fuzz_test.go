package packet

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fuzzLinks maps the fuzz input's first byte to a link type; 147 stands
// for every link type the decoder does not know.
var fuzzLinks = [...]LinkType{LinkNull, LinkEthernet, LinkPPP, LinkRaw, LinkLoop, LinkLinuxSLL, LinkIPv4, LinkIPv6, LinkLinuxSLL2, 147}

func fuzzInput(link LinkType, frame []byte) []byte {
	for i, l := range fuzzLinks {
		if l == link {
			return append([]byte{byte(i)}, frame...)
		}
	}
	panic(fmt.Sprintf("link type %d not in fuzzLinks", link))
}

// FuzzDecode feeds a link-type selector byte and a frame to the decoder,
// tunnels closed and open, and checks what any decode must satisfy.
func FuzzDecode(f *testing.F) {
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) == 0 {
			return
		}
		link := fuzzLinks[int(in[0])%len(fuzzLinks)]
		frame := in[1:len(in):len(in)]
		var errs [2]error
		for i, decap := range []Decap{0, DecapAll} {
			var p Packet
			d := &Decoder{Decap: decap}
			errs[i] = d.Decode(frame, link, &p)
			// The fast path must agree with the general one everywhere.
			var g Packet
			if err := d.general(frame, link, &g); err != errs[i] || (err == nil && g != p) {
				t.Fatalf("Decode gave %v, %+v; the general path %v, %+v", errs[i], p, err, g)
			}
			// Fast decodes as Decode does, or leaves p alone.
			if link == LinkEthernet {
				var q Packet
				if ok := d.Fast(frame, &q); ok && (errs[i] != nil || q != p) || !ok && q != (Packet{}) {
					t.Fatalf("Fast gave %v, %+v; Decode %v, %+v", ok, q, errs[i], p)
				}
			}
			if errs[i] != nil {
				if !isSentinel(errs[i]) {
					t.Fatalf("non-sentinel error %v", errs[i])
				}
				continue
			}
			checkInvariants(t, frame, &p)
		}
		// Opening tunnels may change the packet reported, never whether
		// one is reported.
		if errs[0] != errs[1] {
			t.Fatalf("decap changed the error from %v to %v", errs[0], errs[1])
		}
	})
}

var writeSeeds = flag.Bool("write-seeds", false, "rewrite the committed FuzzDecode seed corpus")

const seedDir = "testdata/fuzz/FuzzDecode"

// tableSeeds are the decode cases that together reach every link layer,
// extension header and tunnel; the fuzzer mutates its way to the rest.
var tableSeeds = map[string]bool{}

func init() {
	for _, name := range strings.Fields(`eth-ipv4-tcp eth-ipv6-tcp vlan-ipv4-tcp qinq-ipv6-udp pppoe-ipv4-udp qinq-pppoe-ipv6-tcp vlan8-ok sll-vlan-ipv4-tcp
		sll2-ipv6-udp null-le-ipv6-darwin null-be-ipv4 loop-ipv6 ppp-hdlc-pfc-ipv6 ppp-ipv6 raw-ipv4
		linkipv4 linkipv6 unknown-link ipv4-options ipv4-later-fragment ipv6-ext-tcp ipv6-ah-udp
		ipv6-mobility-hip-shim6 ipv6-later-fragment ipv6-12-ext-headers sctp icmp-unreachable-quoting-tcp
		icmpv6-unreachable-quoting-tcp esp esp-in-udp esp-in-udp-keepalive esp-in-udp-ike
		qinq-gtpu-ipv4-udp gtpu-ext-ipv6-tcp gtpu-echo-not-opened gre-csum-key-seq-ipv6 gre-ethernet
		pptp-ack-pfc-ipv4-udp ipip-41 ipip-4-in-ipv6 ipip-nesting-bound vxlan-ipv4-tcp vxlan-gre-gtpu
		truncated-tcp-options`) {
		tableSeeds[name] = true
	}
}

// realSeeds picks frames of each link type and tunnel from the shared
// captures, cut to keep the corpus small.
var realSeeds = []struct {
	file  string
	frame int
}{
	{"dlt_ppp.pcap", 1}, {"sll2_tls.pcap", 1}, {"selfsigned.pcap", 1}, {"codm.pcap", 1},
	{"quic-v2.pcapng", 1}, {"zoom.pcap", 701}, {"ipsec_isakmp_esp.pcap", 10}, {"http_ipv6.pcap", 1},
	{"nfsv3.pcap", 1}, {"1kxun.pcap", 1},
}

// TestFuzzSeeds checks the committed corpus is there and covers every
// link type; with -write-seeds it first regenerates the corpus from the
// decode table and the real frames above.
func TestFuzzSeeds(t *testing.T) {
	if *writeSeeds {
		if err := os.MkdirAll(seedDir, 0o755); err != nil {
			t.Fatal(err)
		}
		write := func(name string, in []byte) {
			body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", in)
			if err := os.WriteFile(filepath.Join(seedDir, name), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		written := 0
		for _, tc := range decodeCases() {
			if tableSeeds[tc.name] {
				write("table-"+tc.name, fuzzInput(tc.link, tc.frame))
				written++
			}
		}
		if written != len(tableSeeds) {
			t.Fatalf("%d of %d seed names are decode cases", written, len(tableSeeds))
		}
		for _, s := range realSeeds {
			frames, err := readCapture(filepath.Join(sharedData(t), "pcap", s.file))
			if err != nil || len(frames) < s.frame {
				t.Fatalf("%s: %d frames, %v", s.file, len(frames), err)
			}
			fr := frames[s.frame-1]
			write(fmt.Sprintf("real-%s-%d", strings.TrimSuffix(s.file, filepath.Ext(s.file)), s.frame), fuzzInput(fr.link, fr.data[:min(len(fr.data), 200)]))
		}
	}
	entries, err := os.ReadDir(seedDir)
	if err != nil {
		t.Fatal(err)
	}
	links := map[LinkType]bool{}
	for _, e := range entries {
		body, err := os.ReadFile(filepath.Join(seedDir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		var in string
		if _, err := fmt.Sscanf(string(body), "go test fuzz v1\n[]byte(%q)", &in); err != nil || len(in) == 0 {
			t.Fatalf("%s: not a []byte seed: %v", e.Name(), err)
		}
		links[fuzzLinks[int(in[0])%len(fuzzLinks)]] = true
	}
	for _, l := range fuzzLinks {
		if !links[l] {
			t.Errorf("no seed for link type %d among %d seeds", l, len(entries))
		}
	}
}
