package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestProfileEnvWritesProfile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cpu.prof")
	t.Setenv(profileEnv, path)
	var stderr bytes.Buffer
	stop := startProfile(&stderr)
	if code := mainArgs([]string{"classify", "-o", os.DevNull, "../../sample/tor.pcap"}, &bytes.Buffer{}, &stderr); code != 0 {
		t.Fatalf("classify exited %d: %s", code, stderr.String())
	}
	stop()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// pprof writes a gzipped protocol buffer.
	if len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
		t.Fatalf("%s is not a gzipped profile (%d bytes)", path, len(b))
	}
}

func TestProfileEnvBadPathIsReported(t *testing.T) {
	t.Setenv(profileEnv, filepath.Join(t.TempDir(), "missing", "cpu.prof"))
	var stderr bytes.Buffer
	startProfile(&stderr)()
	if !strings.Contains(stderr.String(), profileEnv) || !strings.Contains(stderr.String(), "missing") {
		t.Fatalf("stderr %q does not name the variable and the path", stderr.String())
	}
}

func TestNoProfileWithoutEnv(t *testing.T) {
	t.Setenv(profileEnv, "")
	var stderr bytes.Buffer
	startProfile(&stderr)()
	if stderr.Len() != 0 {
		t.Fatalf("stderr %q", stderr.String())
	}
}
