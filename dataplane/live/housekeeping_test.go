//go:build dpdk

package live

import (
	"fmt"
	"runtime"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/tunnelscope/tunnelscope/dataplane"
	"github.com/tunnelscope/tunnelscope/dataplane/ring"
)

// pinnedThread starts a thread named name and pinned to cpu, as EAL
// starts an lcore, and returns its ID; it runs until stop is closed.
func pinnedThread(t *testing.T, name string, cpu int, stop chan struct{}) int {
	t.Helper()
	tid := make(chan int)
	go func() {
		runtime.LockOSThread() // the thread ends with the goroutine
		var one unix.CPUSet
		one.Set(cpu)
		if err := unix.SchedSetaffinity(0, &one); err != nil {
			t.Error(err)
		}
		b, err := unix.BytePtrFromString(name)
		if err != nil {
			t.Error(err)
		} else if err := unix.Prctl(unix.PR_SET_NAME, uintptr(unsafe.Pointer(b)), 0, 0, 0); err != nil {
			t.Error(err)
		}
		tid <- unix.Gettid()
		<-stop
	}()
	return <-tid
}

func affinity(t *testing.T, tid int) unix.CPUSet {
	t.Helper()
	var s unix.CPUSet
	if err := unix.SchedGetaffinity(tid, &s); err != nil {
		t.Fatalf("thread %d: %v", tid, err)
	}
	return s
}

// A thread that carries a worker lcore's name but is not the lcore (the
// runtime cloned it from the lcore's thread) gets the process's CPU set
// back; the lcore keeps its pin, and threads of other names are left alone.
func TestReleaseClones(t *testing.T) {
	var all unix.CPUSet
	if err := unix.SchedGetaffinity(0, &all); err != nil {
		t.Fatal(err)
	}
	if all.Count() < 2 {
		t.Skip("one CPU: a pin to it is the whole CPU set, so nothing can be released")
	}
	cpu := 0
	for !all.IsSet(cpu) {
		cpu++
	}
	stop := make(chan struct{})
	defer close(stop)
	lcore := pinnedThread(t, "rte-worker-7", cpu, stop)
	clone := pinnedThread(t, "rte-worker-7", cpu, stop)
	other := pinnedThread(t, "eal-intr-thread", cpu, stop)

	changed, err := releaseClones(&all, []int{lcore})
	if err != nil {
		t.Fatal(err)
	}
	if c := affinity(t, clone); changed != 1 || c != all {
		t.Errorf("%d threads changed; the clone's CPU set has %d CPUs, want all %d", changed, c.Count(), all.Count())
	}
	if s := affinity(t, lcore); s.Count() != 1 || !s.IsSet(cpu) {
		t.Errorf("the lcore's pin changed: %d CPUs", s.Count())
	}
	if s := affinity(t, other); s.Count() != 1 {
		t.Errorf("a thread of another name was moved: %d CPUs", s.Count())
	}
	// Nothing left to do the second time.
	if changed, err := releaseClones(&all, []int{lcore}); err != nil || changed != 0 {
		t.Errorf("second pass: %d changed, %v", changed, err)
	}
}

func TestNextDrain(t *testing.T) {
	const size = 4096
	every := drainMin
	for range 20 { // idle: backs off to drainMax and stays there
		every = nextDrain(every, 0, size)
		if every < drainMin || every > drainMax {
			t.Fatalf("idle drain interval %v outside [%v, %v]", every, drainMin, drainMax)
		}
	}
	if every != drainMax {
		t.Fatalf("idle drain interval settled at %v, want %v", every, drainMax)
	}
	if got := nextDrain(drainMax, size/8+1, size); got > drainMax/4 {
		t.Errorf("after a ring an eighth full, interval %v, want at most %v", got, drainMax/4)
	}
	if got := nextDrain(drainMin, size, size); got != drainMin {
		t.Errorf("after a full ring at the shortest interval, %v, want %v", got, drainMin)
	}
	if got := nextDrain(4*drainMin, size/16, size); got != 4*drainMin {
		t.Errorf("a ring a sixteenth full moved the interval from %v to %v", 4*drainMin, got)
	}
}

// A worker's flow ends wake the control loop once its event ring is past
// a quarter full, and never block or fail when a wake is already pending.
func TestFlowEndKicksControlLoop(t *testing.T) {
	events, err := ring.New[dataplane.Record](16)
	if err != nil {
		t.Fatal(err)
	}
	kick := make(chan struct{}, 1)
	s := eventSink{wk: &worker{events: events, kick: kick}}
	var r dataplane.Record
	for i := range 4 {
		s.FlowEnd(&r)
		if len(kick) != 0 {
			t.Fatalf("kicked with %d of 16 records in the ring", i+1)
		}
	}
	for range 8 {
		s.FlowEnd(&r)
	}
	if len(kick) != 1 {
		t.Fatal("no kick with 12 of 16 records in the ring")
	}
	if events.Len() != 12 {
		t.Fatalf("ring holds %d records, want 12", events.Len())
	}
}

func TestWorkersFillCPUs(t *testing.T) {
	set := func(cpus ...int) unix.CPUSet {
		var s unix.CPUSet
		for _, c := range cpus {
			s.Set(c)
		}
		return s
	}
	for _, tc := range []struct {
		name    string
		process unix.CPUSet
		workers []unix.CPUSet
		want    bool
	}{
		// The bench VM: two workers on CPUs 1 and 0, the main lcore beside one.
		{"two workers on two CPUs", set(0, 1), []unix.CPUSet{set(1), set(0)}, true},
		// One worker leaves CPU 0 to the main lcore and the runtime.
		{"one worker on two CPUs", set(0, 1), []unix.CPUSet{set(1)}, false},
		{"workers share one CPU of two", set(0, 1), []unix.CPUSet{set(1), set(1)}, false},
		{"a worker allowed on every CPU", set(0, 1, 2, 3), []unix.CPUSet{set(0, 1, 2, 3)}, true},
		{"an appliance's spare cores", set(0, 1, 2, 3, 4, 5, 6, 7), []unix.CPUSet{set(2), set(3), set(4)}, false},
		// A worker pinned outside the process's set still leaves CPU 1 free.
		{"worker outside the process set", set(0, 1), []unix.CPUSet{set(0), set(2)}, false},
		{"high CPU numbers", set(70, 130), []unix.CPUSet{set(130), set(70)}, true},
		// Affinity unknown: never yield.
		{"no process set", unix.CPUSet{}, []unix.CPUSet{set(0)}, false},
		{"no workers", set(0), nil, false},
	} {
		if got := workersFillCPUs(tc.process, tc.workers); got != tc.want {
			t.Errorf("%s: workersFillCPUs = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestCPUList(t *testing.T) {
	var set unix.CPUSet
	for _, c := range []int{130, 0, 3, 64} {
		set.Set(c)
	}
	if got := fmt.Sprint(cpuList(&set)); got != "[0 3 64 130]" {
		t.Errorf("cpuList = %s, want [0 3 64 130]", got)
	}
	if got := cpuList(&unix.CPUSet{}); got == nil || len(got) != 0 {
		t.Errorf("cpuList of no CPU = %#v, want an empty list (JSON [], not null)", got)
	}
}
