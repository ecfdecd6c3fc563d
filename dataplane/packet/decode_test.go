package packet

import (
	"errors"
	"fmt"
	"testing"
)

const (
	c4, s4   = "10.0.0.1", "192.0.2.7"
	o4a, o4b = "198.51.100.1", "198.51.100.2"
	c6, s6   = "2001:db8::1", "2001:db8:1::7"
	o6a, o6b = "2001:db8:ff::1", "2001:db8:ff::2"
	pshAck   = TCPPsh | TCPAck
)

var pl10 = []byte("0123456789")

// Segments most cases carry: 10 bytes of payload behind a 20-byte TCP
// header (PSH|ACK) or an 8-byte UDP header.
func tcp10() []byte { return tcp(40000, 443, pshAck, 0, pl10) }
func udp10() []byte { return udp(5000, 53, pl10) }

// pk is the expected Packet for the common fields; TCP cases get the
// PSH|ACK flags every tcp10 segment carries.
func pk(v, proto uint8, src, dst string, sp, dp uint16, ipOff, l4, pay, ipLen, payLen uint32) Packet {
	p := Packet{Version: v, Proto: proto, Src: addr16(src), Dst: addr16(dst), SrcPort: sp, DstPort: dp,
		IPLen: ipLen, PayloadLen: payLen, IPOffset: ipOff, L4Offset: l4, PayloadOffset: pay}
	if proto == ProtoTCP {
		p.TCPFlags = pshAck
	}
	return p
}

func tcp4(ipOff uint32) Packet {
	return pk(4, 6, c4, s4, 40000, 443, ipOff, ipOff+20, ipOff+40, 50, 10)
}
func udp4(ipOff uint32) Packet { return pk(4, 17, c4, s4, 5000, 53, ipOff, ipOff+20, ipOff+28, 38, 10) }
func tcp6(ipOff uint32) Packet {
	return pk(6, 6, c6, s6, 40000, 443, ipOff, ipOff+40, ipOff+60, 70, 10)
}
func udp6(ipOff uint32) Packet { return pk(6, 17, c6, s6, 5000, 53, ipOff, ipOff+40, ipOff+48, 58, 10) }

func with(p Packet, f func(*Packet)) Packet { f(&p); return p }

// set returns a copy of b with b[i] = v.
func set(b []byte, i int, v byte) []byte {
	c := append([]byte(nil), b...)
	c[i] = v
	return c
}

type decodeCase struct {
	name  string
	link  LinkType
	decap Decap
	frame []byte
	want  Packet
	err   error
}

func decodeCases() []decodeCase {
	e4 := eth(0x0800)
	e6 := eth(0x86DD)
	tunnels := func(n uint8) func(*Packet) { return func(p *Packet) { p.Tunnels = n } }
	inner4 := ip4(6, c4, s4, tcp10())
	inner6 := ip6(17, c6, s6, udp10())
	gtpOuter := func(tpids []uint16, g []byte) []byte {
		return cat(eth(0x0800, tpids...), ip4(17, o4a, o4b, udp(2152, 2152, g)))
	}
	quoted4 := ip4(6, s4, c4, tcp(443, 40000, TCPAck, 0, nil))[:28]
	quoted6 := ip6(6, s6, c6, tcp(443, 40000, TCPAck, 0, nil))[:48]
	badDoff := set(tcp(40000, 443, pshAck, 0, nil), 12, 0xF0)
	pptpOpt := cat(be16(24), be16(7), be32(1))
	hbhJumbo := cat([]byte{6, 0, 0xC2, 4}, be32(70068-40))
	nest := ip4(17, "10.0.0.5", "10.0.1.5", udp10())
	for i := 4; i >= 1; i-- {
		nest = ip4(4, fmt.Sprintf("10.0.0.%d", i), fmt.Sprintf("10.0.1.%d", i), nest)
	}
	nest = cat(e4, ip4(4, o4a, o4b, nest))
	tooDeep6 := ip6(17, "::", "::", nil)[:0]
	for range 12 {
		tooDeep6 = append(tooDeep6, ext6(60, 0)...)
	}
	ok6 := cat(tooDeep6[:len(tooDeep6)-8], ext6(17, 0), udp10())
	tooDeep6 = cat(tooDeep6, ext6(17, 0), udp10())

	return []decodeCase{
		// Ethernet, VLANs, PPPoE.
		{name: "eth-ipv4-tcp", link: LinkEthernet, frame: cat(e4, inner4), want: tcp4(14)},
		{name: "eth-ipv4-tcp-padded", link: LinkEthernet, frame: cat(e4, ip4(6, c4, s4, tcp(40000, 443, pshAck, 0, nil)), make([]byte, 6)),
			want: pk(4, 6, c4, s4, 40000, 443, 14, 34, 54, 40, 0)},
		{name: "eth-ipv4-tcp-options", link: LinkEthernet, frame: cat(e4, ip4(6, c4, s4, tcp(40000, 443, pshAck, 3, pl10))),
			want: pk(4, 6, c4, s4, 40000, 443, 14, 34, 66, 62, 10)},
		{name: "eth-ipv4-df-not-fragment", link: LinkEthernet, frame: cat(e4, ip4x(17, c4, s4, udp10(), nil, 0x4000, -1)), want: udp4(14)},
		{name: "qinq-ipv4-udp", link: LinkEthernet, frame: cat(eth(0x0800, 0x88A8, 0x8100), ip4(17, c4, s4, udp10())),
			want: with(udp4(22), func(p *Packet) { p.VLANs = 2 })},
		{name: "eth-ipv6-tcp", link: LinkEthernet, frame: cat(e6, ip6(6, c6, s6, tcp10())), want: tcp6(14)},
		{name: "eth-ipv6-udp-padded", link: LinkEthernet, frame: cat(e6, inner6, make([]byte, 6)), want: udp6(14)},
		{name: "vlan-ipv4-tcp", link: LinkEthernet, frame: cat(eth(0x0800, 0x8100), inner4),
			want: with(tcp4(18), func(p *Packet) { p.VLANs = 1 })},
		{name: "qinq-ipv6-udp", link: LinkEthernet, frame: cat(eth(0x86DD, 0x88A8, 0x8100), inner6),
			want: with(udp6(22), func(p *Packet) { p.VLANs = 2 })},
		{name: "vlan3-ipv6-tcp", link: LinkEthernet, frame: cat(eth(0x86DD, 0x8100, 0x9100, 0x8100), ip6(6, c6, s6, tcp10())),
			want: with(tcp6(26), func(p *Packet) { p.VLANs = 3 })},
		{name: "vlan-too-deep", link: LinkEthernet, frame: cat(eth(0x0800, 0x8100, 0x8100, 0x8100, 0x8100, 0x8100, 0x8100, 0x8100, 0x8100, 0x8100), inner4), err: ErrTooDeep},
		{name: "vlan8-ok", link: LinkEthernet, frame: cat(eth(0x0800, 0x8100, 0x8100, 0x8100, 0x8100, 0x8100, 0x8100, 0x8100, 0x8100), inner4),
			want: with(tcp4(46), func(p *Packet) { p.VLANs = 8 })},
		{name: "pppoe-ipv4-udp", link: LinkEthernet, frame: cat(eth(0x8864), pppoe(0x0021, ip4(17, c4, s4, udp10()))), want: udp4(22)},
		{name: "qinq-pppoe-ipv6-tcp", link: LinkEthernet, frame: cat(eth(0x8864, 0x88A8, 0x8100), pppoe(0x0057, ip6(6, c6, s6, tcp10()))),
			want: with(tcp6(30), func(p *Packet) { p.VLANs = 2 })},
		{name: "pppoe-lcp", link: LinkEthernet, frame: cat(eth(0x8864), pppoe(0xC021, bytesN(20))), err: ErrNotIP},
		{name: "pppoe-discovery-code", link: LinkEthernet, frame: set(cat(eth(0x8864), pppoe(0x0021, inner4)), 15, 0x09), err: ErrBadHeader},
		{name: "arp", link: LinkEthernet, frame: cat(eth(0x0806), bytesN(28)), err: ErrNotIP},
		{name: "ethertype-ipv6-holding-ipv4", link: LinkEthernet, frame: cat(e6, inner4), err: ErrBadVersion},
		{name: "eth-short", link: LinkEthernet, frame: e4[:13], err: ErrTruncated},
		{name: "eth-ipv4-short", link: LinkEthernet, frame: cat(e4, inner4[:19]), err: ErrTruncated},

		// Other link layers.
		{name: "sll-ipv4-tcp", link: LinkLinuxSLL, frame: cat(sll(0x0800), inner4), want: tcp4(16)},
		{name: "sll-vlan-ipv4-tcp", link: LinkLinuxSLL, frame: cat(sll(0x8100), be16(5), be16(0x0800), inner4),
			want: with(tcp4(20), func(p *Packet) { p.VLANs = 1 })},
		{name: "sll-arp", link: LinkLinuxSLL, frame: cat(sll(0x0806), bytesN(28)), err: ErrNotIP},
		{name: "sll2-ipv6-udp", link: LinkLinuxSLL2, frame: cat(sll2(0x86DD), inner6), want: udp6(20)},
		{name: "sll2-short", link: LinkLinuxSLL2, frame: sll2(0x86DD)[:19], err: ErrTruncated},
		{name: "null-le-ipv4", link: LinkNull, frame: cat([]byte{2, 0, 0, 0}, ip4(17, c4, s4, udp10())), want: udp4(4)},
		{name: "null-be-ipv4", link: LinkNull, frame: cat([]byte{0, 0, 0, 2}, ip4(17, c4, s4, udp10())), want: udp4(4)},
		{name: "null-le-ipv6-darwin", link: LinkNull, frame: cat([]byte{30, 0, 0, 0}, ip6(6, c6, s6, tcp10())), want: tcp6(4)},
		{name: "null-le-ipv6-freebsd", link: LinkNull, frame: cat([]byte{28, 0, 0, 0}, ip6(6, c6, s6, tcp10())), want: tcp6(4)},
		{name: "null-be-ipv6-bsd", link: LinkNull, frame: cat([]byte{0, 0, 0, 24}, ip6(6, c6, s6, tcp10())), want: tcp6(4)},
		{name: "null-unknown-af", link: LinkNull, frame: cat([]byte{7, 0, 0, 0}, inner4), err: ErrNotIP},
		{name: "loop-ipv6", link: LinkLoop, frame: cat([]byte{0, 0, 0, 24}, ip6(17, c6, s6, udp10())), want: udp6(4)},
		{name: "loop-ipv4", link: LinkLoop, frame: cat([]byte{0, 0, 0, 2}, inner4), want: tcp4(4)},
		{name: "loop-is-network-order", link: LinkLoop, frame: cat([]byte{2, 0, 0, 0}, inner4), err: ErrNotIP},
		{name: "ppp-hdlc-ipv4", link: LinkPPP, frame: cat([]byte{0xFF, 0x03, 0x00, 0x21}, inner4), want: tcp4(4)},
		{name: "ppp-ipv6", link: LinkPPP, frame: cat([]byte{0x00, 0x57}, inner6), want: udp6(2)},
		{name: "ppp-pfc-ipv4", link: LinkPPP, frame: cat([]byte{0x21}, inner4), want: tcp4(1)},
		{name: "ppp-hdlc-pfc-ipv6", link: LinkPPP, frame: cat([]byte{0xFF, 0x03, 0x57}, inner6), want: udp6(3)},
		{name: "ppp-lcp", link: LinkPPP, frame: cat([]byte{0xFF, 0x03, 0xC0, 0x21}, bytesN(10)), err: ErrNotIP},
		{name: "raw-ipv4", link: LinkRaw, frame: inner4, want: tcp4(0)},
		{name: "raw-ipv6", link: LinkRaw, frame: inner6, want: udp6(0)},
		{name: "raw-version-5", link: LinkRaw, frame: set(inner4, 0, 0x55), err: ErrBadVersion},
		{name: "linkipv4", link: LinkIPv4, frame: inner4, want: tcp4(0)},
		{name: "linkipv4-holding-ipv6", link: LinkIPv4, frame: inner6, err: ErrBadVersion},
		{name: "linkipv6", link: LinkIPv6, frame: inner6, want: udp6(0)},
		{name: "unknown-link", link: 147, frame: inner4, err: ErrUnknownLink},
		{name: "empty", link: LinkRaw, frame: nil, err: ErrTruncated},

		// IPv4 header.
		{name: "ipv4-options", link: LinkEthernet, frame: cat(e4, ip4x(6, c4, s4, tcp10(), []byte{0x94, 4, 0, 0}, 0, -1)),
			want: with(pk(4, 6, c4, s4, 40000, 443, 14, 38, 58, 54, 10), func(p *Packet) { p.Flags = FlagIPOptions })},
		{name: "ipv4-ihl-4", link: LinkEthernet, frame: cat(e4, set(inner4, 0, 0x44)), err: ErrBadHeader},
		{name: "ipv4-ihl-past-capture", link: LinkEthernet, frame: cat(e4, set(inner4, 0, 0x4F)[:40]), err: ErrTruncated},
		{name: "ipv4-total-below-ihl", link: LinkEthernet, frame: cat(e4, ip4x(6, c4, s4, tcp10(), nil, 0, 10)), err: ErrBadHeader},
		{name: "ipv4-first-fragment", link: LinkEthernet, frame: cat(e4, ip4x(17, c4, s4, udp10(), nil, 0x2000, -1)),
			want: with(udp4(14), func(p *Packet) { p.Flags = FlagFragment })},
		{name: "ipv4-later-fragment", link: LinkEthernet, frame: cat(e4, ip4x(17, c4, s4, bytesN(30), nil, 185, -1)),
			want: with(pk(4, 17, c4, s4, 0, 0, 14, 34, 34, 50, 30), func(p *Packet) { p.Flags = FlagFragment | FlagLaterFragment })},
		{name: "ipv4-middle-fragment", link: LinkEthernet, frame: cat(e4, ip4x(6, c4, s4, bytesN(24), nil, 0x2000|3, -1)),
			want: with(pk(4, 6, c4, s4, 0, 0, 14, 34, 34, 44, 24), func(p *Packet) { p.Flags = FlagFragment | FlagLaterFragment; p.TCPFlags = 0 })},

		// IPv6 extension headers.
		{name: "ipv6-ext-tcp", link: LinkEthernet, frame: cat(e6, ip6(0, c6, s6, cat(ext6(60, 0), ext6(43, 1), ext6(6, 0), tcp10()))),
			want: pk(6, 6, c6, s6, 40000, 443, 14, 86, 106, 102, 10)},
		{name: "ipv6-ah-udp", link: LinkEthernet, frame: cat(e6, ip6(51, c6, s6, cat(ah6(17, 4), udp10()))),
			want: pk(6, 17, c6, s6, 5000, 53, 14, 78, 86, 82, 10)},
		{name: "ipv6-mobility-hip-shim6", link: LinkEthernet, frame: cat(e6, ip6(135, c6, s6, cat(ext6(139, 0), ext6(140, 0), ext6(17, 0), udp10()))),
			want: pk(6, 17, c6, s6, 5000, 53, 14, 78, 86, 82, 10)},
		{name: "ipv6-first-fragment", link: LinkEthernet, frame: cat(e6, ip6(44, c6, s6, cat(frag6(6, 0, true), tcp10()))),
			want: with(pk(6, 6, c6, s6, 40000, 443, 14, 62, 82, 78, 10), func(p *Packet) { p.Flags = FlagFragment })},
		{name: "ipv6-later-fragment", link: LinkEthernet, frame: cat(e6, ip6(0, c6, s6, cat(ext6(44, 0), frag6(17, 100, false), bytesN(40)))),
			want: with(pk(6, 17, c6, s6, 0, 0, 14, 70, 70, 96, 40), func(p *Packet) { p.Flags = FlagFragment | FlagLaterFragment })},
		{name: "ipv6-atomic-fragment", link: LinkEthernet, frame: cat(e6, ip6(44, c6, s6, cat(frag6(6, 0, false), tcp10()))),
			want: pk(6, 6, c6, s6, 40000, 443, 14, 62, 82, 78, 10)},
		{name: "ipv6-no-next-header", link: LinkEthernet, frame: cat(e6, ip6(59, c6, s6, nil)),
			want: pk(6, 59, c6, s6, 0, 0, 14, 54, 54, 40, 0)},
		{name: "ipv6-12-ext-headers", link: LinkRaw, frame: ip6(60, c6, s6, ok6),
			want: pk(6, 17, c6, s6, 5000, 53, 0, 136, 144, 154, 10)},
		{name: "ipv6-13-ext-headers", link: LinkRaw, frame: ip6(60, c6, s6, tooDeep6), err: ErrTooDeep},
		{name: "ipv6-ext-past-packet", link: LinkRaw, frame: ip6x(0, c6, s6, cat(ext6(6, 3), tcp10()), 16), err: ErrTruncated},

		// Transport protocols.
		{name: "sctp", link: LinkEthernet, frame: cat(e4, ip4(132, c4, s4, sctp(36412, 2905, pl10))),
			want: pk(4, 132, c4, s4, 36412, 2905, 14, 34, 46, 42, 10)},
		{name: "icmp-echo", link: LinkEthernet, frame: cat(e4, ip4(1, c4, s4, icmp(8, 0, pl10))),
			want: with(pk(4, 1, c4, s4, 0, 0, 14, 34, 42, 38, 10), func(p *Packet) { p.ICMPType = 8 })},
		{name: "icmp-unreachable-quoting-tcp", link: LinkEthernet, frame: cat(e4, ip4(1, o4a, c4, icmp(3, 3, quoted4))),
			want: with(pk(4, 1, o4a, c4, 0, 0, 14, 34, 42, 56, 28), func(p *Packet) { p.ICMPType, p.ICMPCode, p.Flags = 3, 3, FlagICMPError })},
		{name: "icmpv6-unreachable-quoting-tcp", link: LinkEthernet, frame: cat(e6, ip6(58, o6a, c6, icmp(1, 4, quoted6))),
			want: with(pk(6, 58, o6a, c6, 0, 0, 14, 54, 62, 96, 48), func(p *Packet) { p.ICMPType, p.ICMPCode, p.Flags = 1, 4, FlagICMPError })},
		{name: "icmpv6-echo", link: LinkEthernet, frame: cat(e6, ip6(58, c6, s6, icmp(128, 0, pl10))),
			want: with(pk(6, 58, c6, s6, 0, 0, 14, 54, 62, 58, 10), func(p *Packet) { p.ICMPType = 128 })},
		{name: "esp", link: LinkEthernet, frame: cat(e4, ip4(50, c4, s4, esp(0xDEADBEEF, bytesN(40)))),
			want: with(pk(4, 50, c4, s4, 0, 0, 14, 34, 42, 68, 40), func(p *Packet) { p.SPI = 0xDEADBEEF })},
		{name: "esp-ipv6", link: LinkEthernet, frame: cat(e6, ip6(50, c6, s6, esp(0x100, bytesN(40)))),
			want: with(pk(6, 50, c6, s6, 0, 0, 14, 54, 62, 88, 40), func(p *Packet) { p.SPI = 0x100 })},
		{name: "tcp-data-offset-4", link: LinkEthernet, frame: cat(e4, ip4(6, c4, s4, set(tcp10(), 12, 0x40))), err: ErrBadHeader},
		{name: "tcp-data-offset-past-ip-padding-ignored", link: LinkEthernet, frame: cat(e4, ip4(6, c4, s4, badDoff), make([]byte, 60)), err: ErrBadHeader},
		{name: "udp-short", link: LinkEthernet, frame: cat(e4, ip4(17, c4, s4, udp10()[:6])), err: ErrTruncated},

		// UDP-encapsulated ESP.
		{name: "esp-in-udp", link: LinkEthernet, decap: DecapESPInUDP, frame: cat(e4, ip4(17, c4, s4, udp(4500, 4500, esp(0x01020304, bytesN(40))))),
			want: with(pk(4, 50, c4, s4, 0, 0, 14, 42, 50, 76, 40), func(p *Packet) { p.SPI, p.Tunnels = 0x01020304, 1 })},
		{name: "esp-in-udp-src-port", link: LinkEthernet, decap: DecapAll, frame: cat(e4, ip4(17, c4, s4, udp(4500, 61000, esp(7, bytesN(40))))),
			want: with(pk(4, 50, c4, s4, 0, 0, 14, 42, 50, 76, 40), func(p *Packet) { p.SPI, p.Tunnels = 7, 1 })},
		{name: "esp-in-udp-keepalive", link: LinkEthernet, decap: DecapAll, frame: cat(e4, ip4(17, c4, s4, udp(4500, 4500, []byte{0xFF}))),
			want: pk(4, 17, c4, s4, 4500, 4500, 14, 34, 42, 29, 1)},
		{name: "esp-in-udp-ike", link: LinkEthernet, decap: DecapAll, frame: cat(e4, ip4(17, c4, s4, udp(4500, 4500, cat(be32(0), bytesN(40))))),
			want: pk(4, 17, c4, s4, 4500, 4500, 14, 34, 42, 72, 44)},
		{name: "esp-in-udp-decap-off", link: LinkEthernet, decap: DecapAll &^ DecapESPInUDP, frame: cat(e4, ip4(17, c4, s4, udp(4500, 4500, esp(7, bytesN(40))))),
			want: pk(4, 17, c4, s4, 4500, 4500, 14, 34, 42, 76, 48)},

		// GTP-U.
		{name: "gtpu-ipv4-udp", link: LinkEthernet, decap: DecapGTPU, frame: gtpOuter(nil, gtpu(0x30, 0xFF, nil, ip4(17, c4, s4, udp10()))),
			want: with(udp4(50), tunnels(1))},
		{name: "qinq-gtpu-ipv4-udp", link: LinkEthernet, decap: DecapAll, frame: gtpOuter([]uint16{0x88A8, 0x8100}, gtpu(0x30, 0xFF, nil, ip4(17, c4, s4, udp10()))),
			want: with(udp4(58), func(p *Packet) { p.Tunnels, p.VLANs = 1, 2 })},
		{name: "gtpu-ext-ipv6-tcp", link: LinkEthernet, decap: DecapGTPU,
			frame: gtpOuter(nil, gtpu(0x34, 0xFF, cat([]byte{0, 0, 0, 0x85}, []byte{1, 0x10, 0x09, 0x40}, []byte{2, 1, 2, 3, 4, 5, 6, 0}), ip6(6, c6, s6, tcp10()))),
			want:  with(tcp6(66), tunnels(1))},
		{name: "gtpu-seq", link: LinkEthernet, decap: DecapGTPU, frame: gtpOuter(nil, gtpu(0x32, 0xFF, []byte{0, 1, 0, 0}, ip4(17, c4, s4, udp10()))),
			want: with(udp4(54), tunnels(1))},
		{name: "gtpu-echo-not-opened", link: LinkEthernet, decap: DecapGTPU, frame: gtpOuter(nil, gtpu(0x32, 0x01, []byte{0, 1, 0, 0}, nil)),
			want: pk(4, 17, o4a, o4b, 2152, 2152, 14, 34, 42, 40, 12)},
		{name: "gtpu-decap-off", link: LinkEthernet, decap: DecapAll &^ DecapGTPU, frame: gtpOuter(nil, gtpu(0x30, 0xFF, nil, ip4(17, c4, s4, udp10()))),
			want: pk(4, 17, o4a, o4b, 2152, 2152, 14, 34, 42, 74, 46)},
		{name: "gtpu-inner-malformed", link: LinkEthernet, decap: DecapGTPU, frame: gtpOuter(nil, gtpu(0x30, 0xFF, nil, set(ip4(17, c4, s4, udp10()), 0, 0x55))),
			want: with(pk(4, 17, o4a, o4b, 2152, 2152, 14, 34, 42, 74, 46), func(p *Packet) { p.Flags = FlagInnerMalformed })},
		{name: "gtpu-ext-length-zero", link: LinkEthernet, decap: DecapGTPU, frame: gtpOuter(nil, gtpu(0x34, 0xFF, []byte{0, 0, 0, 0x85, 0, 0, 0, 0}, ip4(17, c4, s4, udp10()))),
			want: with(pk(4, 17, o4a, o4b, 2152, 2152, 14, 34, 42, 82, 54), func(p *Packet) { p.Flags = FlagInnerMalformed })},

		// GRE and PPTP.
		{name: "gre-ipv4-tcp", link: LinkEthernet, decap: DecapGRE, frame: cat(e4, ip4(47, o4a, o4b, gre(0, 0x0800, nil, inner4))),
			want: with(tcp4(38), tunnels(1))},
		{name: "gre-csum-key-seq-ipv6", link: LinkEthernet, decap: DecapGRE, frame: cat(e4, ip4(47, o4a, o4b, gre(0xB000, 0x86DD, bytesN(12), inner6))),
			want: with(udp6(50), tunnels(1))},
		{name: "gre-ethernet", link: LinkEthernet, decap: DecapGRE, frame: cat(e4, ip4(47, o4a, o4b, gre(0x2000, 0x6558, be32(9), cat(eth(0x0800, 0x8100), ip4(17, c4, s4, udp10()))))),
			want: with(udp4(60), tunnels(1))},
		{name: "gre-routing-not-opened", link: LinkEthernet, decap: DecapGRE, frame: cat(e4, ip4(47, o4a, o4b, gre(0x4000, 0x0800, nil, inner4))),
			want: pk(4, 47, o4a, o4b, 0, 0, 14, 34, 34, 74, 54)},
		{name: "gre-unknown-proto-not-opened", link: LinkEthernet, decap: DecapGRE, frame: cat(e4, ip4(47, o4a, o4b, gre(0, 0x88BE, nil, inner4))),
			want: pk(4, 47, o4a, o4b, 0, 0, 14, 34, 34, 74, 54)},
		{name: "pptp-ipv4-udp", link: LinkEthernet, decap: DecapGRE, frame: cat(e4, ip4(47, o4a, o4b, gre(0x3001, 0x880B, pptpOpt, cat([]byte{0xFF, 0x03, 0x00, 0x21}, ip4(17, c4, s4, udp10()))))),
			want: with(udp4(50), tunnels(1))},
		{name: "pptp-ack-pfc-ipv4-udp", link: LinkEthernet, decap: DecapGRE, frame: cat(e4, ip4(47, o4a, o4b, gre(0x3081, 0x880B, cat(pptpOpt, be32(2)), cat([]byte{0x21}, ip4(17, c4, s4, udp10()))))),
			want: with(udp4(51), tunnels(1))},
		{name: "pptp-lcp-not-opened", link: LinkEthernet, decap: DecapGRE, frame: cat(e4, ip4(47, o4a, o4b, gre(0x3001, 0x880B, pptpOpt, []byte{0xFF, 0x03, 0xC0, 0x21, 1, 1, 0, 4}))),
			want: pk(4, 47, o4a, o4b, 0, 0, 14, 34, 34, 40, 20)},
		{name: "pptp-ack-only", link: LinkEthernet, decap: DecapGRE, frame: cat(e4, ip4(47, o4a, o4b, gre(0x2081, 0x880B, cat(be16(0), be16(7), be32(5)), nil))),
			want: pk(4, 47, o4a, o4b, 0, 0, 14, 34, 34, 32, 12)},

		// IP in IP.
		{name: "ipip-4", link: LinkEthernet, decap: DecapIPIP, frame: cat(e4, ip4(4, o4a, o4b, inner4)), want: with(tcp4(34), tunnels(1))},
		{name: "ipip-41", link: LinkEthernet, decap: DecapIPIP, frame: cat(e4, ip4(41, o4a, o4b, inner6)), want: with(udp6(34), tunnels(1))},
		{name: "ipip-4-in-ipv6", link: LinkEthernet, decap: DecapIPIP, frame: cat(e6, ip6(4, o6a, o6b, inner4)), want: with(tcp4(54), tunnels(1))},
		{name: "ipip-decap-off", link: LinkEthernet, decap: DecapGRE, frame: cat(e4, ip4(4, o4a, o4b, inner4)),
			want: pk(4, 4, o4a, o4b, 0, 0, 14, 34, 34, 70, 50)},
		{name: "ipip-4-holding-ipv6", link: LinkEthernet, decap: DecapIPIP, frame: cat(e4, ip4(4, o4a, o4b, inner6)),
			want: with(pk(4, 4, o4a, o4b, 0, 0, 14, 34, 34, 78, 58), func(p *Packet) { p.Flags = FlagInnerMalformed })},
		{name: "ipip-nesting-bound", link: LinkEthernet, decap: DecapIPIP, frame: nest,
			want: with(pk(4, 4, "10.0.0.4", "10.0.1.4", 0, 0, 94, 114, 114, 58, 38), tunnels(4))},

		// VXLAN.
		{name: "vxlan-ipv4-tcp", link: LinkEthernet, decap: DecapVXLAN, frame: cat(eth(0x0800, 0x8100), ip4(17, o4a, o4b, udp(51000, 4789, vxlan(cat(eth(0x0800, 0x8100), inner4))))),
			want: with(tcp4(72), func(p *Packet) { p.Tunnels, p.VLANs = 1, 1 })},
		{name: "vxlan-no-i-flag", link: LinkEthernet, decap: DecapVXLAN, frame: cat(e4, ip4(17, o4a, o4b, udp(51000, 4789, set(vxlan(cat(e4, inner4)), 0, 0)))),
			want: pk(4, 17, o4a, o4b, 51000, 4789, 14, 34, 42, 20+8+8+64, 72)},
		{name: "vxlan-source-port-only", link: LinkEthernet, decap: DecapVXLAN, frame: cat(e4, ip4(17, o4a, o4b, udp(4789, 51000, vxlan(cat(e4, inner4))))),
			want: pk(4, 17, o4a, o4b, 4789, 51000, 14, 34, 42, 20+8+8+64, 72)},
		{name: "vxlan-inner-arp", link: LinkEthernet, decap: DecapVXLAN, frame: cat(e4, ip4(17, o4a, o4b, udp(51000, 4789, vxlan(cat(eth(0x0806), bytesN(28)))))),
			want: with(pk(4, 17, o4a, o4b, 51000, 4789, 14, 34, 42, 20+8+8+42, 50), func(p *Packet) { p.Flags = FlagInnerMalformed })},
		{name: "vxlan-gre-gtpu", link: LinkEthernet, decap: DecapAll,
			frame: cat(e4, ip4(17, o4a, o4b, udp(51000, 4789, vxlan(cat(e4, ip4(47, "172.16.0.1", "172.16.0.2", gre(0, 0x86DD, nil, ip6(17, o6a, o6b, udp(2152, 2152, gtpu(0x30, 0xFF, nil, inner4)))))))))),
			want:  with(tcp4(144), tunnels(3))},

		// Lengths: offload, truncation, big frames.
		{name: "tso-total-length-0", link: LinkEthernet, frame: cat(e4, ip4x(6, c4, s4, tcp(40000, 443, pshAck, 0, bytesN(3000)), nil, 0x4000, 0)),
			want: pk(4, 6, c4, s4, 40000, 443, 14, 34, 54, 3040, 3000)},
		{name: "truncated-ip", link: LinkEthernet, frame: cat(e4, ip4x(6, c4, s4, tcp10(), nil, 0, 1500)),
			want: with(pk(4, 6, c4, s4, 40000, 443, 14, 34, 54, 1500, 1460), func(p *Packet) { p.Flags = FlagTruncatedIP })},
		{name: "truncated-tcp-options", link: LinkEthernet, frame: cat(e4, ip4x(6, c4, s4, tcp(40000, 443, pshAck, 10, nil)[:30], nil, 0, 1500)),
			want: with(pk(4, 6, c4, s4, 40000, 443, 14, 34, 64, 1500, 1420), func(p *Packet) { p.Flags = FlagTruncatedIP })},
		{name: "jumbo-9k", link: LinkEthernet, frame: cat(e4, ip4(6, c4, s4, tcp(40000, 443, pshAck, 0, bytesN(8960)))),
			want: pk(4, 6, c4, s4, 40000, 443, 14, 34, 54, 9000, 8960)},
		{name: "tso-70k", link: LinkEthernet, frame: cat(e4, ip4x(6, c4, s4, tcp(40000, 443, pshAck, 0, bytesN(70000)), nil, 0, 0)),
			want: pk(4, 6, c4, s4, 40000, 443, 14, 34, 54, 70040, 70000)},
		{name: "ipv6-jumbogram", link: LinkEthernet, frame: cat(e6, ip6x(0, c6, s6, cat(hbhJumbo, tcp(40000, 443, pshAck, 0, bytesN(70000))), 0)),
			want: pk(6, 6, c6, s6, 40000, 443, 14, 62, 82, 70068, 70000)},
	}
}

func TestDecode(t *testing.T) {
	for _, tc := range decodeCases() {
		t.Run(tc.name, func(t *testing.T) {
			d := Decoder{Decap: tc.decap}
			var p Packet
			p.Proto, p.SrcPort = 99, 99 // Decode must reset what it does not set
			err := d.Decode(tc.frame, tc.link, &p)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if p != tc.want {
				t.Errorf("got  %+v\nwant %+v", p, tc.want)
			}
		})
	}
}

// checkInvariants is what any successful decode must satisfy, whatever the
// input: it is shared by the truncation test and the fuzzer.
func checkInvariants(t *testing.T, frame []byte, p *Packet) {
	t.Helper()
	n := uint32(len(frame))
	switch {
	case p.Version != 4 && p.Version != 6:
		t.Fatalf("version %d", p.Version)
	case p.IPOffset > n || p.L4Offset > n || p.PayloadOffset > n:
		t.Fatalf("offsets %d/%d/%d past frame of %d", p.IPOffset, p.L4Offset, p.PayloadOffset, n)
	case p.IPOffset > p.L4Offset || p.L4Offset > p.PayloadOffset:
		t.Fatalf("offsets out of order: %d/%d/%d", p.IPOffset, p.L4Offset, p.PayloadOffset)
	case p.PayloadLen > p.IPLen:
		t.Fatalf("payload %d longer than IP packet %d", p.PayloadLen, p.IPLen)
	case p.Tunnels > maxTunnels || p.VLANs > maxVLANs:
		t.Fatalf("tunnels %d, VLANs %d past their bounds", p.Tunnels, p.VLANs)
	}
}

var sentinels = []error{ErrTruncated, ErrUnknownLink, ErrNotIP, ErrBadVersion, ErrBadHeader, ErrTooDeep}

func isSentinel(err error) bool {
	for _, s := range sentinels {
		if err == s {
			return true
		}
	}
	return false
}

// TestTruncatedEverywhere cuts every valid table frame at every byte. A
// cut frame must give a sentinel error or a sane packet; once every header
// of the full decode is present the flow identity must not change, since
// only payload is missing.
func TestTruncatedEverywhere(t *testing.T) {
	for _, tc := range decodeCases() {
		if tc.err != nil {
			continue
		}
		d := Decoder{Decap: tc.decap}
		for cut := range len(tc.frame) {
			frame := tc.frame[:cut:cut] // capacity cut too, so reads past it fault
			var p Packet
			err := d.Decode(frame, tc.link, &p)
			if err != nil {
				if !isSentinel(err) {
					t.Fatalf("%s cut at %d: non-sentinel error %v", tc.name, cut, err)
				}
				if uint32(cut) >= tc.want.PayloadOffset {
					t.Fatalf("%s cut at %d (headers end at %d): %v", tc.name, cut, tc.want.PayloadOffset, err)
				}
				continue
			}
			checkInvariants(t, frame, &p)
			if uint32(cut) >= tc.want.PayloadOffset {
				w := tc.want
				if p.Src != w.Src || p.Dst != w.Dst || p.Proto != w.Proto || p.SrcPort != w.SrcPort ||
					p.DstPort != w.DstPort || p.Tunnels != w.Tunnels || p.SPI != w.SPI || p.TCPFlags != w.TCPFlags {
					t.Fatalf("%s cut at %d: flow changed to %+v", tc.name, cut, p)
				}
			}
		}
	}
}

func TestICMPErrorTypes(t *testing.T) {
	v4 := map[uint8]bool{3: true, 4: true, 5: true, 11: true, 12: true} // RFC 792, 1122
	v6 := map[uint8]bool{1: true, 2: true, 3: true, 4: true}            // RFC 4443 section 2.1
	var d Decoder
	for typ := range 256 {
		var p Packet
		if err := d.Decode(ip4(1, o4a, c4, icmp(uint8(typ), 0, nil)), LinkRaw, &p); err != nil {
			t.Fatal(err)
		}
		if got := p.Flags&FlagICMPError != 0; got != v4[uint8(typ)] || p.ICMPType != uint8(typ) {
			t.Errorf("ICMP type %d: error flag %v", typ, got)
		}
		if err := d.Decode(ip6(58, o6a, c6, icmp(uint8(typ), 0, nil)), LinkRaw, &p); err != nil {
			t.Fatal(err)
		}
		if got := p.Flags&FlagICMPError != 0; got != v6[uint8(typ)] || p.ICMPType != uint8(typ) {
			t.Errorf("ICMPv6 type %d: error flag %v", typ, got)
		}
	}
}

func TestAddrs(t *testing.T) {
	var d Decoder
	var p Packet
	if err := d.Decode(ip4(17, c4, s4, udp10()), LinkRaw, &p); err != nil {
		t.Fatal(err)
	}
	if p.SrcAddr().String() != c4 || p.DstAddr().String() != s4 {
		t.Errorf("IPv4 addrs %v > %v", p.SrcAddr(), p.DstAddr())
	}
	if err := d.Decode(ip6(17, c6, s6, udp10()), LinkRaw, &p); err != nil {
		t.Fatal(err)
	}
	if p.SrcAddr().String() != c6 || p.DstAddr().String() != s6 {
		t.Errorf("IPv6 addrs %v > %v", p.SrcAddr(), p.DstAddr())
	}
	if (&Packet{}).SrcAddr().IsValid() {
		t.Error("a packet without version has a valid address")
	}
}

func TestDecodeDoesNotAllocate(t *testing.T) {
	cases := decodeCases()
	d := Decoder{}
	var p Packet
	for _, decap := range []Decap{0, DecapAll} {
		d.Decap = decap
		allocs := testing.AllocsPerRun(20, func() {
			for _, tc := range cases {
				_ = d.Decode(tc.frame, tc.link, &p)
			}
		})
		if allocs != 0 {
			t.Errorf("decap %#x: %v allocations per run over %d frames", decap, allocs, len(cases))
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	byName := map[string]decodeCase{}
	for _, tc := range decodeCases() {
		byName[tc.name] = tc
	}
	for _, name := range []string{"eth-ipv4-tcp", "eth-ipv6-tcp", "vlan-ipv4-tcp", "qinq-ipv4-udp", "qinq-ipv6-udp", "pppoe-ipv4-udp", "qinq-pppoe-ipv6-tcp", "sll2-ipv6-udp", "ipv6-ext-tcp",
		"ipv4-later-fragment", "esp-in-udp", "qinq-gtpu-ipv4-udp", "gtpu-ext-ipv6-tcp", "gre-csum-key-seq-ipv6",
		"pptp-ipv4-udp", "vxlan-ipv4-tcp", "vxlan-gre-gtpu", "tso-70k"} {
		tc, ok := byName[name]
		if !ok {
			b.Fatalf("no case %s", name)
		}
		b.Run(name, func(b *testing.B) {
			d := Decoder{Decap: DecapAll}
			var p Packet
			b.ReportAllocs()
			b.SetBytes(int64(len(tc.frame)))
			for b.Loop() {
				if err := d.Decode(tc.frame, tc.link, &p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
