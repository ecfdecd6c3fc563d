// Package packet decodes captured frames in place into a caller-owned
// Packet: no allocation, no copies, every read bounds-checked.
//
// Threading: a Decoder holds only its configuration and may be shared by
// any number of goroutines or lcores; a Packet belongs to the one worker
// that decodes into it. Slices in a Packet are not kept by the decoder:
// offsets index the frame the caller passed.
package packet

import "errors"

// LinkType is a pcap LINKTYPE_ value (https://www.tcpdump.org/linktypes.html).
type LinkType uint16

// Link types found in the captures tunnelscope is tested on.
const (
	LinkNull      LinkType = 0   // BSD loopback: 4-byte address family, host byte order
	LinkEthernet  LinkType = 1   // Ethernet II, with 802.1Q/802.1ad tags and PPPoE sessions
	LinkPPP       LinkType = 9   // PPP, optionally with HDLC address/control bytes
	LinkRaw       LinkType = 101 // raw IPv4 or IPv6, version from the first nibble
	LinkLoop      LinkType = 108 // OpenBSD loopback: 4-byte address family, network byte order
	LinkLinuxSLL  LinkType = 113 // Linux cooked capture v1
	LinkIPv4      LinkType = 228 // raw IPv4
	LinkIPv6      LinkType = 229 // raw IPv6
	LinkLinuxSLL2 LinkType = 276 // Linux cooked capture v2
)

// Decap selects which tunnels the decoder opens so that the inner flow is
// the flow. Tunnels not selected are reported as their outer flow.
type Decap uint8

const (
	DecapGTPU     Decap = 1 << iota // GTP-U T-PDUs on UDP port 2152
	DecapESPInUDP                   // UDP-encapsulated ESP (RFC 3948, port 4500): the flow is ESP
	DecapGRE                        // GRE carrying IPv4, IPv6 or Ethernet (0x6558)
	DecapIPIP                       // IPv4/IPv6 in IPv4/IPv6 (protocols 4 and 41)
	DecapVXLAN                      // VXLAN on UDP port 4789

	DecapAll = DecapGTPU | DecapESPInUDP | DecapGRE | DecapIPIP | DecapVXLAN
)

// Flags describe what the decoder saw beyond the fields of Packet.
type Flags uint16

const (
	FlagFragment       Flags = 1 << iota // an IPv4 or IPv6 fragment (first or later)
	FlagLaterFragment                    // a fragment other than the first: no L4 header, ports are zero
	FlagICMPError                        // ICMP/ICMPv6 error message quoting another packet
	FlagIPOptions                        // IPv4 options present
	FlagTruncatedIP                      // the IP total length runs past the captured bytes
	FlagInnerMalformed                   // a tunnel was opened but its inner packet did not decode: this is the outer packet
)

// IP protocol numbers the decoder interprets.
const (
	ProtoICMP   uint8 = 1
	ProtoIPIP   uint8 = 4
	ProtoTCP    uint8 = 6
	ProtoUDP    uint8 = 17
	ProtoIPv6   uint8 = 41
	ProtoGRE    uint8 = 47
	ProtoESP    uint8 = 50
	ProtoICMPv6 uint8 = 58
	ProtoSCTP   uint8 = 132
)

// TCP flag bits as they appear in byte 13 of the TCP header.
const (
	TCPFin uint8 = 0x01
	TCPSyn uint8 = 0x02
	TCPRst uint8 = 0x04
	TCPPsh uint8 = 0x08
	TCPAck uint8 = 0x10
	TCPUrg uint8 = 0x20
	TCPEce uint8 = 0x40
	TCPCwr uint8 = 0x80
)

// Packet is the decoded view of one frame. All fields describe the
// innermost IP packet the decoder reached (after decapsulation).
type Packet struct {
	Version  uint8    // 4 or 6
	Proto    uint8    // L4 protocol after IPv6 extension headers
	Src, Dst [16]byte // IPv4 addresses occupy the first 4 bytes, the rest is zero
	SrcPort  uint16   // TCP/UDP/SCTP ports; zero for other protocols and later fragments
	DstPort  uint16
	SPI      uint32 // ESP security parameter index
	TCPFlags uint8
	ICMPType uint8
	ICMPCode uint8
	Tunnels  uint8 // how many tunnel headers were opened to reach this packet
	Flags    Flags
	VLANs    uint8 // 802.1Q/802.1ad tags on the outer Ethernet frame

	IPLen      uint32 // bytes from the innermost IP header onwards, per its length field
	PayloadLen uint32 // L4 payload bytes per the headers (IPLen minus IP and L4 headers)

	// Offsets into the frame passed to Decode, for DPI over the clear parts.
	IPOffset      uint32
	L4Offset      uint32
	PayloadOffset uint32
}

// Errors returned by Decode. They are predeclared so the hot path never
// allocates and callers can count them by identity.
var (
	ErrTruncated   = errors.New("packet: truncated header")
	ErrUnknownLink = errors.New("packet: unsupported link type")
	ErrNotIP       = errors.New("packet: not an IP packet")
	ErrBadVersion  = errors.New("packet: bad IP version")
	ErrBadHeader   = errors.New("packet: malformed header")
	ErrTooDeep     = errors.New("packet: too many nested headers")
)
