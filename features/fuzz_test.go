package features

import (
	"encoding/binary"
	"testing"
	"time"
)

// FuzzPackets decodes arbitrary bytes into a packet sequence (5 bytes a
// packet: direction and size, time step as a power of two, TCP flags)
// and checks the vector against the reference after every packet, with
// a window and surge gap small enough for the fuzzer to cross both.
func FuzzPackets(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0x05, 0xdc, 10, 0x02, 0x80, 0x00, 0x28, 0, 0x12, 0x00})
	f.Add(make([]byte, 5*20))
	seq := make([]byte, 0, 5*40)
	for i := range 40 {
		seq = append(seq, byte(i*37), byte(i*11), byte(i%36), byte(i), 0)
	}
	f.Add(seq)
	f.Fuzz(func(t *testing.T, data []byte) {
		const window, gap = 8, time.Millisecond
		x, err := NewExtractor(Config{Window: window, SurgeGap: gap, Pool: 1})
		if err != nil {
			t.Fatal(err)
		}
		var fl Flow
		x.Start(&fl, 6, 0)
		var pkts []refPkt
		var now int64
		data = data[:min(len(data), 5*64)] // the reference is quadratic
		for ; len(data) >= 5; data = data[5:] {
			w := binary.BigEndian.Uint16(data)
			if step := data[2] % 40; step > 0 { // 0 keeps the time; else 2^(step-1) ns, up to ~5 min
				now += 1 << (step - 1)
			}
			p := refPkt{bwd: w&0x8000 != 0, t: now, size: uint32(w&0x7fff) << (data[3] >> 6), flags: data[4]}
			p.payload = p.size / 2
			pkts = append(pkts, p)
			end := x.Packet(&fl, p.bwd, p.t, p.size, p.payload, p.flags)
			if end != (len(pkts)%window == 0) {
				t.Fatalf("packet %d: window end %v", len(pkts), end)
			}
			compare(t, "fuzz", x.Vector(&fl, nil), reference(6, pkts, window, gap, true))
		}
	})
}
