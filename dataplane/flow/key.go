package flow

import (
	"encoding/binary"
	"math/bits"

	"github.com/tunnelscope/tunnelscope/dataplane/packet"
)

// Key identifies a flow. It is canonical: the packets of both directions
// give the same Key, so one table entry and one hash serve the whole flow.
type Key struct {
	A, B         [16]byte // endpoints in Set's order: (A,PortA) never after (B,PortB)
	PortA, PortB uint16
	Proto        uint8
	Version      uint8
}

// KeyOf returns the canonical key of p and whether p travels from B to A.
//
// ESP flows are keyed by the address pair only: each direction of an
// IPsec association has its own SPI, and keying by SPI would split one
// tunnel into two unrelated one-way flows.
func KeyOf(p *packet.Packet) (k Key, fromB bool) {
	fromB = k.Set(p)
	return k, fromB
}

// Set makes k the canonical key of p, as KeyOf does, and reports whether p
// travels from B to A. Filling a Key the caller already holds spares the
// hot path copying a returned 38-byte struct, which the compiler does
// through overlapping stores that stall the loads after them.
//
// The order of endpoints only has to be total and fixed; the one chosen is
// the cheapest to compute: the address's first 8 bytes read as a
// little-endian number, then its last 8 the same way, then the port. It
// orders and stores the endpoints without a branch: which way a packet
// travels is a coin toss to the branch predictor, and a branch on it
// mispredicted on about half of all packets. (Src, SrcPort) after (Dst,
// DstPort) is the borrow out of the three-word subtraction of the first
// from the second.
func (k *Key) Set(p *packet.Packet) (fromB bool) {
	sp, dp := ports(p)
	s0, s1, d0, d1 := addrWords(p)
	_, borrow := bits.Sub64(uint64(dp), uint64(sp), 0)
	_, borrow = bits.Sub64(d1, s1, borrow)
	_, borrow = bits.Sub64(d0, s0, borrow)
	m := -borrow // all ones when the packet travels from B to A
	x0, x1, xp := (s0^d0)&m, (s1^d1)&m, (sp^dp)&uint16(m)
	binary.LittleEndian.PutUint64(k.A[:8], s0^x0)
	binary.LittleEndian.PutUint64(k.A[8:], s1^x1)
	binary.LittleEndian.PutUint64(k.B[:8], d0^x0)
	binary.LittleEndian.PutUint64(k.B[8:], d1^x1)
	k.PortA, k.PortB = sp^xp, dp^xp
	k.Proto, k.Version = p.Proto, p.Version
	return borrow != 0
}

// HashOf is the Hash of p's key, computed from p's own fields without
// building the key: the hash does not depend on the order of the
// endpoints. The dispatch stages use it, as they need only the hash.
func HashOf(p *packet.Packet) uint64 {
	sp, dp := ports(p)
	s0, s1, d0, d1 := addrWords(p)
	return mix(endpointWords(s0, s1, sp)+endpointWords(d0, d1, dp), p.Proto, p.Version)
}

// addrWords returns p's addresses as little-endian words: Src is s0, s1
// and Dst d0, d1. An IPv4 address is read with a 4-byte load, the width of
// the decoder's store of it: an 8-byte load over that store and the
// zeroing stores beside it cannot be forwarded from the store buffer, and
// waited for the stores to reach the cache on every packet: that load held
// 44% of HashOf's samples, and HashOf 6.6% of a dispatching lcore's.
func addrWords(p *packet.Packet) (s0, s1, d0, d1 uint64) {
	if p.Version == 4 { // the other 12 bytes are zero (see packet.Packet)
		return uint64(binary.LittleEndian.Uint32(p.Src[:4])), 0, uint64(binary.LittleEndian.Uint32(p.Dst[:4])), 0
	}
	return binary.LittleEndian.Uint64(p.Src[:8]), binary.LittleEndian.Uint64(p.Src[8:]),
		binary.LittleEndian.Uint64(p.Dst[:8]), binary.LittleEndian.Uint64(p.Dst[8:])
}

func ports(p *packet.Packet) (sp, dp uint16) {
	sp, dp = p.SrcPort, p.DstPort
	if p.Proto == packet.ProtoESP {
		sp, dp = 0, 0
	}
	return sp, dp
}

// Odd multipliers with well-spread bits; any such constants work, these
// are the golden-ratio and two of its neighbours used widely for mixing.
const (
	mulA = 0x9e3779b97f4a7c15
	mulB = 0xc2b2ae3d27d4eb4f
	mulC = 0x165667b19e3779f9
)

// endpoint folds one (address, port) into 64 bits. Each word is
// multiplied on its own, so the three products run in parallel; the
// multiply chain of one round per word after another sat in front of the
// index's load on every packet that changes flow. Multiplying spreads a
// word's bits upwards only; the finaliser in mix spreads them back down.
// The words are combined by xor, not addition: with addition the sum of
// two endpoints would not change when they swapped ports.
func endpoint(addr *[16]byte, port uint16) uint64 {
	return endpointWords(binary.LittleEndian.Uint64(addr[0:8]), binary.LittleEndian.Uint64(addr[8:16]), port)
}

// endpointWords is endpoint of the address whose little-endian words are
// a0 and a1.
func endpointWords(a0, a1 uint64, port uint16) uint64 {
	return (a0^mulC)*mulA ^ bits.RotateLeft64((a1^mulA)*mulB, 32) ^ (uint64(port)|1<<16)*mulC
}

// Hash returns a 64-bit hash of k that is the same for both directions,
// which the live software RSS dispatch relies on to send both to one
// worker. It holds even for a Key built from a packet without KeyOf's
// ordering: the two endpoint states are combined by addition, which does
// not depend on their order.
// The finaliser (xor-shift-multiply rounds) makes every input bit flip
// about half of the output bits, so hash % n and hash & mask both spread.
func (k *Key) Hash() uint64 {
	return mix(endpoint(&k.A, k.PortA)+endpoint(&k.B, k.PortB), k.Proto, k.Version)
}

// mix adds the protocol to the sum of the endpoint states and finalises.
func mix(h uint64, proto, version uint8) uint64 {
	h ^= (uint64(proto)<<8 | uint64(version)) * mulC
	h ^= h >> 32
	h *= mulA
	h ^= h >> 29
	h *= mulB
	h ^= h >> 32
	return h
}
