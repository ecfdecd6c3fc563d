// Package ring is a bounded single-producer single-consumer queue: the only
// channel between lcores (dispatch → worker, worker → control plane). It
// takes no lock and allocates nothing after New.
//
// Threading: exactly one goroutine or lcore thread may call Push and exactly
// one other may call Pop; Len and Cap are safe from anywhere.
package ring

import (
	"fmt"
	"reflect"
	"sync/atomic"
)

// cacheLine keeps the producer's and consumer's indexes on separate lines,
// so the two cores do not bounce one line between them on every operation.
const cacheLine = 64

// SPSC is a ring of values of T.
type SPSC[T any] struct {
	_     [cacheLine]byte
	tail  atomic.Uint64 // next slot the producer writes
	head  uint64        // producer's cached copy of the consumer index
	_     [cacheLine - 16]byte
	head2 atomic.Uint64 // next slot the consumer reads
	tail2 uint64        // consumer's cached copy of the producer index
	_     [cacheLine - 16]byte
	mask  uint64
	buf   []T
	clear bool // T holds pointers: Pop zeroes the slot it read
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

// Push copies *v into the ring; false means the ring is full (the caller
// counts it and goes on: a producer never waits in the hot path).
func (r *SPSC[T]) Push(v *T) bool {
	t := r.tail.Load()
	if t-r.head > r.mask {
		r.head = r.head2.Load()
		if t-r.head > r.mask {
			return false
		}
	}
	r.buf[t&r.mask] = *v
	r.tail.Store(t + 1)
	return true
}

// Pop copies the oldest value into *v; false means the ring is empty.
func (r *SPSC[T]) Pop(v *T) bool {
	h := r.head2.Load()
	if h == r.tail2 {
		r.tail2 = r.tail.Load()
		if h == r.tail2 {
			return false
		}
	}
	*v = r.buf[h&r.mask]
	if r.clear {
		// Drop references so the GC can free them. Pointer-free slots
		// are left as they are: a write would only pull the line into
		// this core's cache in the modified state, and the producer's
		// next write to it would then have to fetch it back.
		var zero T
		r.buf[h&r.mask] = zero
	}
	r.head2.Store(h + 1)
	return true
}

// Len is how many values are queued (approximate while both ends run).
func (r *SPSC[T]) Len() int { return int(r.tail.Load() - r.head2.Load()) }

// Cap is the ring's size.
func (r *SPSC[T]) Cap() int { return len(r.buf) }
