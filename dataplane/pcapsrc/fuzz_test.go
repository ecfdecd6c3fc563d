package pcapsrc

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/tunnelscope/tunnelscope/internal/reference"
)

// FuzzSource feeds arbitrary bytes to the pcap/pcapng reader: it must never
// panic, must end (EOF or an error) without looping, and every frame it
// hands out must be a slice of what it read whose wire length is at least
// its captured length. NextBatch, reading or over the file held in memory
// as Open maps it, must hand out the same frames and end with the same
// error as Next.
func FuzzSource(f *testing.F) {
	// Seeds: the first 2 KiB of real captures of each format and byte
	// order, when the shared captures are there; the committed corpus is
	// under testdata/fuzz/FuzzSource.
	data, dataErr := reference.SharedData(".")
	for _, name := range []string{"tor.pcap", "sll2_tls.pcap", "nfsv3.pcap", "dns.pcap", "esp.pcapng", "dlt_ppp.pcap"} {
		b, err := os.ReadFile(filepath.Join(data, "pcap", name))
		if dataErr == nil && err == nil {
			f.Add(b[:min(len(b), 2048)])
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := newSource("fuzz", bytes.NewReader(data))
		if err != nil {
			return
		}
		var fr Frame
		var want []Frame
		var wantErr error
		for i := 0; ; i++ {
			err := s.Next(&fr)
			if err != nil {
				wantErr = err
				break
			}
			if i > len(data) {
				t.Fatalf("more frames (%d) than input bytes", i)
			}
			if uint32(len(fr.Data)) > fr.WireLen {
				t.Fatalf("frame %d: %d bytes captured of %d on the wire", i, len(fr.Data), fr.WireLen)
			}
			fr.Data = bytes.Clone(fr.Data)
			want = append(want, fr)
		}

		// The batches run over both kinds of input: a read buffer, and the
		// whole file in memory as Open maps it.
		for _, mapped := range []bool{false, true} {
			var b *Source
			if mapped {
				b, err = newMapped("fuzz", bytes.Clone(data))
			} else {
				b, err = newSource("fuzz", bytes.NewReader(data))
			}
			if err != nil {
				t.Fatalf("mapped %v: second open failed: %v", mapped, err)
			}
			frames := make([]Frame, 3)
			got := 0
			for {
				n, err := b.NextBatch(frames)
				if err != nil {
					if err.Error() != wantErr.Error() {
						t.Fatalf("mapped %v: NextBatch ended with %v after %d frames, Next with %v after %d", mapped, err, got, wantErr, len(want))
					}
					break
				}
				for _, g := range frames[:n] {
					if got >= len(want) {
						t.Fatalf("mapped %v: NextBatch gave more than Next's %d frames", mapped, len(want))
					}
					if !sameFrame(g, want[got]) {
						t.Fatalf("mapped %v: frame %d: NextBatch and Next differ", mapped, got+1)
					}
					got++
				}
			}
			if got != len(want) {
				t.Fatalf("mapped %v: NextBatch gave %d frames, Next %d", mapped, got, len(want))
			}
		}
	})
}
