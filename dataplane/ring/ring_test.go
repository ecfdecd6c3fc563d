package ring

import (
	"reflect"
	"runtime"
	"sync"
	"testing"
	"unsafe"
)

func TestSizeMustBePowerOfTwo(t *testing.T) {
	for _, n := range []int{0, 1, 3, 100} {
		if _, err := New[int](n); err == nil {
			t.Errorf("New(%d) accepted", n)
		}
	}
}

func TestFullAndEmpty(t *testing.T) {
	r, _ := New[int](4)
	var v int
	if r.Pop(&v) {
		t.Fatal("pop from empty ring")
	}
	for i := 0; i < 4; i++ {
		v = i
		if !r.Push(&v) {
			t.Fatalf("push %d refused", i)
		}
	}
	v = 9
	if r.Push(&v) {
		t.Fatal("push into full ring accepted")
	}
	for i := 0; i < 4; i++ {
		if !r.Pop(&v) || v != i {
			t.Fatalf("pop %d = %d", i, v)
		}
	}
	if r.Len() != 0 {
		t.Fatal("ring not empty")
	}
}

// One producer and one consumer on different goroutines: every value
// arrives once, in order (run with -race).
func TestConcurrentOrder(t *testing.T) {
	r, _ := New[uint64](64)
	const n = 20000
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := uint64(0); i < n; {
			if r.Push(&i) {
				i++
			} else {
				runtime.Gosched() // the consumer may share this CPU
			}
		}
	}()
	var want uint64
	for want < n {
		var v uint64
		if r.Pop(&v) {
			if v != want {
				t.Fatalf("got %d, want %d", v, want)
			}
			want++
		} else {
			runtime.Gosched()
		}
	}
	wg.Wait()
}

// Put values stay hidden until Publish; taken slots stay taken until
// Release, so a full ring stays full.
func TestPublishAndRelease(t *testing.T) {
	r, _ := New[int](4)
	for i := range 3 {
		if !r.Put(&i) {
			t.Fatalf("Put %d refused", i)
		}
	}
	var v int
	if r.Take(&v) || r.Len() != 0 {
		t.Fatalf("unpublished values visible: Take gave %d, Len %d", v, r.Len())
	}
	r.Publish()
	if r.Len() != 3 {
		t.Fatalf("Len %d after Publish, want 3", r.Len())
	}
	x := 3
	if !r.Put(&x) || r.Put(&x) {
		t.Fatal("a 4-slot ring holding 3 must take exactly one more")
	}
	r.Publish()
	for want := range 4 {
		if !r.Take(&v) || v != want {
			t.Fatalf("Take: %d, want %d", v, want)
		}
	}
	if r.Put(&x) {
		t.Fatal("slots taken but not released were reused")
	}
	r.Release()
	if !r.Put(&x) || r.Len() != 0 {
		t.Fatalf("after Release: Put refused or Len %d", r.Len())
	}
}

// Batched ends on different goroutines, bursts of varying size: every
// value arrives once, in order (run with -race).
func TestConcurrentBatches(t *testing.T) {
	r, _ := New[uint64](64)
	const n = 20000
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i, burst := uint64(0), uint64(1); i < n; burst = burst%37 + 1 {
			put := 0
			for k := uint64(0); k < burst && i < n && r.Put(&i); k++ {
				i++
				put++
			}
			r.Publish()
			if put == 0 {
				runtime.Gosched()
			}
		}
	}()
	var want uint64
	for batch := 1; want < n; batch = batch%29 + 1 {
		got := 0
		var v uint64
		for ; got < batch && r.Take(&v); got++ {
			if v != want {
				t.Fatalf("got %d, want %d", v, want)
			}
			want++
		}
		r.Release()
		if got == 0 {
			runtime.Gosched()
		}
	}
	wg.Wait()
}

func TestPushPopDoNotAllocate(t *testing.T) {
	r, _ := New[[4]uint64](16)
	var v [4]uint64
	if a := testing.AllocsPerRun(1000, func() { r.Push(&v); r.Pop(&v) }); a != 0 {
		t.Fatalf("%.1f allocs", a)
	}
}

func BenchmarkPushPop(b *testing.B) {
	r, _ := New[uint64](1024)
	b.ReportAllocs()
	var v uint64
	for i := 0; i < b.N; i++ {
		r.Push(&v)
		r.Pop(&v)
	}
}

func TestHasPointers(t *testing.T) {
	type flat struct {
		a uint64
		b [4]byte
		c struct{ d int32 }
	}
	type deep struct {
		a uint64
		b [2]struct{ s string }
	}
	cases := []struct {
		t    reflect.Type
		want bool
	}{
		{reflect.TypeFor[int](), false},
		{reflect.TypeFor[flat](), false},
		{reflect.TypeFor[[0]*int](), false},
		{reflect.TypeFor[uintptr](), false},
		{reflect.TypeFor[*int](), true},
		{reflect.TypeFor[deep](), true},
		{reflect.TypeFor[[]byte](), true},
		{reflect.TypeFor[unsafe.Pointer](), true},
		{reflect.TypeFor[any](), true},
	}
	for _, c := range cases {
		if got := hasPointers(c.t); got != c.want {
			t.Errorf("hasPointers(%v) = %v, want %v", c.t, got, c.want)
		}
	}
}

// A ring of pointers must not keep what it handed out alive.
func TestPopDropsReferences(t *testing.T) {
	r, _ := New[*int](4)
	v := new(int)
	r.Push(&v)
	var out *int
	r.Pop(&out)
	if r.buf[0] != nil {
		t.Fatal("popped slot still holds its pointer")
	}
}

// BenchmarkCrossCore moves a value the size of a live dispatch slot from
// one locked thread to another, in bursts as the lcores do: with
// GOMAXPROCS >= 2 the two run on different cores, and ns/op is the ring's
// cost per packet that crosses.
func BenchmarkCrossCore(b *testing.B) {
	type slot struct{ a [12]uint64 } // 96 bytes
	r, _ := New[slot](4096)
	done := make(chan uint64)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		var v slot
		var sum uint64
		for n := 0; n < b.N; {
			for k := 0; k < 64 && r.Take(&v); k++ {
				sum += v.a[0] + v.a[11]
				n++
			}
			r.Release()
		}
		done <- sum
	}()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.ReportAllocs()
	var v slot
	for i := 0; i < b.N; {
		for k := 0; k < 32 && i < b.N; k++ {
			v.a[0] = uint64(i)
			if r.Put(&v) {
				i++
			}
		}
		r.Publish()
	}
	if sum := <-done; sum != uint64(b.N-1)*uint64(b.N)/2 {
		b.Fatalf("consumer saw a sum of %d, want %d", sum, uint64(b.N-1)*uint64(b.N)/2)
	}
}
