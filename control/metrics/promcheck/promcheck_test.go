package promcheck

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// recorder catches Fatalf so the test can see that Check fails.
type recorder struct {
	testing.TB
	msg string
}

func (r *recorder) Helper() {}
func (r *recorder) Fatalf(format string, a ...any) {
	r.msg = fmt.Sprintf(format, a...)
	runtime.Goexit()
}

func check(body string) string {
	r := &recorder{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		Check(r, []byte(body))
	}()
	<-done
	return r.msg
}

func TestCheck(t *testing.T) {
	if msg := check("# HELP a_total A.\n# TYPE a_total counter\na_total 1\n"); msg != "" {
		t.Errorf("a clean exposition failed: %s", msg)
	}
	// A counter without _total is a lint problem promtool names.
	if msg := check("# HELP a A.\n# TYPE a counter\na 1\n"); !strings.Contains(msg, `"_total" suffix`) {
		t.Errorf("a lint problem passed: %q", msg)
	}
}
