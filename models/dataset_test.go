package models

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const csvHeader = "file,proto,src,sport,dst,dport,at,f_a,f_b,label\n"

func csvRow(file, a, b, label string) string {
	return file + ",6,10.0.0.1,40000,10.0.0.2,443,0," + a + "," + b + "," + label + "\n"
}

func TestReadDataset(t *testing.T) {
	text := csvHeader +
		csvRow("one.pcap", "1.5", "2", "dns") +
		csvRow("one.pcap", "7", "8", "") + // unlabelled: skipped
		csvRow("two.pcap", "-3", "1e-3", "tor") +
		csvRow("two.pcap", "0", "4", "voip")
	d, err := ReadDataset(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	want := &Dataset{
		Features: []string{"a", "b"},
		X:        []float32{1.5, 2, -3, 0.001, 0, 4},
		Y:        []Class{DNS, Tor, VoIP},
		Groups:   []string{"one.pcap", "two.pcap", "two.pcap"},
	}
	if !reflect.DeepEqual(d, want) {
		t.Fatalf("ReadDataset = %+v, want %+v", d, want)
	}
	if d.Rows() != 3 || !reflect.DeepEqual(d.Row(1), []float32{-3, 0.001}) {
		t.Errorf("%d rows, row 1 %v", d.Rows(), d.Row(1))
	}
	// A row's capacity ends with it: appending to one must not overwrite
	// the next.
	_ = append(d.Row(0), 99)
	if d.Row(1)[0] != -3 {
		t.Errorf("appending to row 0 changed row 1 to %v", d.Row(1))
	}

	s := d.Subset([]int{2, 0, 2})
	wantSub := &Dataset{
		Features: []string{"a", "b"},
		X:        []float32{0, 4, 1.5, 2, 0, 4},
		Y:        []Class{VoIP, DNS, VoIP},
		Groups:   []string{"two.pcap", "one.pcap", "two.pcap"},
	}
	if !reflect.DeepEqual(s, wantSub) {
		t.Fatalf("Subset = %+v, want %+v", s, wantSub)
	}
	// Cross-validation trains on subsets; they must not share rows.
	s.X[0], s.Y[0] = 42, Tor
	if d.X[4] != 0 || d.Y[2] != VoIP {
		t.Error("changing the subset changed the data set")
	}
	if e := d.Subset(nil); e.Rows() != 0 || len(e.Features) != 2 {
		t.Errorf("empty subset: %d rows, %d features", e.Rows(), len(e.Features))
	}
}

func TestReadDatasetColumns(t *testing.T) {
	// Columns are found by name, wherever they are.
	text := "label,f_x,f_y,f_z,file\ntor,1,2,3,a.pcap\n"
	d, err := ReadDataset(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(d.Features, []string{"x", "y", "z"}) || !reflect.DeepEqual(d.X, []float32{1, 2, 3}) ||
		d.Y[0] != Tor || d.Groups[0] != "a.pcap" {
		t.Errorf("ReadDataset = %+v", d)
	}
}

func TestReadDatasetErrors(t *testing.T) {
	for _, c := range []struct {
		name, text string
		want       string // in the error
	}{
		{"label outside the taxonomy", csvHeader + csvRow("a", "1", "2", "dns") + csvRow("a", "1", "2", "gaming"),
			`line 3: label "gaming" is not a class`},
		{"label unknown", csvHeader + csvRow("a", "1", "2", "unknown"), `line 2: label "unknown"`},
		{"label with a capital", csvHeader + csvRow("a", "1", "2", "DNS"), `line 2: label "DNS"`},
		{"not a number", csvHeader + csvRow("a", "x", "2", "dns"), `line 2: f_a = "x" is not a finite number`},
		{"empty number", csvHeader + csvRow("a", "", "2", "dns"), `line 2: f_a = ""`},
		{"infinity", csvHeader + csvRow("a", "1", "2", "dns") + csvRow("a", "Inf", "2", "dns"), `line 3: f_a = "Inf"`},
		{"NaN", csvHeader + csvRow("a", "NaN", "2", "dns"), `line 2: f_a = "NaN"`},
		{"overflows float32", csvHeader + csvRow("a", "1e39", "2", "dns"), `line 2: f_a = "1e39"`},
		{"second feature bad", csvHeader + csvRow("a", "1", "-inf", "dns"), `line 2: f_b = "-inf"`},
		{"no label column", "file,f_a,f_b\na,1,2\n", "no label column"},
		{"no file column", "f_a,f_b,label\n1,2,dns\n", "no file column"},
		{"no feature columns", "file,a,b,label\nx,1,2,dns\n", "no f_ feature columns"},
		{"features apart", "file,f_a,label,f_b\nx,1,dns,2\n", `feature column "f_b" is not next to the other features`},
		{"only unlabelled rows", csvHeader + csvRow("a", "1", "2", ""), "no labelled rows"},
		{"header only", csvHeader, "no labelled rows"},
		{"empty", "", "header"},
		{"short row", csvHeader + "a,6,1,2,3,4,5,1,dns\n", "wrong number of fields"},
		{"bad quoting", csvHeader + `a,6,1,2,3,4,5,1,"2,dns` + "\n", "extraneous or missing"},
	} {
		d, err := ReadDataset(strings.NewReader(c.text))
		if !errors.Is(err, ErrDataset) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: ReadDataset = %v, want an ErrDataset mentioning %q", c.name, err, c.want)
		}
		if d != nil {
			t.Errorf("%s: a data set came with the error", c.name)
		}
	}
}

func TestLoadDataset(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.csv")
	bad := filepath.Join(dir, "bad.csv")
	for path, text := range map[string]string{
		good: csvHeader + csvRow("a", "1", "2", "dns"),
		bad:  csvHeader + csvRow("a", "1", "2", "gaming"),
	} {
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if d, err := LoadDataset(good); err != nil || d.Rows() != 1 {
		t.Errorf("LoadDataset(good) = %+v, %v", d, err)
	}
	if _, err := LoadDataset(bad); !errors.Is(err, ErrDataset) || !strings.Contains(err.Error(), bad) {
		t.Errorf("LoadDataset(bad) = %v, want an ErrDataset naming the file", err)
	}
	if _, err := LoadDataset(filepath.Join(dir, "missing.csv")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("LoadDataset(missing) = %v, want a not-exist error", err)
	}
}
