// Package dpdk is tunnelscope's thin cgo binding to DPDK 22.11: EAL start-up
// and lcore launch, mbuf pools, ethdev ports and receive bursts. It covers what
// the live dataplane uses plus the few neighbouring calls its tests and
// operators reach for (transmit, RSS inspection, xstats, port and pool
// accounting). Its shape follows github.com/yerden/go-dpdk
// (eal.Init/eal.Cleanup/eal.LcoreID, ethdev.Port methods, mempool) so that a
// later switch to that module is mechanical; the one deliberate difference is
// that per-packet mbuf fields are read from Go at fixed offsets instead of
// through cgo.
//
// Everything that needs DPDK is behind the build tag "dpdk"; without it the
// package holds only this comment, so `go vet ./...` and the rest of the
// module build on machines without DPDK. This is the only package in the
// module that imports "C".
//
// The binary links no DPDK library. The C code that calls DPDK lives in
// shim/ and is built (`make shim`) into libtsdpdk.so, which this package
// embeds and EALInit loads from memory (dlopen of a memfd); DPDK's own
// libraries come in with it. The Go side calls through the table of entry
// points the library exports (binding.h), and its cgo preambles use DPDK's
// headers only for types, constants and offsets. So the offline commands
// never load DPDK (about 4.5 ms of start-up saved on every process), and
// they run on a machine without DPDK, where EALInit fails with
// ErrNoBinding. Calls that may come at any time answer as DPDK would
// before EAL start-up (no ports, LcoreIDAny, ErrNotInitialised) until the
// binding is loaded; the per-burst calls assume it, as they assume a
// started port.
//
// # Threading rules
//
// The thread that calls EALInit becomes the main lcore; lock that goroutine
// to its thread (runtime.LockOSThread) for LcoreID to return MainLcore there.
// EALInit restores the thread's CPU affinity afterwards so that the Go
// runtime's threads do not inherit the main lcore's pin.
//
// Main thread only (the goroutine that called EALInit, before workers run or
// after they have been waited for): EALInit, EALCleanup, LaunchOnLcore,
// WaitLcore, WaitAllLcores, CreateMbufPool, Mempool.Free, and every Port
// method that changes state: Configure, RxqSetup, TxqSetup, Start, Stop,
// Close, Promiscuous, StatsReset, RSSHashUpdate, RetaUpdate. The EAL
// initialises once per process: a second EALInit returns ErrAlready.
//
// Any thread, at any time: LcoreID, SocketID, LcoreSocketID, Lcores,
// MainLcore, PortByName, PortCount, Ports, Port.Info, Port.Stats,
// Port.Xstats, Port.Reta, Port.RSSHashConf, Port.SocketID,
// Mempool.InUse/Avail, TSC, TSCHz, LookupTimestampDynfield.
//
// From an lcore, one thread per queue: RxBurst, FreeAndRxBurst, TxBurst,
// Burst.FreeAll/FreeRange and the Mbuf accessors. A queue and its Burst belong to one
// lcore; nothing here locks. Each RxBurst, FreeAndRxBurst, TxBurst, FreeAll
// and TSC is exactly one cgo call (about 40 ns); Burst.Mbuf, Burst.TSC and
// every Mbuf method read C memory from Go with no cgo call and no
// allocation. Read the TSC once per burst, not per packet: FreeAndRxBurst
// reads it with the receive (Burst.TSC), so a loop over one queue crosses
// into C once per burst.
//
// A Go function started by LaunchOnLcore runs on the EAL lcore thread itself
// (rte_lcore_id() is that lcore), and while it polls it holds a Go P for
// good. GOMAXPROCS must therefore exceed the number of polling lcores, or the
// rest of the program (the main goroutine, the garbage collector's workers)
// starves; EnsureGOMAXPROCS raises it.
//
// Segments: a frame longer than the mbuf data room arrives chained
// (NbSegs > 1); Mbuf.Frame joins it into caller-owned scratch. net_pcap fills
// the first segment with dataRoom-MbufHeadroom bytes and the following ones
// with the full dataRoom (it reclaims their headroom).
//
// Mbuf data slices (Mbuf.Data, Mbuf.Frame without a copy) point into DPDK
// memory and are valid only until the mbuf is freed by FreeAll or the next
// FreeAndRxBurst.
//
// # Tests
//
// Run them with
//
//	go test -tags dpdk ./dataplane/dpdk/
//	go test -tags dpdk -run '^$' -bench . ./dataplane/dpdk/
//
// TestMain initialises the EAL once per test binary, without hugepages, with
//
//	--no-huge -m 512 --no-shconf --no-pci --file-prefix=tsdpdk<pid>
//	--lcores=(0-2)@(0-1) --log-level=*:error
//	--vdev=net_pcap0,rx_pcap=../../../shared/data/pcap/http_ipv6.pcap
//	--vdev=net_pcap1,rx_pcap=../../../shared/data/pcap/webex.pcap
//	--vdev=net_pcap2,rx_pcap=../../../shared/data/pcap/dns.pcap,rx_pcap=../../../shared/data/pcap/dlt_ppp.pcap
//	--vdev=net_pcap3,rx_pcap=../../../shared/data/pcap/dns.pcap
//	--vdev=net_null0
//
// (--no-pci keeps the EAL off the machine's own NIC) and compares what the
// net_pcap ports deliver with an independent read of the same captures by
// gopacket's pcapgo. Each test binary initialises the EAL once; the pcap tests
// restart their port, so -count works. The tests need 3 lcores but run on 2
// CPUs; they take under a second once built.
package dpdk
