// Package export writes finished flow records: JSON Lines here, IPFIX later.
//
// Threading: a Writer belongs to one goroutine (the control plane's merger in
// live mode, the command's writer goroutine offline). AppendJSON is a pure
// function and may be called from anywhere.
package export

import (
	"bufio"
	"io"
	"net/netip"
	"strconv"
	"unicode/utf8"

	"github.com/tunnelscope/tunnelscope/dataplane"
)

// TimeLayout is RFC 3339 with a fixed nine-digit fraction, so records sort
// as text and keep the capture's nanoseconds.
const TimeLayout = "2006-01-02T15:04:05.000000000Z07:00"

// AppendJSON appends r as one JSON object (no newline). Keys are documented
// in the README's flow-record schema. It allocates nothing when dst has room.
func AppendJSON(dst []byte, r *dataplane.Record) []byte {
	dst = append(dst, `{"file":`...)
	dst = appendString(dst, r.File)
	dst = append(dst, `,"proto":`...)
	dst = appendUint(dst, uint64(r.Proto))
	dst = append(dst, `,"src":"`...)
	dst = appendAddr(dst, r.Version, &r.Src)
	dst = append(dst, `","sport":`...)
	dst = appendUint(dst, uint64(r.SrcPort))
	dst = append(dst, `,"dst":"`...)
	dst = appendAddr(dst, r.Version, &r.Dst)
	dst = append(dst, `","dport":`...)
	dst = appendUint(dst, uint64(r.DstPort))
	dst = append(dst, `,"first_seen":"`...)
	dst = appendTime(dst, r.First)
	dst = append(dst, `","last_seen":"`...)
	dst = appendTime(dst, r.Last)
	dst = append(dst, `","pkts_fwd":`...)
	dst = appendUint(dst, r.Pkts[0])
	dst = append(dst, `,"pkts_bwd":`...)
	dst = appendUint(dst, r.Pkts[1])
	dst = append(dst, `,"bytes_fwd":`...)
	dst = appendUint(dst, r.Bytes[0])
	dst = append(dst, `,"bytes_bwd":`...)
	dst = appendUint(dst, r.Bytes[1])
	dst = append(dst, `,"frame_bytes_fwd":`...)
	dst = appendUint(dst, r.FrameBytes[0])
	dst = append(dst, `,"frame_bytes_bwd":`...)
	dst = appendUint(dst, r.FrameBytes[1])
	dst = append(dst, `,"frame_len_min_fwd":`...)
	dst = appendUint(dst, uint64(r.FrameMin[0]))
	dst = append(dst, `,"frame_len_min_bwd":`...)
	dst = appendUint(dst, uint64(r.FrameMin[1]))
	dst = append(dst, `,"frame_len_max_fwd":`...)
	dst = appendUint(dst, uint64(r.FrameMax[0]))
	dst = append(dst, `,"frame_len_max_bwd":`...)
	dst = appendUint(dst, uint64(r.FrameMax[1]))
	dst = append(dst, `,"end":"`...)
	dst = append(dst, r.End.String()...)
	dst = append(dst, `","verdict":{"class":"`...)
	dst = append(dst, r.Verdict.Class.String()...)
	dst = append(dst, `","app":`...)
	dst = appendString(dst, r.Verdict.App)
	dst = append(dst, `,"source":"`...)
	dst = append(dst, r.Verdict.Source.String()...)
	dst = append(dst, `","confidence":`...)
	dst = strconv.AppendFloat(dst, float64(r.Verdict.Confidence), 'f', -1, 32)
	dst = append(dst, '}')
	if r.Lcore >= 0 {
		dst = append(dst, `,"lcore":`...)
		dst = strconv.AppendInt(dst, int64(r.Lcore), 10)
	}
	return append(dst, '}')
}

// appendAddr appends the address a of IP version v as Record.SrcAddr's
// netip.Addr would print it.
func appendAddr(dst []byte, v uint8, a *[16]byte) []byte {
	if v == 4 {
		return appendIPv4(dst, a)
	}
	return netip.AddrFrom16(*a).AppendTo(dst)
}

// appendString writes s as a JSON string, escaping what JSON requires and
// replacing invalid UTF-8 (capture file names are arbitrary bytes).
func appendString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	// A name that needs no escaping, as nearly all do, is copied whole:
	// appending it byte by byte was an eighth of a record's time.
	plain := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf {
			plain = false
			break
		}
	}
	if plain {
		dst = append(dst, s...)
		return append(dst, '"')
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c < 0x20:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			dst = append(dst, `\ufffd`...)
		} else {
			dst = append(dst, s[i:i+n]...)
		}
		i += n
	}
	return append(dst, '"')
}

// Writer writes records as JSON Lines through a buffer.
type Writer struct {
	w   *bufio.Writer
	buf []byte
}

// NewWriter buffers output to w.
func NewWriter(w io.Writer) *Writer {
	return &Writer{w: bufio.NewWriterSize(w, 1<<16), buf: make([]byte, 0, 1024)}
}

// Write appends one record line.
func (w *Writer) Write(r *dataplane.Record) error {
	w.buf = AppendJSON(w.buf[:0], r)
	w.buf = append(w.buf, '\n')
	_, err := w.w.Write(w.buf)
	return err
}

// Flush writes out the buffer.
func (w *Writer) Flush() error { return w.w.Flush() }
