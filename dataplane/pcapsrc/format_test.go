package pcapsrc

import (
	"bytes"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/tunnelscope/tunnelscope/dataplane/packet"
	"github.com/tunnelscope/tunnelscope/internal/reference"
)

// ngWriter builds pcapng files block by block in either byte order, for
// the layouts the shared captures do not cover.
type ngWriter struct {
	buf bytes.Buffer
	bo  byteOrder
}

type byteOrder interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

func (w *ngWriter) block(typ uint32, body []byte) {
	for len(body)%4 != 0 {
		body = append(body, 0)
	}
	total := uint32(12 + len(body))
	var h [8]byte
	w.bo.PutUint32(h[:], typ)
	w.bo.PutUint32(h[4:], total)
	w.buf.Write(h[:])
	w.buf.Write(body)
	w.buf.Write(h[4:8])
}

func (w *ngWriter) section(bo byteOrder) {
	w.bo = bo
	b := bo.AppendUint32(nil, ngBOM)
	b = bo.AppendUint16(b, 1)
	b = bo.AppendUint16(b, 0)
	b = bo.AppendUint64(b, ^uint64(0)) // section length unknown
	w.block(magicNG, b)
}

// option appends one option, padded to 32 bits.
func (w *ngWriter) option(b []byte, code uint16, v []byte) []byte {
	b = w.bo.AppendUint16(b, code)
	b = w.bo.AppendUint16(b, uint16(len(v)))
	b = append(b, v...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func (w *ngWriter) iface(link uint16, snaplen uint32, tsresol int, tsoffset int64) {
	b := w.bo.AppendUint16(nil, link)
	b = w.bo.AppendUint16(b, 0)
	b = w.bo.AppendUint32(b, snaplen)
	b = w.option(b, 2, []byte("if"+strconv.Itoa(int(link)))) // if_name: skipped over
	if tsresol >= 0 {
		b = w.option(b, optTSResol, []byte{byte(tsresol)})
	}
	if tsoffset != 0 {
		b = w.option(b, optTSOffset, w.bo.AppendUint64(nil, uint64(tsoffset)))
	}
	b = w.option(b, optEnd, nil)
	w.block(blockIDB, b)
}

func (w *ngWriter) epb(id uint32, ts uint64, data []byte, wire uint32) {
	b := w.bo.AppendUint32(nil, id)
	b = w.bo.AppendUint32(b, uint32(ts>>32))
	b = w.bo.AppendUint32(b, uint32(ts))
	b = w.bo.AppendUint32(b, uint32(len(data)))
	b = w.bo.AppendUint32(b, wire)
	b = append(b, data...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	b = w.option(b, 1, []byte("a comment")) // opt_comment after the data
	b = w.option(b, optEnd, nil)
	w.block(blockEPB, b)
}

func (w *ngWriter) spb(data []byte) {
	w.block(blockSPB, append(w.bo.AppendUint32(nil, uint32(len(data))), data...))
}

// frameOf returns a plausible frame for link type link carrying a UDP
// packet whose payload is tag, so every frame of a test is distinct.
func frameOf(link packet.LinkType, tag byte) []byte {
	ip := []byte{0x45, 0, 0, 29, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
		0x30, 0x39, 0, 53, 0, 9, 0, 0, tag}
	switch link {
	case packet.LinkEthernet:
		eth := []byte{2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00}
		return append(eth, ip...)
	case packet.LinkLinuxSLL2:
		sll2 := []byte{0x08, 0x00, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0}
		return append(sll2, ip...)
	}
	return ip
}

type wantFrame struct {
	data []byte
	wire uint32
	time int64
	link packet.LinkType
}

// checkFile reads path and compares every frame with want, and the times
// and lengths with tshark's reading of the same file.
func checkFile(t *testing.T, path string, want []wantFrame) {
	t.Helper()
	got, err := readAll(t, path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d frames, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if !bytes.Equal(g.Data, w.data) || g.WireLen != w.wire || g.Time != w.time || g.Link != w.link {
			t.Errorf("frame %d: len %d wire %d time %d link %d; want len %d wire %d time %d link %d",
				i+1, len(g.Data), g.WireLen, g.Time, g.Link, len(w.data), w.wire, w.time, w.link)
		}
	}
	rows, err := reference.Tshark(path, nil, "frame.time_epoch", "frame.len", "frame.cap_len")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(got) {
		t.Fatalf("%d frames, tshark %d", len(got), len(rows))
	}
	for i, r := range rows {
		if r[0] == "" { // no timestamp (simple packet block): we say 0
			r[0] = "0"
		}
		if got[i].Time != epochNanos(t, r[0]) || strconv.Itoa(int(got[i].WireLen)) != r[1] || strconv.Itoa(len(got[i].Data)) != r[2] {
			t.Errorf("frame %d: time %d len %d caplen %d; tshark %v", i+1, got[i].Time, got[i].WireLen, len(got[i].Data), r)
		}
	}
}

// Two sections of opposite byte order, several interfaces with different
// link types, timestamp resolutions (µs default, ns, ms, 2^-20) and
// offsets, simple packet blocks and blocks the reader must skip.
func TestPcapNGLayouts(t *testing.T) {
	const sec = 1700000000
	var w ngWriter
	var want []wantFrame
	for si, bo := range []byteOrder{binary.LittleEndian, binary.BigEndian} {
		w.section(bo)
		w.iface(uint16(packet.LinkEthernet), 0, -1, 0)              // µs
		w.iface(uint16(packet.LinkRaw), 65535, 9, 0)                // ns
		w.iface(uint16(packet.LinkLinuxSLL2), 65535, 3, 100)        // ms, +100 s
		w.iface(uint16(packet.LinkEthernet), 65535, 0x80|20, -3600) // 2^-20 s, -1 h
		w.block(5, bo.AppendUint32(make([]byte, 8), 0))             // interface statistics
		w.block(4, make([]byte, 4))                                 // name resolution, empty: skipped
		tag := byte(16 * si)
		add := func(id uint32, link packet.LinkType, ts uint64, nanos int64) {
			tag++
			f := frameOf(link, tag)
			w.epb(id, ts, f, uint32(len(f))+4) // as if the FCS was not captured
			want = append(want, wantFrame{f, uint32(len(f)) + 4, nanos, link})
		}
		add(0, packet.LinkEthernet, sec*1e6+123456, sec*1e9+123456000)
		add(1, packet.LinkRaw, sec*1e9+987654321, sec*1e9+987654321)
		add(2, packet.LinkLinuxSLL2, sec*1e3+7, (sec+100)*1e9+7e6)
		add(3, packet.LinkEthernet, sec<<20|1<<19, (sec-3600)*1e9+5e8)
		add(1, packet.LinkRaw, sec*1e9+1, sec*1e9+1)
		f := frameOf(packet.LinkEthernet, 0xee)
		w.spb(f)
		want = append(want, wantFrame{f, uint32(len(f)), 0, packet.LinkEthernet})
	}
	path := filepath.Join(t.TempDir(), "layouts.pcapng")
	if err := os.WriteFile(path, w.buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	checkFile(t, path, want)
}

// Big-endian nanosecond pcap, and a record larger than the read buffer.
func TestPcapBigEndianAndLargeRecord(t *testing.T) {
	for _, tc := range []struct {
		name string
		bo   byteOrder
		nano bool
	}{{"be-nano", binary.BigEndian, true}, {"le-micro", binary.LittleEndian, false}} {
		t.Run(tc.name, func(t *testing.T) {
			magic := uint32(magicMicro)
			if tc.nano {
				magic = magicNano
			}
			b := tc.bo.AppendUint32(nil, magic)
			b = tc.bo.AppendUint16(b, 2)
			b = tc.bo.AppendUint16(b, 4)
			b = append(b, make([]byte, 8)...)
			b = tc.bo.AppendUint32(b, 1<<20)
			b = tc.bo.AppendUint32(b, uint32(packet.LinkEthernet))
			var want []wantFrame
			big := append(frameOf(packet.LinkEthernet, 1), make([]byte, bufSize+1000)...)
			for i, f := range [][]byte{frameOf(packet.LinkEthernet, 0), big, frameOf(packet.LinkEthernet, 2)} {
				frac := uint32(1000 * (i + 1))
				nanos := int64(1700000000)*1e9 + int64(frac)
				if !tc.nano {
					nanos = int64(1700000000)*1e9 + int64(frac)*1000
				}
				b = tc.bo.AppendUint32(b, 1700000000)
				b = tc.bo.AppendUint32(b, frac)
				b = tc.bo.AppendUint32(b, uint32(len(f)))
				b = tc.bo.AppendUint32(b, uint32(len(f)))
				b = append(b, f...)
				want = append(want, wantFrame{f, uint32(len(f)), nanos, packet.LinkEthernet})
			}
			path := filepath.Join(t.TempDir(), tc.name+".pcap")
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := readAll(t, path)
			if err != nil || len(got) != len(want) {
				t.Fatalf("%d frames, err %v", len(got), err)
			}
			for i, w := range want {
				if !bytes.Equal(got[i].Data, w.data) || got[i].Time != w.time || got[i].WireLen != w.wire {
					t.Errorf("frame %d: len %d time %d, want len %d time %d", i+1, len(got[i].Data), got[i].Time, len(w.data), w.time)
				}
			}
		})
	}
}

// A pcapng file cut inside a block is reported as truncated after the
// frames before the cut, like a cut pcap file.
func TestTruncatedPcapNG(t *testing.T) {
	var w ngWriter
	w.section(binary.LittleEndian)
	w.iface(uint16(packet.LinkEthernet), 0, -1, 0)
	for i := range 3 {
		f := frameOf(packet.LinkEthernet, byte(i))
		w.epb(0, uint64(i), f, uint32(len(f)))
	}
	b := w.buf.Bytes()
	path := filepath.Join(t.TempDir(), "cut.pcapng")
	if err := os.WriteFile(path, b[:len(b)-10], 0o644); err != nil {
		t.Fatal(err)
	}
	frames, err := readAll(t, path)
	if len(frames) != 2 || err == nil || !bytes.Contains([]byte(err.Error()), []byte("cut.pcapng")) {
		t.Fatalf("%d frames, err %v; want 2 and ErrTruncated naming the file", len(frames), err)
	}
}

// Reading frames allocates nothing, in either format, read or mapped.
func TestNextDoesNotAllocate(t *testing.T) {
	t.Run("read", testNextDoesNotAllocate)
	t.Run("mapped", func(t *testing.T) {
		mapAll(t)
		testNextDoesNotAllocate(t)
	})
}

func testNextDoesNotAllocate(t *testing.T) {
	data, err := reference.SharedData(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"../../sample/tor.pcap", filepath.Join(data, "pcap", "anydesk.pcapng")} {
		s, err := Open(name)
		if err != nil {
			t.Fatal(err)
		}
		var fr Frame
		s.Next(&fr) // the first call may grow nothing, but keep it out of the count
		frames := make([]Frame, 4)
		allocs := testing.AllocsPerRun(100, func() {
			if err := s.Next(&fr); err != nil && err != io.EOF {
				t.Fatal(err)
			}
			if _, err := s.NextBatch(frames); err != nil && err != io.EOF {
				t.Fatal(err)
			}
		})
		s.Close()
		if allocs != 0 {
			t.Errorf("%s: %.1f allocations per frame", filepath.Base(name), allocs)
		}
	}
}
