//go:build dpdk

package dpdk

/*
#cgo pkg-config: libdpdk
#cgo CFLAGS: -Wno-deprecated-declarations
#include <stdlib.h>
#include "binding.h"
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// MbufHeadroom is the headroom DPDK reserves at the front of every mbuf's
// data room.
const MbufHeadroom = C.RTE_PKTMBUF_HEADROOM

// DefaultDataRoom is DPDK's default mbuf data room: 2 KiB of packet data
// after MbufHeadroom.
const DefaultDataRoom = C.RTE_MBUF_DEFAULT_BUF_SIZE

// Mempool is a pool of packet mbufs.
type Mempool struct {
	name string
	mp   *C.struct_rte_mempool
}

// CreateMbufPool creates a pool of n packet mbufs with a per-lcore cache of
// cache mbufs on NUMA socket socket (SocketIDAny to let DPDK choose).
// dataRoom has DPDK's meaning, as in go-dpdk: it includes MbufHeadroom, so a
// segment holds dataRoom-MbufHeadroom bytes of packet; longer frames arrive
// as chained segments. Names are process-wide: two pools cannot share one.
func CreateMbufPool(name string, n uint32, cache uint32, dataRoom uint16, socket int) (*Mempool, error) {
	if !loaded() {
		return nil, fmt.Errorf("mempool %q: create: %w", name, ErrNotInitialised)
	}
	if dataRoom <= MbufHeadroom {
		return nil, fmt.Errorf("mempool %q: create: data room %d leaves no room after the %d-byte headroom: %w",
			name, dataRoom, MbufHeadroom, ErrInvalid)
	}
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	var e C.int
	mp := C.ts_pool_create(cname, C.uint(n), C.uint(cache), C.uint16_t(dataRoom), C.int(socket), &e)
	if mp == nil {
		return nil, fmt.Errorf("mempool %q: create %d mbufs of %d bytes: %w", name, n, dataRoom, errno(-int(e)))
	}
	return &Mempool{name: name, mp: mp}, nil
}

// Free returns the pool's memory to DPDK. Every mbuf must be back in the pool
// and no queue may still use it.
func (m *Mempool) Free() {
	if m.mp != nil {
		C.ts_mempool_free(m.mp)
		m.mp = nil
	}
}

// InUse counts the mbufs taken out of the pool (held by queues, bursts or
// lcore caches).
func (m *Mempool) InUse() uint32 { return uint32(C.ts_mempool_in_use_count(m.mp)) }

// Avail counts the mbufs free in the pool, lcore caches included.
func (m *Mempool) Avail() uint32 { return uint32(C.ts_mempool_avail_count(m.mp)) }

// Name is the name the pool was created with.
func (m *Mempool) Name() string { return m.name }
