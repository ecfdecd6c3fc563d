package hugepage

import (
	"testing"
	"unsafe"
)

type rec struct {
	a, b uint64
	c    [5]uint32 // 36 bytes: a size that does not divide a huge page
}

func TestMakeAlignsLargeArrays(t *testing.T) {
	size := int(unsafe.Sizeof(rec{}))
	for _, n := range []int{Size/size + 1, 3 * Size / size, 1 << 20} {
		s := Make[rec](n)
		if len(s) != n || cap(s) != n {
			t.Fatalf("Make(%d): len %d cap %d", n, len(s), cap(s))
		}
		if p := uintptr(unsafe.Pointer(&s[0])); p%Size != 0 {
			t.Errorf("Make(%d): first element at %#x, not on a %d-byte boundary", n, p, Size)
		}
		for i := range s {
			if s[i] != (rec{}) {
				t.Fatalf("Make(%d): element %d not zero: %+v", n, i, s[i])
			}
		}
		// Every element is writable and distinct memory.
		for i := range s {
			s[i].a = uint64(i)
		}
		for i := range s {
			if s[i].a != uint64(i) {
				t.Fatalf("Make(%d): element %d reads %d", n, i, s[i].a)
			}
		}
	}
}

func TestMakeSmallArraysAsUsual(t *testing.T) {
	s := Make[uint64](1000)
	if len(s) != 1000 {
		t.Fatalf("len %d", len(s))
	}
	if z := Make[struct{}](10); len(z) != 10 {
		t.Fatalf("zero-size elements: len %d", len(z))
	}
	if e := Make[uint32](0); len(e) != 0 {
		t.Fatalf("empty: len %d", len(e))
	}
}

func TestTouchStaysWithinTheArray(t *testing.T) {
	s := Make[uint32](3*Size/4 + 5) // just over three huge pages
	s[len(s)-1] = 7
	Touch(s, 1<<62) // far more than the array: must stop at its end
	if s[len(s)-1] != 7 || s[0] != 0 {
		t.Fatalf("Touch changed values: first %d last %d", s[0], s[len(s)-1])
	}
	Touch([]uint32(nil), Size)
}
