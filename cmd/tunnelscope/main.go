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
		{"train", "grow a random forest or decision tree on extracted features", runTrain},
		{"eval", "cross-validate training settings, or test a saved model", runEval},
		{"compile", "write a model in the compiled form, the fastest to load", runCompile},
		{"version", "print the version", func(_ []string, stdout, _ io.Writer) int {
			printVersion(stdout)
			return 0
		}},
	}
}

func main() {
	stop := startProfile(os.Stderr)
	code := mainArgs(os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
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
		printVersion(stdout)
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

func printVersion(w io.Writer) { fmt.Fprintf(w, "tunnelscope %s (%s)\n", version, bindingNote()) }

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
	twins    map[string]string // one-letter name <-> long name, both ways
}

func newFlagSet(name, synopsis, about string, stderr io.Writer) *flagSet {
	fs := &flagSet{FlagSet: flag.NewFlagSet(name, flag.ContinueOnError), synopsis: synopsis, twins: map[string]string{}}
	fs.SetOutput(stderr)
	fs.Usage = func() {
		out := fs.Output()
		fmt.Fprintf(out, "Usage: tunnelscope %s %s\n\n%s\n\nFlags:\n", name, synopsis, about)
		fs.VisitAll(func(f *flag.Flag) {
			twin := fs.twins[f.Name]
			if len(f.Name) == 1 && twin != "" {
				return // listed with its long name
			}
			names := "--" + f.Name
			if twin != "" {
				names = "-" + twin + ", " + names
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

// stringVar registers a flag under its long name and, when short is not
// empty, under a one-letter name too, sharing p.
func (fs *flagSet) stringVar(p *string, short, long, def, usage string) {
	fs.StringVar(p, long, def, usage)
	if short != "" {
		fs.StringVar(p, short, def, usage)
		fs.twins[short], fs.twins[long] = long, short
	}
}

// intVar registers an int flag; no int flag has a one-letter name.
func (fs *flagSet) intVar(p *int, long string, def int, usage string) {
	fs.IntVar(p, long, def, usage)
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
