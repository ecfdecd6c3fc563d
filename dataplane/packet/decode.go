package packet

import (
	"encoding/binary"
	"net/netip"
)

// Bounds on nesting. They keep the work per frame bounded on hostile input
// while leaving room for every stacking seen on real access networks
// (QinQ plus a service tag, GTP-U inside GRE inside VXLAN, ...).
const (
	maxVLANs      = 8  // VLAN tags on one Ethernet header
	maxTunnels    = 4  // tunnel headers opened per frame
	maxExtHeaders = 12 // IPv6 extension headers per packet
	maxGTPExt     = 16 // GTP-U extension headers per T-PDU
)

// Ethertypes and PPP protocol numbers that lead to IP.
const (
	etherIPv4     = 0x0800
	etherIPv6     = 0x86DD
	etherVLAN     = 0x8100
	etherQinQ     = 0x88A8
	etherQinQOld  = 0x9100 // pre-802.1ad vendor QinQ, still seen on metro gear
	etherPPPoE    = 0x8864
	etherTransEth = 0x6558 // transparent Ethernet bridging inside GRE
	etherPPP      = 0x880B // PPP inside PPTP's enhanced GRE
	pppIPv4       = 0x0021
	pppIPv6       = 0x0057
)

// Well-known UDP ports of the tunnels the decoder can open.
const (
	portGTPU     = 2152
	portESPInUDP = 4500
	portVXLAN    = 4789
)

// Decoder turns frames into Packets. The zero value decodes the outer
// packet only; set Decap to open tunnels.
type Decoder struct {
	Decap Decap
}

// Decode resets *p and fills it from frame, captured with the given link
// type. On a nil error p describes the innermost IP packet reached; other
// errors are the sentinels of this package and p is then unspecified.
//
// Tunnels are opened only when selected in d.Decap and at most 4 deep;
// past that the packet is reported as it stands. When a tunnel is opened
// but its inner packet is malformed or not IP, Decode reports the OUTER
// packet with FlagInnerMalformed and a nil error, so that no packet is
// lost from flow accounting because of what it carries.
//
// Decode never allocates, never panics and never keeps frame.
func (d *Decoder) Decode(frame []byte, link LinkType, p *Packet) error {
	if link == LinkEthernet && (d.fast(frame, p) || d.fastOther(frame, p)) {
		return nil
	}
	return d.general(frame, link, p)
}

// Fast decodes frame, an Ethernet frame, when it is of the commonest kind
// (untagged, IPv4 without options, not a fragment, TCP or UDP) and reports
// whether it was, exactly as Decode would have; for any other frame it
// reports false, leaving p as it was, and Decode must decode it. Decode
// is too large to inline, so a loop over frames that tries Fast first
// spends one call on the commonest frame instead of two.
func (d *Decoder) Fast(frame []byte, p *Packet) bool { return d.fast(frame, p) }

// general is Decode for every frame, fast path or not.
func (d *Decoder) general(frame []byte, link LinkType, p *Packet) error {
	*p = Packet{}
	off, want, err := linkPayload(frame, link, p)
	if err != nil {
		return err
	}
	return d.ip(frame, off, want, p)
}

// fast decodes the commonest frame, untagged Ethernet II carrying an
// IPv4 packet without options that is not a fragment and carries TCP or
// UDP, in one straight pass, and reports false without touching p for
// anything else, which fastOther or the general path then decodes. It
// fills p exactly as the general path would: every field is stored once,
// so nothing is zeroed first. Addresses are written as 8-byte words,
// which the flow key reads back; the compiler splits each IPv4 word into
// a 4-byte store and four 1-byte stores, and forcing one store measured
// slower (DEVELOPERS.md).
func (d *Decoder) fast(b []byte, p *Packet) bool {
	const ip, l4 = 14, 14 + 20
	if len(b) < l4+8 || binary.BigEndian.Uint16(b[12:]) != etherIPv4 || b[ip] != 0x45 ||
		binary.BigEndian.Uint16(b[ip+6:])&0x3FFF != 0 {
		return false
	}
	total := uint32(binary.BigEndian.Uint16(b[ip+2:]))
	if total < 20 {
		return false // zero (offload) or impossible: the general path says which
	}
	var flags Flags
	end := len(b)
	if total > uint32(end-ip) {
		flags = FlagTruncatedIP
	} else {
		end = ip + int(total)
	}
	proto := b[ip+9]
	var sp, dp uint16
	var tcpFlags uint8
	hl := 8
	switch proto {
	case ProtoTCP:
		if end-l4 < 20 {
			return false
		}
		hl = int(b[l4+12]>>4) * 4
		if hl < 20 || hl > end-l4 {
			return false
		}
		tcpFlags = b[l4+13]
	case ProtoUDP:
		if end-l4 < 8 {
			return false
		}
	default:
		return false
	}
	sp, dp = binary.BigEndian.Uint16(b[l4:]), binary.BigEndian.Uint16(b[l4+2:])
	var payload uint32
	if hdrs := uint32(20 + hl); hdrs < total {
		payload = total - hdrs
	}
	p.Version, p.Proto = 4, proto
	binary.LittleEndian.PutUint64(p.Src[:8], uint64(binary.LittleEndian.Uint32(b[ip+12:])))
	binary.LittleEndian.PutUint64(p.Src[8:], 0)
	binary.LittleEndian.PutUint64(p.Dst[:8], uint64(binary.LittleEndian.Uint32(b[ip+16:])))
	binary.LittleEndian.PutUint64(p.Dst[8:], 0)
	p.SrcPort, p.DstPort = sp, dp
	p.SPI = 0
	p.TCPFlags, p.ICMPType, p.ICMPCode, p.Tunnels = tcpFlags, 0, 0, 0
	p.Flags, p.VLANs = flags, 0
	p.IPLen, p.PayloadLen = total, payload
	p.IPOffset, p.L4Offset, p.PayloadOffset = ip, l4, uint32(l4+hl)
	if proto == ProtoUDP && d.Decap != 0 {
		d.udpTunnel(b[:end], l4+8, p)
	}
	return true
}

// fastAt is fast for the next commonest frames: an IPv4 packet without
// options or an IPv6 packet without extension headers (version v, as the
// link layer says) at ip, not a fragment, carrying TCP or UDP, behind an
// Ethernet II header with vlans VLAN tags (an access or QinQ trunk tags
// every frame) and perhaps a PPPoE session header (DSL access). For
// anything else it reports false, having stored at most p's version,
// protocol, addresses and flags, and the general path, which zeroes p
// first, decodes the frame. Like fast, it fills p exactly as the general path
// would (FuzzDecode holds both to it). fast stays a copy of its IPv4 case
// with constant offsets: there the compiler drops every bounds check after
// the first, which a variable offset keeps, and untagged IPv4 is most of
// the traffic: fastAt for it too cost classify about 90 more instructions
// per packet on the offline bench capture.
func (d *Decoder) fastAt(b []byte, ip int, v, vlans uint8, p *Packet) bool {
	if ip < 0 || len(b) < ip+20+8 {
		return false
	}
	h := b[ip:]
	var hdr int
	var total uint32
	switch v {
	case 4:
		if h[0] != 0x45 || binary.BigEndian.Uint16(h[6:])&0x3FFF != 0 {
			return false
		}
		if total = uint32(binary.BigEndian.Uint16(h[2:])); total < 20 {
			return false // zero (offload) or impossible: the general path says which
		}
		hdr = 20
		p.Version, p.Proto = 4, h[9]
		binary.LittleEndian.PutUint64(p.Src[:8], uint64(binary.LittleEndian.Uint32(h[12:])))
		binary.LittleEndian.PutUint64(p.Src[8:], 0)
		binary.LittleEndian.PutUint64(p.Dst[:8], uint64(binary.LittleEndian.Uint32(h[16:])))
		binary.LittleEndian.PutUint64(p.Dst[8:], 0)
	case 6:
		// A payload length of 0 (a jumbogram or an offloaded
		// super-packet) is the general path's.
		if len(h) < 40+8 || h[0]>>4 != 6 || binary.BigEndian.Uint16(h[4:]) == 0 {
			return false
		}
		total, hdr = 40+uint32(binary.BigEndian.Uint16(h[4:])), 40
		p.Version, p.Proto = 6, h[6]
		p.Src, p.Dst = [16]byte(h[8:24]), [16]byte(h[24:40])
	default:
		return false
	}
	p.Flags = 0
	b = ipEnd(b, ip, total, p)
	l4 := ip + hdr
	// The L4 header as a slice of its own: with its length checked once,
	// the reads below need no bounds checks.
	t := b[l4:]
	if len(t) < 8 {
		return false
	}
	var tcpFlags uint8
	hl := 8
	switch p.Proto {
	case ProtoTCP:
		if len(t) < 20 {
			return false
		}
		hl = int(t[12]>>4) * 4
		if hl < 20 || hl > len(t) {
			return false
		}
		tcpFlags = t[13]
	case ProtoUDP:
	default:
		return false
	}
	var payload uint32
	if hdrs := uint32(hdr + hl); hdrs < total {
		payload = total - hdrs
	}
	p.SrcPort, p.DstPort = binary.BigEndian.Uint16(t[0:]), binary.BigEndian.Uint16(t[2:])
	p.SPI = 0
	p.TCPFlags, p.ICMPType, p.ICMPCode, p.Tunnels = tcpFlags, 0, 0, 0
	p.VLANs = vlans
	p.IPLen, p.PayloadLen = total, payload
	p.IPOffset, p.L4Offset, p.PayloadOffset = uint32(ip), uint32(l4), uint32(l4+hl)
	if p.Proto == ProtoUDP && d.Decap != 0 {
		d.udpTunnel(b, l4+8, p)
	}
	return true
}

// fastOther takes fastAt for what fast leaves: untagged IPv6, and IPv4 or
// IPv6 behind VLAN tags or in a PPPoE session. The link layer is the
// general path's own etherPayload, so both accept exactly the same headers;
// a frame it refuses goes to the general path, which reports why.
func (d *Decoder) fastOther(b []byte, p *Packet) bool {
	if len(b) < 14 {
		return false
	}
	off, v, err := etherPayload(b, 14, binary.BigEndian.Uint16(b[12:]), p, true)
	return err == nil && d.fastAt(b, off, v, p.VLANs, p)
}

// linkPayload finds the IP header behind the link-layer header. want is
// the IP version the link layer announced, or 0 when only the version
// nibble tells.
func linkPayload(b []byte, link LinkType, p *Packet) (off int, want uint8, err error) {
	switch link {
	case LinkEthernet:
		return ether(b, 0, p, true)
	case LinkNull, LinkLoop:
		if len(b) < 4 {
			return 0, 0, ErrTruncated
		}
		af := binary.BigEndian.Uint32(b)
		// Null headers are in the capturing host's byte order, which need
		// not be ours; every address family fits in the low 16 bits, so a
		// value above that is the other byte order.
		if link == LinkNull && af > 0xFFFF {
			af = binary.LittleEndian.Uint32(b)
		}
		switch af {
		case 2:
			return 4, 4, nil
		case 24, 28, 30: // AF_INET6 on the BSDs, FreeBSD and Darwin
			return 4, 6, nil
		}
		return 0, 0, ErrNotIP
	case LinkRaw:
		return 0, 0, nil
	case LinkIPv4:
		return 0, 4, nil
	case LinkIPv6:
		return 0, 6, nil
	case LinkPPP:
		return ppp(b, 0)
	case LinkLinuxSLL:
		if len(b) < 16 {
			return 0, 0, ErrTruncated
		}
		return etherPayload(b, 16, binary.BigEndian.Uint16(b[14:]), p, true)
	case LinkLinuxSLL2:
		if len(b) < 20 {
			return 0, 0, ErrTruncated
		}
		return etherPayload(b, 20, binary.BigEndian.Uint16(b), p, true)
	}
	return 0, 0, ErrUnknownLink
}

// ether parses the Ethernet II header at off. Only the outer frame's tags
// are counted in p.VLANs.
func ether(b []byte, off int, p *Packet, outer bool) (int, uint8, error) {
	if len(b)-off < 14 {
		return 0, 0, ErrTruncated
	}
	return etherPayload(b, off+14, binary.BigEndian.Uint16(b[off+12:]), p, outer)
}

// etherPayload follows an ethertype found just before off through VLAN
// tags and a PPPoE session header to IP.
func etherPayload(b []byte, off int, et uint16, p *Packet, outer bool) (int, uint8, error) {
	var tags uint8
	for et == etherVLAN || et == etherQinQ || et == etherQinQOld {
		if tags == maxVLANs {
			return 0, 0, ErrTooDeep
		}
		if len(b)-off < 4 {
			return 0, 0, ErrTruncated
		}
		et = binary.BigEndian.Uint16(b[off+2:])
		off += 4
		tags++
	}
	if outer {
		p.VLANs = tags
	}
	switch et {
	case etherIPv4:
		return off, 4, nil
	case etherIPv6:
		return off, 6, nil
	case etherPPPoE:
		if len(b)-off < 6 {
			return 0, 0, ErrTruncated
		}
		// Version 1, type 1, code 0 is the only session-data header.
		if b[off] != 0x11 || b[off+1] != 0 {
			return 0, 0, ErrBadHeader
		}
		return ppp(b, off+6)
	}
	return 0, 0, ErrNotIP
}

// ppp reads a PPP frame at off: optional HDLC address/control bytes, then
// the protocol, which is one byte when protocol-field compression made its
// first (always even) byte disappear.
func ppp(b []byte, off int) (int, uint8, error) {
	if len(b)-off >= 2 && b[off] == 0xFF && b[off+1] == 0x03 {
		off += 2
	}
	if len(b)-off < 1 {
		return 0, 0, ErrTruncated
	}
	proto := uint16(b[off])
	if proto&1 == 1 {
		off++
	} else {
		if len(b)-off < 2 {
			return 0, 0, ErrTruncated
		}
		proto = binary.BigEndian.Uint16(b[off:])
		off += 2
	}
	switch proto {
	case pppIPv4:
		return off, 4, nil
	case pppIPv6:
		return off, 6, nil
	}
	return 0, 0, ErrNotIP
}

// ip decodes the IP packet at off. want is 4 or 6 when the enclosing layer
// said which, 0 to take the version nibble. b ends where the enclosing
// layer's data ends.
func (d *Decoder) ip(b []byte, off int, want uint8, p *Packet) error {
	if len(b)-off < 1 {
		return ErrTruncated
	}
	v := b[off] >> 4
	if want != 0 && v != want {
		return ErrBadVersion
	}
	switch v {
	case 4:
		return d.ipv4(b, off, p)
	case 6:
		return d.ipv6(b, off, p)
	}
	return ErrBadVersion
}

// ipEnd bounds b to the IP packet of ipLen bytes starting at off, so that
// link-layer padding is never read as payload, and flags a capture that
// stopped before the packet did.
func ipEnd(b []byte, off int, ipLen uint32, p *Packet) []byte {
	if uint64(ipLen) > uint64(len(b)-off) {
		p.Flags |= FlagTruncatedIP
		return b
	}
	return b[:off+int(ipLen)]
}

func (d *Decoder) ipv4(b []byte, off int, p *Packet) error {
	if len(b)-off < 20 {
		return ErrTruncated
	}
	h := b[off:]
	ihl := int(h[0]&0x0F) * 4
	if ihl < 20 {
		return ErrBadHeader
	}
	if len(h) < ihl {
		return ErrTruncated
	}
	if ihl > 20 {
		p.Flags |= FlagIPOptions
	}
	p.Version = 4
	p.IPOffset = uint32(off)
	// Addresses as 8-byte words (the rest of each is already zero), as
	// the fast path writes them.
	binary.LittleEndian.PutUint64(p.Src[:8], uint64(binary.LittleEndian.Uint32(h[12:16])))
	binary.LittleEndian.PutUint64(p.Dst[:8], uint64(binary.LittleEndian.Uint32(h[16:20])))
	p.Proto = h[9]
	total := binary.BigEndian.Uint16(h[2:])
	switch {
	case total == 0:
		// Segmentation/receive offload hands up super-packets whose length
		// field is left zero: the captured bytes are the packet.
		p.IPLen = uint32(len(h))
	case int(total) < ihl:
		return ErrBadHeader
	default:
		p.IPLen = uint32(total)
		b = ipEnd(b, off, p.IPLen, p)
	}
	frag := binary.BigEndian.Uint16(h[6:])
	l4 := off + ihl
	if frag&0x3FFF != 0 { // MF or a fragment offset
		p.Flags |= FlagFragment
		if frag&0x1FFF != 0 {
			return laterFragment(l4, p)
		}
	}
	return d.l4(b, l4, p)
}

// laterFragment reports a fragment that carries no L4 header.
func laterFragment(l4 int, p *Packet) error {
	p.Flags |= FlagLaterFragment
	p.L4Offset = uint32(l4)
	p.PayloadOffset = uint32(l4)
	p.PayloadLen = payloadLen(p, l4)
	return nil
}

// payloadLen is what IPLen leaves after the headers ending at end.
func payloadLen(p *Packet, end int) uint32 {
	hdrs := uint32(end) - p.IPOffset
	if hdrs >= p.IPLen {
		return 0
	}
	return p.IPLen - hdrs
}

func (d *Decoder) ipv6(b []byte, off int, p *Packet) error {
	if len(b)-off < 40 {
		return ErrTruncated
	}
	h := b[off:]
	p.Version = 6
	p.IPOffset = uint32(off)
	copy(p.Src[:], h[8:24])
	copy(p.Dst[:], h[24:40])
	if plen := binary.BigEndian.Uint16(h[4:]); plen == 0 {
		// A jumbogram (hop-by-hop jumbo option) or an offloaded
		// super-packet: either way the captured bytes are the packet.
		p.IPLen = uint32(len(h))
	} else {
		p.IPLen = 40 + uint32(plen)
		b = ipEnd(b, off, p.IPLen, p)
	}
	next := h[6]
	x := off + 40
	for n := 0; ; n++ {
		var hl int
		switch next {
		case 0, 43, 60, 135, 139, 140: // hop-by-hop, routing, dst opts, mobility, HIP, shim6
			if len(b)-x < 2 {
				return ErrTruncated
			}
			hl = (int(b[x+1]) + 1) * 8
		case 51: // AH counts 4-octet units, less two
			if len(b)-x < 2 {
				return ErrTruncated
			}
			hl = (int(b[x+1]) + 2) * 4
		case 44:
			hl = 8
		default:
			p.Proto = next
			return d.l4(b, x, p)
		}
		if n == maxExtHeaders {
			return ErrTooDeep
		}
		if len(b)-x < hl {
			return ErrTruncated
		}
		prev := next
		next = b[x]
		x += hl
		if prev != 44 {
			continue
		}
		frag := binary.BigEndian.Uint16(b[x-hl+2:])
		if frag&0xFFF9 != 0 { // offset or M bit; reserved bits are ignored
			p.Flags |= FlagFragment
		}
		if frag&0xFFF8 != 0 {
			p.Proto = next
			return laterFragment(x, p)
		}
	}
}

// l4 decodes the transport header at off of protocol p.Proto; b ends with
// the IP packet (or the capture, when that ends first).
func (d *Decoder) l4(b []byte, off int, p *Packet) error {
	p.L4Offset = uint32(off)
	avail := len(b) - off
	hl := 0
	switch p.Proto {
	case ProtoTCP:
		if avail < 20 {
			return ErrTruncated
		}
		hl = int(b[off+12]>>4) * 4
		if hl < 20 {
			return ErrBadHeader
		}
		// Options cut by the snap length are allowed: the payload offset
		// below stops at the end of the capture.
		if hl > avail && p.Flags&FlagTruncatedIP == 0 {
			return ErrBadHeader
		}
		p.SrcPort = binary.BigEndian.Uint16(b[off:])
		p.DstPort = binary.BigEndian.Uint16(b[off+2:])
		p.TCPFlags = b[off+13]
	case ProtoUDP, ProtoSCTP:
		hl = 8
		if p.Proto == ProtoSCTP {
			hl = 12
		}
		if avail < hl {
			return ErrTruncated
		}
		p.SrcPort = binary.BigEndian.Uint16(b[off:])
		p.DstPort = binary.BigEndian.Uint16(b[off+2:])
	case ProtoICMP, ProtoICMPv6:
		hl = 8
		if avail < hl {
			return ErrTruncated
		}
		p.ICMPType = b[off]
		p.ICMPCode = b[off+1]
		if icmpError(p.Proto, p.ICMPType) {
			p.Flags |= FlagICMPError
		}
	case ProtoESP:
		hl = 8
		if avail < hl {
			return ErrTruncated
		}
		p.SPI = binary.BigEndian.Uint32(b[off:])
	}
	p.PayloadOffset = uint32(off + min(hl, avail))
	p.PayloadLen = payloadLen(p, off+hl)
	if d.Decap != 0 && p.Tunnels < maxTunnels {
		d.tunnel(b, off, p)
	}
	return nil
}

func icmpError(proto, typ uint8) bool {
	if proto == ProtoICMP {
		return typ == 3 || typ == 4 || typ == 5 || typ == 11 || typ == 12
	}
	return typ >= 1 && typ <= 4
}

// tunnel opens the tunnel the outer packet in p carries at l4, if any is
// selected. A tunnel that does not look like one is left closed.
func (d *Decoder) tunnel(b []byte, l4 int, p *Packet) {
	switch p.Proto {
	case ProtoUDP:
		d.udpTunnel(b, int(p.PayloadOffset), p)
	case ProtoGRE:
		if d.Decap&DecapGRE != 0 {
			d.gre(b, l4, p)
		}
	case ProtoIPIP:
		if d.Decap&DecapIPIP != 0 {
			d.open(b, l4, 4, false, p)
		}
	case ProtoIPv6:
		if d.Decap&DecapIPIP != 0 {
			d.open(b, l4, 6, false, p)
		}
	}
}

func (d *Decoder) udpTunnel(b []byte, u int, p *Packet) {
	avail := len(b) - u
	switch {
	case d.Decap&DecapGTPU != 0 && (p.SrcPort == portGTPU || p.DstPort == portGTPU):
		d.gtpu(b, u, p)
	case d.Decap&DecapESPInUDP != 0 && (p.SrcPort == portESPInUDP || p.DstPort == portESPInUDP):
		// RFC 3948: a lone 0xFF is a NAT keepalive and a zero "SPI" marks
		// IKE; both are the UDP flow. ESP needs its SPI and sequence.
		if avail < 8 || p.PayloadLen < 8 || binary.BigEndian.Uint32(b[u:]) == 0 {
			return
		}
		p.Proto = ProtoESP
		p.SrcPort, p.DstPort = 0, 0
		p.SPI = binary.BigEndian.Uint32(b[u:])
		p.L4Offset = uint32(u)
		p.PayloadOffset = uint32(u + 8)
		p.PayloadLen -= 8
		p.Tunnels++
	case d.Decap&DecapVXLAN != 0 && p.DstPort == portVXLAN:
		if avail >= 8 && b[u]&0x08 != 0 { // I flag: the VNI is valid
			d.open(b, u+8, 0, true, p)
		}
	}
}

// gtpu opens a GTPv1-U T-PDU. Signalling (echo, error indication, end
// marker) stays the outer UDP flow.
func (d *Decoder) gtpu(b []byte, u int, p *Packet) {
	if len(b)-u < 8 {
		return
	}
	flags := b[u]
	if flags>>5 != 1 || flags&0x10 == 0 || b[u+1] != 0xFF {
		return
	}
	// The length field counts what follows the mandatory 8 bytes; it
	// bounds the inner packet like an IP length would.
	end := u + 8 + int(binary.BigEndian.Uint16(b[u+2:]))
	if end < len(b) {
		b = b[:end]
	}
	x := u + 8
	if flags&0x07 != 0 { // E, S or PN: sequence, N-PDU and next-type follow
		x += 4
		if len(b) < x {
			p.Flags |= FlagInnerMalformed
			return
		}
		if flags&0x04 != 0 {
			next := b[x-1]
			for n := 0; next != 0; n++ {
				if n == maxGTPExt || len(b)-x < 1 || b[x] == 0 || len(b)-x < int(b[x])*4 {
					p.Flags |= FlagInnerMalformed
					return
				}
				x += int(b[x]) * 4
				next = b[x-1]
			}
		}
	}
	d.open(b, x, 0, false, p)
}

// gre opens GRE version 0 carrying IP or Ethernet, and PPTP's enhanced
// GRE (version 1) carrying PPP with IP in it.
func (d *Decoder) gre(b []byte, g int, p *Packet) {
	if len(b)-g < 4 {
		return
	}
	flags := binary.BigEndian.Uint16(b[g:])
	proto := binary.BigEndian.Uint16(b[g+2:])
	if flags&0x4000 != 0 { // source routing (RFC 1701): obsolete, never opened
		return
	}
	x := g + 4
	for _, bit := range [...]uint16{0x8000, 0x2000, 0x1000} { // C, K, S
		if flags&bit != 0 {
			x += 4
		}
	}
	switch flags & 7 {
	case 0:
		if len(b) < x {
			return
		}
		switch proto {
		case etherIPv4:
			d.open(b, x, 4, false, p)
		case etherIPv6:
			d.open(b, x, 6, false, p)
		case etherTransEth:
			d.open(b, x, 0, true, p)
		}
	case 1:
		if proto != etherPPP || flags&0xA000 != 0x2000 { // key required, no checksum
			return
		}
		if flags&0x0080 != 0 { // acknowledgment number
			x += 4
		}
		if len(b) <= x { // an ack-only packet carries no PPP frame
			return
		}
		off, want, err := ppp(b, x)
		if err != nil {
			return // LCP, CCP, compressed data: stays the GRE flow
		}
		d.open(b, off, want, false, p)
	}
}

// open decodes the packet a tunnel carries at off (an IP packet of version
// want, 0 meaning from its nibble, or an Ethernet frame when eth), keeping
// the outer packet when the inner one does not decode.
func (d *Decoder) open(b []byte, off int, want uint8, eth bool, p *Packet) {
	outer := *p
	*p = Packet{VLANs: outer.VLANs, Tunnels: outer.Tunnels + 1}
	var err error
	if eth {
		off, want, err = ether(b, off, p, false)
	}
	if err == nil {
		err = d.ip(b, off, want, p)
	}
	if err != nil {
		*p = outer
		p.Flags |= FlagInnerMalformed
	}
}

// SrcAddr is the source address as a netip.Addr, for the control plane.
func (p *Packet) SrcAddr() netip.Addr { return p.addr(&p.Src) }

// DstAddr is the destination address as a netip.Addr.
func (p *Packet) DstAddr() netip.Addr { return p.addr(&p.Dst) }

func (p *Packet) addr(a *[16]byte) netip.Addr {
	switch p.Version {
	case 4:
		return netip.AddrFrom4([4]byte(a[:4]))
	case 6:
		return netip.AddrFrom16(*a)
	}
	return netip.Addr{}
}
