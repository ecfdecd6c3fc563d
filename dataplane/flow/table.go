// Package flow keeps the per-worker flow table: it finds or creates the
// flow of each packet, counts it per direction, follows TCP closes and
// ends flows on timeouts, eviction or shutdown.
//
// Threading: a Table belongs to one worker (one goroutine or lcore) and
// none of its methods may run concurrently; it takes no locks. Key, KeyOf,
// Key.Hash and HashOf are pure and safe anywhere.
//
// Memory: New allocates everything up front: an []Entry slab indexed by
// slot and an open-addressing index of uint64 cells. Neither holds a
// pointer, so the garbage collector never scans them however large the
// table is, and nothing is allocated per packet. The index starts small
// and doubles as flows arrive, into memory reserved by New: a full-size
// index would make every lookup a cache (and TLB) miss, while one sized
// for the flows actually present stays in cache. Pages never touched cost
// no physical memory, so the reservation is cheap. Both live outside the
// Go heap (internal/hugepage), the slab in huge pages, the index in small
// ones, and Close returns them.
//
// Expiry: every flow sits on two doubly linked lists threaded through the
// slab by int32 links. The recency list of its timer class (TCP, UDP,
// other, or closing TCP) is ordered by Last: a packet moves its flow to
// the tail, and because table time never runs backwards the list stays
// sorted. The age list of its protocol class is ordered by First, since
// flows are appended when created. Expiry pops list heads until one has
// not timed out, so it costs O(flows ended + 1) with no timer wheel to
// tune. The least recently seen flow, which eviction wants, is the oldest
// of the four recency heads. Only the ordering by time is needed, so the
// classes with equal timeouts could share a list; they are kept apart so
// each class may have its own timeouts.
package flow

import (
	"math"
	"math/bits"
	"strconv"
	"unsafe"

	"github.com/tunnelscope/tunnelscope/dataplane/packet"
	"github.com/tunnelscope/tunnelscope/internal/hugepage"
)

// Dir is a packet's direction within its flow.
type Dir uint8

const (
	Forward  Dir = 0 // sent by the initiator
	Backward Dir = 1 // sent to the initiator
)

// EndReason says why a flow ended.
type EndReason uint8

const (
	EndFIN     EndReason = iota // FIN seen from both sides, then TCPCloseLinger of silence
	EndRST                      // RST seen, then TCPCloseLinger of silence
	EndIdle                     // silent for longer than the idle timeout
	EndActive                   // lasted the active timeout
	EndEvicted                  // the least recently seen flow when a new one needed a slot
	EndEOF                      // ended by Flush at the end of a capture

	NumEndReasons = iota // size of Stats.Ended
)

var reasonNames = [NumEndReasons]string{"fin", "rst", "idle", "active", "evicted", "eof"}

func (r EndReason) String() string {
	if int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return "EndReason(" + strconv.Itoa(int(r)) + ")"
}

// EndFunc is told about each flow as it ends, before its slot is freed.
// It must not call back into the Table, and must not keep e: the slot may
// be reused for another flow as soon as EndFunc returns, even within the
// same Packet call, so per-slot state kept by the caller must be reset or
// handed off here.
type EndFunc func(slot uint32, e *Entry, why EndReason)

// Timer classes: the first three are also the protocol classes that own
// the age lists and active timeouts.
const (
	classTCP = iota
	classUDP
	classOther
	classClosing

	numRecency = 4
	numAge     = 3
)

// Which of an Entry's two links a list uses.
const (
	byLast  = 0
	byFirst = 1
)

const nilSlot int32 = -1

// Bits of Entry.state.
const (
	tcpFinFwd  uint8 = 1 << iota // FIN sent by the initiator
	tcpFinBwd                    // FIN sent by the responder; must stay tcpFinFwd<<1
	tcpRST                       // the close was caused by RST
	tcpClosing                   // FIN from both sides or RST: TCPCloseLinger applies
	fwdIsA                       // the initiator is endpoint A of the key
)

type links struct{ prev, next int32 }

// Entry is one flow. It holds no pointers (see the package comment). It
// fills two cache lines exactly: the first holds what the matching of a
// packet reads (key, state), the frame extremes and the two times, the
// second the counters and list links, so a packet touches the same two
// lines for all of its accounting.
type Entry struct {
	Key      Key
	FrameMin [2]uint16 // smallest frameLen per Dir, saturating at 65535; 65535 while a direction has no packet
	FrameMax [2]uint16 // largest frameLen per Dir, saturating at 65535
	rclass   uint8     // recency list the flow is on
	state    uint8     // tcpFinFwd | tcpFinBwd | tcpRST | tcpClosing | fwdIsA

	First      int64 // packet times, ns since the epoch; First <= Last
	Last       int64
	Pkts       [2]uint64 // indexed by Dir
	Bytes      [2]uint64 // IP bytes: the sum of packet.IPLen
	FrameBytes [2]uint64 // captured frame bytes: the sum of frameLen

	link [2]links // [byLast] in rec[rclass], [byFirst] in age[protocol class]; [byLast].next chains free slots
}

// FwdIsA reports whether the initiator is endpoint A of the key.
func (e *Entry) FwdIsA() bool { return e.state&fwdIsA != 0 }

// Src returns the address and port the initiator sends from.
func (e *Entry) Src() (addr [16]byte, port uint16) {
	if e.FwdIsA() {
		return e.Key.A, e.Key.PortA
	}
	return e.Key.B, e.Key.PortB
}

// Dst returns the address and port the initiator sends to.
func (e *Entry) Dst() (addr [16]byte, port uint16) {
	if e.FwdIsA() {
		return e.Key.B, e.Key.PortB
	}
	return e.Key.A, e.Key.PortA
}

// Closing reports whether a TCP flow has seen FIN from both sides or a RST.
func (e *Entry) Closing() bool { return e.state&tcpClosing != 0 }

func (e *Entry) closeReason() EndReason {
	if e.state&tcpRST != 0 {
		return EndRST
	}
	return EndFIN
}

// Stats counts what a Table has done since New.
type Stats struct {
	Created   uint64                // flows created
	Ended     [NumEndReasons]uint64 // flows ended, indexed by EndReason
	Evicted   uint64                // same as Ended[EndEvicted]: flows that lost their slot to a new one
	Reused    uint64                // closing TCP flows ended early by a new SYN on the same tuple
	Backwards uint64                // packets whose time was before the latest seen, counted at that latest time
	Peak      int                   // most flows active at once
}

type list struct{ head, tail int32 }

// Table is one worker's flow table. See the package comment for its
// threading and memory rules.
type Table struct {
	slab  []Entry
	index []uint64 // 0 = empty; else low 32 bits slot+1, high 32 bits the low half of the hash
	mask  uint64
	spare []uint64 // zero; where the index goes when it doubles next

	last  int32 // the flow of the latest packet, or nilSlot once it ends
	free  int32 // head of the chain of freed slots
	fresh int32 // slots from here on were never used; taking them lazily spares touching the slab at start
	n     int

	rec    [numRecency]list
	age    [numAge]list
	idle   [numRecency]int64 // ns
	active [numAge]int64     // ns

	now       int64 // latest time seen; math.MinInt64 before the first
	nextCheck int64 // no flow can time out before this time

	onEnd EndFunc
	stats Stats
}

// New allocates a Table for cfg. onEnd may be nil.
func New(cfg Config, onEnd EndFunc) (*Table, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	// Load factor at most one half keeps linear probe runs short.
	full := 1
	for full < 2*cfg.Capacity {
		full <<= 1
	}
	// The index doubles from size up to full, alternating between two
	// arrays: the one that ends at full size and one of half that.
	size, spare := full, 0
	if full > initialIndex {
		size, spare = initialIndex, full/2
		if bits.TrailingZeros(uint(full/initialIndex))%2 == 1 {
			size, spare = initialIndex, full
		}
	}
	t := &Table{
		slab:      hugepage.Make[Entry](cfg.Capacity),
		mask:      uint64(size - 1),
		last:      nilSlot,
		free:      nilSlot,
		now:       math.MinInt64,
		nextCheck: math.MaxInt64,
		onEnd:     onEnd,
	}
	if spare == full {
		t.index, t.spare = hugepage.MakeLazy[uint64](full / 2)[:size], hugepage.MakeLazy[uint64](full)
	} else {
		t.index, t.spare = hugepage.MakeLazy[uint64](full)[:size], hugepage.MakeLazy[uint64](spare)
	}
	t.idle = [numRecency]int64{int64(cfg.TCP.Idle), int64(cfg.UDP.Idle), int64(cfg.Other.Idle), int64(cfg.TCPCloseLinger)}
	t.active = [numAge]int64{int64(cfg.TCP.Active), int64(cfg.UDP.Active), int64(cfg.Other.Active)}
	for i := range t.rec {
		t.rec[i] = list{nilSlot, nilSlot}
	}
	for i := range t.age {
		t.age[i] = list{nilSlot, nilSlot}
	}
	return t, nil
}

func protoClass(proto uint8) uint8 {
	switch proto {
	case packet.ProtoTCP:
		return classTCP
	case packet.ProtoUDP:
		return classUDP
	}
	return classOther
}

// Packet accounts one packet p with key k (from KeyOf or Key.Set) and
// packet time now in ns. It first ends every flow whose timeout has
// passed by now, then finds or creates p's flow and counts p on it. It
// never ends the flow it returns, so the caller may update per-slot
// state after it; onEnd may run for other flows during the call.
//
// A packet of the same flow as the packet before it (seven in ten in the
// shared captures: TCP sends in trains) is matched against that flow's
// key alone, without hashing or probing the index.
func (t *Table) Packet(k *Key, fromB bool, now int64, p *packet.Packet, frameLen uint32) (slot uint32, dir Dir, created bool) {
	if now < t.now {
		t.stats.Backwards++
		now = t.now
	}
	// The common case, kept free of calls so that nothing is spilled
	// around them: the previous packet's flow again, with no timer due,
	// already last on its recency list, and no FIN or RST to follow
	// (TCPFlags is 0 for other protocols).
	same := false
	if s := t.last; s != nilSlot {
		e := &t.slab[s]
		same = e.Key.equal(k)
		if same && now < t.nextCheck && p.TCPFlags&(packet.TCPFin|packet.TCPRst) == 0 &&
			t.rec[e.rclass].tail == s && (e.state&tcpClosing == 0 || !isSYN(k, p)) {
			t.now = now
			return uint32(s), e.count(fromB, p, frameLen, now), false
		}
	}
	return t.packet(k, fromB, now, p, frameLen, same)
}

// count adds a packet to e and returns its direction.
func (e *Entry) count(fromB bool, p *packet.Packet, frameLen uint32, now int64) Dir {
	dir := Backward
	if fromB != (e.state&fwdIsA != 0) { // FwdIsA spelt out: count must stay within the inliner's budget
		dir = Forward
	}
	n := uint16(min(frameLen, math.MaxUint16))
	e.Pkts[dir]++
	e.Bytes[dir] += uint64(p.IPLen)
	e.FrameBytes[dir] += uint64(frameLen)
	e.FrameMin[dir] = min(e.FrameMin[dir], n)
	e.FrameMax[dir] = max(e.FrameMax[dir], n)
	e.Last = now
	return dir
}

// packet is Packet in general, for a time now no earlier than t.now.
func (t *Table) packet(k *Key, fromB bool, now int64, p *packet.Packet, frameLen uint32, same bool) (slot uint32, dir Dir, created bool) {
	t.now = now
	if now >= t.nextCheck {
		t.expire(now) // may end the last flow: then t.last is nilSlot
	}
	s, ok := t.last, false
	hash, hashed := uint64(0), false
	if same && s != nilSlot {
		ok = true
	} else {
		hash, hashed = k.Hash(), true
		s, ok = t.lookup(k, hash)
	}
	if ok && t.slab[s].state&tcpClosing != 0 && isSYN(k, p) {
		// A fresh connection on a tuple whose previous one is closing.
		t.stats.Reused++
		t.end(s, t.slab[s].closeReason())
		ok = false
	}
	if !ok {
		if !hashed {
			hash = k.Hash()
		}
		s = t.create(k, fromB, hash, now, p)
		created = true
	}
	t.last = s
	e := &t.slab[s]
	dir = e.count(fromB, p, frameLen, now)
	from := e.rclass
	if k.Proto == packet.ProtoTCP && e.state&tcpClosing == 0 {
		trackClose(e, dir, p.TCPFlags)
	}
	switch {
	case created:
		t.pushRecent(s)
	case from != e.rclass || t.rec[from].tail != s:
		t.unlink(&t.rec[from], byLast, s)
		t.pushRecent(s)
	}
	return uint32(s), dir, created
}

// isSYN reports a connection's opening SYN (not the SYN-ACK answering it).
func isSYN(k *Key, p *packet.Packet) bool {
	return k.Proto == packet.ProtoTCP && p.TCPFlags&(packet.TCPSyn|packet.TCPAck) == packet.TCPSyn
}

// trackClose moves a TCP flow to closing on a RST or on the second
// direction's FIN.
func trackClose(e *Entry, dir Dir, flags uint8) {
	switch {
	case flags&packet.TCPRst != 0:
		e.state |= tcpRST | tcpClosing
	case flags&packet.TCPFin != 0:
		e.state |= tcpFinFwd << dir
		if e.state&(tcpFinFwd|tcpFinBwd) == tcpFinFwd|tcpFinBwd {
			e.state |= tcpClosing
		}
	default:
		return
	}
	if e.state&tcpClosing != 0 {
		e.rclass = classClosing
	}
}

// create takes a slot for a new flow and links it everywhere but the
// recency list, which Packet does once the flow's class is final.
func (t *Table) create(k *Key, fromB bool, hash uint64, now int64, p *packet.Packet) int32 {
	s := t.alloc()
	e := &t.slab[s]
	*e = Entry{Key: *k, FrameMin: [2]uint16{math.MaxUint16, math.MaxUint16}, First: now, Last: now}
	// The initiator sent the first packet, unless that packet answers a
	// SYN we missed: then it was sent to the initiator.
	fwdIsSender := !(k.Proto == packet.ProtoTCP && p.TCPFlags&(packet.TCPSyn|packet.TCPAck) == packet.TCPSyn|packet.TCPAck)
	if fwdIsSender != fromB {
		e.state = fwdIsA
	}
	class := protoClass(k.Proto)
	e.rclass = class
	t.insert(s, hash)
	t.push(&t.age[class], byFirst, s)
	t.wake(satAdd(now, t.active[class]))
	t.n++
	t.stats.Created++
	if t.n > t.stats.Peak {
		t.stats.Peak = t.n
	}
	return s
}

// alloc returns a free slot, evicting the least recently seen flow when
// there is none.
func (t *Table) alloc() int32 {
	if t.free == nilSlot && int(t.fresh) == len(t.slab) {
		t.evict()
	}
	if s := t.free; s != nilSlot {
		t.free = t.slab[s].link[byLast].next
		return s
	}
	s := t.fresh
	t.fresh++
	return s
}

// evict ends the least recently seen flow. On equal times a closing flow
// goes first, as it has the least left to say.
func (t *Table) evict() {
	victim := t.rec[classClosing].head
	for c := classTCP; c < classClosing; c++ {
		h := t.rec[c].head
		if h != nilSlot && (victim == nilSlot || t.slab[h].Last < t.slab[victim].Last) {
			victim = h
		}
	}
	t.end(victim, EndEvicted)
}

// pushRecent appends s to the tail of its recency list.
func (t *Table) pushRecent(s int32) {
	e := &t.slab[s]
	t.push(&t.rec[e.rclass], byLast, s)
	t.wake(satAdd(satAdd(e.Last, t.idle[e.rclass]), 1))
}

// wake lowers nextCheck to deadline. Appending to a list that is not
// empty cannot lower the earliest deadline, as the head's is earlier; the
// minimum covers the empty-list case without asking.
func (t *Table) wake(deadline int64) {
	if deadline < t.nextCheck {
		t.nextCheck = deadline
	}
}

func satAdd(a, b int64) int64 {
	if b > 0 && a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// Expire ends the flows whose timeouts have passed by time now (ns).
// A now earlier than the latest time seen counts as that time.
func (t *Table) Expire(now int64) {
	if now < t.now {
		now = t.now
	}
	t.now = now
	if now >= t.nextCheck {
		t.expire(now)
	}
}

func (t *Table) expire(now int64) {
	next := int64(math.MaxInt64)
	for c := range t.rec {
		l := &t.rec[c]
		for l.head != nilSlot {
			e := &t.slab[l.head]
			// now >= Last always, so the difference is exact as uint64
			// even across a jump of centuries.
			if uint64(now-e.Last) <= uint64(t.idle[c]) {
				next = min(next, satAdd(satAdd(e.Last, t.idle[c]), 1))
				break
			}
			why := EndIdle
			if c == classClosing {
				why = e.closeReason()
			}
			t.end(l.head, why)
		}
	}
	for c := range t.age {
		l := &t.age[c]
		for l.head != nilSlot {
			e := &t.slab[l.head]
			if uint64(now-e.First) < uint64(t.active[c]) {
				next = min(next, satAdd(e.First, t.active[c]))
				break
			}
			t.end(l.head, EndActive)
		}
	}
	t.nextCheck = next
}

// Flush ends every flow, oldest (earliest First) first, with reason why.
func (t *Table) Flush(why EndReason) {
	for {
		oldest := nilSlot
		for c := range t.age {
			h := t.age[c].head
			if h != nilSlot && (oldest == nilSlot || t.slab[h].First < t.slab[oldest].First) {
				oldest = h
			}
		}
		if oldest == nilSlot {
			break
		}
		t.end(oldest, why)
	}
	t.nextCheck = math.MaxInt64
}

// end reports s to onEnd, then unlinks and frees it.
func (t *Table) end(s int32, why EndReason) {
	e := &t.slab[s]
	if t.onEnd != nil {
		t.onEnd(uint32(s), e, why)
	}
	t.unlink(&t.rec[e.rclass], byLast, s)
	t.unlink(&t.age[protoClass(e.Key.Proto)], byFirst, s)
	t.remove(s)
	if s == t.last {
		t.last = nilSlot
	}
	e.link[byLast].next = t.free
	t.free = s
	t.n--
	t.stats.Ended[why]++
}

func (t *Table) push(l *list, which int, s int32) {
	t.slab[s].link[which] = links{prev: l.tail, next: nilSlot}
	if l.tail == nilSlot {
		l.head = s
	} else {
		t.slab[l.tail].link[which].next = s
	}
	l.tail = s
}

func (t *Table) unlink(l *list, which int, s int32) {
	lk := t.slab[s].link[which]
	if lk.prev == nilSlot {
		l.head = lk.next
	} else {
		t.slab[lk.prev].link[which].next = lk.next
	}
	if lk.next == nilSlot {
		l.tail = lk.prev
	} else {
		t.slab[lk.next].link[which].prev = lk.prev
	}
}

// Lookup returns the slot of the flow with key k and hash k.Hash(), if any.
func (t *Table) Lookup(k *Key, hash uint64) (slot uint32, ok bool) {
	s, ok := t.lookup(k, hash)
	return uint32(s), ok
}

func (t *Table) lookup(k *Key, hash uint64) (int32, bool) {
	tag := hash << 32
	// The index is at most half full, so an empty cell ends every probe.
	for i := hash & t.mask; ; i = (i + 1) & t.mask {
		c := t.index[i]
		if c == 0 {
			return nilSlot, false
		}
		if c&^math.MaxUint32 == tag {
			s := int32(uint32(c) - 1)
			if t.slab[s].Key.equal(k) {
				return s, true
			}
		}
	}
}

// equal is k == *o, field by field: == on the 38-byte struct compiles to
// a call to memequal.
func (k *Key) equal(o *Key) bool {
	return k.A == o.A && k.B == o.B && k.PortA == o.PortA && k.PortB == o.PortB &&
		k.Proto == o.Proto && k.Version == o.Version
}

// initialIndex is the starting index size in cells (32 KiB).
const initialIndex = 1 << 12

func (t *Table) insert(s int32, hash uint64) {
	if 2*(t.n+1) > len(t.index) {
		t.grow()
	}
	i := hash & t.mask
	for t.index[i] != 0 {
		i = (i + 1) & t.mask
	}
	t.index[i] = hash<<32 | uint64(s+1)
}

// grow doubles the index into the spare array, which New sized for it.
func (t *Table) grow() {
	old := t.index
	next := t.spare[:2*len(old)]
	mask := uint64(len(next) - 1)
	for _, c := range old {
		if c != 0 {
			i := (c >> 32) & mask
			for next[i] != 0 {
				i = (i + 1) & mask
			}
			next[i] = c
		}
	}
	clear(old)
	t.index, t.mask, t.spare = next, mask, old[:cap(old)]
}

// remove deletes s's index cell by shifting later cells of its probe run
// back, so no tombstones accumulate and lookups never slow down with churn.
func (t *Table) remove(s int32) {
	want := uint64(s + 1)
	i := t.slab[s].Key.Hash() & t.mask // once per flow: not worth a field
	for t.index[i]&math.MaxUint32 != want {
		i = (i + 1) & t.mask
	}
	for j := i; ; {
		j = (j + 1) & t.mask
		c := t.index[j]
		if c == 0 {
			break
		}
		// The cell at j may fill the hole at i only if its home bucket
		// is not after i on the way to j.
		home := (c >> 32) & t.mask
		if (j-home)&t.mask >= (j-i)&t.mask {
			t.index[i] = c
			i = j
		}
	}
	t.index[i] = 0
}

// Entry returns the flow in slot, valid until that flow ends.
func (t *Table) Entry(slot uint32) *Entry { return &t.slab[slot] }

// Len returns the number of active flows.
func (t *Table) Len() int { return t.n }

// Capacity returns the most flows the table holds at once.
func (t *Table) Capacity() int { return len(t.slab) }

// Stats returns the counters since New.
func (t *Table) Stats() Stats {
	s := t.stats
	s.Evicted = s.Ended[EndEvicted]
	return s
}

// Now returns the latest time seen by Packet or Expire, or 0 before any.
func (t *Table) Now() int64 {
	if t.now == math.MinInt64 {
		return 0
	}
	return t.now
}

// Footprint returns the bytes held by the slab and the index with the
// room reserved for it to grow, which is all the table's memory that grows
// with its capacity.
func (t *Table) Footprint() int {
	return len(t.slab)*int(unsafe.Sizeof(Entry{})) + (cap(t.index)+cap(t.spare))*8
}

// Prefault takes now, on the calling thread, the page faults of the
// slots the first flows will use, which in huge pages (hugepage.Make)
// each zero 2 MiB: a live lcore calls it before its loop, so that no
// packet waits for them. Call it before the table's first packet.
func (t *Table) Prefault() { hugepage.Touch(t.slab, hugepage.Size) }

// Close returns the table's slab and index to the kernel (see
// hugepage.Free). The table must not be used afterwards.
func (t *Table) Close() {
	hugepage.Free(t.slab)
	hugepage.Free(t.index)
	hugepage.Free(t.spare)
	t.slab, t.index, t.spare = nil, nil, nil
}
