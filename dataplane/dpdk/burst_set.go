//go:build dpdk

package dpdk

// Set stores m at position i, so a Burst can collect mbufs that arrived by
// other routes (a dispatch ring) and free them with one FreeAll.
func (b *Burst) Set(i int, m Mbuf) { b.mbufs[i] = m.p }
