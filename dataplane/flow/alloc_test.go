package flow

import (
	"encoding/binary"
	"testing"
	"unsafe"

	"github.com/tunnelscope/tunnelscope/dataplane/packet"
)

// prepared holds distinct UDP flows with their keys, so the measured loops
// do no key work of their own (the table hashes on its own).
type prepared struct {
	p     []packet.Packet
	k     []Key
	fromB []bool
}

func prepare(n int) prepared {
	pr := prepared{make([]packet.Packet, n), make([]Key, n), make([]bool, n)}
	for i := range n {
		p := &pr.p[i]
		p.Version, p.Proto, p.IPLen = 4, packet.ProtoUDP, 100
		binary.BigEndian.PutUint32(p.Src[:4], 10<<24|uint32(i))
		binary.BigEndian.PutUint32(p.Dst[:4], 172<<24|16<<16)
		p.SrcPort, p.DstPort = uint16(i)|1024, 443
		pr.k[i], pr.fromB[i] = KeyOf(p)
	}
	return pr
}

func (pr *prepared) send(t *Table, i int, now int64) {
	t.Packet(&pr.k[i], pr.fromB[i], now, &pr.p[i], pr.p[i].IPLen+frameExtra)
}

func newTable(tb testing.TB, capacity int) *Table {
	tb.Helper()
	tab, err := New(smallConfig(capacity), func(uint32, *Entry, EndReason) {})
	if err != nil {
		tb.Fatal(err)
	}
	return tab
}

func TestPacketDoesNotAllocate(t *testing.T) {
	const runs = 1000
	t.Run("existing flows", func(t *testing.T) {
		tab := newTable(t, 1024)
		pr := prepare(512)
		for i := range pr.p {
			pr.send(tab, i, 0)
		}
		i := 0
		if a := testing.AllocsPerRun(runs, func() {
			pr.send(tab, i%len(pr.p), int64(i))
			i++
		}); a != 0 {
			t.Fatalf("%v allocations per packet", a)
		}
		if tab.Stats().Created != 512 {
			t.Fatalf("Created %d: the packets did not hit existing flows", tab.Stats().Created)
		}
	})
	t.Run("new flows", func(t *testing.T) {
		tab := newTable(t, 2*runs)
		pr := prepare(runs + 1)
		i := 0
		if a := testing.AllocsPerRun(runs, func() {
			pr.send(tab, i, int64(i))
			i++
		}); a != 0 {
			t.Fatalf("%v allocations per packet", a)
		}
		if tab.Stats().Created != runs+1 || tab.Stats().Evicted != 0 {
			t.Fatalf("stats %+v", tab.Stats())
		}
	})
	t.Run("expire", func(t *testing.T) {
		tab := newTable(t, 64)
		pr := prepare(16)
		now := int64(0)
		if a := testing.AllocsPerRun(runs, func() {
			for i := range pr.p {
				pr.send(tab, i, now)
			}
			now += 3600 * sec
			tab.Expire(now)
		}); a != 0 {
			t.Fatalf("%v allocations per round", a)
		}
		if st := tab.Stats(); st.Ended[EndIdle] != 16*(runs+1) || tab.Len() != 0 {
			t.Fatalf("Ended %v Len %d, want every round's flows ended idle", st.Ended, tab.Len())
		}
	})
	t.Run("eviction", func(t *testing.T) {
		tab := newTable(t, 64)
		pr := prepare(runs + 65)
		for i := range 64 {
			pr.send(tab, i, 0)
		}
		i := 64
		if a := testing.AllocsPerRun(runs, func() {
			pr.send(tab, i, int64(i))
			i++
		}); a != 0 {
			t.Fatalf("%v allocations per packet", a)
		}
		if st := tab.Stats(); st.Evicted != runs+1 {
			t.Fatalf("Evicted %d, want %d", st.Evicted, runs+1)
		}
	})
}

// benchSetup makes a table of capacity, prepares packets for flows
// distinct flows, opens the first open of them and starts the clock.
func benchSetup(b *testing.B, capacity, flows, open int) (*Table, prepared) {
	tab := newTable(b, capacity)
	pr := prepare(flows)
	for i := range open {
		pr.send(tab, i, 0)
	}
	b.ReportAllocs()
	b.ResetTimer()
	// After ResetTimer, which drops reported metrics.
	b.ReportMetric(float64(tab.Footprint())/float64(tab.Capacity()), "B/flow")
	return tab, pr
}

// BenchmarkPacketExisting: packets over 64k established flows.
func BenchmarkPacketExisting(b *testing.B) {
	const flows = 1 << 16
	tab, pr := benchSetup(b, 2*flows, flows, flows)
	for i := range b.N {
		pr.send(tab, i&(flows-1), int64(i))
	}
}

// BenchmarkPacketNewFlow: every packet is a new flow in a full table, so
// each one also evicts.
func BenchmarkPacketNewFlow(b *testing.B) {
	const capacity = 1 << 16
	tab, pr := benchSetup(b, capacity, 4*capacity, capacity)
	for i := range b.N {
		// Cycling through four times the capacity means the flow was
		// evicted long ago: always a miss.
		pr.send(tab, (capacity+i)%len(pr.p), int64(i))
	}
	if tab.Stats().Evicted < uint64(b.N) {
		b.Fatalf("Evicted %d of %d", tab.Stats().Evicted, b.N)
	}
}

// BenchmarkExpire: cost of Expire per flow it ends, in batches of up to
// the capacity created with the clock stopped.
func BenchmarkExpire(b *testing.B) {
	const capacity = 1 << 16
	tab, pr := benchSetup(b, capacity, capacity, 0)
	now := int64(0)
	for done := 0; done < b.N; {
		b.StopTimer()
		n := min(capacity, b.N-done)
		for i := range n {
			pr.send(tab, i, now)
		}
		now += 3600 * sec
		b.StartTimer()
		tab.Expire(now)
		done += n
	}
	if tab.Len() != 0 {
		b.Fatalf("%d flows left", tab.Len())
	}
}

func TestFootprint(t *testing.T) {
	tab := newTable(t, 1000)
	// 1000 entries, and an index of 2048 cells: the power of two at or
	// above twice the capacity.
	want := 1000*int(unsafe.Sizeof(Entry{})) + 2048*8
	if tab.Footprint() != want {
		t.Fatalf("Footprint %d, want %d", tab.Footprint(), want)
	}
	if unsafe.Sizeof(Entry{}) > 128 {
		t.Fatalf("Entry is %d bytes: it no longer fits two cache lines", unsafe.Sizeof(Entry{}))
	}
}
