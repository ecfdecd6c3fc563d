package pcapsrc

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// FuzzSource feeds arbitrary bytes to the pcap/pcapng reader: it must never
// panic, must end (EOF or an error) without looping, and every frame it
// hands out must be a slice of what it read whose wire length is at least
// its captured length.
func FuzzSource(f *testing.F) {
	// Seeds: the first 2 KiB of real captures of each format and byte
	// order, committed under testdata/fuzz/FuzzSource by -write-seeds too.
	for _, name := range []string{"tor.pcap", "sll2_tls.pcap", "nfsv3.pcap", "dns.pcap", "esp.pcapng", "dlt_ppp.pcap"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "..", "shared", "data", "pcap", name))
		if err == nil {
			f.Add(b[:min(len(b), 2048)])
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := newSource("fuzz", bytes.NewReader(data))
		if err != nil {
			return
		}
		var fr Frame
		for i := 0; ; i++ {
			err := s.Next(&fr)
			if errors.Is(err, io.EOF) || err != nil {
				return
			}
			if i > len(data) {
				t.Fatalf("more frames (%d) than input bytes", i)
			}
			if uint32(len(fr.Data)) > fr.WireLen {
				t.Fatalf("frame %d: %d bytes captured of %d on the wire", i, len(fr.Data), fr.WireLen)
			}
		}
	})
}
