package flow

import (
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tunnelscope/tunnelscope/dataplane/packet"
)

const (
	syn    = packet.TCPSyn
	synAck = packet.TCPSyn | packet.TCPAck
	ack    = packet.TCPAck
	finAck = packet.TCPFin | packet.TCPAck
	rst    = packet.TCPRst
)

func TestBothDirectionsOneEntry(t *testing.T) {
	for _, c := range []struct{ name, client, server string }{
		{"IPv4 client below server", "10.0.0.1", "10.0.0.200"},
		{"IPv4 client above server", "172.16.9.9", "10.0.0.200"},
		{"IPv6", "2001:db8::beef", "2001:db8::1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, smallConfig(16))
			out := pkt(c.client, 51000, c.server, 443, packet.ProtoTCP, syn, 60)
			r1 := h.send(out, 10*sec)
			r2 := h.send(reply(out, synAck), 11*sec)
			r3 := h.send(with(out, ack), 12*sec)
			if !r1.created || r2.created || r3.created {
				t.Fatalf("created = %v %v %v, want only the first", r1.created, r2.created, r3.created)
			}
			if r2.slot != r1.slot || r3.slot != r1.slot || h.tab.Len() != 1 {
				t.Fatalf("slots %d %d %d, Len %d: want one flow", r1.slot, r2.slot, r3.slot, h.tab.Len())
			}
			if r1.dir != Forward || r2.dir != Backward || r3.dir != Forward {
				t.Fatalf("dirs %v %v %v, want forward backward forward", r1.dir, r2.dir, r3.dir)
			}
			e := h.tab.Entry(r1.slot)
			if e.Pkts != [2]uint64{2, 1} || e.Bytes != [2]uint64{120, 60} || e.FrameBytes != [2]uint64{120 + 2*frameExtra, 60 + frameExtra} {
				t.Fatalf("Pkts %v Bytes %v FrameBytes %v", e.Pkts, e.Bytes, e.FrameBytes)
			}
			if e.First != 10*sec || e.Last != 12*sec {
				t.Fatalf("First %d Last %d", e.First, e.Last)
			}
			if a, p := e.Src(); a != addr(c.client) || p != 51000 {
				t.Fatalf("Src %v:%d, want the client", a, p)
			}
			if a, p := e.Dst(); a != addr(c.server) || p != 443 {
				t.Fatalf("Dst %v:%d, want the server", a, p)
			}
		})
	}
}

func TestFirstPacketDecidesInitiator(t *testing.T) {
	const client, server = "10.0.0.9", "10.0.0.1" // client is endpoint B
	base := pkt(client, 40000, server, 80, packet.ProtoTCP, 0, 52)
	cases := []struct {
		name       string
		first      packet.Packet
		wantClient bool // the client is the initiator
		firstDir   Dir
	}{
		{"SYN from client", with(base, syn), true, Forward},
		{"SYN-ACK from server", reply(base, synAck), true, Backward},
		{"mid-stream ACK from server", reply(base, ack), false, Forward},
		{"UDP from server", reply(pkt(client, 40000, server, 53, packet.ProtoUDP, 0, 40), 0), false, Forward},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, smallConfig(4))
			r := h.send(c.first, 0)
			if r.dir != c.firstDir {
				t.Fatalf("first packet dir %v, want %v", r.dir, c.firstDir)
			}
			a, _ := h.tab.Entry(r.slot).Src()
			if (a == addr(client)) != c.wantClient {
				t.Fatalf("Src %v, client initiator %v", a, c.wantClient)
			}
		})
	}
}

func TestTimeBackwards(t *testing.T) {
	h := newHarness(t, smallConfig(8))
	p := pkt("10.0.0.1", 1, "10.0.0.2", 2, packet.ProtoUDP, 0, 100)
	r := h.send(p, 50*sec)
	h.send(reply(p, 0), 45*sec)
	q := pkt("10.0.0.3", 1, "10.0.0.4", 2, packet.ProtoUDP, 0, 100)
	r2 := h.send(q, 20*sec) // a new flow in the past starts at the latest time
	if st := h.tab.Stats(); st.Backwards != 2 {
		t.Fatalf("Backwards %d, want 2", st.Backwards)
	}
	if e := h.tab.Entry(r.slot); e.First != 50*sec || e.Last != 50*sec || e.Pkts != [2]uint64{1, 1} {
		t.Fatalf("entry %+v", e)
	}
	if e := h.tab.Entry(r2.slot); e.First != 50*sec {
		t.Fatalf("new flow First %d, want the clamped 50s", e.First)
	}
	h.tab.Expire(0)
	if h.tab.Now() != 50*sec || h.tab.Len() != 2 {
		t.Fatalf("Expire in the past: Now %d Len %d", h.tab.Now(), h.tab.Len())
	}
}

func TestJumpByYears(t *testing.T) {
	h := newHarness(t, smallConfig(8))
	t2020 := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	t2035 := time.Date(2035, 6, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	old := pkt("10.0.0.1", 1000, "10.0.0.2", 53, packet.ProtoUDP, 0, 80)
	oldTCP := pkt("10.0.0.1", 1001, "10.0.0.2", 80, packet.ProtoTCP, syn, 60)
	h.send(old, t2020)
	h.send(oldTCP, t2020+sec)
	r := h.send(pkt("10.9.9.9", 5, "10.8.8.8", 6, packet.ProtoUDP, 0, 80), t2035)
	// Both 2020 flows end inside that Packet call, as idle.
	h.wantEnded(2)
	for _, en := range h.ended {
		if en.why != EndIdle {
			t.Fatalf("flow ended %v, want idle", en.why)
		}
	}
	if h.tab.Len() != 1 || !r.created {
		t.Fatalf("Len %d after the jump", h.tab.Len())
	}
	// Back to 2020 again: counted at 2035 on a new flow.
	back := h.send(old, t2020+2*sec)
	if !back.created {
		t.Fatal("the ended 2020 flow came back to life")
	}
	if e := h.tab.Entry(back.slot); e.First != t2035 || e.Last != t2035 {
		t.Fatalf("First %d Last %d, want both %d", e.First, e.Last, t2035)
	}
	// From the far past to the far future and the end of int64 time:
	// durations stay non-negative and nothing overflows.
	h.send(pkt("10.5.5.5", 5, "10.6.6.6", 6, packet.ProtoUDP, 0, 80), math.MaxInt64)
	h.tab.Expire(math.MaxInt64)
	if h.tab.Len() != 1 {
		t.Fatalf("Len %d at the end of time, want the one flow just seen", h.tab.Len())
	}
}

func TestJumpFromNegativeTime(t *testing.T) {
	h := newHarness(t, smallConfig(8))
	h.send(pkt("10.0.0.1", 1, "10.0.0.2", 2, packet.ProtoICMP, 0, 80), math.MinInt64+5)
	h.send(pkt("10.0.0.3", 1, "10.0.0.4", 2, packet.ProtoUDP, 0, 80), math.MaxInt64-5)
	h.wantEnded(1)
	if h.ended[0].why != EndIdle {
		t.Fatalf("ended %v", h.ended[0].why)
	}
}

func TestIdleBoundary(t *testing.T) {
	udp := pkt("10.0.0.1", 1000, "10.0.0.2", 53, packet.ProtoUDP, 0, 80)
	idle := 10 * sec // smallConfig UDP idle

	t.Run("Expire", func(t *testing.T) {
		h := newHarness(t, smallConfig(8))
		h.send(udp, 5*sec)
		h.tab.Expire(5*sec + idle)
		h.wantEnded(0)
		h.tab.Expire(5*sec + idle + 1)
		h.wantEnded(1)
		if h.ended[0].why != EndIdle || h.tab.Len() != 0 {
			t.Fatalf("ended %v, Len %d", h.ended[0].why, h.tab.Len())
		}
	})
	t.Run("packet at the boundary continues the flow", func(t *testing.T) {
		h := newHarness(t, smallConfig(8))
		r1 := h.send(udp, 5*sec)
		r2 := h.send(reply(udp, 0), 5*sec+idle)
		if r2.created || r2.slot != r1.slot {
			t.Fatal("packet exactly one idle timeout later started a new flow")
		}
		h.wantEnded(0)
	})
	t.Run("packet past the boundary starts a new flow", func(t *testing.T) {
		h := newHarness(t, smallConfig(8))
		h.send(udp, 5*sec)
		r2 := h.send(reply(udp, 0), 5*sec+idle+1)
		h.wantEnded(1)
		if !r2.created || h.ended[0].why != EndIdle || h.ended[0].e.Pkts != [2]uint64{1, 0} {
			t.Fatalf("created %v, old flow %+v", r2.created, h.ended[0])
		}
		// The new flow's initiator is the sender of its own first packet.
		if e := h.tab.Entry(r2.slot); r2.dir != Forward || e.Pkts != [2]uint64{1, 0} {
			t.Fatalf("new flow dir %v Pkts %v", r2.dir, e.Pkts)
		}
	})
}

func TestActiveBoundary(t *testing.T) {
	udp := pkt("10.0.0.1", 1000, "10.0.0.2", 53, packet.ProtoUDP, 0, 80)
	active := 30 * sec // smallConfig UDP active; idle is 10s

	t.Run("Expire", func(t *testing.T) {
		h := newHarness(t, smallConfig(8))
		for s := int64(0); s < 30; s += 5 {
			h.send(udp, 100*sec+s*sec)
		}
		h.tab.Expire(100*sec + active - 1)
		h.wantEnded(0)
		h.tab.Expire(100*sec + active)
		h.wantEnded(1)
		if h.ended[0].why != EndActive || h.ended[0].e.Pkts[Forward] != 6 {
			t.Fatalf("ended %+v", h.ended[0])
		}
	})
	t.Run("packet at the boundary starts a new flow", func(t *testing.T) {
		h := newHarness(t, smallConfig(8))
		first := h.send(udp, 100*sec)
		for s := int64(5); s < 30; s += 5 {
			if r := h.send(reply(udp, 0), 100*sec+s*sec); r.created {
				t.Fatalf("new flow at +%ds", s)
			}
		}
		r := h.send(reply(udp, 0), 100*sec+active)
		h.wantEnded(1)
		if !r.created || h.ended[0].why != EndActive || h.ended[0].slot != first.slot {
			t.Fatalf("created %v, ended %+v", r.created, h.ended[0])
		}
		if e := h.tab.Entry(r.slot); e.First != 100*sec+active {
			t.Fatalf("new flow First %d", e.First)
		}
	})
}

func TestPerProtocolTimeouts(t *testing.T) {
	h := newHarness(t, smallConfig(8))
	tcp := h.send(pkt("10.0.0.1", 1, "10.0.0.2", 80, packet.ProtoTCP, ack, 52), 0)
	udp := h.send(pkt("10.0.0.1", 2, "10.0.0.2", 53, packet.ProtoUDP, 0, 52), 0)
	icmp := h.send(pkt("10.0.0.1", 0, "10.0.0.2", 0, packet.ProtoICMP, 0, 52), 0)
	// Idle timeouts: other 1s, UDP 10s, TCP 100s.
	steps := []struct {
		at   int64
		slot uint32
	}{{sec + 1, icmp.slot}, {10*sec + 1, udp.slot}, {100*sec + 1, tcp.slot}}
	for i, st := range steps {
		h.tab.Expire(st.at - 1)
		h.wantEnded(i)
		h.tab.Expire(st.at)
		h.wantEnded(i + 1)
		if got := h.ended[i]; got.slot != st.slot || got.why != EndIdle {
			t.Fatalf("at %d ended slot %d (%v), want slot %d idle", st.at, got.slot, got.why, st.slot)
		}
	}

	// Active timeouts: other 20s, UDP 30s, TCP 1000s; keep each busy.
	h = newHarness(t, smallConfig(8))
	flows := []packet.Packet{
		pkt("10.0.0.1", 0, "10.0.0.2", 0, packet.ProtoICMP, 0, 52),
		pkt("10.0.0.1", 2, "10.0.0.2", 53, packet.ProtoUDP, 0, 52),
		pkt("10.0.0.1", 1, "10.0.0.2", 80, packet.ProtoTCP, ack, 52),
	}
	for now := int64(0); now < 1000*sec; now += sec / 2 {
		for _, p := range flows {
			h.send(p, now)
		}
	}
	counts := map[uint8]int{}
	for _, en := range h.ended {
		if en.why != EndActive {
			t.Fatalf("ended %v, want active", en.why)
		}
		if d := en.e.Last - en.e.First; d >= int64(smallConfig(1).Other.Active) && en.e.Key.Proto == packet.ProtoICMP {
			t.Fatalf("ICMP flow lasted %d", d)
		}
		counts[en.e.Key.Proto]++
	}
	// Flows restart at 0, 20, 40, ... (ICMP) and 0, 30, 60, ... (UDP).
	if counts[packet.ProtoICMP] != 49 || counts[packet.ProtoUDP] != 33 || counts[packet.ProtoTCP] != 0 {
		t.Fatalf("active ends per protocol %v, want ICMP 49 UDP 33 TCP 0", counts)
	}
}

// handshake opens a TCP connection from client to server at time at.
func handshake(h *harness, c packet.Packet, at int64) result {
	r := h.send(with(c, syn), at)
	h.send(reply(c, synAck), at+1)
	h.send(with(c, ack), at+2)
	return r
}

func TestTCPFinLinger(t *testing.T) {
	h := newHarness(t, smallConfig(8))
	c := pkt("10.0.0.9", 40000, "10.0.0.1", 443, packet.ProtoTCP, 0, 52)
	r := handshake(h, c, 0)
	e := h.tab.Entry(r.slot)
	h.send(with(c, finAck), 10*sec)
	h.send(reply(c, ack), 10*sec+1)
	if e.Closing() {
		t.Fatal("closing after a FIN from one side only")
	}
	// A half-closed flow keeps the TCP idle timeout (100s), not the linger.
	h.tab.Expire(20 * sec)
	h.wantEnded(0)
	closeAt := 30 * sec
	h.send(reply(c, finAck), closeAt)
	if !e.Closing() {
		t.Fatal("not closing after FIN from both sides")
	}
	linger := int64(smallConfig(1).TCPCloseLinger)
	// The final ACK inside the linger still belongs to the flow.
	lastAck := closeAt + linger/2
	if got := h.send(with(c, ack), lastAck); got.created || got.slot != r.slot || got.dir != Forward {
		t.Fatalf("trailing ACK: %+v", got)
	}
	h.tab.Expire(lastAck + linger)
	h.wantEnded(0)
	h.tab.Expire(lastAck + linger + 1)
	h.wantEnded(1)
	got := h.ended[0]
	if got.why != EndFIN || got.slot != r.slot {
		t.Fatalf("ended %+v", got)
	}
	// SYN, ACK, FIN, trailing ACK forward; SYN-ACK, ACK, FIN backward.
	if got.e.Pkts != [2]uint64{4, 3} || got.e.Last != lastAck || got.e.First != 0 {
		t.Fatalf("Pkts %v First %d Last %d", got.e.Pkts, got.e.First, got.e.Last)
	}
}

func TestTCPRst(t *testing.T) {
	for _, fromServer := range []bool{false, true} {
		h := newHarness(t, smallConfig(8))
		c := pkt("10.0.0.9", 40000, "10.0.0.1", 443, packet.ProtoTCP, 0, 52)
		r := handshake(h, c, 0)
		p := with(c, rst|ack)
		if fromServer {
			p = reply(c, rst|ack)
		}
		h.send(p, 5*sec)
		if !h.tab.Entry(r.slot).Closing() {
			t.Fatal("not closing after RST")
		}
		h.send(p, 5*sec+sec) // a repeated RST inside the 2s linger
		h.tab.Expire(6*sec + 2*sec)
		h.wantEnded(0)
		h.tab.Expire(6*sec + 2*sec + 1)
		h.wantEnded(1)
		if got := h.ended[0]; got.why != EndRST || got.e.Pkts[0]+got.e.Pkts[1] != 5 {
			t.Fatalf("fromServer=%v: ended %+v", fromServer, got)
		}
	}
}

func TestPacketOnClosingFlowAfterLinger(t *testing.T) {
	h := newHarness(t, smallConfig(8))
	c := pkt("10.0.0.9", 40000, "10.0.0.1", 443, packet.ProtoTCP, 0, 52)
	handshake(h, c, 0)
	h.send(reply(c, rst), sec)
	// Late data after the linger: the RST flow ends, the packet starts anew.
	r := h.send(with(c, ack), 10*sec)
	h.wantEnded(1)
	if h.ended[0].why != EndRST || !r.created {
		t.Fatalf("ended %v, created %v", h.ended[0].why, r.created)
	}
}

func TestSYNReusesClosingTuple(t *testing.T) {
	h := newHarness(t, smallConfig(8))
	c := pkt("10.0.0.9", 40000, "10.0.0.1", 443, packet.ProtoTCP, 0, 52)
	first := handshake(h, c, 0)
	// A retransmitted SYN on an open flow is just another packet.
	if r := h.send(with(c, syn), 3); r.created || r.slot != first.slot {
		t.Fatalf("SYN on an open flow: %+v", r)
	}
	h.send(with(c, finAck), sec)
	h.send(reply(c, finAck), sec+1)
	// A SYN-ACK is not a new connection either.
	if r := h.send(reply(c, synAck), sec+2); r.created {
		t.Fatal("SYN-ACK on a closing flow started a new one")
	}
	h.wantEnded(0)
	second := h.send(with(c, syn), sec+3) // well inside the 2s linger
	h.wantEnded(1)
	if h.ended[0].why != EndFIN || h.ended[0].slot != first.slot || h.ended[0].e.Pkts != [2]uint64{4, 3} {
		t.Fatalf("old flow ended %+v", h.ended[0])
	}
	if !second.created || second.dir != Forward || h.tab.Len() != 1 {
		t.Fatalf("new flow %+v, Len %d", second, h.tab.Len())
	}
	if e := h.tab.Entry(second.slot); e.Closing() || e.Pkts != [2]uint64{1, 0} || e.First != sec+3 {
		t.Fatalf("new flow %+v", e)
	}
	if st := h.tab.Stats(); st.Reused != 1 || st.Created != 2 {
		t.Fatalf("Reused %d Created %d", st.Reused, st.Created)
	}
	// The new flow's timeouts are TCP ones again, not the linger.
	h.tab.Expire(sec + 3 + 50*sec)
	h.wantEnded(1)
}

// mixedFlows opens a TCP, a UDP, an ICMP and another TCP flow.
func mixedFlows() []packet.Packet {
	return []packet.Packet{
		pkt("10.0.0.1", 1, "10.0.0.2", 80, packet.ProtoTCP, syn, 52),
		pkt("10.0.0.1", 2, "10.0.0.2", 53, packet.ProtoUDP, 0, 52),
		pkt("10.0.0.1", 0, "10.0.0.3", 0, packet.ProtoICMP, 0, 52),
		pkt("10.0.0.1", 3, "10.0.0.2", 80, packet.ProtoTCP, syn, 52),
	}
}

func TestEvictionOrder(t *testing.T) {
	h := newHarness(t, smallConfig(4))
	flows := mixedFlows()
	slots := make([]uint32, len(flows))
	for i, p := range flows {
		slots[i] = h.send(p, int64(i)*100).slot
	}
	h.send(reply(flows[0], synAck), 400) // flow 0 is now the most recent
	// Recency order is 1 (UDP), 2 (ICMP), 3 (TCP), 0 (TCP).
	wantOrder := []int{1, 2, 3, 0}
	for i, want := range wantOrder {
		p := pkt("10.1.0.1", uint16(100+i), "10.1.0.2", 80, packet.ProtoTCP, syn, 52)
		r := h.send(p, 500+int64(i))
		h.wantEnded(i + 1)
		got := h.ended[i]
		if got.why != EndEvicted || got.slot != slots[want] {
			t.Fatalf("eviction %d: slot %d (%v), want flow %d in slot %d", i, got.slot, got.why, want, slots[want])
		}
		if r.slot != slots[want] || !r.created {
			t.Fatalf("new flow took slot %d, want the freed %d", r.slot, slots[want])
		}
	}
	if st := h.tab.Stats(); st.Evicted != 4 || st.Ended[EndEvicted] != 4 || h.tab.Len() != 4 {
		t.Fatalf("Evicted %d Ended[evicted] %d Len %d", st.Evicted, st.Ended[EndEvicted], h.tab.Len())
	}
}

func TestEvictionPrefersClosingOnTie(t *testing.T) {
	h := newHarness(t, smallConfig(2))
	open := pkt("10.0.0.1", 1, "10.0.0.2", 80, packet.ProtoTCP, ack, 52)
	closing := pkt("10.0.0.1", 2, "10.0.0.2", 80, packet.ProtoTCP, rst, 52)
	h.send(open, 7)
	rc := h.send(closing, 7)
	h.send(pkt("10.0.0.1", 3, "10.0.0.2", 80, packet.ProtoTCP, syn, 52), 8)
	h.wantEnded(1)
	if h.ended[0].slot != rc.slot || h.ended[0].why != EndEvicted {
		t.Fatalf("evicted %+v, want the closing flow", h.ended[0])
	}
}

// TestChurn runs ten times the capacity in flows through a small table
// with random protocols, flags, directions and clock jitter, checking every
// structure after every packet.
func TestChurn(t *testing.T) {
	const capacity = 64
	h := newHarness(t, smallConfig(capacity))
	r := rand.New(rand.NewPCG(7, 8))
	pool := make([]packet.Packet, 10*capacity)
	for i := range pool {
		pool[i] = randPacket(r)
	}
	footprint := h.tab.Footprint()
	now := int64(1e18)
	flags := []uint8{0, syn, synAck, ack, finAck, rst}
	for i := range 20000 {
		p := pool[r.IntN(len(pool))]
		if r.IntN(2) == 0 {
			p = reply(p, 0)
		}
		p.TCPFlags = flags[r.IntN(len(flags))]
		now += r.Int64N(int64(sec)) - int64(sec)/10 // sometimes backwards
		h.send(p, now)
		if h.tab.Len() > capacity {
			t.Fatalf("packet %d: Len %d over capacity", i, h.tab.Len())
		}
		if i%100 == 0 {
			h.tab.Expire(now + r.Int64N(20*sec))
			checkInvariants(t, h.tab)
		}
	}
	if h.tab.Footprint() != footprint {
		t.Fatal("memory grew")
	}
	st := h.tab.Stats()
	if st.Evicted == 0 || st.Ended[EndIdle] == 0 || st.Ended[EndRST] == 0 || st.Ended[EndFIN] == 0 || st.Backwards == 0 {
		t.Fatalf("churn did not reach every path: %+v", st)
	}
	if st.Peak != capacity {
		t.Fatalf("Peak %d, want %d", st.Peak, capacity)
	}
	// Every slot handed out was used and reused; none outside capacity.
	slots := map[uint32]bool{}
	for _, en := range h.ended {
		slots[en.slot] = true
	}
	if len(slots) != capacity {
		t.Fatalf("%d distinct slots ended, want %d", len(slots), capacity)
	}
}

// TestIndexCollisions forces every flow onto a few home cells, including
// the last cells so probe runs wrap, and ends flows in every order, so the
// backward-shift deletion must keep each survivor reachable.
func TestIndexCollisions(t *testing.T) {
	tab, err := New(smallConfig(32), nil)
	if err != nil {
		t.Fatal(err)
	}
	homes := map[uint64]bool{tab.mask: true, tab.mask - 1: true, 0: true, 3: true}
	r := rand.New(rand.NewPCG(9, 10))
	keys := map[Key]uint64{}
	for round := 0; round < 2000; {
		// Only keys whose hash lands on one of the homes: a few in
		// every mask+1 random keys.
		p := randPacket(r)
		k, fromB := KeyOf(&p)
		hash := k.Hash()
		if !homes[hash&tab.mask] {
			continue
		}
		keys[k] = hash
		tab.Packet(&k, fromB, int64(round)*int64(sec)/4, &p, 60)
		checkInvariants(t, tab)
		round++
	}
	found := 0
	for k, hash := range keys {
		if _, ok := tab.Lookup(&k, hash); ok {
			found++
		}
	}
	if found != tab.Len() {
		t.Fatalf("found %d of %d flows by key", found, tab.Len())
	}
}

func TestFlush(t *testing.T) {
	h := newHarness(t, smallConfig(8))
	flows := append(mixedFlows(), pkt("10.0.0.1", 4, "10.0.0.2", 80, packet.ProtoTCP, rst, 52))
	var slots []uint32
	for i, p := range flows {
		slots = append(slots, h.send(p, int64(i)).slot)
	}
	// Touch them newest first so recency order is the reverse of age.
	for i := len(flows) - 2; i >= 0; i-- {
		h.send(reply(flows[i], ack), 10+int64(len(flows)-i))
	}
	h.tab.Flush(EndEOF)
	h.wantEnded(len(flows))
	for i, en := range h.ended {
		if en.slot != slots[i] || en.why != EndEOF {
			t.Fatalf("flush %d: slot %d (%v), want slot %d eof", i, en.slot, en.why, slots[i])
		}
	}
	if h.tab.Len() != 0 || h.tab.Stats().Ended[EndEOF] != uint64(len(flows)) {
		t.Fatalf("Len %d, stats %+v", h.tab.Len(), h.tab.Stats())
	}
	// The table works as new afterwards.
	if r := h.send(flows[0], 20*sec); !r.created || h.tab.Len() != 1 {
		t.Fatal("no flow after Flush")
	}
	h.tab.Flush(EndEOF)
	h.tab.Flush(EndEOF)
	h.wantEnded(len(flows) + 1)
}

func TestStats(t *testing.T) {
	h := newHarness(t, smallConfig(3))
	c := pkt("10.0.0.9", 40000, "10.0.0.1", 443, packet.ProtoTCP, 0, 52)
	handshake(h, c, 0) // created 1, at 0..2 ns
	udp1 := pkt("10.0.0.9", 1, "10.0.0.1", 53, packet.ProtoUDP, 0, 52)
	udp2 := pkt("10.0.0.9", 2, "10.0.0.1", 53, packet.ProtoUDP, 0, 52)
	h.send(udp1, 3)                                                       // created 2
	h.send(pkt("10.0.0.9", 0, "10.0.0.1", 0, packet.ProtoICMP, 0, 52), 4) // created 3
	h.send(reply(c, rst), 5)                                              // TCP closing, now the most recent
	h.send(udp2, 6)                                                       // created 4, evicts udp1 (Last 3)
	h.send(udp2, 0)                                                       // backwards
	h.tab.Expire(5 * sec)                                                 // RST after its linger, ICMP idle
	h.tab.Expire(12 * sec)                                                // udp2 idle
	want := Stats{Created: 4, Evicted: 1, Backwards: 1, Peak: 3}
	want.Ended[EndEvicted] = 1
	want.Ended[EndRST] = 1
	want.Ended[EndIdle] = 2
	if got := h.tab.Stats(); got != want {
		t.Fatalf("Stats %+v, want %+v", got, want)
	}
}

func TestConfigValidate(t *testing.T) {
	def := DefaultConfig()
	if err := def.Validate(); err != nil {
		t.Fatal(err)
	}
	if def.Capacity != 1<<20 || def.TCP.Idle != 60*time.Second || def.UDP.Active != 300*time.Second || def.TCPCloseLinger != time.Second {
		t.Fatalf("DefaultConfig %+v", def)
	}
	cases := []struct {
		field string
		bad   func(*Config)
	}{
		{"Capacity", func(c *Config) { c.Capacity = 0 }},
		{"Capacity", func(c *Config) { c.Capacity = MaxCapacity + 1 }},
		{"TCP.Idle", func(c *Config) { c.TCP.Idle = 0 }},
		{"UDP.Active", func(c *Config) { c.UDP.Active = -time.Second }},
		{"Other.Idle", func(c *Config) { c.Other.Idle = -1 }},
		{"TCPCloseLinger", func(c *Config) { c.TCPCloseLinger = -time.Millisecond }},
	}
	for _, c := range cases {
		cfg := DefaultConfig()
		c.bad(&cfg)
		err := cfg.Validate()
		if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), c.field+" is") {
			t.Errorf("%s: error %v", c.field, err)
		}
		if tab, err2 := New(cfg, nil); tab != nil || err2 == nil {
			t.Errorf("%s: New accepted the config", c.field)
		}
	}
	cfg := DefaultConfig()
	cfg.TCPCloseLinger = 0
	if err := cfg.Validate(); err != nil {
		t.Errorf("zero linger rejected: %v", err)
	}
}

func TestEndReasonString(t *testing.T) {
	want := map[EndReason]string{EndFIN: "fin", EndRST: "rst", EndIdle: "idle", EndActive: "active", EndEvicted: "evicted", EndEOF: "eof", 200: "EndReason(200)"}
	for r, s := range want {
		if r.String() != s {
			t.Errorf("%d.String() = %q, want %q", r, r.String(), s)
		}
	}
}

// TestEntryHasNoPointers walks the types of the slab and the index: a
// pointer anywhere would make the garbage collector scan them.
func TestEntryHasNoPointers(t *testing.T) {
	var walk func(path string, typ reflect.Type)
	walk = func(path string, typ reflect.Type) {
		switch typ.Kind() {
		case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
			reflect.Float32, reflect.Float64:
		case reflect.Array:
			walk(path+"[]", typ.Elem())
		case reflect.Struct:
			for i := range typ.NumField() {
				walk(path+"."+typ.Field(i).Name, typ.Field(i).Type)
			}
		default:
			t.Errorf("%s is a %v, which holds a pointer", path, typ.Kind())
		}
	}
	walk("Entry", reflect.TypeFor[Entry]())
	tab, err := New(smallConfig(1), nil)
	if err != nil {
		t.Fatal(err)
	}
	walk("index", reflect.TypeOf(tab.index).Elem())
	walk("slab", reflect.TypeOf(tab.slab).Elem())
}

// TestActiveShorterThanIdle: a flow's first deadline may be its active
// one, and nothing else may wake the table before it.
func TestActiveShorterThanIdle(t *testing.T) {
	cfg := smallConfig(4)
	cfg.Other = Timeouts{Idle: 60 * time.Second, Active: 5 * time.Second}
	h := newHarness(t, cfg)
	h.send(pkt("10.0.0.1", 0, "10.0.0.2", 0, packet.ProtoGRE, 0, 100), 0)
	h.tab.Expire(5*sec - 1)
	h.wantEnded(0)
	h.tab.Expire(5 * sec)
	h.wantEnded(1)
	if h.ended[0].why != EndActive {
		t.Fatalf("ended %v, want active", h.ended[0].why)
	}
}
