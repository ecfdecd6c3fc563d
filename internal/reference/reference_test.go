package reference

import (
	"path/filepath"
	"testing"
)

// The parser must find every flow line of every expected-result file: the
// "Address" lines and summary tables must not be mistaken for flows, and no
// flow line may be skipped.
func TestNDPIFlowsParsesEveryFlowLine(t *testing.T) {
	data, err := SharedData(".")
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(data, "ndpi-expected", "*.out"))
	if len(files) < 90 {
		t.Fatalf("%d expected-result files, want the 94 shared ones", len(files))
	}
	total := 0
	for _, f := range files {
		flows, err := NDPIFlows(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, fl := range flows {
			if fl.Pkts[0]+fl.Pkts[1] == 0 || !fl.A.IsValid() || !fl.B.IsValid() {
				t.Errorf("%s: bad flow %+v", filepath.Base(f), fl)
			}
			if fl.LenMin[0] > fl.LenMax[0] {
				t.Errorf("%s: min > max in %+v", filepath.Base(f), fl)
			}
		}
		total += len(flows)
	}
	// 925 TCP + 1180 UDP + 22 ICMP + 12 ICMPv6 + 12 IGMP + 1 ESP flow lines,
	// counted with grep over the same files.
	if total != 2152 {
		t.Errorf("parsed %d flows, want 2152", total)
	}
}

func TestTorFlow(t *testing.T) {
	data, err := SharedData(".")
	if err != nil {
		t.Fatal(err)
	}
	flows, err := NDPIFlows(filepath.Join(data, "ndpi-expected", "tor.pcap.out"))
	if err != nil {
		t.Fatal(err)
	}
	f := flows[1]
	if f.A.String() != "192.168.1.252:51112" || f.B.String() != "38.229.70.53:443" || f.App != "TLS.Tor" ||
		f.Pkts != [2]uint64{17, 23} || f.Bytes != [2]uint64{6724, 9350} || f.LenMin != [2]uint64{60, 54} ||
		f.LenMax != [2]uint64{640, 1514} || f.ServerName != "www.q4cyamnc6mtokjurvdclt.com" || f.Category != "VPN" {
		t.Errorf("flow 2 of tor.pcap.out = %+v", f)
	}
}
