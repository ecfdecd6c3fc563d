//go:build dpdk

package dpdk

/*
#cgo pkg-config: libdpdk
#cgo CFLAGS: -Wno-deprecated-declarations
#cgo noescape ts_rx_burst
#cgo nocallback ts_rx_burst
#cgo noescape ts_free_rx_burst
#cgo nocallback ts_free_rx_burst
#cgo noescape ts_tx_burst
#cgo nocallback ts_tx_burst
#cgo noescape ts_free_bulk
#cgo nocallback ts_free_bulk
#cgo noescape ts_rdtsc
#cgo nocallback ts_rdtsc
#include <stdlib.h>
#include <stddef.h>
#include <rte_cycles.h>
#include <rte_mbuf_dyn.h>
#include "binding.h"

// rte_rdtsc is all header: it needs no library.
static uint64_t ts_rdtsc(void) { return rte_rdtsc(); }

// Offsets of the mbuf fields Go reads directly. Several sit in anonymous
// unions that cgo cannot name, so C computes them.
enum {
	ts_off_buf_addr = offsetof(struct rte_mbuf, buf_addr),
	ts_off_data_off = offsetof(struct rte_mbuf, data_off),
	ts_off_nb_segs = offsetof(struct rte_mbuf, nb_segs),
	ts_off_ol_flags = offsetof(struct rte_mbuf, ol_flags),
	ts_off_pkt_len = offsetof(struct rte_mbuf, pkt_len),
	ts_off_data_len = offsetof(struct rte_mbuf, data_len),
	ts_off_rss = offsetof(struct rte_mbuf, hash.rss),
	ts_off_next = offsetof(struct rte_mbuf, next),
};
*/
import "C"

import (
	"fmt"
	"math"
	"unsafe"
)

const (
	offBufAddr = C.ts_off_buf_addr
	offDataOff = C.ts_off_data_off
	offNbSegs  = C.ts_off_nb_segs
	offOlFlags = C.ts_off_ol_flags
	offPktLen  = C.ts_off_pkt_len
	offDataLen = C.ts_off_data_len
	offRSS     = C.ts_off_rss
	offNext    = C.ts_off_next

	olRxRSSHash uint64 = C.RTE_MBUF_F_RX_RSS_HASH
)

// cgo translates struct rte_mbuf on its own (all but the hash union, which it
// cannot name); if its layout and C's offsetof ever disagree (a header change, a packing surprise), the index below is
// not 0 and the build fails instead of the worker reading garbage.
const mbufLayoutMismatch = offBufAddr ^ unsafe.Offsetof(C.struct_rte_mbuf{}.buf_addr) |
	offDataOff ^ unsafe.Offsetof(C.struct_rte_mbuf{}.data_off) |
	offNbSegs ^ unsafe.Offsetof(C.struct_rte_mbuf{}.nb_segs) |
	offOlFlags ^ unsafe.Offsetof(C.struct_rte_mbuf{}.ol_flags) |
	offPktLen ^ unsafe.Offsetof(C.struct_rte_mbuf{}.pkt_len) |
	offDataLen ^ unsafe.Offsetof(C.struct_rte_mbuf{}.data_len) |
	offNext ^ unsafe.Offsetof(C.struct_rte_mbuf{}.next)

var _ = [1]struct{}{}[mbufLayoutMismatch]

// Burst is an array of mbuf pointers in C memory, filled by RxBurst. It lives
// in C memory because cgo scans a Go slice passed to C on every call, which
// quadruples the cost of an empty poll. A Burst belongs to one lcore.
type Burst struct {
	arr   unsafe.Pointer   // C array of struct rte_mbuf *, and one slot for the TSC
	mbufs []unsafe.Pointer // the same array seen from Go, without the TSC slot
}

// NewBurst allocates a burst of size mbuf pointers (1..65535); it panics on
// another size or when C memory is exhausted, both programming errors at
// start-up.
func NewBurst(size int) *Burst {
	if size <= 0 || size > math.MaxUint16 {
		panic(fmt.Sprintf("dpdk: burst size %d outside 1..%d", size, math.MaxUint16))
	}
	// One slot more: FreeAndRxBurst leaves its TSC reading there (it is as
	// wide as a pointer on every platform DPDK's 64-bit builds run on).
	arr := C.calloc(C.size_t(size+1), C.size_t(unsafe.Sizeof(unsafe.Pointer(nil))))
	if arr == nil {
		panic("dpdk: out of C memory for a burst")
	}
	return &Burst{arr: arr, mbufs: unsafe.Slice((*unsafe.Pointer)(arr), size)}
}

// Free releases the array (not the mbufs in it).
func (b *Burst) Free() {
	if b.arr != nil {
		C.free(b.arr)
		b.arr, b.mbufs = nil, nil
	}
}

// TSC is the time-stamp counter as the last FreeAndRxBurst into b returned
// (0 before the first): the burst's receive time, without a cgo call.
func (b *Burst) TSC() uint64 {
	return *(*uint64)(unsafe.Add(b.arr, len(b.mbufs)*int(unsafe.Sizeof(unsafe.Pointer(nil)))))
}

// Len is the burst's capacity.
func (b *Burst) Len() int { return len(b.mbufs) }

// Mbuf is the i-th mbuf of the last burst received.
func (b *Burst) Mbuf(i int) Mbuf { return Mbuf{b.mbufs[i]} }

// FreeAll returns the first n mbufs, chains included, to their pools.
func (b *Burst) FreeAll(n int) { C.ts_free_bulk(C.uintptr_t(uintptr(b.arr)), C.uint(n)) }

// FreeRange returns mbufs lo..hi-1 to their pools, e.g. those TxBurst did
// not send.
func (b *Burst) FreeRange(lo, hi int) {
	if hi > lo {
		C.ts_free_bulk(C.uintptr_t(uintptr(b.arr)+uintptr(lo)*unsafe.Sizeof(unsafe.Pointer(nil))), C.uint(hi-lo))
	}
}

// RxBurst receives up to b.Len() packets from queue q into b: one cgo call.
// The caller owns the mbufs received and must free them (FreeAll, or the
// next FreeAndRxBurst).
func (p Port) RxBurst(q uint16, b *Burst) int {
	return int(C.ts_rx_burst(C.uint16_t(p), C.uint16_t(q), C.uintptr_t(uintptr(b.arr)), C.uint16_t(len(b.mbufs))))
}

// FreeAndRxBurst frees the prev mbufs the last burst left in b, receives
// the next burst and reads the TSC (b.TSC), all in one cgo call. The
// steady-state loop is
//
//	n := 0
//	for { n = port.FreeAndRxBurst(q, b, n); now := b.TSC(); for i := range n { ... b.Mbuf(i) ... } }
func (p Port) FreeAndRxBurst(q uint16, b *Burst, prev int) int {
	return p.FreeOthersAndRxBurst(q, b, b, prev)
}

// FreeOthersAndRxBurst is FreeAndRxBurst for mbufs finished elsewhere: it
// frees the first n mbufs of done (such as a software-dispatching lcore's
// list of what it finished last iteration), receives the next burst into
// b and reads the TSC (b.TSC), in one cgo call.
func (p Port) FreeOthersAndRxBurst(q uint16, b, done *Burst, n int) int {
	return int(C.ts_free_rx_burst(C.uint16_t(p), C.uint16_t(q), C.uintptr_t(uintptr(b.arr)),
		C.uint16_t(len(b.mbufs)), C.uintptr_t(uintptr(done.arr)), C.unsigned(n)))
}

// TxBurst hands the first n mbufs of b to transmit queue q: one cgo call. It
// returns how many the driver took; those now belong to it, and the caller
// still owns b.Mbuf(sent..n-1) (FreeRange(sent, n) drops them).
func (p Port) TxBurst(q uint16, b *Burst, n int) int {
	return int(C.ts_tx_burst(C.uint16_t(p), C.uint16_t(q), C.uintptr_t(uintptr(b.arr)), C.uint16_t(n)))
}

// Mbuf is one segment of a received packet. Its methods read the mbuf from Go
// at offsets fixed when the package was compiled: no cgo call, no
// allocation. The zero Mbuf is the end of a chain.
type Mbuf struct{ p unsafe.Pointer }

// IsNil reports the end of a segment chain.
func (m Mbuf) IsNil() bool { return m.p == nil }

// Handle is m as an integer, for pointer-free structs (the dispatch rings)
// to carry: the garbage collector neither scans them nor puts write
// barriers on their copies. MbufOf turns it back; mbufs live in C memory,
// which never moves, so the round trip is exact.
func (m Mbuf) Handle() uintptr { return uintptr(m.p) }

// MbufOf is the Mbuf whose Handle is h (0: the nil Mbuf).
func MbufOf(h uintptr) Mbuf { return Mbuf{*(*unsafe.Pointer)(unsafe.Pointer(&h))} }

func (m Mbuf) u16(off uintptr) uint16 { return *(*uint16)(unsafe.Add(m.p, off)) }

// Data is this segment's bytes. It points into the mbuf: valid until the
// mbuf is freed.
func (m Mbuf) Data() []byte {
	base := *(*unsafe.Pointer)(unsafe.Add(m.p, offBufAddr))
	return unsafe.Slice((*byte)(unsafe.Add(base, m.u16(offDataOff))), m.u16(offDataLen))
}

// PktLen is the length of the whole packet, all segments.
func (m Mbuf) PktLen() uint32 { return *(*uint32)(unsafe.Add(m.p, offPktLen)) }

// DataLen is the length of this segment.
func (m Mbuf) DataLen() uint16 { return m.u16(offDataLen) }

// NbSegs is the number of segments in the chain starting here (meaningful on
// the first segment).
func (m Mbuf) NbSegs() uint16 { return m.u16(offNbSegs) }

// Next is the following segment; IsNil at the end.
func (m Mbuf) Next() Mbuf { return Mbuf{*(*unsafe.Pointer)(unsafe.Add(m.p, offNext))} }

func (m Mbuf) olFlags() uint64 { return *(*uint64)(unsafe.Add(m.p, offOlFlags)) }

// RSSHash is the device's RSS hash, if it computed one for this packet.
func (m Mbuf) RSSHash() (uint32, bool) {
	if m.olFlags()&olRxRSSHash == 0 {
		return 0, false
	}
	return *(*uint32)(unsafe.Add(m.p, offRSS)), true
}

// Timestamp is the receive timestamp in dyn, if the driver stamped this
// packet. Units are the driver's: microseconds for net_pcap reading a file,
// device clock ticks for NICs.
func (m Mbuf) Timestamp(dyn Dynfield) (uint64, bool) {
	if dyn.flag == 0 || m.olFlags()&dyn.flag == 0 {
		return 0, false
	}
	return *(*uint64)(unsafe.Add(m.p, dyn.offset)), true
}

// Frame is the whole packet. Unchained, it is the first segment's bytes, no
// copy. Chained, the segments are copied into scratch, which the caller
// preallocates (PktLen bytes at most; 64 KiB covers any frame): if scratch's
// capacity is too small Frame returns the copied prefix, and
// len(frame) < int(m.PktLen()) tells the caller it was truncated. Frame never
// allocates.
func (m Mbuf) Frame(scratch []byte) []byte {
	if m.NbSegs() <= 1 {
		return m.Data()
	}
	buf := scratch[:cap(scratch)]
	n := 0
	for s := m; !s.IsNil() && n < len(buf); s = s.Next() {
		n += copy(buf[n:], s.Data())
	}
	return buf[:n]
}

// Dynfield locates a dynamic mbuf field and the ol_flags bit that says it is
// set.
type Dynfield struct {
	offset uintptr
	flag   uint64
}

const (
	timestampField = C.RTE_MBUF_DYNFIELD_TIMESTAMP_NAME
	timestampFlag  = C.RTE_MBUF_DYNFLAG_RX_TIMESTAMP_NAME
)

// LookupTimestampDynfield finds the receive timestamp field. A driver
// registers it when it stamps packets (net_pcap at probe, NICs once the
// Timestamp offload is configured), so look it up after Configure; before
// that, or with no stamping driver, it is ErrNotFound.
func LookupTimestampDynfield() (Dynfield, error) {
	field, err := dynLookup(timestampField, false)
	if err != nil {
		return Dynfield{}, err
	}
	bit, err := dynLookup(timestampFlag, true)
	if err != nil {
		return Dynfield{}, err
	}
	return Dynfield{offset: uintptr(field), flag: 1 << uint(bit)}, nil
}

func dynLookup(name string, flag bool) (int, error) {
	if !loaded() {
		return 0, fmt.Errorf("mbuf dynamic field %q: lookup: %w", name, ErrNotInitialised)
	}
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	var e C.int
	var rc C.int
	if flag {
		rc = C.ts_dynflag_lookup(cname, &e)
	} else {
		rc = C.ts_dynfield_lookup(cname, &e)
	}
	if rc < 0 {
		return 0, fmt.Errorf("mbuf dynamic field %q: lookup: %w", name, errno(-int(e)))
	}
	return int(rc), nil
}

// TSC reads the time-stamp counter: a cgo call, so read it once per burst.
func TSC() uint64 { return uint64(C.ts_rdtsc()) }

// TSCHz is the TSC frequency DPDK measured at start-up.
func TSCHz() uint64 {
	if !loaded() {
		return 0
	}
	return uint64(C.ts_get_tsc_hz())
}
