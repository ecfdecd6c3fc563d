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
