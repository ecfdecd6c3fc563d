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
	produceAndPop(t, func(r *SPSC[uint64], n uint64) {
		for i := uint64(0); i < n; {
			if r.Push(&i) {
				i++
			} else {
				runtime.Gosched() // the consumer may share this CPU
			}
		}
	})
}

// produceAndPop runs produce, which must put 0, 1, ... n-1 into a small
// ring, on another goroutine and pops them in order on this one.
func produceAndPop(t *testing.T, produce func(r *SPSC[uint64], n uint64)) {
	t.Helper()
	produceAndConsume(produce, func(r *SPSC[uint64], n uint64) { popInOrder(t, r, n) })
}

// produceAndConsume runs produce on another goroutine and consume on this
// one, over one small ring. consume fails with t.Fatal, which ends this
// goroutine before the wait for a producer that may be stuck on a full
// ring.
func produceAndConsume(produce, consume func(r *SPSC[uint64], n uint64)) {
	r, _ := New[uint64](64)
	const n = 20000
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		produce(r, n)
	}()
	consume(r, n)
	wg.Wait()
}

// takeInOrder takes n published values from r, without releasing them,
// and fails unless they are 0, 1, ... n-1.
func takeInOrder(t *testing.T, r *SPSC[int], n int) {
	t.Helper()
	var v int
	for want := range n {
		if !r.Take(&v) || v != want {
			t.Fatalf("Take: %d, want %d", v, want)
		}
	}
}

// popInOrder pops n values from r and fails unless they are 0, 1, ... n-1.
func popInOrder(t *testing.T, r *SPSC[uint64], n uint64) {
	t.Helper()
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
	takeInOrder(t, r, 4)
	if r.Put(&x) {
		t.Fatal("slots taken but not released were reused")
	}
	r.Release()
	if !r.Put(&x) || r.Len() != 0 {
		t.Fatalf("after Release: Put refused or Len %d", r.Len())
	}
}

// Batched ends on different goroutines, bursts of varying size, taken by
// Take and Next in turns: every value arrives once, in order (run with
// -race).
func TestConcurrentBatches(t *testing.T) {
	produceAndConsume(func(r *SPSC[uint64], n uint64) {
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
	}, func(r *SPSC[uint64], n uint64) {
		var want uint64
		for batch := 1; want < n; batch = batch%29 + 1 {
			got := 0
			var v uint64
			next := batch%2 == 0 // Next and Take in turns
			for ; got < batch; got++ {
				if next {
					p := r.Next()
					if p == nil {
						break
					}
					v = *p
				} else if !r.Take(&v) {
					break
				}
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
	})
}

// PutN takes what fits, oldest first, hides it until Publish, and wraps
// around the end of the buffer like Put.
func TestPutN(t *testing.T) {
	r, _ := New[int](8)
	var v int
	for range 5 { // move the indices so that the batches below wrap
		r.Push(&v)
		r.Pop(&v)
	}
	if n := r.PutN([]int{0, 1, 2}); n != 3 || r.Len() != 0 {
		t.Fatalf("PutN of 3 into an empty ring: %d, Len %d before Publish", n, r.Len())
	}
	r.Publish()
	if n := r.PutN([]int{3, 4, 5, 6, 7, 8, 9}); n != 5 {
		t.Fatalf("PutN of 7 with room for 5: %d", n)
	}
	if n := r.PutN([]int{8}); n != 0 {
		t.Fatalf("PutN into a full ring: %d", n)
	}
	if n := r.PutN(nil); n != 0 {
		t.Fatalf("PutN of nothing: %d", n)
	}
	r.Publish()
	takeInOrder(t, r, 8)
	if r.Take(&v) {
		t.Fatal("Take beyond what was put")
	}
	r.Release()
	// Room comes back only with Release, and PutN sees it.
	if n := r.PutN([]int{8, 9}); n != 2 {
		t.Fatalf("PutN after Release: %d", n)
	}
}

// Next hands out the published values in place, in order, and their slots
// stay out of the producer's reach until Release.
func TestNext(t *testing.T) {
	r, _ := New[int](2)
	if r.Next() != nil {
		t.Fatal("Next of an empty ring")
	}
	r.PutN([]int{1, 2})
	r.Publish()
	a, b := r.Next(), r.Next()
	if a == nil || b == nil || *a != 1 || *b != 2 || r.Next() != nil {
		t.Fatalf("Next after putting 1, 2: %v %v", a, b)
	}
	if r.PutN([]int{3}) != 0 {
		t.Fatal("a slot Next read went back to the producer before Release")
	}
	if *a != 1 {
		t.Fatalf("value changed under Next's pointer: %d", *a)
	}
	r.Release()
	if r.PutN([]int{3}) != 1 {
		t.Fatal("no room after Release")
	}
	r.Publish()
	if c := r.Next(); c == nil || *c != 3 {
		t.Fatalf("Next after wrapping: %v", c)
	}
}

func TestPutSel(t *testing.T) {
	r, _ := New[int](4)
	src := []int{10, 11, 12, 13, 14, 15}
	if n := r.PutSel(src, []uint16{5, 0, 3}); n != 3 {
		t.Fatalf("PutSel of 3 into an empty ring of 4: %d", n)
	}
	if n := r.PutSel(src, []uint16{1, 2}); n != 1 {
		t.Fatalf("PutSel of 2 with room for 1: %d", n)
	}
	if n := r.PutSel(src, []uint16{4}); n != 0 {
		t.Fatalf("PutSel into a full ring: %d", n)
	}
	r.Publish()
	var v int
	for _, want := range []int{15, 10, 13, 11} {
		if !r.Take(&v) || v != want {
			t.Fatalf("took %d, want %d", v, want)
		}
	}
	if r.Take(&v) {
		t.Fatal("Take beyond what was put")
	}
}

// PutN batches against single Takes on another goroutine: every value
// arrives once, in order (run with -race).
func TestConcurrentPutN(t *testing.T) {
	produceAndPop(t, func(r *SPSC[uint64], n uint64) {
		batch := make([]uint64, 0, 40)
		for i, size := uint64(0), 1; i < n || len(batch) > 0; size = size%40 + 1 {
			for len(batch) < size && i < n {
				batch = append(batch, i)
				i++
			}
			k := r.PutN(batch)
			r.Publish()
			batch = batch[:copy(batch, batch[k:])]
			if k == 0 {
				runtime.Gosched()
			}
		}
	})
}

func TestPutNDoesNotAllocate(t *testing.T) {
	r, _ := New[[4]uint64](64)
	batch := make([][4]uint64, 32)
	sel := []uint16{31, 0, 7}
	var v [4]uint64
	if a := testing.AllocsPerRun(1000, func() {
		r.PutN(batch)
		r.PutSel(batch, sel)
		r.Publish()
		for r.Take(&v) {
		}
		r.Release()
	}); a != 0 {
		t.Fatalf("%.1f allocs", a)
	}
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
	// Exported fields: only reflect reads them.
	type flat struct {
		A uint64
		B [4]byte
		C struct{ D int32 }
	}
	type deep struct {
		A uint64
		B [2]struct{ S string }
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

// crossSlot is the size of a live dispatch slot.
type crossSlot struct{ a [12]uint64 } // 96 bytes

// consumeOnOtherThread takes n values from r on a locked thread of its
// own, as a worker lcore does, and sends the sum of their first words.
func consumeOnOtherThread(r *SPSC[crossSlot], n int) <-chan uint64 {
	done := make(chan uint64)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		var v crossSlot
		var sum uint64
		for got := 0; got < n; {
			for k := 0; k < 64 && r.Take(&v); k++ {
				sum += v.a[0] + v.a[11]
				got++
			}
			r.Release()
		}
		done <- sum
	}()
	return done
}

func checkSum(b *testing.B, done <-chan uint64) {
	if sum, want := <-done, uint64(b.N-1)*uint64(b.N)/2; sum != want {
		b.Fatalf("consumer saw a sum of %d, want %d", sum, want)
	}
}

// BenchmarkCrossCore moves a value the size of a live dispatch slot from
// one locked thread to another, in bursts as the lcores do: with
// GOMAXPROCS >= 2 the two run on different cores, and ns/op is the ring's
// cost per packet that crosses.
func BenchmarkCrossCore(b *testing.B) {
	r, _ := New[crossSlot](4096)
	done := consumeOnOtherThread(r, b.N)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.ReportAllocs()
	var v crossSlot
	for i := 0; i < b.N; {
		for k := 0; k < 32 && i < b.N; k++ {
			v.a[0] = uint64(i)
			if r.Put(&v) {
				i++
			}
		}
		r.Publish()
	}
	checkSum(b, done)
}

// BenchmarkCrossCoreWithWork is BenchmarkCrossCore with work between the
// packets of a burst, as a dispatching lcore decodes and processes its own
// packets between those it hands on: "put" copies each into the ring as it
// comes, "putn" collects the burst and copies it with PutN at the end.
// ns/op is per packet handed on.
func BenchmarkCrossCoreWithWork(b *testing.B) {
	for _, batched := range []bool{false, true} {
		name := "put"
		if batched {
			name = "putn"
		}
		b.Run(name, func(b *testing.B) {
			r, _ := New[crossSlot](4096)
			done := consumeOnOtherThread(r, b.N)
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			b.ReportAllocs()
			var scratch [512]uint64 // stands for the lcore's own packet work
			var acc uint64
			pend := make([]crossSlot, 0, 32)
			var v crossSlot
			for i := 0; i < b.N; {
				for k := 0; k < 32 && i+len(pend) < b.N; k++ {
					for j := range scratch {
						acc += scratch[j] ^ uint64(j)
						scratch[j] = acc
					}
					v.a[0] = uint64(i + len(pend))
					if !batched {
						for !r.Put(&v) {
						}
						i++
						continue
					}
					pend = append(pend, v)
				}
				for len(pend) > 0 {
					k := r.PutN(pend)
					i += k
					pend = pend[:copy(pend, pend[k:])]
				}
				r.Publish()
			}
			checkSum(b, done)
			if acc == 42 {
				b.Log(acc) // keeps the work
			}
		})
	}
}

// TestGroupsOnOwnLines checks that what the producer writes, what the
// consumer writes and what both only read never share a cache line, at
// every address the allocator may give the struct (any multiple of 8):
// tail, head2, the producer's indices, the consumer's indices and the
// read-only fields are five groups.
func TestGroupsOnOwnLines(t *testing.T) {
	var r SPSC[int]
	groups := []struct {
		name       string
		start, end uintptr // offsets, [start, end)
	}{
		{"tail", unsafe.Offsetof(r.tail), unsafe.Offsetof(r.tail) + 8},
		{"head2", unsafe.Offsetof(r.head2), unsafe.Offsetof(r.head2) + 8},
		{"next, head", unsafe.Offsetof(r.next), unsafe.Offsetof(r.head) + 8},
		{"next2, tail2", unsafe.Offsetof(r.next2), unsafe.Offsetof(r.tail2) + 8},
		{"mask, buf, clear", unsafe.Offsetof(r.mask), unsafe.Offsetof(r.clear) + 1},
	}
	for base := uintptr(0); base < cacheLine; base += 8 {
		for a := range groups {
			for b := a + 1; b < len(groups); b++ {
				ga, gb := groups[a], groups[b]
				if (base+ga.end-1)/cacheLine >= (base+gb.start)/cacheLine {
					t.Errorf("at an address of %d mod %d, %s and %s share a cache line", base, cacheLine, ga.name, gb.name)
				}
			}
		}
	}
}
