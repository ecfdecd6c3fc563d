package flow

import (
	"math/rand/v2"
	"testing"

	"github.com/tunnelscope/tunnelscope/dataplane/packet"
)

type packetKey struct {
	p     packet.Packet
	k     Key
	fromB bool
}

func distinctPackets(r *rand.Rand, n int) []packetKey {
	seen := make(map[Key]bool, n)
	out := make([]packetKey, 0, n)
	for len(out) < n {
		p := randPacket(r)
		k, fromB := KeyOf(&p)
		if !seen[k] {
			seen[k] = true
			out = append(out, packetKey{p, k, fromB})
		}
	}
	return out
}

// The index doubles as flows arrive: through an odd and an even number of
// doublings every flow stays reachable, no cell is lost or left over, and
// the index ends at the size a full table needs.
func TestIndexGrows(t *testing.T) {
	for _, capacity := range []int{3 * initialIndex, 5 * initialIndex} {
		tab := newTable(t, capacity)
		if len(tab.index) != initialIndex {
			t.Fatalf("capacity %d: index starts at %d cells, want %d", capacity, len(tab.index), initialIndex)
		}
		pkts := distinctPackets(rand.New(rand.NewPCG(uint64(capacity), 1)), capacity)
		for i := range pkts {
			tab.Packet(&pkts[i].k, pkts[i].fromB, int64(i), &pkts[i].p, 60)
		}
		checkInvariants(t, tab)
		full := 1
		for full < 2*capacity {
			full <<= 1
		}
		if tab.Len() != capacity || len(tab.index) != full {
			t.Fatalf("capacity %d: %d flows, index %d cells; want %d and %d", capacity, tab.Len(), len(tab.index), capacity, full)
		}
		for i := range pkts {
			if _, ok := tab.Lookup(&pkts[i].k, pkts[i].k.Hash()); !ok {
				t.Fatalf("capacity %d: flow %d lost in a doubling", capacity, i)
			}
		}
		// Deleting from a grown index keeps the survivors reachable.
		tab.Expire(int64(len(pkts)) + int64(smallConfig(1).Other.Idle))
		checkInvariants(t, tab)
		tab.Flush(EndEOF)
		checkInvariants(t, tab)
	}
}

// Growing the index allocates nothing: its room was reserved by New.
//
// Each measured run grows its own table through three doublings. One run
// alone would also count any allocation the runtime makes meanwhile on
// another goroutine (CI once saw one under -race that did not recur in
// 790 runs here); over ten runs such a stray rounds away, while an
// allocation made by the growing itself, at least one a run, does not.
func TestIndexGrowsWithoutAllocating(t *testing.T) {
	const runs = 10
	pkts := distinctPackets(rand.New(rand.NewPCG(3, 4)), 4*initialIndex)
	// AllocsPerRun calls f once unmeasured before the measured runs.
	tabs := make([]*Table, runs+1)
	for i := range tabs {
		tabs[i] = newTable(t, 4*initialIndex)
	}
	next := 0
	allocs := testing.AllocsPerRun(runs, func() {
		tab := tabs[next]
		next++
		for i := range pkts {
			p := &pkts[i]
			tab.Packet(&p.k, p.fromB, int64(i), &p.p, 60)
		}
	})
	for i, tab := range tabs {
		if len(tab.index) != 8*initialIndex {
			t.Fatalf("table %d: index at %d cells, want %d", i, len(tab.index), 8*initialIndex)
		}
	}
	if allocs != 0 {
		t.Fatalf("%.1f allocations a run while the index grew", allocs)
	}
}
