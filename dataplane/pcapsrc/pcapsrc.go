// Package pcapsrc reads pcap and pcapng capture files frame by frame for the
// offline pipeline, keeping nanosecond timestamps and each frame's link type.
//
// Threading: a Source belongs to the one goroutine that calls Next; the
// frame it returns is valid only until the next call.
package pcapsrc

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/google/gopacket/pcapgo"

	"github.com/tunnelscope/tunnelscope/dataplane/packet"
)

// ErrNotCapture is returned by Open for a file that is neither pcap nor pcapng.
var ErrNotCapture = errors.New("not a pcap or pcapng file")

// ErrTruncated is returned by Next when the file ends inside a record: every
// frame before it has been delivered.
var ErrTruncated = errors.New("capture truncated mid-record")

// Frame is one captured frame. Data is owned by the Source.
type Frame struct {
	Data    []byte
	WireLen uint32 // original length on the wire (Data may be shorter: snaplen)
	Time    int64  // ns since the epoch
	Link    packet.LinkType
}

type reader interface {
	next() ([]byte, uint32, int64, packet.LinkType, error)
}

// Source yields the frames of one capture file.
type Source struct {
	name string
	f    *os.File
	r    reader
	n    uint64
}

var (
	magicPcapNG = []byte{0x0a, 0x0d, 0x0d, 0x0a}
	magicsPcap  = [][]byte{
		{0xd4, 0xc3, 0xb2, 0xa1}, {0xa1, 0xb2, 0xc3, 0xd4}, // microsecond
		{0x4d, 0x3c, 0xb2, 0xa1}, {0xa1, 0xb2, 0x3c, 0x4d}, // nanosecond
	}
)

// Open opens a capture file, telling pcap from pcapng by its magic number.
func Open(name string) (*Source, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(f, 1<<20)
	magic, err := br.Peek(4)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", name, ErrNotCapture)
	}
	s := &Source{name: name, f: f}
	switch {
	case bytes.Equal(magic, magicPcapNG):
		ng, err := pcapgo.NewNgReader(br, pcapgo.NgReaderOptions{})
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("%s: pcapng header: %w", name, err)
		}
		s.r = &ngReader{r: ng}
	case isPcapMagic(magic):
		link, err := pcapLinkType(br)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("%s: pcap header: %w", name, err)
		}
		pr, err := pcapgo.NewReader(fixVersion(br))
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("%s: pcap header: %w", name, err)
		}
		// Some writers put a snaplen smaller than the records they write;
		// trust the records rather than refuse them.
		pr.SetSnaplen(1 << 24)
		s.r = &pcapReader{r: pr, link: link}
	default:
		f.Close()
		return nil, fmt.Errorf("%s: %w", name, ErrNotCapture)
	}
	return s, nil
}

// fixVersion presents a pcap 2.x header of an old minor version (2.1 and
// 2.2 files exist; the record format is unchanged since) as 2.4, the only
// version pcapgo accepts.
func fixVersion(br *bufio.Reader) io.Reader {
	h, err := br.Peek(24)
	if err != nil {
		return br
	}
	big := h[0] == 0xa1
	major, minor := h[4:6], h[6:8]
	if big && major[0] == 0 && major[1] == 2 && minor[0] == 0 && minor[1] < 4 ||
		!big && major[1] == 0 && major[0] == 2 && minor[1] == 0 && minor[0] < 4 {
		fixed := append([]byte(nil), h...)
		if big {
			fixed[7] = 4
		} else {
			fixed[6] = 4
		}
		br.Discard(24)
		return io.MultiReader(bytes.NewReader(fixed), br)
	}
	return br
}

// pcapLinkType reads the header's 32-bit link type itself: pcapgo keeps it
// in a uint8, which turns LINKTYPE_LINUX_SLL2 (276) into 20.
func pcapLinkType(br *bufio.Reader) (packet.LinkType, error) {
	h, err := br.Peek(24)
	if err != nil {
		return 0, ErrNotCapture
	}
	if h[0] == 0xa1 {
		return packet.LinkType(binary.BigEndian.Uint32(h[20:])), nil
	}
	return packet.LinkType(binary.LittleEndian.Uint32(h[20:])), nil
}

// ngLinkType undoes pcapgo's uint8 truncation of pcapng link types. Of the
// link types the decoder knows, only LINUX_SLL2 (276) is above 255, and 20
// (its truncation) is an unassigned value, so the mapping is unambiguous.
func ngLinkType(t uint8) packet.LinkType {
	if packet.LinkType(t) == packet.LinkLinuxSLL2&0xff {
		return packet.LinkLinuxSLL2
	}
	return packet.LinkType(t)
}

func isPcapMagic(m []byte) bool {
	for _, want := range magicsPcap {
		if bytes.Equal(m, want) {
			return true
		}
	}
	return false
}

// Name is the path the Source was opened with.
func (s *Source) Name() string { return s.name }

// Frames is how many frames Next has delivered.
func (s *Source) Frames() uint64 { return s.n }

// Next fills fr with the next frame. It returns io.EOF at a clean end,
// ErrTruncated (wrapped with the file name and frame number) when the file
// stops inside a record, and a wrapped error for a corrupt record.
func (s *Source) Next(fr *Frame) error {
	data, wire, ts, link, err := s.r.next()
	if err != nil {
		if err == io.EOF {
			return io.EOF
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return fmt.Errorf("%s: after frame %d: %w", s.name, s.n, ErrTruncated)
		}
		return fmt.Errorf("%s: frame %d: %w", s.name, s.n+1, err)
	}
	s.n++
	fr.Data, fr.WireLen, fr.Time, fr.Link = data, wire, ts, link
	return nil
}

// Close releases the file.
func (s *Source) Close() error { return s.f.Close() }

type pcapReader struct {
	r    *pcapgo.Reader
	link packet.LinkType
}

func (p *pcapReader) next() ([]byte, uint32, int64, packet.LinkType, error) {
	data, ci, err := p.r.ZeroCopyReadPacketData()
	if err != nil {
		return nil, 0, 0, 0, err
	}
	return data, uint32(ci.Length), ci.Timestamp.UnixNano(), p.link, nil
}

type ngReader struct {
	r     *pcapgo.NgReader
	links []packet.LinkType // by interface index, filled as interfaces appear
}

func (n *ngReader) next() ([]byte, uint32, int64, packet.LinkType, error) {
	data, ci, err := n.r.ZeroCopyReadPacketData()
	if err != nil {
		return nil, 0, 0, 0, err
	}
	for len(n.links) <= ci.InterfaceIndex {
		iface, ierr := n.r.Interface(len(n.links))
		if ierr != nil {
			return nil, 0, 0, 0, ierr
		}
		n.links = append(n.links, ngLinkType(uint8(iface.LinkType)))
	}
	return data, uint32(ci.Length), ci.Timestamp.UnixNano(), n.links[ci.InterfaceIndex], nil
}
