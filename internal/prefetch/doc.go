// Package prefetch asks the CPU to start loading cache lines that code
// will use soon, so the wait for memory (or for another core's cache)
// overlaps other work. Go has no prefetch intrinsic outside the runtime,
// hence the assembly, one unrolled function per span. A prefetch never
// faults, whatever its address, and changes nothing a program can observe
// but its speed.
//
// Threading: the functions touch no state; call them from anywhere,
// including lcores.
package prefetch
