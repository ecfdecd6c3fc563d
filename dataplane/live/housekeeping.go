//go:build dpdk

package live

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

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
