//go:build dpdk

package dpdk

import (
	"errors"
	"slices"
	"testing"
	"time"
)

func TestLcores(t *testing.T) {
	// --lcores=(0-2)@(0-1): lcore 0 is the main one, 1 and 2 the workers.
	if got := Lcores(); !slices.Equal(got, []uint{1, 2}) {
		t.Errorf("Lcores() = %v, want [1 2]", got)
	}
	if got := MainLcore(); got != 0 {
		t.Errorf("MainLcore() = %d, want 0", got)
	}
	if mainThreadLcore != 0 {
		t.Errorf("LcoreID() on the thread that called EALInit = %d, want 0", mainThreadLcore)
	}
	if got := LcoreID(); got != LcoreIDAny {
		t.Errorf("LcoreID() on a test goroutine = %d, want LcoreIDAny", got)
	}
}

func TestLaunchOnLcore(t *testing.T) {
	for _, l := range Lcores() {
		var id uint
		var socket int
		if err := LaunchOnLcore(l, func() { id, socket = LcoreID(), SocketID() }); err != nil {
			t.Fatal(err)
		}
		if err := WaitLcore(l); err != nil {
			t.Fatal(err)
		}
		if id != l {
			t.Errorf("function launched on lcore %d saw LcoreID() = %d", l, id)
		}
		if want := LcoreSocketID(l); socket != want {
			t.Errorf("lcore %d: SocketID() = %d inside, LcoreSocketID = %d", l, socket, want)
		}
	}
}

func TestLaunchOnBusyLcore(t *testing.T) {
	l := Lcores()[0]
	release := make(chan struct{})
	started := make(chan struct{})
	if err := LaunchOnLcore(l, func() { close(started); <-release }); err != nil {
		t.Fatal(err)
	}
	<-started
	err := LaunchOnLcore(l, func() { t.Error("second function ran on a busy lcore") })
	close(release)
	if !errors.Is(err, ErrBusy) {
		t.Errorf("launch on a busy lcore: %v, want ErrBusy", err)
	}
	if err := WaitLcore(l); err != nil {
		t.Fatal(err)
	}
}

func TestLaunchErrors(t *testing.T) {
	if err := LaunchOnLcore(MainLcore(), func() {}); !errors.Is(err, ErrInvalid) {
		t.Errorf("launch on the main lcore: %v, want ErrInvalid", err)
	}
	if err := LaunchOnLcore(100, func() {}); !errors.Is(err, ErrInvalid) {
		t.Errorf("launch on a disabled lcore: %v, want ErrInvalid", err)
	}
	l := Lcores()[1]
	if err := LaunchOnLcore(l, func() { panic("worker bug") }); err != nil {
		t.Fatal(err)
	}
	if err := WaitLcore(l); !errors.Is(err, ErrLcorePanic) {
		t.Errorf("WaitLcore after a panic: %v, want ErrLcorePanic", err)
	}
	if err := WaitLcore(l); err != nil {
		t.Errorf("a panic is reported once, got again: %v", err)
	}
	// The lcore is usable again after the panic.
	ran := false
	if err := LaunchOnLcore(l, func() { ran = true }); err != nil {
		t.Fatal(err)
	}
	WaitAllLcores()
	if err := WaitLcore(l); err != nil || !ran {
		t.Errorf("relaunch after a panic: ran %t, %v", ran, err)
	}
}

func TestTSC(t *testing.T) {
	hz := TSCHz()
	if hz < 1e8 {
		t.Fatalf("TSCHz() = %d", hz)
	}
	start := TSC()
	time.Sleep(20 * time.Millisecond)
	// A lower bound only: the sleep may last longer, never shorter.
	if d := TSC() - start; d < hz/100 {
		t.Errorf("TSC advanced %d ticks over 20 ms at %d Hz", d, hz)
	}
}
