// Command tunnelscope classifies network flows from packet sizes, timing and
// the metadata encryption leaves in the clear: live on DPDK ports (run) or
// over capture files (classify, extract).
//
// Threading: each command parses flags and config on the main goroutine and
// hands the packets to dataplane workers (goroutines offline, lcores live);
// record and CSV sinks shared by several workers take a lock once per flow,
// never per packet.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// version is set at build time by the Makefile (git describe).
var version = "dev"

type command struct {
	name, summary string
	run           func(args []string, stdout, stderr io.Writer) int
}

var commands []command

func init() {
	commands = []command{
		{"run", "run the live appliance on DPDK ports", runLive},
		{"classify", "classify the flows of capture files, one JSON object per flow", runClassify},
		{"extract", "write per-flow feature vectors of capture files as CSV", runExtract},
		{"version", "print the version", func([]string, io.Writer, io.Writer) int {
			fmt.Println("tunnelscope", version)
			return 0
		}},
	}
}

func main() {
	os.Exit(mainArgs(os.Args[1:], os.Stdout, os.Stderr))
}

func mainArgs(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		usage(stdout)
		return 0
	case "-version", "--version", "-V":
		fmt.Fprintln(stdout, "tunnelscope", version)
		return 0
	}
	for _, c := range commands {
		if c.name == args[0] {
			return c.run(args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "tunnelscope: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "tunnelscope %s — traffic classification from packet sizes, timing and clear-text metadata\n\n", version)
	fmt.Fprintln(w, "Usage: tunnelscope COMMAND [flags] [args]")
	fmt.Fprintln(w, "\nCommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'tunnelscope COMMAND --help' for a command's flags.")
}

// flagSet is a flag.FlagSet whose flags have a short and a long name, and
// whose positional arguments may come before, between or after flags.
type flagSet struct {
	*flag.FlagSet
	synopsis string
}

func newFlagSet(name, synopsis, about string, stderr io.Writer) *flagSet {
	fs := &flagSet{FlagSet: flag.NewFlagSet(name, flag.ContinueOnError), synopsis: synopsis}
	fs.SetOutput(stderr)
	fs.Usage = func() {
		out := fs.Output()
		fmt.Fprintf(out, "Usage: tunnelscope %s %s\n\n%s\n\nFlags:\n", name, synopsis, about)
		fs.VisitAll(func(f *flag.Flag) {
			if len(f.Name) == 1 && fs.twin(f) != "" {
				return // listed with its long name
			}
			names := "--" + f.Name
			if short := fs.twin(f); short != "" {
				names = "-" + short + ", " + names
			}
			fmt.Fprintf(out, "  %-22s %s", names, f.Usage)
			if f.DefValue != "" && f.DefValue != "0" && f.DefValue != "false" && f.DefValue != "[]" {
				fmt.Fprintf(out, " (default %s)", f.DefValue)
			}
			fmt.Fprintln(out)
		})
	}
	return fs
}

// twin is the other name of f's flag: the one-letter name of a long flag,
// or the long name of a one-letter one ("" when it has none). The two are
// registered as separate flags sharing a variable and a usage text.
func (fs *flagSet) twin(f *flag.Flag) string {
	other := ""
	fs.VisitAll(func(g *flag.Flag) {
		if g.Name != f.Name && g.Usage == f.Usage && (len(g.Name) == 1) != (len(f.Name) == 1) {
			other = g.Name
		}
	})
	return other
}

func (fs *flagSet) stringVar(p *string, short, long, def, usage string) {
	fs.StringVar(p, long, def, usage)
	if short != "" {
		fs.StringVar(p, short, def, usage)
	}
}

func (fs *flagSet) intVar(p *int, short, long string, def int, usage string) {
	fs.IntVar(p, long, def, usage)
	if short != "" {
		fs.IntVar(p, short, def, usage)
	}
}

// parse parses flags anywhere among the arguments and returns the
// positional ones. ok is false when the command should exit with code.
func (fs *flagSet) parse(args []string) (pos []string, code int, ok bool) {
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, 0, false
			}
			return nil, 2, false
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, 0, true
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// listFlag collects a repeatable flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, " ") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }
