//go:build dpdk

package live

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/tunnelscope/tunnelscope/dataplane/dpdk"
)

// msKey is the Toeplitz key of Microsoft's RSS specification, which most
// NICs ship as their default.
var msKey = []byte{
	0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0,
	0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30, 0xf2, 0x0c,
	0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
}

func ip4(a, b, c, d byte) uint32 { return uint32(a)<<24 | uint32(b)<<16 | uint32(c)<<8 | uint32(d) }

// The key the appliance programs into NICs gives both directions of a flow
// the same Toeplitz hash, computed by DPDK's own software RSS: so a NIC
// with it sends both directions to one queue, and one lcore meters the
// whole flow. The specification's key, for contrast, does not.
func TestSymmetricKey(t *testing.T) {
	// First, that the tuple is laid out as a NIC reads it: the
	// specification's verification vector (66.9.149.187:2794 ->
	// 161.142.100.80:1766, TCP over IPv4) hashes to 0x51ccc178.
	if h, err := dpdk.SoftRSS([]uint32{ip4(66, 9, 149, 187), ip4(161, 142, 100, 80), 2794<<16 | 1766}, msKey); err != nil || h != 0x51ccc178 {
		t.Fatalf("verification vector: %#x, %v; want 0x51ccc178", h, err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	asymmetric := 0
	for _, keyLen := range []int{40, 52} {
		key := symmetricKey(keyLen)
		for i := range 2000 {
			words := 1
			if i%2 == 1 {
				words = 4 // IPv6
			}
			fwd := make([]uint32, 0, 2*words+1)
			rev := make([]uint32, 0, 2*words+1)
			src, dst := make([]uint32, words), make([]uint32, words)
			for w := range words {
				src[w], dst[w] = rng.Uint32(), rng.Uint32()
			}
			sport, dport := uint32(rng.IntN(65536)), uint32(rng.IntN(65536))
			fwd = append(append(append(fwd, src...), dst...), sport<<16|dport)
			rev = append(append(append(rev, dst...), src...), dport<<16|sport)
			a, err := dpdk.SoftRSS(fwd, key)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := dpdk.SoftRSS(rev, key)
			if a != b {
				t.Fatalf("%d-byte key: tuple %x hashes to %#x, its reverse to %#x", keyLen, fwd, a, b)
			}
			if words == 1 {
				x, _ := dpdk.SoftRSS(fwd, msKey)
				y, _ := dpdk.SoftRSS(rev, msKey)
				if x != y {
					asymmetric++
				}
			}
		}
	}
	if asymmetric < 1900 {
		t.Errorf("the specification's key hashed %d of 2000 IPv4 flows differently each way; the test cannot tell symmetric from not", asymmetric)
	}
}

// A port's queue list may only name workers that exist, counted after
// --workers; the error names the configuration key and the valid range.
func TestCheckQueueWorkers(t *testing.T) {
	ports := []Port{{RxQueues: 1}, {RxQueues: 2, Lcores: []int{0, 1}}}
	if err := checkQueueWorkers(ports, 2); err != nil {
		t.Errorf("two workers for lcores [0, 1]: %v", err)
	}
	for _, c := range []struct {
		workers int
		lcores  []int
		want    string
	}{
		{1, []int{0, 1}, "live.port[1].lcores: queue 1 goes to worker 1, outside 0..0"},
		{2, []int{1, 2}, "queue 1 goes to worker 2, outside 0..1"},
		{2, []int{-1, 0}, "queue 0 goes to worker -1"},
	} {
		ports[1].Lcores = c.lcores
		err := checkQueueWorkers(ports, c.workers)
		if !errors.Is(err, ErrOptions) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%d workers, lcores %v: %v, want ErrOptions naming %q", c.workers, c.lcores, err, c.want)
		}
	}
}
