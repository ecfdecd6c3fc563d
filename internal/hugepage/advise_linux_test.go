package hugepage

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"testing"
	"unsafe"
)

// TestMakeAdvisesHugePages checks, in /proc/self/smaps, that the mapping
// holding a Make array is eligible for transparent huge pages, as it is
// only when advised under the kernel's default mode, madvise.
func TestMakeAdvisesHugePages(t *testing.T) {
	mode, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	if err != nil {
		t.Skipf("no transparent huge pages here: %v", err)
	}
	if !strings.Contains(string(mode), "[madvise]") {
		t.Skipf("THP mode is %q: only under madvise does eligibility show the advice", strings.TrimSpace(string(mode)))
	}
	s := Make[uint64](4 * Size / 8)
	addr := uintptr(unsafe.Pointer(&s[0]))
	eligible, err := thpEligible(addr)
	if err != nil {
		t.Fatal(err)
	}
	if !eligible {
		t.Errorf("the mapping at %#x is not THP-eligible: Make did not advise it", addr)
	}
	plain := make([]uint64, 4*Size/8)
	if eligible, err = thpEligible(uintptr(unsafe.Pointer(&plain[0]))); err != nil {
		t.Fatal(err)
	} else if eligible {
		// The advice may have spread to a neighbouring heap mapping the
		// kernel merged with it; then the check above proves nothing.
		t.Skip("an ordinary heap allocation is THP-eligible too: cannot tell advised from not here")
	}
}

func thpEligible(addr uintptr) (bool, error) {
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return false, err
	}
	defer f.Close()
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		var lo, hi uintptr
		if n, _ := fmt.Sscanf(line, "%x-%x ", &lo, &hi); n == 2 { // a mapping's first line
			in = lo <= addr && addr < hi
			continue
		}
		if in && strings.HasPrefix(line, "THPeligible:") {
			return strings.TrimSpace(strings.TrimPrefix(line, "THPeligible:")) == "1", nil
		}
	}
	if err := sc.Err(); err != nil {
		return false, err
	}
	return false, fmt.Errorf("no mapping holds %#x in /proc/self/smaps", addr)
}
