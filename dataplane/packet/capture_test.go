package packet

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"

	"github.com/tunnelscope/tunnelscope/internal/reference"
)

// sharedData is ../shared/data, where the shared, read-only captures are.
func sharedData(t testing.TB) string {
	t.Helper()
	data, err := reference.SharedData(".")
	if err != nil {
		t.Fatal(err)
	}
	return data
}

type captured struct {
	link LinkType
	data []byte
}

// readCapture returns every frame of a pcap or pcapng file, recognised by
// its magic number (several .pcap files here are really pcapng).
func readCapture(path string) ([]captured, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if bytes.HasPrefix(raw, []byte{0x0A, 0x0D, 0x0D, 0x0A}) {
		r, err := pcapgo.NewNgReader(bytes.NewReader(raw), pcapgo.DefaultNgReaderOptions)
		if err != nil {
			return nil, err
		}
		return readAll(r, func(ci gopacket.CaptureInfo) (LinkType, error) {
			ifc, err := r.Interface(ci.InterfaceIndex)
			// gopacket 1.1.19 keeps link types in a uint8; none of the
			// pcapng files here uses one above 255 (sll2_tls is pcap).
			return LinkType(ifc.LinkType), err
		})
	}
	if len(raw) < 24 {
		return nil, errors.New("short pcap header")
	}
	order := binary.ByteOrder(binary.LittleEndian)
	if raw[0] == 0xA1 {
		order = binary.BigEndian
	}
	// The header's own link type, because gopacket truncates 276 (SLL2)
	// to a uint8.
	link := LinkType(order.Uint32(raw[20:]) & 0xFFFF)
	r, err := pcapgo.NewReader(bytes.NewReader(raw))
	if err != nil {
		// pcapgo refuses format version 2.1 (nfsv3.pcap); the record
		// layout is the same as 2.4, so read it by hand.
		return readClassic(raw, order, link)
	}
	return readAll(r, func(gopacket.CaptureInfo) (LinkType, error) { return link, nil })
}

// readAll drains a pcapgo reader, asking linkOf for each frame's link type.
func readAll(r interface {
	ReadPacketData() ([]byte, gopacket.CaptureInfo, error)
}, linkOf func(gopacket.CaptureInfo) (LinkType, error)) ([]captured, error) {
	var out []captured
	for {
		data, ci, err := r.ReadPacketData()
		if err == io.EOF {
			return out, nil
		}
		if err == nil {
			var link LinkType
			link, err = linkOf(ci)
			out = append(out, captured{link, data})
		}
		if err != nil {
			return out, err
		}
	}
}

func readClassic(raw []byte, order binary.ByteOrder, link LinkType) ([]captured, error) {
	var out []captured
	for off := 24; off < len(raw); {
		if len(raw)-off < 16 {
			return out, errors.New("short record header")
		}
		n := int(order.Uint32(raw[off+8:]))
		off += 16
		if len(raw)-off < n {
			return out, errors.New("short record")
		}
		out = append(out, captured{link, raw[off : off+n]})
		off += n
	}
	return out, nil
}

func captureFiles(t testing.TB) []string {
	files, err := reference.Captures(sharedData(t))
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestCaptures decodes every frame of every capture. Every link type must
// be one the decoder knows, every file must yield IP packets, and opening
// tunnels must never turn a decodable frame into an error.
func TestCaptures(t *testing.T) {
	links := map[LinkType]int{}
	errs := map[error]int{}
	total, tunnelled := 0, 0
	for _, f := range captureFiles(t) {
		frames, err := readCapture(f)
		if err != nil {
			t.Errorf("%s: %v", filepath.Base(f), err)
		}
		ok := 0
		for i, fr := range frames {
			links[fr.link]++
			var plain, all Packet
			errPlain := (&Decoder{}).Decode(fr.data, fr.link, &plain)
			errAll := (&Decoder{Decap: DecapAll}).Decode(fr.data, fr.link, &all)
			if errPlain != errAll {
				t.Errorf("%s #%d: decap changed the error from %v to %v", filepath.Base(f), i+1, errPlain, errAll)
			}
			if errAll != nil {
				if !isSentinel(errAll) {
					t.Errorf("%s #%d: non-sentinel error %v", filepath.Base(f), i+1, errAll)
				}
				errs[errAll]++
				continue
			}
			checkInvariants(t, fr.data, &all)
			if all.Tunnels > 0 {
				tunnelled++
			}
			ok++
		}
		total += len(frames)
		if ok == 0 {
			t.Errorf("%s: none of %d frames decoded", filepath.Base(f), len(frames))
		}
	}
	if errs[ErrUnknownLink] != 0 {
		t.Errorf("%d frames of unknown link types: %v", errs[ErrUnknownLink], links)
	}
	t.Logf("%d frames; link types %v; errors %v; %d inside opened tunnels", total, links, errs, tunnelled)
}

// gopacketFirst is where gopacket starts decoding each link type.
func gopacketFirst(fr captured) (gopacket.Decoder, []byte, bool) {
	switch fr.link {
	case LinkEthernet:
		return layers.LayerTypeEthernet, fr.data, true
	case LinkNull, LinkLoop:
		return layers.LayerTypeLoopback, fr.data, true
	case LinkRaw:
		return layers.LinkTypeRaw, fr.data, true
	case LinkIPv4:
		return layers.LayerTypeIPv4, fr.data, true
	case LinkIPv6:
		return layers.LayerTypeIPv6, fr.data, true
	case LinkPPP:
		return layers.LayerTypePPP, fr.data, true
	case LinkLinuxSLL:
		return layers.LayerTypeLinuxSLL, fr.data, true
	case LinkLinuxSLL2:
		// gopacket 1.1.19 has no SLL2 decoder: the test itself takes the
		// protocol from offset 0 and lets gopacket decode from byte 20.
		if len(fr.data) < 20 {
			return nil, nil, false
		}
		return layers.EthernetType(binary.BigEndian.Uint16(fr.data)), fr.data[20:], true
	}
	return nil, nil, false
}

// gopacketView is what gopacket reports for the innermost IP packet.
type gopacketView struct {
	version      uint8
	src, dst     []byte
	proto        uint8
	sport, dport uint16
	flags        uint8
	ips, tunnels int
}

// viewOf reads the last IP layer and the TCP or UDP layer right after it.
func viewOf(gp gopacket.Packet) (v gopacketView, ok bool) {
	for _, l := range gp.Layers() {
		switch l := l.(type) {
		case *layers.IPv4:
			v = gopacketView{version: 4, src: l.SrcIP.To4(), dst: l.DstIP.To4(), ips: v.ips + 1, tunnels: v.tunnels}
			ok = false
		case *layers.IPv6:
			v = gopacketView{version: 6, src: l.SrcIP.To16(), dst: l.DstIP.To16(), ips: v.ips + 1, tunnels: v.tunnels}
			ok = false
		case *layers.TCP:
			if v.proto == 0 {
				v.proto, v.sport, v.dport, v.flags, ok = ProtoTCP, uint16(l.SrcPort), uint16(l.DstPort), tcpFlags(l), true
			}
		case *layers.UDP:
			if v.proto == 0 {
				v.proto, v.sport, v.dport, ok = ProtoUDP, uint16(l.SrcPort), uint16(l.DstPort), true
			}
		case *layers.GRE, *layers.GTPv1U, *layers.VXLAN, *layers.IPSecESP:
			v.tunnels++
		}
	}
	return v, ok && v.ips > 0
}

// TestAgainstGopacket compares the decoder with gopacket on every captured
// frame that gopacket decodes down to TCP or UDP. Frames gopacket sees as
// one plain IP packet are compared with tunnels closed; frames it sees
// inside GTP-U, GRE or VXLAN are compared, innermost packet against
// innermost packet, with every tunnel open.
func TestAgainstGopacket(t *testing.T) {
	compared := map[LinkType]int{}
	total, inner := 0, 0
	for _, f := range captureFiles(t) {
		frames, _ := readCapture(f)
		for i, fr := range frames {
			first, data, ok := gopacketFirst(fr)
			if !ok {
				continue
			}
			want, ok := viewOf(gopacket.NewPacket(data, first, gopacket.DecodeOptions{NoCopy: true}))
			if !ok || want.ips != want.tunnels+1 {
				continue
			}
			d := Decoder{}
			if want.tunnels > 0 {
				d.Decap = DecapAll
				inner++
			}
			var p Packet
			name := filepath.Base(f)
			if err := d.Decode(fr.data, fr.link, &p); err != nil {
				t.Errorf("%s #%d: gopacket decodes %+v, we fail: %v", name, i+1, want, err)
				continue
			}
			n := 4
			if want.version == 6 {
				n = 16
			}
			if p.Version != want.version || !bytes.Equal(p.Src[:n], want.src) || !bytes.Equal(p.Dst[:n], want.dst) ||
				p.Proto != want.proto || p.SrcPort != want.sport || p.DstPort != want.dport || p.TCPFlags != want.flags ||
				int(p.Tunnels) != want.tunnels {
				t.Errorf("%s #%d: got %+v; gopacket %+v", name, i+1, p, want)
			}
			compared[fr.link]++
			total++
		}
	}
	links := make([]int, 0, len(compared))
	for l := range compared {
		links = append(links, int(l))
	}
	sort.Ints(links)
	t.Logf("compared %d frames with gopacket (%d inside tunnels); per link type %v", total, inner, compared)
	// Every link type present in the captures must have been checked.
	for _, l := range []LinkType{LinkEthernet, LinkNull, LinkRaw, LinkPPP, LinkLinuxSLL, LinkLinuxSLL2} {
		if compared[l] == 0 {
			t.Errorf("no frame of link type %d compared (compared: %v)", l, links)
		}
	}
	if inner == 0 {
		t.Error("no tunnelled frame compared: zoom.pcap carries GTP-U")
	}
}

func tcpFlags(l *layers.TCP) uint8 {
	var f uint8
	for _, b := range []struct {
		set bool
		bit uint8
	}{{l.FIN, TCPFin}, {l.SYN, TCPSyn}, {l.RST, TCPRst}, {l.PSH, TCPPsh}, {l.ACK, TCPAck}, {l.URG, TCPUrg}, {l.ECE, TCPEce}, {l.CWR, TCPCwr}} {
		if b.set {
			f |= b.bit
		}
	}
	return f
}
