package features

import (
	"testing"
	"unsafe"
)

func TestSizes(t *testing.T) {
	if s := unsafe.Sizeof(Flow{}); s > 256 {
		t.Errorf("sizeof(Flow) = %d, want <= 256", s)
	}
	if s := unsafe.Sizeof(histState{}); s > 1024 {
		t.Errorf("sizeof(histState) = %d, want <= 1024", s)
	}
	t.Logf("Flow %d B, histState %d B", unsafe.Sizeof(Flow{}), unsafe.Sizeof(histState{}))
}
