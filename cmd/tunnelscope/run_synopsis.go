//go:build dpdk || !(livebin && linux)

package main

// runSynopsis is the run command's usage line, shared by the builds with
// and without DPDK. The pure build that embeds the live program has no use
// for it: its run passes --help on to that program.
const runSynopsis = "[-c CONFIG] [-m MODEL] [--eal ARG]... [--workers N] [-o FILE|-] [--exit-idle D] [--duration D] [--summary FILE] [--metrics ADDR]"
