// Package features keeps the per-flow state from which tunnelscope
// classifies encrypted traffic, and turns it into a fixed-length vector.
//
// It follows two papers: MLTAT's per-flow statistics (counts, sizes,
// inter-arrival times, entropy, TCP flags) and the IPsec/Tor tunnel
// classifier's 2-D histograms over windows of N packets. The package is
// pure Go and takes primitive arguments, so it imports no dataplane
// package and the per-packet call costs a few tens of nanoseconds.
//
// # Threading
//
// An Extractor is not safe for concurrent use: each worker (lcore or
// offline goroutine) owns one Extractor and the Flow values of its own
// flow table, so the per-packet path takes no lock. A Flow must be used
// with the Extractor that started it and must not be copied while it
// holds pooled state (after HotPackets packets): the copy would share the
// pool slot.
//
// # Memory
//
// A Flow is pointer-free and at most 256 bytes; the worker keeps one per
// flow-table slot in a parallel array. The first HotPackets packets are
// buffered inside the Flow; the next packet takes a histogram state
// (about 870 bytes) from a pool preallocated by NewExtractor and replays
// the buffer into it. Flows that end within HotPackets packets (DNS,
// scans, failed handshakes: most flows on an ISP link) never touch the
// pool. When the pool is empty the flow keeps its statistics, its
// histogram features read zero, hist_valid reads 0 and Stats counts it.
//
// # Schema
//
// Vector appends VectorLen float32 values in the order of Schema. Times
// are nanoseconds on input and microseconds (µs) on output. Variances are
// population variances (divide by n, not n-1): they are defined for a
// single observation (0) and the flows compared are long enough that the
// difference is immaterial. Statistics over an empty set read 0.
//
// Flow statistics, for each direction prefix fwd (client to server, the
// caller's "not backward"), bwd (backward) and both (all packets):
//
//	<d>_packets        packets                                   count
//	<d>_bytes          IP-layer bytes                            bytes
//	<d>_payload_bytes  L4 payload bytes                          bytes
//	<d>_size_min       smallest IP-layer packet size (*)         bytes
//	<d>_size_max       largest IP-layer packet size (*)          bytes
//	<d>_size_mean      mean IP-layer packet size                 bytes
//	<d>_size_var       variance of the IP-layer packet size      bytes²
//	<d>_iat_min_us     smallest inter-arrival time               µs
//	<d>_iat_max_us     largest inter-arrival time                µs
//	<d>_iat_mean_us    mean inter-arrival time                   µs
//	<d>_iat_var_us2    variance of the inter-arrival time        µs²
//
// (*) min and max saturate at 65535 bytes (only IPv6 jumbograms are
// larger); mean and variance are exact. The inter-arrival time (IAT) of
// fwd and bwd is between consecutive packets of that direction; of both,
// between consecutive packets of the flow. A packet whose time is before
// the previous one is taken as arriving with it (IAT 0).
//
//	duration_us            last packet time - first packet time     µs
//	l4_proto               IP protocol number given to Start        number
//	bwd_size_entropy_bits  Shannon entropy of the backward packet
//	                       sizes in the 8 size bins below            bits (0..3)
//	bwd_iat_entropy_bits   Shannon entropy of the backward IATs in
//	                       the 8 IAT bins below                      bits (0..3)
//	tcp_<f>_count          packets with TCP flag f set, f in fin syn
//	                       rst psh ack urg ece cwr                   count
//
// Window histograms. Packets are grouped into windows of Config.Window
// packets: packets 1..W form the first window, W+1..2W the next, and so
// on; the histograms describe the current window only (the last, possibly
// partial one). After the packet that completes a window (Packet returned
// true) they describe that full window until the next Packet call.
//
//	hist_valid    1 if the histograms were kept, 0 if the pool was empty  0/1
//	hist_packets  packets in the current window                           count
//	hist_bursts   bursts in the current window                            count
//
// A surge is a maximal run of packets of the window in which each packet
// arrives at most Config.SurgeGap after the previous one; its period is
// the time from its first to its last packet (0 for a single packet). A
// burst is a maximal run of consecutive same-direction packets within one
// surge: a direction change or the end of a surge ends it. A gap longer
// than SurgeGap means the sender went idle, so the packets on either side
// are separate transmissions even in the same direction. Bursts and surges
// end at the end of a window; Vector counts the open burst and surge as if
// they ended at the last packet, without changing the state.
//
//	h1_<s>_size<i>_iat<j>        fraction of the window's packets in
//	                             direction s (fwd, bwd) with size bin i
//	                             and IAT bin j                            fraction
//	h2_<s>_bytes<i>_period<j>    fraction of the window's bursts in
//	                             direction s whose byte total is in bin i
//	                             and whose surge period is in bin j       fraction
//	h3_<s>_pkts<i>_period<j>     the same with the burst's packet count   fraction
//
// The IAT of h1 is since the flow's previous packet, in either direction
// and possibly in the previous window; the flow's first packet has IAT 0.
// Bins are logarithmic; bin 0 holds everything below the first edge, bin 7
// everything from the last edge up:
//
//	bin              0      1      2      3      4      5      6      7
//	size (bytes)     <64    64     128    256    512    1024   2048   4096+
//	IAT              <16µs  16µs   131µs  1.05ms 8.4ms  67ms   537ms  4.29s+
//	burst bytes      <128   128    512    2Ki    8Ki    32Ki   128Ki  512Ki+
//	burst packets    1      2      4      8      16     32     64     128+
//	surge period     <66µs  66µs   524µs  4.2ms  34ms   268ms  2.1s   17.2s+
//
// Sizes double per bin from 64 bytes, where pure ACKs end, to 4 KiB, above
// which only offloaded super-packets (up to 64 KiB) are seen. Times grow
// by 8 per bin (2^14 ns upwards), spanning LAN jitter to idle gaps.
// Histogram counts are uint16: with Window = 65536 a cell that receives
// every packet of the window reads 65535/65536.
package features
