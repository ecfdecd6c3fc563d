package packet

import (
	"encoding/binary"
	"net/netip"
)

// Frame builders for the synthetic tests. Each writes the header fields
// from the RFCs directly, so the expected values in the tables follow from
// the header sizes, not from the decoder.

func cat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func be16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }
func be32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

// addr16 is an address as Packet stores it.
func addr16(s string) [16]byte {
	a := netip.MustParseAddr(s)
	if a.Is4() {
		var r [16]byte
		b := a.As4()
		copy(r[:], b[:])
		return r
	}
	return a.As16()
}

// eth is an Ethernet II header; each tpid adds a VLAN tag with it.
func eth(et uint16, tpids ...uint16) []byte {
	h := []byte{2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2}
	for i, t := range tpids {
		h = append(h, be16(t)...)
		h = append(h, be16(uint16(100+i))...)
	}
	return append(h, be16(et)...)
}

// pppoe is a PPPoE session header and PPP protocol in front of pl.
func pppoe(proto uint16, pl []byte) []byte {
	return cat([]byte{0x11, 0x00}, be16(0x1234), be16(uint16(2+len(pl))), be16(proto), pl)
}

func sll(proto uint16) []byte {
	return cat(be16(0), be16(1), be16(6), []byte{1, 2, 3, 4, 5, 6, 0, 0}, be16(proto))
}

func sll2(proto uint16) []byte {
	return cat(be16(proto), be16(0), be32(2), be16(1), []byte{0, 6}, []byte{1, 2, 3, 4, 5, 6, 0, 0})
}

// ip4 is an IPv4 header with a correct total length before pl.
func ip4(proto uint8, src, dst string, pl []byte) []byte {
	return ip4x(proto, src, dst, pl, nil, 0, -1)
}

// ip4x sets options, the flags/fragment-offset word and, when total >= 0,
// a total length that need not match.
func ip4x(proto uint8, src, dst string, pl, opts []byte, frag uint16, total int) []byte {
	ihl := 20 + len(opts)
	h := make([]byte, ihl)
	h[0] = 0x40 | byte(ihl/4)
	if total < 0 {
		total = ihl + len(pl)
	}
	binary.BigEndian.PutUint16(h[2:], uint16(total))
	binary.BigEndian.PutUint16(h[6:], frag)
	h[8] = 64
	h[9] = proto
	s, d := netip.MustParseAddr(src).As4(), netip.MustParseAddr(dst).As4()
	copy(h[12:], s[:])
	copy(h[16:], d[:])
	copy(h[20:], opts)
	var sum uint32
	for i := 0; i < ihl; i += 2 {
		sum += uint32(binary.BigEndian.Uint16(h[i:]))
	}
	for sum > 0xFFFF {
		sum = sum&0xFFFF + sum>>16
	}
	binary.BigEndian.PutUint16(h[10:], ^uint16(sum))
	return cat(h, pl)
}

// ip6 is an IPv6 header with a correct payload length before pl.
func ip6(next uint8, src, dst string, pl []byte) []byte {
	return ip6x(next, src, dst, pl, len(pl))
}

func ip6x(next uint8, src, dst string, pl []byte, plen int) []byte {
	h := make([]byte, 40)
	h[0] = 0x60
	binary.BigEndian.PutUint16(h[4:], uint16(plen))
	h[6] = next
	h[7] = 64
	s, d := netip.MustParseAddr(src).As16(), netip.MustParseAddr(dst).As16()
	copy(h[8:], s[:])
	copy(h[24:], d[:])
	return cat(h, pl)
}

// ext6 is a generic IPv6 extension header of (units+1)*8 bytes (PadN).
func ext6(next uint8, units int) []byte {
	h := make([]byte, (units+1)*8)
	h[0], h[1] = next, byte(units)
	h[2], h[3] = 1, byte(len(h)-4)
	return h
}

// ah6 is an authentication header whose length field is plen: (plen+2)*4 bytes.
func ah6(next uint8, plen int) []byte {
	h := make([]byte, (plen+2)*4)
	h[0], h[1] = next, byte(plen)
	copy(h[4:], be32(0xA1B2C3D4))
	return h
}

// frag6 is a fragment header; off is in 8-octet units.
func frag6(next uint8, off uint16, more bool) []byte {
	w := off << 3
	if more {
		w |= 1
	}
	return cat([]byte{next, 0}, be16(w), be32(0xCAFE))
}

func tcp(sport, dport uint16, flags uint8, optWords int, pl []byte) []byte {
	h := make([]byte, 20+4*optWords)
	binary.BigEndian.PutUint16(h, sport)
	binary.BigEndian.PutUint16(h[2:], dport)
	h[12] = byte(5+optWords) << 4
	h[13] = flags
	for i := 20; i < len(h); i++ {
		h[i] = 1 // NOP options
	}
	return cat(h, pl)
}

func udp(sport, dport uint16, pl []byte) []byte {
	return cat(be16(sport), be16(dport), be16(uint16(8+len(pl))), be16(0), pl)
}

func sctp(sport, dport uint16, pl []byte) []byte {
	return cat(be16(sport), be16(dport), be32(0x01020304), be32(0), pl)
}

// icmp is an ICMP or ICMPv6 message: type, code, checksum, 4 bytes, body.
func icmp(typ, code uint8, body []byte) []byte {
	return cat([]byte{typ, code, 0, 0, 0, 0, 0, 0}, body)
}

func esp(spi uint32, pl []byte) []byte { return cat(be32(spi), be32(1), pl) }

// gtpu is a GTPv1-U header; opt is what follows the mandatory 8 bytes
// (sequence, N-PDU, next type and extension headers).
func gtpu(flags, msg uint8, opt, pl []byte) []byte {
	return cat([]byte{flags, msg}, be16(uint16(len(opt)+len(pl))), be32(0x11223344), opt, pl)
}

func gre(flags, proto uint16, opt, pl []byte) []byte {
	return cat(be16(flags), be16(proto), opt, pl)
}

func vxlan(pl []byte) []byte { return cat([]byte{0x08, 0, 0, 0, 0, 0x12, 0x34, 0}, pl) }

// bytesN is n bytes of recognisable filler.
func bytesN(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('a' + i%26)
	}
	return b
}
