// Package ring is a bounded single-producer single-consumer queue: the only
// channel between lcores (dispatch → worker, worker → control plane). It
// takes no lock and allocates nothing after New.
//
// Threading: exactly one goroutine or lcore thread may produce (Put, PutN,
// PutSel, Publish, Push) and exactly one other may consume (Take, Next,
// Release, Pop);
// Len and Cap are safe from anywhere.
package ring

import (
	"fmt"
	"reflect"
	"sync/atomic"
)

// cacheLine keeps what each side writes on lines of its own, so the two
// cores do not bounce one line between them on every operation. A whole
// line of padding separates each group of fields from the next, so no two
// groups can share a line wherever the allocator puts the struct (padding
// a group up to 64 bytes would need the struct to start on a line, which
// Go does not promise).
const cacheLine = 64

// SPSC is a ring of values of T.
//
// Each side batches what it tells the other: Put and Take move a private
// index, Publish and Release store it where the other side looks. The
// store is an atomic one, which on x86 waits for every earlier store to
// reach the cache, including slot writes whose lines the other core holds;
// once per burst, those waits overlap instead of queueing one per value.
// Push and Pop are Put+Publish and Take+Release.
type SPSC[T any] struct {
	_     [cacheLine]byte
	tail  atomic.Uint64 // slots below this are published to the consumer
	_     [cacheLine]byte
	head2 atomic.Uint64 // slots below this are released to the producer
	_     [cacheLine]byte
	// producer's own
	next uint64 // next slot Put writes
	head uint64 // cached head2
	_    [cacheLine]byte
	// consumer's own
	next2 uint64 // next slot Take reads
	tail2 uint64 // cached tail
	_     [cacheLine]byte
	// both sides', never written after New
	mask  uint64
	buf   []T
	clear bool // T holds pointers: Take zeroes the slot it read
	_     [cacheLine]byte
}

// New makes a ring of size slots; size must be a power of two.
func New[T any](size int) (*SPSC[T], error) {
	if size < 2 || size&(size-1) != 0 {
		return nil, fmt.Errorf("ring size %d is not a power of two of at least 2", size)
	}
	return &SPSC[T]{mask: uint64(size - 1), buf: make([]T, size), clear: hasPointers(reflect.TypeFor[T]())}, nil
}

// hasPointers reports whether a value of t can hold a reference the
// garbage collector follows.
func hasPointers(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Pointer, reflect.UnsafePointer, reflect.Map, reflect.Chan, reflect.Func,
		reflect.Interface, reflect.Slice, reflect.String:
		return true
	case reflect.Array:
		return t.Len() > 0 && hasPointers(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if hasPointers(t.Field(i).Type) {
				return true
			}
		}
	}
	return false
}

// Put copies *v into the ring without showing it to the consumer yet;
// false means the ring is full (the caller counts it and goes on: a
// producer never waits in the hot path).
func (r *SPSC[T]) Put(v *T) bool {
	t := r.next
	if t-r.head > r.mask {
		r.head = r.head2.Load()
		if t-r.head > r.mask {
			return false
		}
	}
	r.buf[t&r.mask] = *v
	r.next = t + 1
	return true
}

// PutN copies the longest prefix of src that fits into the ring, without
// showing it to the consumer yet, and returns its length. One copy loop
// for a batch lets the stores into lines the consumer holds go out
// together instead of one packet's work apart.
func (r *SPSC[T]) PutN(src []T) int {
	t := r.next
	n := r.room(len(src))
	for i := range src[:n] {
		r.buf[(t+uint64(i))&r.mask] = src[i]
	}
	r.next = t + uint64(n)
	return n
}

// PutSel is PutN of src[sel[0]], src[sel[1]], ...: it copies the longest
// prefix of that selection that fits and returns its length. The live
// dispatch decodes a burst into one array and sends each worker its
// selection straight from there, without gathering it first.
func (r *SPSC[T]) PutSel(src []T, sel []uint16) int {
	t := r.next
	n := r.room(len(sel))
	for i, j := range sel[:n] {
		r.buf[(t+uint64(i))&r.mask] = src[j]
	}
	r.next = t + uint64(n)
	return n
}

// room is how many of want values fit, looking at the consumer's side
// only when the cached view says too few do.
func (r *SPSC[T]) room(want int) int {
	room := r.mask + 1 - (r.next - r.head)
	if uint64(want) > room {
		r.head = r.head2.Load()
		room = r.mask + 1 - (r.next - r.head)
	}
	return min(want, int(room))
}

// Publish shows the consumer everything Put so far.
func (r *SPSC[T]) Publish() {
	if r.tail.Load() != r.next {
		r.tail.Store(r.next)
	}
}

// Push is Put and Publish.
func (r *SPSC[T]) Push(v *T) bool {
	if !r.Put(v) {
		return false
	}
	r.Publish()
	return true
}

// Take copies the oldest published value into *v without giving its slot
// back to the producer yet; false means nothing published is left.
func (r *SPSC[T]) Take(v *T) bool {
	p := r.Next()
	if p == nil {
		return false
	}
	*v = *p
	if r.clear {
		// Drop references so the GC can free them. Pointer-free slots
		// are left as they are: a write would only pull the line into
		// this core's cache in the modified state, and the producer's
		// next write to it would then have to fetch it back.
		var zero T
		*p = zero
	}
	return true
}

// Next is Take without the copy: it returns the oldest published value in
// its slot, or nil when nothing published is left, and moves past it. The
// value stays valid, and the consumer's to read, until Release. Unlike
// Take it leaves references in the slot for the producer to overwrite.
func (r *SPSC[T]) Next() *T {
	h := r.next2
	if h == r.tail2 {
		r.tail2 = r.tail.Load()
		if h == r.tail2 {
			return nil
		}
	}
	r.next2 = h + 1
	return &r.buf[h&r.mask]
}

// Release gives the producer back every slot Take or Next read.
func (r *SPSC[T]) Release() {
	if r.head2.Load() != r.next2 {
		r.head2.Store(r.next2)
	}
}

// Pop is Take and Release.
func (r *SPSC[T]) Pop(v *T) bool {
	if !r.Take(v) {
		return false
	}
	r.Release()
	return true
}

// Len is how many values are published and not yet released (approximate
// while both ends run).
func (r *SPSC[T]) Len() int { return int(r.tail.Load() - r.head2.Load()) }

// Cap is the ring's size.
func (r *SPSC[T]) Cap() int { return len(r.buf) }
