package export

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/tunnelscope/tunnelscope/dataplane"
	"github.com/tunnelscope/tunnelscope/dataplane/flow"
	"github.com/tunnelscope/tunnelscope/models"
)

func sampleRecord() dataplane.Record {
	r := dataplane.Record{
		Version: 6, Proto: 17, SrcPort: 5353, DstPort: 53,
		First: time.Date(2024, 1, 2, 3, 4, 5, 6, time.UTC).UnixNano(),
		Last:  time.Date(2024, 1, 2, 3, 4, 6, 999999999, time.UTC).UnixNano(),
		Pkts:  [2]uint64{3, 2}, Bytes: [2]uint64{300, 200}, FrameBytes: [2]uint64{342, 228},
		FrameMin: [2]uint16{100, 90}, FrameMax: [2]uint16{130, 138},
		End: flow.EndIdle, Lcore: -1,
		Verdict: models.Verdict{Class: models.Tor, Source: models.SourceModel, Confidence: 0.75, App: `TLS."Tor"`},
		File:    "we\"ird\\name\n\xff.pcap",
	}
	r.Src[0], r.Src[15] = 0x20, 1
	r.Dst[0], r.Dst[15] = 0x20, 2
	return r
}

// readBack decodes r's JSON record, failing the test if it is not JSON.
func readBack(t *testing.T, r *dataplane.Record) map[string]any {
	t.Helper()
	var got map[string]any
	if err := json.Unmarshal(AppendJSON(nil, r), &got); err != nil {
		t.Fatalf("invalid JSON: %v\n%s", err, AppendJSON(nil, r))
	}
	return got
}

// The output is valid JSON whose values read back to the record's, even
// with a file name that needs escaping and is not UTF-8.
func TestAppendJSONRoundTrip(t *testing.T) {
	r := sampleRecord()
	got := readBack(t, &r)
	want := map[string]any{
		"file": "we\"ird\\name\n\ufffd.pcap", "proto": 17.0, "src": "2000::1", "sport": 5353.0,
		"dst": "2000::2", "dport": 53.0, "first_seen": "2024-01-02T03:04:05.000000006Z",
		"last_seen": "2024-01-02T03:04:06.999999999Z", "pkts_fwd": 3.0, "pkts_bwd": 2.0,
		"bytes_fwd": 300.0, "bytes_bwd": 200.0, "frame_bytes_fwd": 342.0, "frame_bytes_bwd": 228.0,
		"frame_len_min_fwd": 100.0, "frame_len_min_bwd": 90.0, "frame_len_max_fwd": 130.0,
		"frame_len_max_bwd": 138.0, "end": "idle",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %#v, want %#v", k, got[k], v)
		}
	}
	v := got["verdict"].(map[string]any)
	if v["class"] != "tor" || v["source"] != "model" || v["confidence"] != 0.75 || v["app"] != `TLS."Tor"` {
		t.Errorf("verdict = %v", v)
	}
	if _, ok := got["lcore"]; ok {
		t.Error("offline record carries lcore")
	}
	r.Lcore = 3
	got = nil
	json.Unmarshal(AppendJSON(nil, &r), &got)
	if got["lcore"] != 3.0 {
		t.Errorf("live lcore = %v", got["lcore"])
	}
}

func TestAppendJSONDoesNotAllocate(t *testing.T) {
	r := sampleRecord()
	buf := make([]byte, 0, 2048)
	if a := testing.AllocsPerRun(100, func() { buf = AppendJSON(buf[:0], &r) }); a != 0 {
		t.Fatalf("%.1f allocations per record", a)
	}
}

// typicalRecord is a record like most of the offline bench's: IPv4, a
// few dozen packets, a model verdict with a full-precision confidence.
func typicalRecord() dataplane.Record {
	r := dataplane.Record{
		Version: 4, Proto: 6, SrcPort: 49612, DstPort: 443,
		First: time.Date(2016, 8, 2, 2, 19, 41, 895304000, time.UTC).UnixNano(),
		Last:  time.Date(2016, 8, 2, 2, 19, 42, 125381000, time.UTC).UnixNano(),
		Pkts:  [2]uint64{10, 14}, Bytes: [2]uint64{1288, 17970}, FrameBytes: [2]uint64{1428, 18166},
		FrameMin: [2]uint16{54, 60}, FrameMax: [2]uint16{486, 1514},
		End: flow.EndFIN, Lcore: -1,
		Verdict: models.Verdict{Class: models.WebBrowsing, Source: models.SourceModel, Confidence: 0.35743618},
		File:    "bench-offline-1000000.pcap",
	}
	copy(r.Src[:], []byte{192, 168, 115, 8})
	copy(r.Dst[:], []byte{183, 131, 48, 145})
	return r
}

// A plain file name and an IPv4 pair take the fast paths of appendString
// and appendAddr; the values must still read back.
func TestAppendJSONTypical(t *testing.T) {
	r := typicalRecord()
	got := readBack(t, &r)
	if got["file"] != r.File || got["src"] != "192.168.115.8" || got["dst"] != "183.131.48.145" ||
		got["sport"] != 49612.0 || got["bytes_bwd"] != 17970.0 {
		t.Errorf("record read back as %v", got)
	}
}

func BenchmarkAppendJSON(b *testing.B) {
	r := typicalRecord()
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendJSON(buf[:0], &r)
	}
	b.SetBytes(int64(len(buf)))
}
