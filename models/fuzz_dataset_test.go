package models

import (
	"errors"
	"strings"
	"testing"
)

// FuzzReadDataset: a feature CSV either loads into a consistent data set
// or fails with ErrDataset; it never panics.
func FuzzReadDataset(f *testing.F) {
	f.Add("file,proto,src,sport,dst,dport,at,f_a,f_b,label\nx.pcap,6,1.2.3.4,1,5.6.7.8,2,end,1,2,dns\ny.pcap,17,::1,3,::2,4,end,0.5,-1e3,\n")
	f.Add("file,f_a,label\na,1,tor\n")
	f.Add("file,f_a,x,f_b,label\na,1,2,3,tor\n")
	f.Add("label,f_a,file\n\"tor\",\"1\",\"a\"\n")
	f.Fuzz(func(t *testing.T, text string) {
		d, err := ReadDataset(strings.NewReader(text))
		if err != nil {
			if !errors.Is(err, ErrDataset) {
				t.Fatalf("error %v does not wrap ErrDataset", err)
			}
			return
		}
		if d.Rows() == 0 || len(d.X) != d.Rows()*len(d.Features) || len(d.Groups) != d.Rows() {
			t.Fatalf("inconsistent data set: %d rows, %d values, %d features, %d groups", d.Rows(), len(d.X), len(d.Features), len(d.Groups))
		}
		for _, c := range d.Y {
			if c == Unknown || c >= numClasses {
				t.Fatalf("row labelled %v", c)
			}
		}
	})
}
