package metrics

import (
	"bytes"
	"os"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"
)

// userHZ is the unit of /proc's clock-tick fields: fixed at 100 by the
// kernel's ABI on every architecture Linux exports it to user space for.
const userHZ = 100

// processFamilies reads the process's own resource use. A value the
// kernel will not give (an unreadable /proc) is left out of the scrape,
// not reported as 0.
func processFamilies() []*family {
	cpu := newFamily("process_cpu_seconds_total", counter, "Total user and system CPU time spent in seconds.")
	rss := newFamily("process_resident_memory_bytes", gauge, "Resident memory size in bytes.")
	vsz := newFamily("process_virtual_memory_bytes", gauge, "Virtual memory size in bytes.")
	start := newFamily("process_start_time_seconds", gauge, "Start time of the process since unix epoch in seconds.")
	open := newFamily("process_open_fds", gauge, "Number of open file descriptors.")
	maxFDs := newFamily("process_max_fds", gauge, "Maximum number of open file descriptors.")

	var ru unix.Rusage
	if unix.Getrusage(unix.RUSAGE_SELF, &ru) == nil {
		cpu.add(float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9)
	}
	if b, err := os.ReadFile("/proc/self/statm"); err == nil {
		// size resident shared text lib data dt, in pages
		if f := bytes.Fields(b); len(f) >= 2 {
			page := float64(os.Getpagesize())
			if v, err := strconv.ParseUint(string(f[0]), 10, 64); err == nil {
				vsz.add(float64(v) * page)
			}
			if v, err := strconv.ParseUint(string(f[1]), 10, 64); err == nil {
				rss.add(float64(v) * page)
			}
		}
	}
	if t, ok := processStart(); ok {
		start.add(t)
	}
	if d, err := os.ReadDir("/proc/self/fd"); err == nil {
		open.add(float64(len(d)))
	}
	var lim unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_NOFILE, &lim) == nil {
		maxFDs.add(float64(lim.Cur))
	}
	return []*family{cpu, rss, vsz, start, open, maxFDs}
}

// processStart is startTime, read at the first scrape that asks: the
// answer never changes, and reading two /proc files for it at every scrape
// (or at start, in every command) would be work for nothing.
var processStart = sync.OnceValues(startTime)

// startTime is when the process started, in seconds since the epoch: its
// start in clock ticks after boot (/proc/self/stat) plus the boot time
// (/proc/stat).
func startTime() (float64, bool) {
	stat, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0, false
	}
	// The command name, in parentheses, may hold spaces and parentheses:
	// fields are counted from the last ')'. starttime is field 22 of the
	// line, the 20th after the name.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, false
	}
	f := bytes.Fields(stat[i+1:])
	if len(f) < 20 {
		return 0, false
	}
	ticks, err := strconv.ParseUint(string(f[19]), 10, 64)
	if err != nil {
		return 0, false
	}
	all, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, false
	}
	for line := range bytes.Lines(all) {
		if rest, ok := bytes.CutPrefix(line, []byte("btime ")); ok {
			boot, err := strconv.ParseUint(string(bytes.TrimSpace(rest)), 10, 64)
			if err != nil {
				return 0, false
			}
			return float64(boot) + float64(ticks)/userHZ, true
		}
	}
	return 0, false
}
