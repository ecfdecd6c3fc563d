package models

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
)

// FileFormat and FileVersion open every model file; a file without them
// is not a tunnelscope model, and a newer version is refused rather than
// misread.
const (
	FileFormat  = "tunnelscope-model"
	FileVersion = 1
)

// ErrCorruptModel is wrapped by every error about a model file's content.
var ErrCorruptModel = errors.New("corrupt model file")

// maxModelBytes bounds what Read accepts: the shipped forest is well
// under 1 MiB; a file far larger is not a model.
const maxModelBytes = 256 << 20

// File is a model as stored: JSON, with each tree in parallel arrays
// (node i is a split on Feature[i] at Threshold[i] with children Left[i]
// and Right[i], or a leaf when Feature[i] is -1 and Left[i] indexes
// Value). Thresholds keep float32 precision: features are float32.
type File struct {
	Format      string   `json:"format"`
	Version     int      `json:"version"`
	Kind        string   `json:"kind"` // "random_forest" or "decision_tree"
	Description string   `json:"description,omitempty"`
	Features    []string `json:"features"`
	Classes     []string `json:"classes"`
	Trees       []Tree   `json:"trees"`
}

// Tree is one tree of a File.
type Tree struct {
	Feature   []int32     `json:"feature"`
	Threshold []float32   `json:"threshold"`
	Left      []int32     `json:"left"`
	Right     []int32     `json:"right"`
	Value     [][]float32 `json:"value"` // per leaf, weight of each class
}

// Load reads a model file, JSON or compiled, and compiles it.
func Load(path string) (*Forest, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	defer f.Close()
	// Read at the file's size in one go: io.ReadAll's doublings from 512
	// bytes copied and allocated the shipped model about five times over.
	size := int64(0)
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
		size = st.Size()
	}
	b, err := readAll(f, min(size, maxModelBytes)+1)
	if err == nil {
		var m *Forest
		if m, err = parse(b); err == nil {
			return m, nil
		}
	}
	return nil, fmt.Errorf("model %s: %w", path, err)
}

// Read decodes and compiles a model, JSON or compiled; unknown keys and
// trailing data are errors, as in the configuration, so a damaged file is
// never half-used.
func Read(r io.Reader) (*Forest, error) {
	b, err := readAll(r, 512)
	if err != nil {
		return nil, err
	}
	return parse(b)
}

// readAll reads r to its end, or to one byte past maxModelBytes, into a
// buffer first sized for hint bytes.
func readAll(r io.Reader, hint int64) ([]byte, error) {
	b := make([]byte, 0, hint)
	r = io.LimitReader(r, maxModelBytes+1)
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

// parse decodes and compiles the bytes of a model file, JSON or compiled
// (which keeps b: see readCompiled).
func parse(b []byte) (*Forest, error) {
	if len(b) > maxModelBytes {
		return nil, fmt.Errorf("%w: larger than %d MiB", ErrCorruptModel, maxModelBytes>>20)
	}
	if isCompiled(b) {
		return readCompiled(b)
	}
	var m File
	if err := decodeFile(b, &m); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorruptModel, err)
	}
	if m.Format != FileFormat {
		return nil, fmt.Errorf("%w: format %q, want %q", ErrCorruptModel, m.Format, FileFormat)
	}
	if m.Version != FileVersion {
		return nil, fmt.Errorf("%w: version %d, this build reads %d", ErrCorruptModel, m.Version, FileVersion)
	}
	if m.Kind != "random_forest" && m.Kind != "decision_tree" {
		return nil, fmt.Errorf("%w: kind %q", ErrCorruptModel, m.Kind)
	}
	if m.Kind == "decision_tree" && len(m.Trees) > 1 {
		return nil, fmt.Errorf("%w: a decision_tree with %d trees", ErrCorruptModel, len(m.Trees))
	}
	return compile(&m)
}

// Write saves m as JSON.
func (m *File) Write(w io.Writer) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	if err := enc.Encode(m); err != nil {
		return err
	}
	return bw.Flush()
}

// Save writes m to path, through a temporary file renamed into place, so a
// running appliance that reloads it never sees half a model.
func (m *File) Save(path string) error { return saveAtomic(path, m.Write) }

// SaveCompiled writes f's compiled form to path as Save does.
func (f *Forest) SaveCompiled(path string) error { return saveAtomic(path, f.WriteCompiled) }

func saveAtomic(path string, write func(io.Writer) error) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	err = write(f)
	if err == nil {
		err = f.Sync() // on disk before the rename makes it the model
	}
	if err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}

// Compile checks m and builds its Forest.
func (m *File) Compile() (*Forest, error) { return compile(m) }
