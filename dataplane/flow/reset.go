package flow

import "math"

// Reset ends every flow with end = "eof" and forgets the clock, so the table
// can meter a new, unrelated packet source (the next capture file offline)
// whose time may lie before everything seen so far. Statistics keep counting.
func (t *Table) Reset() {
	t.Flush(EndEOF)
	t.now = math.MinInt64
}
