//go:build dpdk

package dpdk

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/pcapgo"
)

// frame is one received packet, copied out of its mbufs.
type frame struct {
	data []byte
	usec uint64
	segs int
}

// pcapgoFrames reads a capture independently of DPDK.
func pcapgoFrames(t *testing.T, path string) []frame {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// Some shared captures named .pcap are pcapng; libpcap reads both.
	var r interface {
		ReadPacketData() ([]byte, gopacket.CaptureInfo, error)
	}
	br := bufio.NewReader(f)
	if magic, _ := br.Peek(4); bytes.Equal(magic, []byte{0x0a, 0x0d, 0x0d, 0x0a}) {
		r, err = pcapgo.NewNgReader(br, pcapgo.DefaultNgReaderOptions)
	} else {
		r, err = pcapgo.NewReader(br)
	}
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var fs []frame
	for {
		data, ci, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			return fs
		}
		if err != nil {
			t.Fatalf("%s: packet %d: %v", path, len(fs), err)
		}
		fs = append(fs, frame{data: data, usec: uint64(ci.Timestamp.UnixMicro())})
	}
}

// idlePolls is how many empty bursts in a row mean the capture is exhausted.
const idlePolls = 100

// drainQueue receives from p/q until it delivers nothing idlePolls times in a
// row, checking each packet's segment chain, and returns what it got. It is
// safe to run on an lcore: failures are returned, not reported through t.
func drainQueue(p Port, q uint16, dyn Dynfield) ([]frame, []string) {
	b := NewBurst(32)
	defer b.Free()
	scratch := make([]byte, 0, 1<<16)
	var fs []frame
	var problems []string
	for idle := 0; idle < idlePolls; {
		n := p.RxBurst(q, b)
		if n == 0 {
			idle++
			continue
		}
		idle = 0
		for i := range n {
			m := b.Mbuf(i)
			if msg := checkChain(m); msg != "" {
				problems = append(problems, msg)
			}
			ts, ok := m.Timestamp(dyn)
			if !ok {
				problems = append(problems, "packet without timestamp")
			}
			f := frame{data: bytes.Clone(m.Frame(scratch)), usec: ts, segs: int(m.NbSegs())}
			if f.segs > 1 {
				problems = append(problems, checkTruncation(m, f.data)...)
			}
			fs = append(fs, f)
		}
		b.FreeAll(n)
	}
	return fs, problems
}

// segmentRoom is how much of a frame segment i holds: net_pcap gives the
// first segment the data room after the headroom, and reclaims the headroom
// of the segments chained after it.
func segmentRoom(i int) int {
	if i == 0 {
		return testDataRoom - MbufHeadroom
	}
	return testDataRoom
}

// segmentsFor is how many segments net_pcap uses for an n-byte frame.
func segmentsFor(n int) int {
	segs := 1
	for n -= segmentRoom(0); n > 0; n -= segmentRoom(segs) {
		segs++
	}
	return segs
}

// checkChain verifies that the segments add up to the packet.
func checkChain(m Mbuf) string {
	segs, total := 0, 0
	for s := m; !s.IsNil(); s = s.Next() {
		if len(s.Data()) != int(s.DataLen()) {
			return "Data length differs from DataLen"
		}
		if room := segmentRoom(segs); int(s.DataLen()) > room {
			return fmt.Sprintf("segment %d of %d bytes, room for %d", segs, s.DataLen(), room)
		}
		segs++
		total += int(s.DataLen())
	}
	switch {
	case segs != int(m.NbSegs()):
		return "NbSegs differs from the chain length"
	case total != int(m.PktLen()):
		return "segment lengths do not add up to PktLen"
	}
	return ""
}

func compareFrames(t *testing.T, name string, got, want []frame) {
	t.Helper()
	if len(want) == 0 {
		t.Fatalf("%s: pcapgo read no packets", name)
	}
	if len(got) != len(want) {
		t.Errorf("%s: received %d packets, pcapgo read %d", name, len(got), len(want))
	}
	for i := range min(len(got), len(want)) {
		if !bytes.Equal(got[i].data, want[i].data) {
			t.Errorf("%s: packet %d: %d bytes differ from pcapgo's %d", name, i, len(got[i].data), len(want[i].data))
		}
		if got[i].usec != want[i].usec {
			t.Errorf("%s: packet %d: timestamp %d µs, pcapgo %d µs", name, i, got[i].usec, want[i].usec)
		}
	}
}

// rewind restarts a net_pcap port, which reopens its captures, and zeroes
// its counters, so that the tests also pass with -count.
func rewind(t *testing.T, p Port) {
	t.Helper()
	for _, step := range []func() error{p.Stop, p.StatsReset, p.Start} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
}

func tsField(t *testing.T) Dynfield {
	t.Helper()
	dyn, err := LookupTimestampDynfield()
	if err != nil {
		t.Fatal(err)
	}
	return dyn
}

func checkStats(t *testing.T, p Port, want []frame) {
	t.Helper()
	st, err := p.Stats()
	if err != nil {
		t.Fatal(err)
	}
	var bytes uint64
	for _, f := range want {
		bytes += uint64(len(f.data))
	}
	if st.Ipackets != uint64(len(want)) || st.Ibytes != bytes {
		t.Errorf("port %d stats: %d packets, %d bytes; capture has %d, %d", p, st.Ipackets, st.Ibytes, len(want), bytes)
	}
}

func TestPcapPortMatchesPcapgo(t *testing.T) {
	for _, c := range []struct {
		name    string
		port    Port
		path    string
		chained int // frames over the 2 KiB data room
	}{
		{"http_ipv6", portSimple, pcapSimple, 3},
		{"webex", portJumbo, pcapJumbo, 68},
	} {
		t.Run(c.name, func(t *testing.T) {
			rewind(t, c.port)
			want := pcapgoFrames(t, c.path)
			got, problems := drainQueue(c.port, 0, tsField(t))
			for _, p := range problems {
				t.Error(p)
			}
			compareFrames(t, c.name, got, want)
			chained := 0
			for _, f := range got {
				if f.segs > 1 {
					chained++
					if wantSegs := segmentsFor(len(f.data)); f.segs != wantSegs {
						t.Errorf("%d-byte frame in %d segments, want %d", len(f.data), f.segs, wantSegs)
					}
				}
			}
			if chained != c.chained {
				t.Errorf("%d chained packets, want %d", chained, c.chained)
			}
			checkStats(t, c.port, want)
		})
	}
}

// TestPcapQueuesOnLcores drains the two rx queues of one port concurrently,
// each from its own worker lcore, as the live worker does.
func TestPcapQueuesOnLcores(t *testing.T) {
	lcores := Lcores()
	if len(lcores) < 2 {
		t.Fatalf("need 2 worker lcores, EAL gave %v", lcores)
	}
	rewind(t, portQueues)
	dyn := tsField(t)
	paths := []string{pcapQueue0, pcapQueue1}
	got := make([][]frame, 2)
	problems := make([][]string, 2)
	ids := make([]uint, 2)
	for q := range 2 {
		err := LaunchOnLcore(lcores[q], func() {
			ids[q] = LcoreID()
			got[q], problems[q] = drainQueue(portQueues, uint16(q), dyn)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	var all []frame
	for q := range 2 {
		if err := WaitLcore(lcores[q]); err != nil {
			t.Fatal(err)
		}
		if ids[q] != lcores[q] {
			t.Errorf("queue %d: ran on lcore %d, launched on %d", q, ids[q], lcores[q])
		}
		for _, p := range problems[q] {
			t.Errorf("queue %d: %s", q, p)
		}
		want := pcapgoFrames(t, paths[q])
		compareFrames(t, paths[q], got[q], want)
		all = append(all, want...)
	}
	checkStats(t, portQueues, all)
}

// checkTruncation copies a chained packet into scratch buffers too small for
// it: Frame must return exactly the prefix that fits.
func checkTruncation(m Mbuf, full []byte) []string {
	var problems []string
	var small [3000]byte
	for _, c := range []int{0, 100, 2048, 2049, len(full) - 1} {
		got := m.Frame(small[:0:min(c, len(small))])
		if want := full[:min(c, len(small))]; !bytes.Equal(got, want) {
			problems = append(problems, fmt.Sprintf("Frame into %d-byte scratch: %d bytes, want the %d-byte prefix", c, len(got), len(want)))
		}
	}
	return problems
}
