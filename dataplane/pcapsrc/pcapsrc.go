// Package pcapsrc reads pcap and pcapng capture files frame by frame for the
// offline pipeline, keeping nanosecond timestamps and each frame's link type.
//
// Records are parsed in place and frames are handed out as slices of the
// bytes that hold them, with no per-frame allocation or call through an
// io.Reader. A regular file of at least a MiB is memory-mapped (on Linux):
// the kernel's copy of every byte into a read buffer was a fifth of
// classify's time. Anything else (pipes, small files, other systems) is
// read through one large buffer. A mapped file is read up to the size it
// had at Open; a file that shrinks meanwhile faults, which Guard turns
// into ErrShrunk.
//
// Threading: a Source belongs to the one goroutine that calls Next; the
// frame it returns is valid only until the next call.
package pcapsrc

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"os"
	"runtime/debug"
	"unsafe"

	"github.com/tunnelscope/tunnelscope/dataplane/packet"
)

// ErrNotCapture is returned by Open for a file that is neither pcap nor pcapng.
var ErrNotCapture = errors.New("not a pcap or pcapng file")

// ErrTruncated is returned by Next when the file ends inside a record: every
// frame before it has been delivered.
var ErrTruncated = errors.New("capture truncated mid-record")

// ErrShrunk is returned by Guard when the file was cut short by another
// process while it was mapped: frames before the cut have been delivered.
var ErrShrunk = errors.New("capture file shrank while being read")

// ErrCorrupt is wrapped by Next for a record whose lengths or references
// cannot be right.
var ErrCorrupt = errors.New("corrupt record")

// Frame is one captured frame. Data is owned by the Source.
type Frame struct {
	Data    []byte
	WireLen uint32 // original length on the wire (Data may be shorter: snaplen); never below len(Data), whatever a corrupt record says
	Time    int64  // ns since the epoch
	Link    packet.LinkType
}

// Source yields the frames of one capture file.
type Source struct {
	name string
	f    *os.File
	in   input
	n    uint64

	ng bool
	be bool // the pcap file or the current pcapng section is big-endian
	// pcap only
	fracNs int64 // ns per unit of a record's fraction field: 1 (nanosecond file) or 1000
	link   packet.LinkType
	// pcapng: the current section's interfaces, by interface ID
	ifaces []iface
}

// iface is what a pcapng Interface Description Block says about timing and
// framing of the packets that refer to it.
type iface struct {
	link    packet.LinkType
	snaplen uint32
	units   uint64 // timestamp units per second (if_tsresol)
	offset  int64  // seconds added to every timestamp (if_tsoffset)
}

// bufSize is the read buffer: large enough that the read syscall's fixed
// cost is spread over hundreds of frames, small enough to stay in the L2
// cache, where the kernel's copy leaves the frames for the decoder.
const bufSize = 256 << 10

// maxRecord bounds a record's captured length, like libpcap's largest
// snapshot length; a larger value means a corrupt length field.
const maxRecord = 1 << 24

const (
	magicMicro = 0xa1b2c3d4
	magicNano  = 0xa1b23c4d
	magicNG    = 0x0a0d0d0a // pcapng Section Header Block type, a palindrome
	ngBOM      = 0x1a2b3c4d
)

// pcapng block types.
const (
	blockIDB = 1
	blockPB  = 2 // obsolete Packet Block
	blockSPB = 3
	blockEPB = 6
)

// Open opens a capture file, telling pcap from pcapng by its magic number.
func Open(name string) (*Source, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	var s *Source
	if b := mapFile(f); b != nil {
		s, err = newMapped(name, b)
		if err != nil {
			unmap(b)
		}
	} else {
		s, err = newSource(name, f)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	s.f = f
	return s, nil
}

// newMapped reads a capture held whole in b, which must stay readable until
// Close (and is unmapped by it when s.f is set).
func newMapped(name string, b []byte) (*Source, error) {
	in := input{buf: b, end: len(b), err: io.EOF, mapped: true}
	if len(b) > 0 {
		in.base = uintptr(unsafe.Pointer(&b[0]))
	}
	return start(name, in)
}

// newSource reads a capture from r; name is only for messages.
func newSource(name string, r io.Reader) (*Source, error) {
	return start(name, input{r: r, buf: make([]byte, bufSize)})
}

// start reads the file header from in, for newSource and newMapped.
func start(name string, in input) (*Source, error) {
	s := &Source{name: name, in: in}
	if err := s.header(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return s, nil
}

func (s *Source) header() error {
	if s.in.fill(4) != nil {
		return ErrNotCapture
	}
	m := s.in.peek(4)
	magicLE, magicBE := binary.LittleEndian.Uint32(m), binary.BigEndian.Uint32(m)
	switch {
	case magicLE == magicNG:
		s.ng = true
		if err := s.sectionHeader(); err != nil {
			return fmt.Errorf("pcapng header: %w", err)
		}
		return nil
	case magicLE == magicMicro || magicLE == magicNano:
		s.fracNs = fracNs(magicLE)
	case magicBE == magicMicro || magicBE == magicNano:
		s.be, s.fracNs = true, fracNs(magicBE)
	default:
		return ErrNotCapture
	}
	if err := s.in.fill(24); err != nil {
		return fmt.Errorf("pcap header: %w", ErrNotCapture)
	}
	h := s.in.peek(24)
	// 2.1 and 2.2 files exist; the record format is unchanged since.
	if major, minor := s.u16(h[4:]), s.u16(h[6:]); major != 2 || minor > 4 {
		return fmt.Errorf("pcap header: unknown version %d.%d", major, minor)
	}
	// All 32 bits: LINKTYPE_LINUX_SLL2 is 276.
	s.link = packet.LinkType(s.u32(h[20:]))
	s.in.skip(24)
	return nil
}

// fracNs is the ns per unit of the fraction field of a pcap file with
// magic number m.
func fracNs(m uint32) int64 {
	if m == magicNano {
		return 1
	}
	return 1000
}

func (s *Source) u16(b []byte) uint16 {
	if s.be {
		return binary.BigEndian.Uint16(b)
	}
	return binary.LittleEndian.Uint16(b)
}

func (s *Source) u32(b []byte) uint32 {
	if s.be {
		return binary.BigEndian.Uint32(b)
	}
	return binary.LittleEndian.Uint32(b)
}

func (s *Source) u64(b []byte) uint64 {
	if s.be {
		return binary.BigEndian.Uint64(b)
	}
	return binary.LittleEndian.Uint64(b)
}

// Name is the path the Source was opened with.
func (s *Source) Name() string { return s.name }

// Frames is how many frames Next has delivered.
func (s *Source) Frames() uint64 { return s.n }

// Next fills fr with the next frame. It returns io.EOF at a clean end,
// ErrTruncated (wrapped with the file name and frame number) when the file
// stops inside a record, and a wrapped error for a corrupt record.
func (s *Source) Next(fr *Frame) (err error) {
	if !s.ng && s.pcapRecord(fr) {
		s.n++
	} else {
		err = s.next(fr)
	}
	s.in.repace()
	return err
}

// next is Next past its fast path: a pcapng block, or a pcap record that
// is not whole in the buffer (or is corrupt).
func (s *Source) next(fr *Frame) error {
	var err error
	if s.ng {
		err = s.nextNG(fr)
	} else {
		err = s.nextPcap(fr)
	}
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
	return nil
}

// NextBatch fills frames[:n] with the next n frames, 1 <= n <= len(frames),
// or returns n = 0 and the error Next would. The frames' Data stay valid
// until the next call of Next or NextBatch. A batch ends where the read
// buffer does, so it never waits for a refill that would move the frames
// already in it.
func (s *Source) NextBatch(frames []Frame) (n int, err error) {
	if len(frames) == 0 {
		return 0, nil
	}
	if !s.ng {
		for n < len(frames) && s.pcapRecord(&frames[n]) {
			n++
		}
		if n > 0 {
			s.n += uint64(n)
			s.in.repace()
			return n, nil
		}
	}
	err = s.next(&frames[0])
	s.in.repace()
	if err != nil {
		return 0, err
	}
	return 1, nil
}

// Close releases the file; the frames handed out are invalid after it.
func (s *Source) Close() error {
	if s.in.mapped && s.f != nil {
		unmap(s.in.buf)
		s.in.buf = nil
	}
	return s.f.Close()
}

// Mapped reports whether the capture is read through a memory mapping.
func (s *Source) Mapped() bool { return s.in.mapped }

// Guard runs fn, which reads s's frames, and returns its error. A mapped
// file that another process truncates faults when the missing pages are
// touched, where read would have returned a short count; Guard turns that
// fault, raised anywhere in fn on the calling goroutine, into an error
// wrapping ErrShrunk, so the frames before the cut stay processed and the
// process lives. Other panics pass through.
func (s *Source) Guard(fn func() error) (err error) {
	if !s.in.mapped {
		return fn()
	}
	if faultIn(s.in.buf, func() { err = fn() }) {
		return fmt.Errorf("%s: after frame %d: %w", s.name, s.n, ErrShrunk)
	}
	return err
}

// faultIn runs fn and reports whether it faulted on an address inside b,
// a mapped file's pages that the file no longer holds; any other panic,
// and any other fault, passes on. The goroutine's panic-on-fault setting
// is restored.
func faultIn(b []byte, fn func()) (faulted bool) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		if f, ok := r.(interface{ Addr() uintptr }); ok && holds(b, f.Addr()) {
			faulted = true
			return
		}
		panic(r)
	}()
	fn()
	return false
}

// pcapRecord is the common case of nextPcap, kept free of calls so that
// nothing is spilled around them: a whole, well-formed record already in
// the buffer. It reports false, having changed nothing, for anything else,
// which nextPcap then handles (refills, errors).
func (s *Source) pcapRecord(fr *Frame) bool {
	in := &s.in
	if in.end-in.pos < 16 {
		return false
	}
	h := in.buf[in.pos : in.pos+16]
	var sec, frac, capLen, wireLen uint32
	if s.be {
		sec, frac = binary.BigEndian.Uint32(h[0:]), binary.BigEndian.Uint32(h[4:])
		capLen, wireLen = binary.BigEndian.Uint32(h[8:]), binary.BigEndian.Uint32(h[12:])
	} else {
		sec, frac = binary.LittleEndian.Uint32(h[0:]), binary.LittleEndian.Uint32(h[4:])
		capLen, wireLen = binary.LittleEndian.Uint32(h[8:]), binary.LittleEndian.Uint32(h[12:])
	}
	if capLen > wireLen || capLen > maxRecord || in.end-in.pos-16 < int(capLen) {
		return false
	}
	start := in.pos + 16
	end := start + int(capLen)
	fr.Data = in.buf[start:end:end]
	fr.WireLen, fr.Time, fr.Link = wireLen, int64(sec)*1e9+int64(frac)*s.fracNs, s.link
	in.pos = end
	return true
}

// nextPcap reads a record that pcapRecord could not: one not yet (or not
// wholly) in the buffer, or a corrupt one.
func (s *Source) nextPcap(fr *Frame) error {
	in := &s.in
	if err := in.fill(16); err != nil {
		return err
	}
	h := in.buf[in.pos : in.pos+16]
	capLen, wireLen := s.u32(h[8:]), s.u32(h[12:])
	// Writers have put snaplens below the records they write; trust the
	// records, within reason.
	if capLen > maxRecord {
		return fmt.Errorf("%w: capture length %d exceeds %d", ErrCorrupt, capLen, maxRecord)
	}
	if capLen > wireLen {
		return fmt.Errorf("%w: capture length exceeds original packet length: %d > %d", ErrCorrupt, capLen, wireLen)
	}
	if err := in.fill(16 + int(capLen)); err != nil {
		return unexpected(err)
	}
	if !s.pcapRecord(fr) {
		// The record is whole and its lengths were checked above.
		return fmt.Errorf("%w: record of %d bytes not readable", ErrCorrupt, capLen)
	}
	return nil
}

// nextNG reads blocks up to and including the next packet block.
func (s *Source) nextNG(fr *Frame) error {
	in := &s.in
	for {
		if in.end-in.pos < 12 {
			if err := in.fill(12); err != nil {
				return err
			}
		}
		h := in.peek(8)
		typ := s.u32(h)
		if typ == magicNG {
			if err := s.sectionHeader(); err != nil {
				return err
			}
			continue
		}
		total := s.u32(h[4:])
		if total < 12 || total%4 != 0 || total > maxRecord+64 {
			return fmt.Errorf("%w: pcapng block type %#x of length %d", ErrCorrupt, typ, total)
		}
		n := int(total)
		if in.end-in.pos < n {
			if err := in.fill(n); err != nil {
				return unexpected(err)
			}
		}
		b := in.buf[in.pos+8 : in.pos+n-4] // the body
		in.pos += n
		var err error
		switch typ {
		case blockEPB, blockPB:
			err = s.packetBlock(fr, typ, b)
		case blockSPB:
			err = s.simpleBlock(fr, b)
		case blockIDB:
			err = s.interfaceBlock(b)
			if err == nil {
				continue
			}
		default:
			continue // statistics, name resolution, comments, ...
		}
		return err
	}
}

func (s *Source) packetBlock(fr *Frame, typ uint32, b []byte) error {
	if len(b) < 20 {
		return fmt.Errorf("%w: packet block of %d bytes", ErrCorrupt, len(b))
	}
	var id uint32
	if typ == blockEPB {
		id = s.u32(b)
	} else {
		id = uint32(s.u16(b))
	}
	if id >= uint32(len(s.ifaces)) {
		return fmt.Errorf("%w: interface %d not described in its section (it has %d)", ErrCorrupt, id, len(s.ifaces))
	}
	ifc := &s.ifaces[id]
	capLen, wireLen := s.u32(b[12:]), s.u32(b[16:])
	if uint64(capLen) > uint64(len(b)-20) {
		return fmt.Errorf("%w: capture length %d exceeds its block", ErrCorrupt, capLen)
	}
	ts := uint64(s.u32(b[4:]))<<32 | uint64(s.u32(b[8:]))
	fr.Data = b[20 : 20+capLen : 20+capLen]
	fr.WireLen, fr.Time, fr.Link = max(wireLen, uint32(len(fr.Data))), ifc.nanos(ts), ifc.link
	return nil
}

// simpleBlock reads a Simple Packet Block: interface 0, no timestamp, and
// only the original length, so the captured length is what the block and
// the snaplen leave.
func (s *Source) simpleBlock(fr *Frame, b []byte) error {
	if len(s.ifaces) == 0 {
		return fmt.Errorf("%w: simple packet block before any interface", ErrCorrupt)
	}
	if len(b) < 4 {
		return fmt.Errorf("%w: simple packet block of %d bytes", ErrCorrupt, len(b))
	}
	ifc := &s.ifaces[0]
	wireLen := s.u32(b)
	capLen := min(uint64(wireLen), uint64(len(b)-4))
	if ifc.snaplen != 0 {
		capLen = min(capLen, uint64(ifc.snaplen))
	}
	fr.Data = b[4 : 4+capLen : 4+capLen]
	fr.WireLen, fr.Time, fr.Link = max(wireLen, uint32(len(fr.Data))), 0, ifc.link
	return nil
}

// Interface Description Block options.
const (
	optEnd      = 0
	optTSResol  = 9
	optTSOffset = 14
)

func (s *Source) interfaceBlock(b []byte) error {
	if len(b) < 8 {
		return fmt.Errorf("%w: interface block of %d bytes", ErrCorrupt, len(b))
	}
	ifc := iface{link: packet.LinkType(s.u16(b)), snaplen: s.u32(b[4:]), units: 1e6}
	for o := b[8:]; len(o) >= 4; {
		code, n := s.u16(o), int(s.u16(o[2:]))
		if code == optEnd || 4+n > len(o) {
			break
		}
		v := o[4 : 4+n]
		switch {
		case code == optTSResol && n >= 1:
			r := v[0]
			exp := uint(r & 0x7f)
			if r&0x80 != 0 {
				if exp > 63 {
					return fmt.Errorf("%w: if_tsresol 2^-%d", ErrCorrupt, exp)
				}
				ifc.units = 1 << exp
			} else {
				if exp > 19 {
					return fmt.Errorf("%w: if_tsresol 10^-%d", ErrCorrupt, exp)
				}
				ifc.units = 1
				for range exp {
					ifc.units *= 10
				}
			}
		case code == optTSOffset && n >= 8:
			ifc.offset = int64(s.u64(v))
		}
		o = o[4+(n+3)&^3:]
	}
	s.ifaces = append(s.ifaces, ifc)
	return nil
}

// nanos converts a timestamp in the interface's units to ns since the
// epoch, exactly (the fraction is scaled in 128 bits).
func (ifc *iface) nanos(ts uint64) int64 {
	sec, frac := ts/ifc.units, ts%ifc.units
	hi, lo := bits.Mul64(frac, 1e9)
	ns, _ := bits.Div64(hi, lo, ifc.units) // frac < units: no overflow
	return (int64(sec)+ifc.offset)*1e9 + int64(ns)
}

// sectionHeader reads a Section Header Block at the read position: its
// byte-order magic sets the byte order of the whole section, and the
// interfaces of the previous section no longer apply.
func (s *Source) sectionHeader() error {
	in := &s.in
	if err := in.fill(16); err != nil {
		return unexpected(err)
	}
	h := in.peek(16)
	switch {
	case binary.LittleEndian.Uint32(h[8:]) == ngBOM:
		s.be = false
	case binary.BigEndian.Uint32(h[8:]) == ngBOM:
		s.be = true
	default:
		return fmt.Errorf("%w: section header byte-order magic %x", ErrCorrupt, h[8:12])
	}
	if major := s.u16(h[12:]); major != 1 {
		return fmt.Errorf("%w: pcapng version %d", ErrCorrupt, major)
	}
	total := s.u32(h[4:])
	if total < 28 || total%4 != 0 || total > maxRecord {
		return fmt.Errorf("%w: section header of length %d", ErrCorrupt, total)
	}
	if err := in.fill(int(total)); err != nil {
		return unexpected(err)
	}
	in.skip(int(total))
	s.ifaces = s.ifaces[:0]
	return nil
}

// unexpected turns an end of file inside a record into io.ErrUnexpectedEOF.
func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// input is a read buffer, or a whole mapped file, that hands out the bytes
// it holds in place.
type input struct {
	r        io.Reader
	buf      []byte
	pos, end int // unread bytes are buf[pos:end]
	err      error
	// mapped: buf is the whole file, read-only; fill never moves or refills
	// it. populated is how far its pages are mapped (see populateChunk).
	// Pace fetches at the address fetch while it is below fetchEnd, both
	// set by repace each time pos moves, so that the per-frame call is a
	// compare and the fetch, and inlines; base is buf's address. They are
	// plain addresses, never dereferenced: a prefetch cannot fault.
	mapped          bool
	populated       int
	touched         byte // what populate read: kept, so its loads are too
	base            uintptr
	fetch, fetchEnd uintptr
}

// ahead is how far into buf Pace has asked for.
func (in *input) ahead() int { return int(in.fetch - in.base) }

// prefetchDistance is how far ahead of the parse position Pace fetches a
// mapped file into the cache: the page cache is in DRAM, and the hardware
// prefetcher stops at every 4 KiB page, so without it the pipeline stalls
// on a miss every few frames, which read's copy used to take instead.
// 20 KiB is a few batches of frames: far enough to cover DRAM latency, near
// enough that the lines are still cached when parsed. Session 19 retuned
// it for the non-temporal prefetch (lines in L1 only) with 16-frame
// batches: 1.007x against 32 KiB, faster in 34 of 40 paired rounds; 12,
// 16, 24 and 40 KiB were no better.
const prefetchDistance = 20 << 10

// paceMax is what one Pace call prefetches: 16 cache lines. Issued a
// batch at a time (200 lines), the prefetch instruction took 13% of
// classify's samples; at 32 lines per call, 7%; at 8, 1.2% (session 12,
// temporal prefetches). Since the prefetch is non-temporal, 16 lines a
// call are faster than 8, 10 or 12, and 24 or 32 slower (session 19:
// 16 against 8, 1.047x, faster in 77 of 80 paired rounds): a call now
// fetches for two or three frames of the bench capture, whose frames
// are 400 bytes on average, and keeps up with frames of up to 1 KiB;
// behind larger ones it falls back to fetching at the parse position,
// where the hardware takes over as without it. prefetchSpan is written
// for it.
const paceMax = 1024

// Pace prefetches the next paceMax bytes of a mapped capture that are
// within prefetchDistance of the frames handed out; it does nothing for a
// read one, or for the last paceMax bytes of the file. The reader calls
// it once per frame it processes, which spreads the prefetch out in time.
func (s *Source) Pace() {
	if in := &s.in; in.fetch < in.fetchEnd {
		prefetchSpan(in.fetch)
		in.fetch += paceMax
	}
}

// repace sets the span Pace fetches from after pos moved: from where it
// got to (or pos, if the parser overtook it) to prefetchDistance past pos,
// short of the file's last paceMax bytes, with the pages mapped first.
func (in *input) repace() {
	if !in.mapped {
		return
	}
	from := max(in.ahead(), in.pos)
	to := min(in.pos+prefetchDistance, len(in.buf)-paceMax+1)
	if to+paceMax > in.populated && from < to {
		in.populate(from)
	}
	in.fetch, in.fetchEnd = in.base+uintptr(from), in.base+uintptr(max(to, from))
}

// populateChunk is how much of a mapped file populate maps at a time.
// A prefetch of a page the process has not touched yet is dropped (it may
// not fault), and a fault maps only 64 KiB around it where the page cache
// holds the file in small pages, so behind each fault the parser met its
// next records cold from DRAM, one dependent miss after another (the
// record header load was 8% of classify's samples). A chunk at a time,
// not the whole file at open (MAP_POPULATE, as fast here), so a capture
// larger than memory starts at once and is not read twice; 4 MiB chunks
// were slower.
const populateChunk = 32 << 20

// populate maps the file's pages from in.populated to a chunk past from;
// where the file no longer holds them it gives up for good, and pages
// fault in as they are read, so the parser meets the cut itself.
func (in *input) populate(from int) {
	end := min(max(in.populated, from)+populateChunk, len(in.buf))
	sum, ok := populate(in.buf[in.populated:end])
	in.touched ^= sum
	if !ok {
		end = len(in.buf)
	}
	in.populated = end
}

// faultAround is the span one page fault maps where the page cache holds
// a file in small pages: the kernel's fault_around_bytes, 64 KiB unless an
// administrator changed it in debugfs (then the pages between fault in as
// the parser reads them: slower, never wrong). Where the page cache
// holds a 2 MiB folio, one fault maps all of it.
const faultAround = 64 << 10

// populate maps the pages of b, a span of a mapped file, into the process,
// reading them from disk if the page cache lacks them. It reports false
// if one of b's pages faulted: the file was cut short since it was
// mapped; any other fault passes on (faultIn, as in Guard). sum is what
// its loads read, for the caller to keep so that they are not compiled
// away.
//
// It touches one byte per faultAround. madvise(MADV_POPULATE_READ), which
// it replaces, walks every 4 KiB page: the first 32 MiB of the bench
// capture, which the page cache holds in small pages after the
// benchmark's read-back, took it 1.5–2.4 ms, against 0.3–0.5 ms touched,
// and about 0.03 ms either way for a chunk held in 2 MiB folios (session
// 23: classify 1.015x by scripts/ab.sh, faster in 28 of 30 rounds). A
// fault, unlike a system call, never lets the runtime's monitor take the
// goroutine's P.
func populate(b []byte) (sum byte, ok bool) {
	if len(b) == 0 {
		return 0, true
	}
	faulted := faultIn(b, func() {
		for i := 0; i < len(b); i += faultAround {
			sum += b[i]
		}
		sum += b[len(b)-1]
	})
	return sum, !faulted
}

// holds reports whether addr is inside b.
func holds(b []byte, addr uintptr) bool {
	if len(b) == 0 {
		return false
	}
	base := uintptr(unsafe.Pointer(&b[0]))
	return addr >= base && addr-base < uintptr(len(b))
}

func (in *input) peek(n int) []byte { return in.buf[in.pos : in.pos+n] }
func (in *input) skip(n int)        { in.pos += n }

// fill makes at least n bytes readable at pos, moving the unread tail to
// the front (which invalidates slices handed out before) and growing the
// buffer for a record larger than it. It returns io.EOF when the file ended
// with nothing unread and io.ErrUnexpectedEOF when it ended with less than n.
func (in *input) fill(n int) error {
	if in.end-in.pos >= n {
		return nil
	}
	// A mapped file is all there is (err is io.EOF from the start): the
	// move below would write to it, and the reads are skipped anyway.
	if in.pos+n > len(in.buf) && !in.mapped {
		if n > len(in.buf) {
			grown := make([]byte, max(n, 2*len(in.buf)))
			in.end = copy(grown, in.buf[in.pos:in.end])
			in.buf = grown
		} else {
			in.end = copy(in.buf, in.buf[in.pos:in.end])
		}
		in.pos = 0
	}
	for in.end-in.pos < n && in.err == nil {
		var m int
		m, in.err = in.r.Read(in.buf[in.end:])
		in.end += m
	}
	if in.end-in.pos >= n {
		return nil
	}
	if in.err != io.EOF {
		return in.err
	}
	if in.end == in.pos {
		return io.EOF
	}
	return io.ErrUnexpectedEOF
}
