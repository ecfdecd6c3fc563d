package pcapsrc

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

// mapAll makes Open map every file for the rest of the test.
func mapAll(t *testing.T) {
	old := mapMin
	mapMin = 0
	t.Cleanup(func() { mapMin = old })
}

// readerFrames reads name through the read buffer, whatever its size.
func readerFrames(t *testing.T, name string) ([]Frame, error) {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s, err := newSource(name, f)
	if err != nil {
		return nil, err
	}
	return drain(s)
}

// Small files are read, large ones mapped.
func TestOpenMapsOnlyLargeFiles(t *testing.T) {
	s, err := Open("../../sample/tor.pcap")
	if err != nil {
		t.Fatal(err)
	}
	if s.Mapped() {
		t.Errorf("a %d-byte file was mapped (threshold %d)", 154518, mapMin)
	}
	s.Close()
	mapAll(t)
	s, err = Open("../../sample/tor.pcap")
	if err != nil {
		t.Fatal(err)
	}
	if !s.Mapped() {
		t.Error("not mapped with the threshold at 0")
	}
	s.Close()
}

// Every shared capture gives the same frames and the same end mapped as
// read.
func TestMappedMatchesRead(t *testing.T) {
	files := sharedCaptures(t)
	mapAll(t)
	for _, path := range files {
		name := filepath.Base(path)
		want, wantErr := readerFrames(t, path)
		s, err := Open(path)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !s.Mapped() {
			t.Fatalf("%s: not mapped", name)
		}
		frames := make([]Frame, 32)
		got := 0
		var gotErr error
		for gotErr == nil {
			var n int
			n, gotErr = s.NextBatch(frames)
			for _, fr := range frames[:n] {
				if got >= len(want) || !sameFrame(fr, want[got]) {
					t.Fatalf("%s: frame %d differs mapped", name, got+1)
				}
				got++
			}
		}
		if gotErr == io.EOF {
			gotErr = nil
		}
		if got != len(want) || (gotErr == nil) != (wantErr == nil) || (gotErr != nil && gotErr.Error() != wantErr.Error()) {
			t.Errorf("%s: mapped %d frames, %v; read %d frames, %v", name, got, gotErr, len(want), wantErr)
		}
		s.Close()
	}
}

func TestMappedTruncatedCapture(t *testing.T) {
	mapAll(t)
	TestTruncatedCapture(t)
}

// A mapped capture cut short by another process while it is read ends
// with ErrShrunk naming it, after the frames before the cut, and the
// reading goroutine lives on with its fault setting restored.
func TestGuardShrunkFile(t *testing.T) {
	mapAll(t)
	b, err := os.ReadFile("../../sample/tor.pcap")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "shrinking.pcap")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	all, err := readAll(t, path)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const keep = 4096 // one page: the pages after it vanish from the mapping
	frames := make([]Frame, 1)
	read := 0
	err = s.Guard(func() error {
		for {
			n, err := s.NextBatch(frames)
			if err != nil {
				return err
			}
			if read == 0 {
				if err := os.Truncate(path, keep); err != nil {
					t.Fatal(err)
				}
			}
			for _, fr := range frames[:n] {
				if fr.Data[len(fr.Data)-1] != all[read].Data[len(fr.Data)-1] {
					t.Fatalf("frame %d changed", read+1)
				}
				read++
			}
		}
	})
	if !errors.Is(err, ErrShrunk) || !strings.Contains(err.Error(), "shrinking.pcap") {
		t.Fatalf("err = %v, want ErrShrunk naming the file", err)
	}
	if read == 0 || read >= len(all) {
		t.Errorf("%d of %d frames read before the fault", read, len(all))
	}
	if debug.SetPanicOnFault(false) {
		t.Error("Guard left panic-on-fault set")
	}
}

// Guard passes on panics that are not faults on the mapping.
func TestGuardRepanics(t *testing.T) {
	mapAll(t)
	s, err := Open("../../sample/tor.pcap")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for name, fn := range map[string]func() error{
		"value": func() error { panic("not a fault") },
		"nil":   func() error { var p *Frame; return errors.New(string(p.Data)) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: Guard swallowed the panic", name)
				}
			}()
			s.Guard(fn)
		}()
	}
}

// Pace fetches ahead of the frames handed out, paceMax bytes a call,
// never past the file or more than prefetchDistance+paceMax beyond them,
// up to the file's last paceMax bytes, and only where populate has been
// asked to map the pages; it leaves a read source alone.
func TestPaceStaysAheadWithinBounds(t *testing.T) {
	b, err := os.ReadFile("../../sample/tor.pcap")
	if err != nil {
		t.Fatal(err)
	}
	s, err := newMapped("tor.pcap", b)
	if err != nil {
		t.Fatal(err)
	}
	frames := make([]Frame, 8)
	for {
		n, err := s.NextBatch(frames)
		if err != nil {
			break
		}
		for range n {
			before := s.in.ahead()
			s.Pace()
			in := &s.in
			if in.ahead() > min(in.pos+prefetchDistance+paceMax, len(in.buf)) || in.ahead()-max(before, in.pos) > paceMax {
				t.Fatalf("ahead %d from %d, parse position %d, file %d", in.ahead(), before, in.pos, len(in.buf))
			}
			if in.ahead() <= in.pos && in.pos <= len(in.buf)-paceMax {
				t.Fatalf("ahead %d not past the parse position %d", in.ahead(), in.pos)
			}
			if in.populated < in.ahead() {
				t.Fatalf("prefetched up to %d, populated only up to %d", in.ahead(), in.populated)
			}
		}
	}
	if s.in.ahead() < len(b)-paceMax {
		t.Errorf("prefetched up to %d of %d bytes", s.in.ahead(), len(b))
	}
	r, err := Open("../../sample/tor.pcap") // small: read
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	r.Pace()
	if r.in.ahead() != 0 {
		t.Error("Pace moved on a read source")
	}
}
