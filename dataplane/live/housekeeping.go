//go:build dpdk

package live

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// releaseClones gives every thread cloned from a worker lcore's thread
// the CPU set cpus (the process's own, which EALInit left the calling
// thread with) and reports how many it changed. lcores are the worker
// lcores' thread IDs.
//
// Why: the Go runtime starts threads as it needs them (to run timers,
// the netpoller, or the Ps that a thread in a cgo call lets go), and a new
// thread inherits the name and the CPU set of the thread that started it.
// One started from a worker lcore is pinned to that lcore's CPU, so every
// time it wakes it preempts the busy-polling worker: on the bench VM the
// one-worker lcore was preempted 1,370 times a second by such a clone,
// woken each millisecond for the control loop's ticker. With the
// process's CPU set back, the kernel wakes it on an idle CPU instead.
// (Confining every other thread to the main lcore's CPU was tried, and
// was slower: the worker then waits on that CPU's threads whenever the
// runtime hands it a P.) Clones appear at any time, so the control loop
// calls this again every second.
func releaseClones(cpus *unix.CPUSet, lcores []int) (changed int, err error) {
	names := make([]string, len(lcores))
	for i, tid := range lcores {
		names[i] = threadName(tid)
	}
	entries, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return 0, fmt.Errorf("list threads: %w", err)
	}
	for _, e := range entries {
		tid, err := strconv.Atoi(e.Name())
		if err != nil || slices.Contains(lcores, tid) || !slices.Contains(names, threadName(tid)) {
			continue
		}
		var cur unix.CPUSet
		if unix.SchedGetaffinity(tid, &cur) == nil && cur == *cpus {
			continue
		}
		if err := unix.SchedSetaffinity(tid, cpus); err != nil {
			if errors.Is(err, unix.ESRCH) {
				continue // the thread exited meanwhile
			}
			return changed, fmt.Errorf("thread %d: set CPU affinity: %w", tid, err)
		}
		changed++
	}
	return changed, nil
}

// threadName is the name of thread tid of this process, "" if it is gone.
func threadName(tid int) string {
	b, err := os.ReadFile("/proc/self/task/" + strconv.Itoa(tid) + "/comm")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// The control loop drains the workers' event rings every drainMin to
// drainMax, adapting to how full it finds them. Each wake of the control
// loop costs the workers more than its own few microseconds: the Go
// runtime wakes two or three threads to run the timer and hand the locked
// control goroutine its thread, and on a machine with no spare CPU each of
// those preempts a worker lcore. At 1 ms always, on the 2-CPU bench VM
// the two worker lcores were preempted about 2,700 and 1,700 times a
// second; at 1 to 10 ms, 1,200 and 1,400.
const (
	drainMin = time.Millisecond
	drainMax = 10 * time.Millisecond
)

// nextDrain is the wait before the next drain, after one that took most
// records from the fullest of the rings of capacity size, every ago: it
// shortens fast when a ring was an eighth full and lengthens slowly while
// the rings stay nearly empty. A burst (a timer expiry can end thousands of
// flows at once) does not wait for it: a worker whose ring passes a
// quarter full wakes the control loop at once (eventSink.FlowEnd), since
// a full ring drops records.
func nextDrain(every time.Duration, most, size int) time.Duration {
	switch {
	case most > size/8:
		return max(every/4, drainMin)
	case most < size/32:
		return min(every*2, drainMax)
	}
	return every
}

// yieldEvery is how often a worker lcore yields to the Go scheduler when
// no CPU of the process is left free of worker lcores (see workersFillCPUs),
// in TSC cycles at hz.
//
// Why: the runtime's sysmon thread preempts any goroutine that has run
// 10 ms without passing through the scheduler, and a polling lcore never
// does. Since Go 1.26, sysmon takes the P of a goroutine it finds overdue
// inside a cgo call (a receive burst) instead, and after each such take it
// polls every 20 µs or so until things have been quiet for a while; the
// lcore, finding its P gone, takes an idle one that is again overdue. On
// the 2-CPU bench VM with two workers that kept sysmon waking about 2,800
// times a second, each wake preempting a worker. A yield inside the 10 ms
// resets the slice, so sysmon never finds a worker overdue and sleeps its
// full 10 ms: about 100 wakes a second. A yield costs a locked goroutine a
// hand-off between threads, as sysmon's own preemption does, so it is
// worth it only where sysmon has no free CPU to wake on: two workers on
// two CPUs measured 1.045x with it (10 of 12 paired runs), one worker
// beside a free CPU 0.98x.
func yieldEvery(hz uint64) uint64 { return hz * uint64(yieldPeriod/time.Microsecond) / 1e6 }

// yieldPeriod is yieldEvery's interval: inside sysmon's 10 ms slice with
// room for a late TSC reading.
const yieldPeriod = 8 * time.Millisecond

// workersFillCPUs reports whether every CPU in process (the CPUs the
// process may run on) is in the CPU set of some worker lcore, so that the
// runtime's threads can only run by preempting a worker.
func workersFillCPUs(process unix.CPUSet, workers []unix.CPUSet) bool {
	var union unix.CPUSet
	for i := range workers {
		for c := range len(union) {
			union[c] |= workers[i][c]
		}
	}
	for c := range len(process) {
		if process[c]&^union[c] != 0 {
			return false
		}
	}
	return process.Count() > 0
}

// cpuList is the CPUs in set, in order.
func cpuList(set *unix.CPUSet) []int {
	n := set.Count()
	cpus := make([]int, 0, n)
	for c := 0; len(cpus) < n; c++ {
		if set.IsSet(c) {
			cpus = append(cpus, c)
		}
	}
	return cpus
}
