package config

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse: any text either parses into a configuration that passes
// Validate, or fails with ErrInvalid; it never panics, and a parsed
// configuration survives a second Validate unchanged.
func FuzzParse(f *testing.F) {
	for _, dir := range []string{"testdata/good", "testdata/bad", "../../configs"} {
		names, _ := filepath.Glob(filepath.Join(dir, "*.toml"))
		for _, n := range names {
			b, err := os.ReadFile(n)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(string(b))
		}
	}
	f.Fuzz(func(t *testing.T, text string) {
		c, err := Parse(text)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("Parse accepted a configuration Validate rejects: %v", err)
		}
	})
}
