//go:build dpdk

package dpdk

import (
	"bytes"
	"runtime"
	"testing"
	"unsafe"
)

// fakeMbuf lays out an mbuf in Go memory at the package's offsets, so the
// accessors can be checked on states no test device produces (an RSS hash).
type fakeMbuf struct {
	raw  [256 / 8]uint64
	data []byte
}

func (f *fakeMbuf) m() Mbuf { return Mbuf{unsafe.Pointer(&f.raw[0])} }

func (f *fakeMbuf) set(off uintptr, v uint64, size int) {
	p := unsafe.Add(unsafe.Pointer(&f.raw[0]), off)
	switch size {
	case 2:
		*(*uint16)(p) = uint16(v)
	case 4:
		*(*uint32)(p) = uint32(v)
	case 8:
		*(*uint64)(p) = v
	}
}

func newFake(data []byte, segs int, pktLen int, next *fakeMbuf) *fakeMbuf {
	f := &fakeMbuf{data: data}
	p := unsafe.Pointer(&f.raw[0])
	*(*unsafe.Pointer)(unsafe.Add(p, offBufAddr)) = unsafe.Pointer(&data[0])
	f.set(offDataOff, 2, 2)
	f.set(offDataLen, uint64(len(data)-2), 2)
	f.set(offPktLen, uint64(pktLen), 4)
	f.set(offNbSegs, uint64(segs), 2)
	if next != nil {
		*(*unsafe.Pointer)(unsafe.Add(p, offNext)) = unsafe.Pointer(&next.raw[0])
	}
	return f
}

func TestMbufAccessorsOnFakeMbuf(t *testing.T) {
	tail := newFake([]byte{0, 0, 4, 5, 6}, 1, 3, nil)
	head := newFake([]byte{9, 9, 1, 2, 3}, 2, 6, tail)
	m := head.m()
	if got := m.Data(); !bytes.Equal(got, []byte{1, 2, 3}) {
		t.Errorf("Data() = %v, skipping data_off should give [1 2 3]", got)
	}
	if got := m.Frame(make([]byte, 0, 16)); !bytes.Equal(got, []byte{1, 2, 3, 4, 5, 6}) {
		t.Errorf("Frame() = %v", got)
	}
	if !m.Next().Next().IsNil() {
		t.Error("chain does not end after two segments")
	}

	if _, ok := m.RSSHash(); ok {
		t.Error("RSSHash valid without RTE_MBUF_F_RX_RSS_HASH")
	}
	head.set(offRSS, 0xdeadbeef, 4)
	head.set(offOlFlags, olRxRSSHash, 8)
	if h, ok := m.RSSHash(); !ok || h != 0xdeadbeef {
		t.Errorf("RSSHash() = %#x, %t; want 0xdeadbeef, true", h, ok)
	}

	dyn := Dynfield{offset: 8 * 20, flag: 1 << 40}
	if _, ok := m.Timestamp(dyn); ok {
		t.Error("Timestamp valid without its flag")
	}
	head.set(dyn.offset, 1234, 8)
	head.set(offOlFlags, olRxRSSHash|dyn.flag, 8)
	if ts, ok := m.Timestamp(dyn); !ok || ts != 1234 {
		t.Errorf("Timestamp() = %d, %t; want 1234, true", ts, ok)
	}
	if _, ok := m.Timestamp(Dynfield{}); ok {
		t.Error("Timestamp valid with a zero Dynfield")
	}
	runtime.KeepAlive(head)
	runtime.KeepAlive(tail)
}
