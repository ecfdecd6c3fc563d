package metrics

import (
	"runtime"
	"runtime/metrics"
)

// goMetrics are the Go runtime's series a scrape carries, read through
// runtime/metrics, which, unlike runtime.ReadMemStats, does not stop the
// world: a scrape must not pause the control plane's goroutines. The names
// are those client_golang gives the same quantities.
var goMetrics = []struct {
	sample, name, help string
	typ                metricType
}{
	{"/sched/goroutines:goroutines", "go_goroutines", "Number of goroutines that currently exist.", gauge},
	{"/sched/gomaxprocs:threads", "go_sched_gomaxprocs_threads", "The current runtime.GOMAXPROCS setting: how many OS threads may run Go code at once (each worker lcore holds one).", gauge},
	{"/memory/classes/heap/objects:bytes", "go_memstats_heap_alloc_bytes", "Number of heap bytes allocated and currently in use.", gauge},
	{"/memory/classes/total:bytes", "go_memstats_sys_bytes", "Number of bytes obtained from the system by the Go runtime (the flow tables' and pools' mappings are outside it).", gauge},
	{"/gc/heap/goal:bytes", "go_memstats_next_gc_bytes", "Heap size at which the next garbage collection cycle starts.", gauge},
	{"/gc/cycles/total:gc-cycles", "go_gc_cycles_total", "Garbage collection cycles completed.", counter},
}

// goFamilies reads the runtime's series now.
func goFamilies() []*family {
	samples := make([]metrics.Sample, len(goMetrics))
	for i, m := range goMetrics {
		samples[i].Name = m.sample
	}
	metrics.Read(samples)
	fams := make([]*family, 0, len(goMetrics)+2)
	for i, m := range goMetrics {
		f := newFamily(m.name, m.typ, m.help)
		if samples[i].Value.Kind() == metrics.KindUint64 {
			f.add(float64(samples[i].Value.Uint64()))
		}
		fams = append(fams, f)
	}
	threads, _ := runtime.ThreadCreateProfile(nil)
	f := newFamily("go_threads", gauge, "Number of OS threads created.")
	f.add(float64(threads))
	info := newFamily("go_info", gauge, "Information about the Go environment.", "version")
	info.add(1, runtime.Version())
	return append(fams, f, info)
}
