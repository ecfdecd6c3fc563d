// Package dataplane is the worker every mode shares: decode → flow table →
// features → classify, one Worker per lcore (live) or per goroutine
// (offline), plus the software dispatch that spreads packets over workers by
// the flow table's symmetric hash.
//
// Threading: a Worker is owned by exactly one goroutine or lcore thread; it
// takes no locks and allocates nothing per packet. It hands finished flows to
// its Sink synchronously on that same thread; the Sink decides whether to
// write them (offline) or push them onto a bounded ring (live). Counters are
// read by other goroutines only through Snapshot, which copies them with
// atomic loads.
package dataplane

import (
	"net/netip"

	"github.com/tunnelscope/tunnelscope/dataplane/flow"
	"github.com/tunnelscope/tunnelscope/models"
)

// Record is one finished flow, in the forward (initiator) direction; for a
// decapsulated packet it describes the innermost flow.
type Record struct {
	Version    uint8
	Proto      uint8
	Src, Dst   [16]byte
	SrcPort    uint16
	DstPort    uint16
	First      int64 // ns since the epoch
	Last       int64
	Pkts       [2]uint64 // indexed by flow.Dir
	Bytes      [2]uint64 // IP-layer bytes, from the flow's own IP header on
	FrameBytes [2]uint64 // whole frames as they were on the wire
	FrameMin   [2]uint16 // smallest frame per direction (0 without packets; saturates at 65535)
	FrameMax   [2]uint16
	End        flow.EndReason
	Verdict    models.Verdict
	Lcore      int32 // worker lcore in live mode, -1 offline
	File       string
}

// SrcAddr and DstAddr give the endpoints as netip addresses.
func (r *Record) SrcAddr() netip.Addr { return addrOf(r.Version, &r.Src) }

// DstAddr is the responder's address.
func (r *Record) DstAddr() netip.Addr { return addrOf(r.Version, &r.Dst) }

func addrOf(v uint8, a *[16]byte) netip.Addr {
	if v == 4 {
		return netip.AddrFrom4([4]byte{a[0], a[1], a[2], a[3]})
	}
	return netip.AddrFrom16(*a)
}

func (r *Record) fill(e *flow.Entry, why flow.EndReason) {
	r.Version, r.Proto = e.Key.Version, e.Key.Proto
	r.Src, r.SrcPort = e.Src()
	r.Dst, r.DstPort = e.Dst()
	r.First, r.Last = e.First, e.Last
	r.Pkts, r.Bytes, r.FrameBytes = e.Pkts, e.Bytes, e.FrameBytes
	r.End = why
	r.FrameMin, r.FrameMax = e.FrameMin, e.FrameMax
	for d := range 2 {
		if e.Pkts[d] == 0 {
			r.FrameMin[d] = 0
		}
	}
}
