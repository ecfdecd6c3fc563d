package features

import (
	"bufio"
	"errors"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/schema.golden")

func newExtractor(t testing.TB, cfg Config) *Extractor {
	t.Helper()
	x, err := NewExtractor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func byName(v []float32) map[string]float64 {
	m := map[string]float64{}
	for i, name := range schema {
		m[name] = float64(v[i])
	}
	return m
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-6*math.Abs(b)+1e-7 }

// TestWorkedExample checks values worked out by hand from the package
// comment: a surge boundary exactly at SurgeGap, population variance, and
// the step from the hot buffer to pooled state (packet 5).
func TestWorkedExample(t *testing.T) {
	cfg := Config{Window: 8, SurgeGap: time.Second, Pool: 1}
	x := newExtractor(t, cfg)
	var f Flow
	x.Start(&f, 6, 0)
	const ms = int64(time.Millisecond)
	x.Packet(&f, false, 0, 100, 60, 0x02)      // surge 1, burst fwd
	x.Packet(&f, false, 500*ms, 100, 60, 0x10) // IAT 500 ms: bin 5
	x.Packet(&f, true, 1500*ms, 1500, 1460, 0x12)
	x.Packet(&f, true, 3000*ms, 1500, 1460, 0x10) // gap 1.5 s > SurgeGap: surge 2
	x.Packet(&f, false, 3000*ms, 40, 0, 0x11)
	if s := x.Stats(); s.PoolInUse != 1 || s.PoolTaken != 1 {
		t.Fatalf("fifth packet did not take pooled state: %+v", s)
	}
	got := byName(x.Vector(&f, nil))
	want := map[string]float64{
		"fwd_packets": 3, "fwd_bytes": 240, "fwd_payload_bytes": 120,
		"fwd_size_min": 40, "fwd_size_max": 100, "fwd_size_mean": 80,
		"fwd_size_var":    800, // population: (20²+20²+40²)/3; sample would be 1200
		"bwd_iat_mean_us": 1.5e6, "bwd_iat_var_us2": 0,
		"both_iat_min_us": 0, "both_iat_max_us": 1.5e6, "both_iat_mean_us": 7.5e5,
		"both_iat_var_us2": 3.125e11, // IATs 0.5, 1, 1.5, 0 s
		"duration_us":      3e6, "l4_proto": 6,
		"bwd_size_entropy_bits": 0, // both backward packets in bin 5
		"tcp_syn_count":         2, "tcp_ack_count": 4, "tcp_fin_count": 1, "tcp_psh_count": 0,
		"hist_valid": 1, "hist_packets": 5, "hist_bursts": 4,
		"h1_fwd_size1_iat0": 0.2, "h1_fwd_size1_iat5": 0.2, "h1_bwd_size5_iat6": 0.4, "h1_fwd_size0_iat0": 0.2,
		// surge 1 lasts 1.5 s (period bin 5), surge 2 lasts 0 (bin 0)
		"h2_fwd_bytes1_period5": 0.25, "h2_bwd_bytes2_period5": 0.25,
		"h2_bwd_bytes2_period0": 0.25, "h2_fwd_bytes0_period0": 0.25,
		"h3_fwd_pkts1_period5": 0.25, "h3_bwd_pkts0_period5": 0.25,
		"h3_bwd_pkts0_period0": 0.25, "h3_fwd_pkts0_period0": 0.25,
	}
	for name, w := range want {
		if g, ok := got[name]; !ok || !near(g, w) {
			t.Errorf("%s = %v, want %v", name, g, w)
		}
	}
	var sum float64
	for name, v := range got {
		if strings.HasPrefix(name, "h1_") {
			sum += v
		}
	}
	if !near(sum, 1) {
		t.Errorf("h1 fractions sum to %v, want 1", sum)
	}
}

func TestEntropyBits(t *testing.T) {
	for _, tc := range []struct {
		counts [bins]uint32
		want   float64
	}{
		{[bins]uint32{3, 3, 3, 3}, 2},
		{[bins]uint32{0, 0, 7}, 0},
		{[bins]uint32{1, 1, 1, 1, 1, 1, 1, 1}, 3},
		{[bins]uint32{1, 1}, 1},
		{[bins]uint32{}, 0},
	} {
		if got := entropyBits(&tc.counts); !near(got, tc.want) {
			t.Errorf("entropy(%v) = %v, want %v", tc.counts, got, tc.want)
		}
	}
	// Through a flow: backward sizes in four bins, once while hot and
	// again after the counts moved out of the hot buffer.
	x := newExtractor(t, DefaultConfig())
	var f Flow
	x.Start(&f, 17, 0)
	for i, size := range []uint32{40, 100, 200, 300} {
		x.Packet(&f, true, int64(i)*1000, size, 0, 0)
	}
	check := func(when string) {
		got := byName(x.Vector(&f, nil))
		if !near(got["bwd_size_entropy_bits"], 2) {
			t.Errorf("%s: bwd_size_entropy_bits = %v, want 2", when, got["bwd_size_entropy_bits"])
		}
		if !near(got["bwd_iat_entropy_bits"], 0) { // every backward IAT is 1 µs: one bin
			t.Errorf("%s: bwd_iat_entropy_bits = %v, want 0", when, got["bwd_iat_entropy_bits"])
		}
	}
	check("hot")
	for i, size := range []uint32{40, 100, 200, 300} {
		x.Packet(&f, false, 4000, 1000, 0, 0) // forward packets change neither entropy
		x.Packet(&f, true, 4000+int64(i)*1000, size, 0, 0)
	}
	check("pooled")
}

// TestPoolExhausted runs two long flows through a pool of one state: the
// second keeps exact statistics but reads hist_valid 0 and zero
// histograms, and does not take the state freed later.
func TestPoolExhausted(t *testing.T) {
	cfg := Config{Window: 8, SurgeGap: time.Second, Pool: 1}
	x := newExtractor(t, cfg)
	var a, b, c Flow
	x.Start(&a, 6, 0)
	x.Start(&b, 17, 0)
	pa := randomFlow(newRand(7), 100, 0)
	pb := randomFlow(newRand(8), 100, 0)
	for i := range 100 {
		x.Packet(&a, pa[i].bwd, pa[i].t, pa[i].size, pa[i].payload, pa[i].flags)
		x.Packet(&b, pb[i].bwd, pb[i].t, pb[i].size, pb[i].payload, pb[i].flags)
	}
	compare(t, "flow a (pooled)", x.Vector(&a, nil), reference(6, pa, 8, time.Second, true))
	compare(t, "flow b (exhausted)", x.Vector(&b, nil), reference(17, pb, 8, time.Second, false))
	if s := x.Stats(); s.PoolInUse != 1 || s.PoolExhausted != 1 || s.PoolTaken != 1 {
		t.Fatalf("stats %+v, want 1 in use, 1 exhausted, 1 taken", s)
	}
	x.Release(&a)
	x.Packet(&b, false, pb[99].t+1, 100, 0, 0)
	if got := byName(x.Vector(&b, nil)); got["hist_valid"] != 0 || got["hist_packets"] != 0 {
		t.Errorf("flow b took a state mid-flow: hist_valid %v hist_packets %v", got["hist_valid"], got["hist_packets"])
	}
	x.Start(&c, 6, 0)
	for i := range HotPackets + 1 {
		x.Packet(&c, false, int64(i), 500, 0, 0)
	}
	if got := byName(x.Vector(&c, nil)); got["hist_valid"] != 1 || got["hist_packets"] != HotPackets+1 {
		t.Errorf("new flow after release: hist_valid %v hist_packets %v", got["hist_valid"], got["hist_packets"])
	}
	if s := x.Stats(); s.PoolInUse != 1 || s.PoolPeak != 1 || s.PoolTaken != 2 {
		t.Errorf("stats %+v, want 1 in use, peak 1, 2 taken", s)
	}
}

// TestShortFlowsTakeNoPool: flows of up to HotPackets packets must cost
// only their Flow, yet still report histograms.
func TestShortFlowsTakeNoPool(t *testing.T) {
	x := newExtractor(t, Config{Window: 8, SurgeGap: time.Second, Pool: 1})
	flows := make([]Flow, 10000)
	r := newRand(3)
	for i := range flows {
		x.Start(&flows[i], 17, int64(i))
		pkts := randomFlow(r, 1+i%HotPackets, int64(i))
		for _, p := range pkts {
			x.Packet(&flows[i], p.bwd, p.t, p.size, p.payload, p.flags)
		}
		if i%500 == 0 {
			compare(t, "short flow", x.Vector(&flows[i], nil), reference(17, pkts, 8, time.Second, true))
		}
	}
	if s := x.Stats(); s.PoolInUse != 0 || s.PoolTaken != 0 || s.PoolExhausted != 0 {
		t.Errorf("short flows touched the pool: %+v", s)
	}
}

func TestValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("default config: %v", err)
	}
	for _, tc := range []struct {
		edit  func(*Config)
		field string
	}{
		{func(c *Config) { c.Window = MinWindow - 1 }, "Window"},
		{func(c *Config) { c.Window = MaxWindow + 1 }, "Window"},
		{func(c *Config) { c.SurgeGap = 0 }, "SurgeGap"},
		{func(c *Config) { c.SurgeGap = MaxSurgeGap + 1 }, "SurgeGap"},
		{func(c *Config) { c.Pool = -1 }, "Pool"},
		{func(c *Config) { c.Pool = MaxPool + 1 }, "Pool"},
	} {
		cfg := DefaultConfig()
		tc.edit(&cfg)
		_, err := NewExtractor(cfg)
		if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "Config."+tc.field) {
			t.Errorf("%+v: error %v, want ErrConfig naming Config.%s", cfg, err, tc.field)
		}
	}
	for _, ok := range []Config{
		{Window: MinWindow, SurgeGap: 1, Pool: 0},
		{Window: MaxWindow, SurgeGap: MaxSurgeGap, Pool: 1},
	} {
		if err := ok.Validate(); err != nil {
			t.Errorf("%+v: %v", ok, err)
		}
	}
}

// TestLargestWindow: a full 65536-packet window in one cell saturates the
// uint16 count (documented) instead of wrapping to 0.
func TestLargestWindow(t *testing.T) {
	x := newExtractor(t, Config{Window: MaxWindow, SurgeGap: time.Second, Pool: 1})
	var f Flow
	x.Start(&f, 6, 0)
	ends := 0
	for i := range MaxWindow {
		if x.Packet(&f, false, int64(i)*1000, 1500, 1460, 0x10) {
			ends++
		}
	}
	got := byName(x.Vector(&f, nil))
	// All but the first packet have IAT 1 µs (bin 0), as does the first.
	if ends != 1 || got["hist_packets"] != MaxWindow || !near(got["h1_fwd_size5_iat0"], 65535.0/65536) {
		t.Errorf("ends %d, hist_packets %v, h1_fwd_size5_iat0 %v", ends, got["hist_packets"], got["h1_fwd_size5_iat0"])
	}
	if got["tcp_ack_count"] != MaxWindow || got["hist_bursts"] != 1 || got["h2_fwd_bytes7_period4"] != 1 {
		t.Errorf("ack %v bursts %v h2_fwd_bytes7_period4 %v", got["tcp_ack_count"], got["hist_bursts"], got["h2_fwd_bytes7_period4"])
	}
}

// TestTimeGoesBack: a packet stamped before its predecessor counts as
// arriving with it.
func TestTimeGoesBack(t *testing.T) {
	x := newExtractor(t, DefaultConfig())
	var f Flow
	x.Start(&f, 6, 1000)
	x.Packet(&f, false, 5000, 100, 0, 0)
	x.Packet(&f, false, 3000, 100, 0, 0)
	x.Packet(&f, true, 7000, 100, 0, 0)
	got := byName(x.Vector(&f, nil))
	want := reference(6, []refPkt{{t: 5000, size: 100}, {t: 5000, size: 100}, {bwd: true, t: 7000, size: 100}}, 1024, time.Second, true)
	for name, w := range want {
		if !near(got[name], w) {
			t.Errorf("%s = %v, want %v", name, got[name], w)
		}
	}
}

func TestSchema(t *testing.T) {
	x := newExtractor(t, Config{Window: 8, SurgeGap: time.Second})
	names := Schema()
	if len(names) != VectorLen {
		t.Fatalf("schema has %d names, VectorLen %d", len(names), VectorLen)
	}
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			t.Errorf("duplicate name %q", n)
		}
		seen[n] = true
		if n != strings.ToLower(n) || strings.ContainsAny(n, " -.") {
			t.Errorf("%q is not snake_case", n)
		}
	}
	var f Flow
	x.Start(&f, 6, 0)
	if v := x.Vector(&f, nil); len(v) != len(names) {
		t.Errorf("Vector appends %d values, schema has %d", len(v), len(names))
	}
	golden := filepath.Join("testdata", "schema.golden")
	text := strings.Join(names, "\n") + "\n"
	if *update {
		if err := os.WriteFile(golden, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	file, err := os.Open(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./features -run TestSchema -update)", err)
	}
	defer file.Close()
	var want []string
	for sc := bufio.NewScanner(file); sc.Scan(); {
		want = append(want, sc.Text())
	}
	if strings.Join(want, "\n")+"\n" != text {
		t.Errorf("schema differs from %s (%d names, golden %d): if the change is intended, run go test ./features -run TestSchema -update", golden, len(names), len(want))
	}
}

// TestLongFlowNumerics: millions of nearly equal IATs and sizes, where
// a naive Σx² − (Σx)²/n (or even a float64 two-pass over the IATs) loses
// the variance. The expected values are exact integer moments of the
// jitter added to a constant, which leaves the variance unchanged.
func TestLongFlowNumerics(t *testing.T) {
	x := newExtractor(t, DefaultConfig())
	var f Flow
	const n = 3_000_000
	const iatBase, sizeBase = 10_000_000_000, 1499 // 10 s: mean²/variance ≈ 10²⁰
	start := int64(1) << 55
	x.Start(&f, 6, start)
	r := newRand(11)
	tm := start
	var iatJ, iatJ2, sizeJ, sizeJ2 int64
	for i := range n {
		if i > 0 {
			j := int64(r.IntN(3))
			iatJ, iatJ2 = iatJ+j, iatJ2+j*j
			tm += iatBase + j
		}
		j := int64(r.IntN(3))
		sizeJ, sizeJ2 = sizeJ+j, sizeJ2+j*j
		x.Packet(&f, false, tm, uint32(sizeBase+j), 0, 0x10)
	}
	exactVar := func(m, s, s2 int64) float64 {
		return float64(m*s2-s*s) / (float64(m) * float64(m))
	}
	got := byName(x.Vector(&f, nil))
	for _, c := range []struct {
		name string
		want float64
	}{
		{"fwd_iat_var_us2", exactVar(n-1, iatJ, iatJ2) / 1e6},
		{"both_iat_var_us2", exactVar(n-1, iatJ, iatJ2) / 1e6},
		{"fwd_iat_mean_us", (iatBase + float64(iatJ)/(n-1)) / 1e3},
		{"fwd_size_var", exactVar(n, sizeJ, sizeJ2)},
		{"fwd_size_mean", sizeBase + float64(sizeJ)/n},
	} {
		if g := got[c.name]; math.Abs(g-c.want) > 1e-6*c.want {
			t.Errorf("%s = %v, want %v (relative error %.2g)", c.name, g, c.want, math.Abs(g-c.want)/c.want)
		}
	}
}

// TestPoolZero: with no pool, flows keep histograms while their packets
// fit the hot buffer and lose them from the next packet on.
func TestPoolZero(t *testing.T) {
	x := newExtractor(t, Config{Window: 8, SurgeGap: time.Second, Pool: 0})
	var f Flow
	x.Start(&f, 17, 0)
	pkts := randomFlow(newRand(5), HotPackets+1, 0)
	for i, p := range pkts {
		x.Packet(&f, p.bwd, p.t, p.size, p.payload, p.flags)
		compare(t, "pool 0", x.Vector(&f, nil), reference(17, pkts[:i+1], 8, time.Second, i < HotPackets))
	}
	if s := x.Stats(); s.PoolExhausted != 1 || s.PoolSize != 0 {
		t.Errorf("stats %+v, want 1 exhausted of 0", s)
	}
}
