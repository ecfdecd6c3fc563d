//go:build dpdk

package main

import (
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/tunnelscope/tunnelscope/dataplane/dpdk"
)

// bin/tunnelscope as `make build` makes it is a pair: a pure-Go build of
// this command that embeds the live program (this command built with the
// binding) and runs it for `run` (run_livebin.go). The tests here check
// the pair as shipped; the rest of the package tests the live program's
// code in this test binary.

// pureBuild returns the binary make test built (TUNNELSCOPE_BIN), or
// builds the pair as make build does when the test runs on its own.
func pureBuild(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("TUNNELSCOPE_BIN"); bin != "" {
		return bin
	}
	built.once.Do(func() {
		dir, err := os.MkdirTemp("", "tunnelscope-pure")
		if err != nil {
			built.err = err
			return
		}
		built.dir = dir
		// The live program goes where the pure build embeds it from.
		if built.err = goBuild(nil, "-tags", "dpdk nethttpomithttp2",
			"-o", filepath.Join("livebin", "tunnelscope-live"), "."); built.err != nil {
			return
		}
		built.err = goBuild([]string{"CGO_ENABLED=0"}, "-tags", "livebin nethttpomithttp2",
			"-ldflags", "-X main.liveDPDK="+dpdk.BuiltVersion(), "-o", filepath.Join(dir, "tunnelscope"), ".")
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return filepath.Join(built.dir, "tunnelscope")
}

// built is the pair pureBuild made, once per test binary; TestMain
// removes its directory.
var built struct {
	once sync.Once
	dir  string
	err  error
}

func goBuild(env []string, args ...string) error {
	cmd := exec.Command("go", append([]string{"build"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// The offline commands run without cgo: no dynamic loader, no libraries.
func TestPureBuildIsStatic(t *testing.T) {
	bin := pureBuild(t)
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("%s names a dynamic loader: built with cgo", bin)
		}
	}
	if libs, err := f.ImportedLibraries(); err != nil || len(libs) != 0 {
		t.Errorf("%s needs libraries %v (%v)", bin, libs, err)
	}
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		t.Fatal(err)
	}
	if want := "DPDK binding for " + dpdk.BuiltVersion(); !strings.Contains(string(out), want) {
		t.Errorf("--version says %q, want it to name %q", out, want)
	}
}

// `run` of the pure build starts the embedded live program, which replays
// the bundled sample as make run does and writes what the pure build's
// own classify writes for it.
func TestPureBuildRunsTheLiveProgram(t *testing.T) {
	bin := pureBuild(t)
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	liveOut, offOut := filepath.Join(dir, "live.jsonl"), filepath.Join(dir, "offline.jsonl")
	args := []string{"run", "-c", "configs/sample-live.toml", "--exit-idle", "1s", "-o", liveOut,
		"--summary", filepath.Join(dir, "summary.json")}
	for _, a := range []string{"--no-huge", "-m", "256", "--no-shconf", "--no-pci", "--log-level=*:error",
		"--file-prefix=" + ealPrefix("tslivebin")} {
		args = append(args, "--eal="+a)
	}
	for _, argv := range [][]string{args, {"classify", "-m", "configs/model.tsm", "-o", offOut, "sample/tor.pcap"}} {
		cmd := exec.Command(bin, argv...)
		cmd.Dir = root // the sample config's paths are the repository's
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s %s: %v\n%s", bin, argv[0], err, out)
		}
	}
	offline := readRecords(t, offOut)
	verdicts := !nanoStamped(offline)
	a, o := normalised(readRecords(t, liveOut), verdicts), normalised(offline, verdicts)
	if len(o) == 0 || strings.Join(a, "\n") != strings.Join(o, "\n") {
		t.Fatalf("run wrote %d records, classify %d; they differ:\n live    %v\n offline %v", len(a), len(o), a, o)
	}
}
