// Package live is the DPDK appliance: it starts the EAL, sets up ports and
// mempools on their NUMA sockets, and runs one dataplane.Worker per worker
// lcore in a run-to-completion loop, with a control-plane loop on the main
// lcore that drains flow records, watches for the end of the run and
// builds the summary.
//
// Threading: each worker lcore owns its RX queues, its Worker (flow table,
// feature pool: allocated by the lcore's own thread, so the memory is
// first-touched on its NUMA node), its scratch buffer and the producer end
// of its rings, with the array where a burst's packets for other lcores
// wait before going into those rings in one copy. Lcores share nothing
// else: packets move between them only through single-producer
// single-consumer rings (software dispatch), flow
// records only through each lcore's event ring to the main lcore, which
// drains them every 1 to 10 ms (nextDrain); an lcore whose event ring
// passes a quarter full wakes it with a non-blocking send on a shared
// channel, its only channel operation. The stop flag and the published
// counters are atomics. The metrics server
// (Options.Metrics) serves scrapes on its own goroutines: it reads only
// those atomics and the ports' statistics, never a worker's flow table.
// Threads the Go runtime clones from a worker lcore's thread inherit its
// CPU pin; the main lcore gives them the process's CPU set back once a
// second, so they do not preempt the worker (releaseClones). Where the
// workers' CPUs cover every CPU of the process, each worker yields to the
// Go scheduler every 8 ms (yieldEvery): the lcores report their CPU sets
// when they start, and their loops begin together once the main lcore has
// decided.
//
// Everything here needs the "dpdk" build tag.
package live
