package flow

import (
	"encoding/binary"
	"math/bits"
	"math/rand/v2"
	"testing"

	"github.com/tunnelscope/tunnelscope/dataplane/packet"
)

func TestKeyOfCanonical(t *testing.T) {
	cases := []struct {
		name      string
		p         packet.Packet
		wantFromB bool
	}{
		{"v4 low to high", pkt("10.0.0.1", 5000, "10.0.0.2", 80, packet.ProtoTCP, 0, 60), false},
		{"v4 high to low", pkt("10.0.0.2", 80, "10.0.0.1", 5000, packet.ProtoTCP, 0, 60), true},
		{"v6 high to low", pkt("2001:db8::2", 443, "2001:db8::1", 40000, packet.ProtoUDP, 0, 60), true},
		// Same address both ends: the port decides.
		{"same address, ports ascending", pkt("127.0.0.1", 1000, "127.0.0.1", 2000, packet.ProtoUDP, 0, 60), false},
		{"same address, ports descending", pkt("127.0.0.1", 2000, "127.0.0.1", 1000, packet.ProtoUDP, 0, 60), true},
		{"same endpoint", pkt("127.0.0.1", 7, "127.0.0.1", 7, packet.ProtoUDP, 0, 60), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			k, fromB := KeyOf(&c.p)
			if fromB != c.wantFromB {
				t.Errorf("fromB = %v, want %v", fromB, c.wantFromB)
			}
			if after(k.A, k.PortA, k.B, k.PortB) {
				t.Errorf("key not ordered: %+v", k)
			}
			srcAddr, srcPort := k.A, k.PortA
			if fromB {
				srcAddr, srcPort = k.B, k.PortB
			}
			if srcAddr != c.p.Src || srcPort != c.p.SrcPort {
				t.Errorf("fromB=%v points at %v:%d, packet source is %v:%d", fromB, srcAddr, srcPort, c.p.Src, c.p.SrcPort)
			}
			r := reply(c.p, 0)
			rk, rFromB := KeyOf(&r)
			if rk != k {
				t.Errorf("reverse key %+v != %+v", rk, k)
			}
			if c.p.Src != c.p.Dst || c.p.SrcPort != c.p.DstPort {
				if rFromB == fromB {
					t.Errorf("both directions have fromB=%v", fromB)
				}
			}
		})
	}
}

// after is Set's order of endpoints written out plainly: whether (a, pa)
// comes after (b, pb) comparing the addresses' first 8 bytes as
// little-endian numbers, then their last 8, then the ports.
func after(a [16]byte, pa uint16, b [16]byte, pb uint16) bool {
	for _, half := range [][2]int{{0, 8}, {8, 16}} {
		x := binary.LittleEndian.Uint64(a[half[0]:half[1]])
		y := binary.LittleEndian.Uint64(b[half[0]:half[1]])
		if x != y {
			return x > y
		}
	}
	return pa > pb
}

func TestKeyOfESPIgnoresSPI(t *testing.T) {
	out := pkt("192.0.2.1", 0, "198.51.100.7", 0, packet.ProtoESP, 0, 120)
	out.SPI = 0x1111
	back := reply(out, 0)
	back.SPI = 0x2222
	ko, _ := KeyOf(&out)
	kb, _ := KeyOf(&back)
	if ko != kb {
		t.Fatalf("ESP directions with different SPIs got keys %+v and %+v", ko, kb)
	}
	if ko.PortA != 0 || ko.PortB != 0 || ko.Proto != packet.ProtoESP {
		t.Fatalf("ESP key %+v", ko)
	}

	h := newHarness(t, smallConfig(8))
	r1 := h.send(out, 0)
	r2 := h.send(back, sec)
	other := out
	other.SPI = 0x3333 // a rekeyed SA between the same hosts stays the same flow
	r3 := h.send(other, 2*sec)
	if !r1.created || r2.created || r3.created || r2.slot != r1.slot || r3.slot != r1.slot {
		t.Fatalf("ESP split into several flows: %+v %+v %+v", r1, r2, r3)
	}
	if e := h.tab.Entry(r1.slot); e.Pkts != [2]uint64{2, 1} {
		t.Fatalf("Pkts %v, want [2 1]", e.Pkts)
	}
}

func TestHashSymmetric(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		p := randPacket(r)
		q := reply(p, 0)
		kp, _ := KeyOf(&p)
		kq, _ := KeyOf(&q)
		if kp.Hash() != kq.Hash() {
			t.Fatalf("hash differs by direction for %+v", p)
		}
		// The dispatch may hash a key built from the packet as it came.
		raw := Key{A: p.Src, B: p.Dst, PortA: p.SrcPort, PortB: p.DstPort, Proto: p.Proto, Version: p.Version}
		swapped := Key{A: p.Dst, B: p.Src, PortA: p.DstPort, PortB: p.SrcPort, Proto: p.Proto, Version: p.Version}
		if raw.Hash() != swapped.Hash() || raw.Hash() != kp.Hash() {
			t.Fatalf("hash depends on endpoint order for %+v", p)
		}
	}
}

// TestHashPortsStayWithTheirAddress: a hash that combined an endpoint's
// words by addition would give two flows between the same hosts that
// exchange their ports one value.
func TestHashPortsStayWithTheirAddress(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for range 20000 {
		p := randPacket(r)
		if p.SrcPort == p.DstPort {
			continue
		}
		k := Key{A: p.Src, B: p.Dst, PortA: p.SrcPort, PortB: p.DstPort, Proto: p.Proto, Version: p.Version}
		x := k
		x.PortA, x.PortB = k.PortB, k.PortA
		if k.Hash() == x.Hash() {
			t.Fatalf("%+v and the same hosts with ports exchanged hash alike", k)
		}
	}
}

// Set orders endpoints without a branch; this checks it against the
// ordering written out plainly (after), with ties in each word of the comparison,
// and checks that HashOf (from the packet) is the key's Hash.
func TestSetMatchesPlainOrdering(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 20000 {
		p := randPacket(r)
		if i%4 == 0 {
			p.Proto, p.SPI = packet.ProtoESP, r.Uint32() // ports ignored
		}
		// Ties in each word of the ordering: first half, whole address,
		// then ports.
		switch i % 7 {
		case 1:
			copy(p.Dst[:8], p.Src[:8])
		case 2, 3:
			p.Dst = p.Src
		}
		if i%7 == 3 {
			p.DstPort = p.SrcPort
		}
		sp, dp := p.SrcPort, p.DstPort
		if p.Proto == packet.ProtoESP {
			sp, dp = 0, 0
		}
		wantFromB := after(p.Src, sp, p.Dst, dp)
		want := Key{A: p.Src, B: p.Dst, PortA: sp, PortB: dp, Proto: p.Proto, Version: p.Version}
		if wantFromB {
			want.A, want.B, want.PortA, want.PortB = p.Dst, p.Src, dp, sp
		}
		var k Key
		fromB := k.Set(&p)
		if k != want || fromB != wantFromB {
			t.Fatalf("Set(%+v) = %+v, %v; want %+v, %v", p, k, fromB, want, wantFromB)
		}
		if h := HashOf(&p); h != k.Hash() {
			t.Fatalf("HashOf(%+v) = %x, Key.Hash = %x", p, h, k.Hash())
		}
	}
}

// checkSpread fails if any of n buckets of hash % n holds less than 80%
// or more than 120% of its share.
func checkSpread(t *testing.T, name string, hashes []uint64) {
	t.Helper()
	for _, n := range []uint64{2, 4, 8} {
		counts := make([]int, n)
		for _, h := range hashes {
			counts[h%n]++
		}
		share := float64(len(hashes)) / float64(n)
		for b, c := range counts {
			if dev := float64(c)/share - 1; dev < -0.2 || dev > 0.2 {
				t.Errorf("%s: bucket %d of %d holds %d, share %.0f", name, b, n, c, share)
			}
		}
	}
}

func TestHashDistribution(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const n = 50000
	random := make([]uint64, n)
	for i := range random {
		p := randPacket(r)
		k, _ := KeyOf(&p)
		random[i] = k.Hash()
	}
	checkSpread(t, "random flows", random)

	// Real links are far from random: one client opening sequential ports
	// to one server, or many IPv4 clients of one subnet.
	seqPorts := make([]uint64, n)
	for i := range seqPorts {
		p := pkt("10.1.2.3", uint16(1024+i), "93.184.216.34", 443, packet.ProtoTCP, 0, 60)
		k, _ := KeyOf(&p)
		seqPorts[i] = k.Hash()
	}
	checkSpread(t, "sequential ports", seqPorts)
	subnet := make([]uint64, n)
	for i := range subnet {
		p := pkt("10.0.0.0", 51000, "8.8.8.8", 53, packet.ProtoUDP, 0, 60)
		p.Src[2], p.Src[3] = byte(i>>8), byte(i)
		k, _ := KeyOf(&p)
		subnet[i] = k.Hash()
	}
	checkSpread(t, "one /16 of clients", subnet)
}

// TestHashAvalanche flips each input bit of random keys and requires
// every output bit to flip in 40% to 60% of the trials.
func TestHashAvalanche(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	const trials = 1500
	type field struct {
		name string
		bits int
		flip func(k *Key, bit int)
	}
	fields := []field{
		{"A", 128, func(k *Key, b int) { k.A[b/8] ^= 1 << (b % 8) }},
		{"B", 128, func(k *Key, b int) { k.B[b/8] ^= 1 << (b % 8) }},
		{"PortA", 16, func(k *Key, b int) { k.PortA ^= 1 << b }},
		{"PortB", 16, func(k *Key, b int) { k.PortB ^= 1 << b }},
		{"Proto", 8, func(k *Key, b int) { k.Proto ^= 1 << b }},
		{"Version", 8, func(k *Key, b int) { k.Version ^= 1 << b }},
	}
	keys := make([]Key, trials)
	for i := range keys {
		p := randPacket(r)
		keys[i], _ = KeyOf(&p)
	}
	for _, f := range fields {
		for bit := range f.bits {
			var flips [64]int
			for i := range keys {
				k := keys[i]
				h0 := k.Hash()
				f.flip(&k, bit)
				d := h0 ^ k.Hash()
				for d != 0 {
					flips[bits.TrailingZeros64(d)]++
					d &= d - 1
				}
			}
			for out, c := range flips {
				if frac := float64(c) / trials; frac < 0.4 || frac > 0.6 {
					t.Fatalf("flipping %s bit %d flips output bit %d in %.2f of trials", f.name, bit, out, frac)
				}
			}
		}
	}
}
