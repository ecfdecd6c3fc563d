package pcapsrc

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/tunnelscope/tunnelscope/internal/reference"
)

func readAll(t *testing.T, name string) ([]Frame, error) {
	t.Helper()
	s, err := Open(name)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	return drain(s)
}

// drain copies out every frame of s with Next, up to the end (nil) or the
// error that ends it.
func drain(s *Source) ([]Frame, error) {
	var out []Frame
	for {
		var fr Frame
		err := s.Next(&fr)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		fr.Data = append([]byte(nil), fr.Data...)
		out = append(out, fr)
	}
}

// sharedCaptures lists every capture in ../shared/data/pcap.
func sharedCaptures(t *testing.T) []string {
	t.Helper()
	data, err := reference.SharedData(".")
	if err != nil {
		t.Fatal(err)
	}
	files, err := reference.Captures(data)
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// sameFrame reports whether two frames have the same bytes, lengths, time
// and link type.
func sameFrame(a, b Frame) bool {
	return string(a.Data) == string(b.Data) && a.WireLen == b.WireLen && a.Time == b.Time && a.Link == b.Link
}

// Every shared capture, pcap and pcapng, must yield exactly the frames
// tshark sees, with the same nanosecond timestamps and lengths.
func TestFramesMatchTshark(t *testing.T) {
	files := sharedCaptures(t)
	total := 0
	for _, f := range files {
		frames, err := readAll(t, f)
		if err != nil {
			t.Errorf("%s: %v", filepath.Base(f), err)
			continue
		}
		rows, err := reference.Tshark(f, nil, "frame.time_epoch", "frame.len", "frame.cap_len")
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != len(frames) {
			t.Errorf("%s: %d frames, tshark %d", filepath.Base(f), len(frames), len(rows))
			continue
		}
		for i, r := range rows {
			want := epochNanos(t, r[0])
			if frames[i].Time != want || strconv.Itoa(int(frames[i].WireLen)) != r[1] || strconv.Itoa(len(frames[i].Data)) != r[2] {
				t.Errorf("%s frame %d: time %d len %d caplen %d; tshark %s", filepath.Base(f), i+1,
					frames[i].Time, frames[i].WireLen, len(frames[i].Data), strings.Join(r, " "))
				break
			}
		}
		total += len(frames)
	}
	t.Logf("%d frames in %d captures agree with tshark", total, len(files))
}

func epochNanos(t *testing.T, s string) int64 {
	sec, frac, _ := strings.Cut(s, ".")
	frac = (frac + "000000000")[:9]
	a, err1 := strconv.ParseInt(sec, 10, 64)
	b, err2 := strconv.ParseInt(frac, 10, 64)
	if err1 != nil || err2 != nil {
		t.Fatalf("bad tshark time %q", s)
	}
	return a*1e9 + b
}

// A capture cut mid-record delivers every whole frame and then says it was
// truncated, naming the file.
func TestTruncatedCapture(t *testing.T) {
	whole, err := readAll(t, "../../sample/tor.pcap")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("../../sample/tor.pcap")
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(t.TempDir(), "cut.pcap")
	// 24-byte file header, then records; cut inside the 11th record.
	off := 24
	for i := 0; i < 10; i++ {
		off += 16 + len(whole[i].Data)
	}
	if err := os.WriteFile(cut, b[:off+16+5], 0o644); err != nil {
		t.Fatal(err)
	}
	frames, err := readAll(t, cut)
	if !errors.Is(err, ErrTruncated) || !strings.Contains(err.Error(), "cut.pcap") {
		t.Fatalf("err = %v, want ErrTruncated naming the file", err)
	}
	if len(frames) != 10 {
		t.Fatalf("got %d frames before the cut, want 10", len(frames))
	}
}

func TestNotACapture(t *testing.T) {
	for name, content := range map[string]string{"empty": "", "text": "hello, world\n", "tiny": "\xd4\xc3"} {
		p := filepath.Join(t.TempDir(), name)
		os.WriteFile(p, []byte(content), 0o644)
		_, err := Open(p)
		if !errors.Is(err, ErrNotCapture) || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: err = %v, want ErrNotCapture naming the file", name, err)
		}
	}
	if _, err := Open("does-not-exist.pcap"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: err = %v", err)
	}
}

// LINKTYPE_LINUX_SLL2 is 276: it must survive as 276, not wrap to 20.
func TestLinkTypeAbove255(t *testing.T) {
	data, err := reference.SharedData(".")
	if err != nil {
		t.Fatal(err)
	}
	frames, err := readAll(t, filepath.Join(data, "pcap", "sll2_tls.pcap"))
	if err != nil || len(frames) == 0 {
		t.Fatal(err)
	}
	if frames[0].Link != 276 {
		t.Errorf("link type %d, want 276", frames[0].Link)
	}
}

// A reader that hands over one byte at a time leaves no record whole in the
// buffer ahead of time, so every record takes the refilling path; the
// frames must be exactly those of the in-buffer path that Open takes.
func TestRefillPathMatchesBufferedPath(t *testing.T) {
	data, err := reference.SharedData(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"tor.pcap", "nfsv3.pcap", "dlt_ppp.pcap", "esp.pcapng", "sll2_tls.pcap"} {
		path := filepath.Join(data, "pcap", name)
		want, err := readAll(t, path)
		if err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		s, err := newSource(name, iotest.OneByteReader(f))
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; ; i++ {
			var fr Frame
			err := s.Next(&fr)
			if err == io.EOF {
				if i != len(want) {
					t.Errorf("%s: %d frames one byte at a time, %d buffered", name, i, len(want))
				}
				break
			}
			if err != nil {
				t.Fatalf("%s: frame %d: %v", name, i+1, err)
			}
			w := want[i]
			if !sameFrame(fr, w) {
				t.Fatalf("%s: frame %d differs: %d bytes/%d/%d/%d, buffered %d bytes/%d/%d/%d",
					name, i+1, len(fr.Data), fr.WireLen, fr.Time, fr.Link, len(w.Data), w.WireLen, w.Time, w.Link)
			}
		}
		f.Close()
	}
}

// NextBatch must yield Next's frames, and every frame of a batch must
// still hold its bytes when the batch is complete (no refill may move them
// mid-batch), whatever the batch size and format.
func TestNextBatchMatchesNext(t *testing.T) {
	data, err := reference.SharedData(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"1kxun.pcap", "netflix.pcap", "tor.pcap", "esp.pcapng", "sll2_tls.pcap"} {
		path := filepath.Join(data, "pcap", name)
		want, err := readAll(t, path)
		if err != nil {
			t.Fatal(err)
		}
		for _, size := range []int{1, 3, 32, 1000} {
			s, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			frames := make([]Frame, size)
			got := 0
			for {
				n, err := s.NextBatch(frames)
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("%s, batches of %d: %v", name, size, err)
				}
				if n < 1 || n > size {
					t.Fatalf("%s, batches of %d: NextBatch gave %d frames", name, size, n)
				}
				for _, fr := range frames[:n] {
					w := want[got]
					if !sameFrame(fr, w) {
						t.Fatalf("%s, batches of %d: frame %d differs from Next's", name, size, got+1)
					}
					got++
				}
			}
			if got != len(want) || s.Frames() != uint64(len(want)) {
				t.Errorf("%s, batches of %d: %d frames (Frames() %d), Next gives %d", name, size, got, s.Frames(), len(want))
			}
			s.Close()
		}
	}
}
