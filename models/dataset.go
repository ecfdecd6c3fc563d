package models

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
)

// Dataset is labelled feature vectors, row-major, as `tunnelscope extract
// --labels` writes them.
type Dataset struct {
	Features []string  // names without the f_ prefix, in vector order
	X        []float32 // len(Y) rows of len(Features) values
	Y        []Class
	Groups   []string // the capture file of each row: rows of one capture are not independent
}

// Rows is the number of labelled vectors.
func (d *Dataset) Rows() int { return len(d.Y) }

// Row is row i's vector.
func (d *Dataset) Row(i int) []float32 {
	n := len(d.Features)
	return d.X[i*n : (i+1)*n : (i+1)*n]
}

// ErrDataset is wrapped by every error about a feature CSV's content.
var ErrDataset = errors.New("bad feature CSV")

// LoadDataset reads an extract CSV. Rows with an empty label are skipped
// (unlabelled flows); a label outside the taxonomy is an error, since a
// typo would otherwise become a class of its own.
func LoadDataset(path string) (*Dataset, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	d, err := ReadDataset(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return d, nil
}

// ReadDataset is LoadDataset over a reader.
func ReadDataset(r io.Reader) (*Dataset, error) {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	head, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrDataset, err)
	}
	fileCol, labelCol, first := -1, -1, -1
	d := &Dataset{}
	for i, h := range head {
		switch {
		case h == "file":
			fileCol = i
		case h == "label":
			labelCol = i
		case strings.HasPrefix(h, "f_"):
			if first >= 0 && i != first+len(d.Features) {
				return nil, fmt.Errorf("%w: feature column %q is not next to the other features", ErrDataset, h)
			}
			if first < 0 {
				first = i
			}
			d.Features = append(d.Features, strings.TrimPrefix(h, "f_"))
		}
	}
	switch {
	case fileCol < 0:
		return nil, fmt.Errorf("%w: no file column", ErrDataset)
	case labelCol < 0:
		return nil, fmt.Errorf("%w: no label column (extract with --labels)", ErrDataset)
	case first < 0:
		return nil, fmt.Errorf("%w: no f_ feature columns", ErrDataset)
	}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrDataset, err)
		}
		line, _ := cr.FieldPos(0)
		label := rec[labelCol]
		if label == "" {
			continue
		}
		c, ok := ParseClass(label)
		if !ok || c == Unknown {
			return nil, fmt.Errorf("%w: line %d: label %q is not a class of the taxonomy", ErrDataset, line, label)
		}
		for j := range d.Features {
			s := rec[first+j]
			v, err := strconv.ParseFloat(s, 32)
			if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
				return nil, fmt.Errorf("%w: line %d: f_%s = %q is not a finite number", ErrDataset, line, d.Features[j], s)
			}
			d.X = append(d.X, float32(v))
		}
		d.Y = append(d.Y, c)
		// A copy: with ReuseRecord every field shares its line's memory.
		d.Groups = append(d.Groups, strings.Clone(rec[fileCol]))
	}
	if len(d.Y) == 0 {
		return nil, fmt.Errorf("%w: no labelled rows", ErrDataset)
	}
	return d, nil
}

// Subset is the rows idx of d, sharing nothing with it.
func (d *Dataset) Subset(idx []int) *Dataset {
	s := &Dataset{Features: d.Features}
	for _, i := range idx {
		s.X = append(s.X, d.Row(i)...)
		s.Y = append(s.Y, d.Y[i])
		s.Groups = append(s.Groups, d.Groups[i])
	}
	return s
}
