package flow

import (
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/tunnelscope/tunnelscope/dataplane/packet"
)

const sec = int64(time.Second)

// ended records one onEnd call with a copy of the entry as it was then.
type ended struct {
	slot uint32
	e    Entry
	why  EndReason
}

type harness struct {
	t     *testing.T
	tab   *Table
	ended []ended
}

func newHarness(t *testing.T, cfg Config) *harness {
	t.Helper()
	h := &harness{t: t}
	tab, err := New(cfg, func(slot uint32, e *Entry, why EndReason) {
		h.ended = append(h.ended, ended{slot, *e, why})
	})
	if err != nil {
		t.Fatal(err)
	}
	h.tab = tab
	return h
}

// smallConfig has distinct, short timeouts so each class can be told apart.
func smallConfig(capacity int) Config {
	return Config{
		Capacity:       capacity,
		TCP:            Timeouts{Idle: 100 * time.Second, Active: 1000 * time.Second},
		UDP:            Timeouts{Idle: 10 * time.Second, Active: 30 * time.Second},
		Other:          Timeouts{Idle: 1 * time.Second, Active: 20 * time.Second},
		TCPCloseLinger: 2 * time.Second,
	}
}

func addr(s string) [16]byte {
	a := netip.MustParseAddr(s)
	var out [16]byte
	if a.Is4() {
		b := a.As4()
		copy(out[:], b[:])
	} else {
		out = a.As16()
	}
	return out
}

// pkt builds the decoded view of a packet from src:sport to dst:dport.
func pkt(src string, sport uint16, dst string, dport uint16, proto, flags uint8, ipLen uint32) packet.Packet {
	v := uint8(4)
	if netip.MustParseAddr(src).Is6() {
		v = 6
	}
	return packet.Packet{
		Version: v, Proto: proto,
		Src: addr(src), Dst: addr(dst), SrcPort: sport, DstPort: dport,
		TCPFlags: flags, IPLen: ipLen,
	}
}

// reply swaps the endpoints of p and sets its flags.
func reply(p packet.Packet, flags uint8) packet.Packet {
	p.Src, p.Dst = p.Dst, p.Src
	p.SrcPort, p.DstPort = p.DstPort, p.SrcPort
	p.TCPFlags = flags
	return p
}

func with(p packet.Packet, flags uint8) packet.Packet {
	p.TCPFlags = flags
	return p
}

// frameExtra is what the tests add to IPLen to get a frame length.
const frameExtra = 14

type result struct {
	slot    uint32
	dir     Dir
	created bool
}

func (h *harness) send(p packet.Packet, now int64) result {
	h.t.Helper()
	k, fromB := KeyOf(&p)
	s, d, c := h.tab.Packet(&k, fromB, now, &p, p.IPLen+frameExtra)
	if int(s) >= h.tab.Capacity() {
		h.t.Fatalf("slot %d outside capacity %d", s, h.tab.Capacity())
	}
	checkInvariants(h.t, h.tab)
	return result{s, d, c}
}

func (h *harness) wantEnded(n int) {
	h.t.Helper()
	if len(h.ended) != n {
		h.t.Fatalf("%d flows ended, want %d: %+v", len(h.ended), n, h.ended)
	}
}

func randPacket(r *rand.Rand) packet.Packet {
	var p packet.Packet
	protos := [...]uint8{packet.ProtoTCP, packet.ProtoUDP, packet.ProtoICMP, packet.ProtoSCTP, packet.ProtoGRE}
	p.Proto = protos[r.IntN(len(protos))]
	if r.IntN(2) == 0 {
		p.Version = 4
		for i := range 4 {
			p.Src[i], p.Dst[i] = byte(r.Uint32()), byte(r.Uint32())
		}
	} else {
		p.Version = 6
		for i := range 16 {
			p.Src[i], p.Dst[i] = byte(r.Uint32()), byte(r.Uint32())
		}
	}
	if p.Proto != packet.ProtoICMP && p.Proto != packet.ProtoGRE {
		p.SrcPort, p.DstPort = uint16(r.Uint32()), uint16(r.Uint32())
	}
	return p
}

// checkInvariants walks every structure of tab and fails on the first
// inconsistency: lists sorted by time and covering exactly the active
// flows, every flow found through the index at its own slot, and no
// index cell left over.
func checkInvariants(t *testing.T, tab *Table) {
	t.Helper()
	seen := make(map[int32]int)
	walk := func(l list, which int, class int, byTime func(*Entry) int64) {
		prev := nilSlot
		for s := l.head; s != nilSlot; s = tab.slab[s].link[which].next {
			e := &tab.slab[s]
			if e.link[which].prev != prev {
				t.Fatalf("slot %d: prev link %d, want %d", s, e.link[which].prev, prev)
			}
			if prev != nilSlot && byTime(&tab.slab[prev]) > byTime(e) {
				t.Fatalf("list %d/%d out of time order at slot %d", which, class, s)
			}
			if e.First > e.Last || e.Last > tab.now {
				t.Fatalf("slot %d: First %d Last %d now %d", s, e.First, e.Last, tab.now)
			}
			seen[s]++
			prev = s
		}
		if l.tail != prev {
			t.Fatalf("list %d/%d tail %d, want %d", which, class, l.tail, prev)
		}
	}
	for c, l := range tab.rec {
		walk(l, byLast, c, func(e *Entry) int64 { return e.Last })
	}
	for c, l := range tab.age {
		walk(l, byFirst, c, func(e *Entry) int64 { return e.First })
	}
	if len(seen) != tab.Len() {
		t.Fatalf("%d flows on lists, Len %d", len(seen), tab.Len())
	}
	for s, n := range seen {
		if n != 2 {
			t.Fatalf("slot %d is on %d lists, want 2", s, n)
		}
		e := &tab.slab[s]
		if got, ok := tab.lookup(&e.Key, e.Key.Hash()); !ok || got != s {
			t.Fatalf("slot %d not found through the index", s)
		}
	}
	cells := 0
	for _, c := range tab.index {
		if c != 0 {
			cells++
		}
	}
	if cells != tab.Len() {
		t.Fatalf("%d index cells, Len %d", cells, tab.Len())
	}
	st := tab.Stats()
	var endedSum uint64
	for _, n := range st.Ended {
		endedSum += n
	}
	if st.Created-endedSum != uint64(tab.Len()) {
		t.Fatalf("Created %d - ended %d != Len %d", st.Created, endedSum, tab.Len())
	}
}
