// Package smaps reads /proc/self/smaps, for tests that check what the
// kernel made of a mapping (pages resident, huge-page advice). It is for
// tests and tools, never the data path.
//
// Threading: Field may be called from any goroutine.
package smaps

import (
	"bufio"
	"fmt"
	"os"
	"strings"
)

// Field returns the value of the field called name ("Rss", "VmFlags", ...)
// of the mapping of this process that holds addr, with surrounding space
// trimmed.
func Field(addr uintptr, name string) (string, error) {
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return "", err
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
		if rest, ok := strings.CutPrefix(line, name+":"); ok && in {
			return strings.TrimSpace(rest), nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	return "", fmt.Errorf("smaps: no field %s for a mapping holding %#x", name, addr)
}
