//go:build dpdk

package dpdk

/*
#cgo pkg-config: libdpdk
#include <stdint.h>
#include <stdlib.h>
#include <rte_thash.h>

static uint32_t ts_softrss(uint32_t *tuple, uint32_t n, const uint8_t *key) {
	return rte_softrss(tuple, n, key);
}
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// SoftRSS is DPDK's software Toeplitz hash (rte_softrss) of tuple under
// key: the hash a NIC computes for RSS. The tuple is in host-order 32-bit
// words as RSS reads the headers: source address, destination address
// (four words each for IPv6), then source port << 16 | destination port.
// key must hold at least 4 bytes more than the tuple. Each call crosses
// into C and copies: it is for tests and tools, never the packet path.
func SoftRSS(tuple []uint32, key []byte) (uint32, error) {
	if len(tuple) == 0 || len(key) < 4*(len(tuple)+1) {
		return 0, fmt.Errorf("softrss: %d-byte key for a %d-word tuple", len(key), len(tuple))
	}
	t := (*C.uint32_t)(C.malloc(C.size_t(4 * len(tuple))))
	defer C.free(unsafe.Pointer(t))
	copy(unsafe.Slice((*uint32)(unsafe.Pointer(t)), len(tuple)), tuple)
	k := C.CBytes(key)
	defer C.free(k)
	return uint32(C.ts_softrss(t, C.uint32_t(len(tuple)), (*C.uint8_t)(k))), nil
}
