package features

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// The reference recomputes every feature from the full packet list in
// float64, from the definitions in the package comment: two-pass
// statistics, bins found in explicit edge tables (not bit lengths), and
// surges and bursts found by splitting the window rather than streaming.

type refPkt struct {
	bwd     bool
	t       int64
	size    uint32
	payload uint32
	flags   uint8
}

// Lower edges of bins 1..7, copied from the table in the package comment.
var (
	sizeEdges   = []float64{64, 128, 256, 512, 1024, 2048, 4096}
	iatEdges    = geometric(1<<14, 8) // ns
	periodEdges = geometric(1<<16, 8) // ns
	bytesEdges  = geometric(128, 4)
	pktsEdges   = geometric(2, 2)
)

func geometric(first, ratio float64) []float64 {
	e := make([]float64, bins-1)
	for i := range e {
		e[i] = first * math.Pow(ratio, float64(i))
	}
	return e
}

func refBin(edges []float64, v float64) int {
	b := 0
	for _, e := range edges {
		if v >= e {
			b++
		}
	}
	return b
}

func refEntropy(counts []float64) float64 {
	var total, h float64
	for _, c := range counts {
		total += c
	}
	for _, c := range counts {
		if c > 0 {
			h -= c / total * math.Log2(c/total)
		}
	}
	return h
}

// moments returns min, max, mean and population variance: two passes
// over the values shifted by the first, so the sums stay small.
func moments(xs []float64) (lo, hi, mean, variance float64) {
	if len(xs) == 0 {
		return 0, 0, 0, 0
	}
	lo, hi = xs[0], xs[0]
	var shifted float64
	for _, v := range xs {
		lo, hi = math.Min(lo, v), math.Max(hi, v)
		shifted += v - xs[0]
	}
	shifted /= float64(len(xs))
	for _, v := range xs {
		d := v - xs[0] - shifted
		variance += d * d
	}
	return lo, hi, xs[0] + shifted, variance / float64(len(xs))
}

func refGroup(m map[string]float64, prefix string, pkts []refPkt) {
	var sizes, iats []float64
	var bytes, payload float64
	for i, p := range pkts {
		sizes = append(sizes, float64(p.size))
		bytes += float64(p.size)
		payload += float64(p.payload)
		if i > 0 {
			iats = append(iats, float64(p.t-pkts[i-1].t)/1e3)
		}
	}
	m[prefix+"_packets"] = float64(len(pkts))
	m[prefix+"_bytes"] = bytes
	m[prefix+"_payload_bytes"] = payload
	lo, hi, mean, variance := moments(sizes)
	m[prefix+"_size_min"] = math.Min(lo, 65535) // documented saturation
	m[prefix+"_size_max"] = math.Min(hi, 65535)
	m[prefix+"_size_mean"] = mean
	m[prefix+"_size_var"] = variance
	lo, hi, mean, variance = moments(iats)
	m[prefix+"_iat_min_us"] = lo
	m[prefix+"_iat_max_us"] = hi
	m[prefix+"_iat_mean_us"] = mean
	m[prefix+"_iat_var_us2"] = variance
}

func sign(bwd bool) string {
	if bwd {
		return "bwd"
	}
	return "fwd"
}

// reference computes the expected vector, by name, after pkts. valid is
// false for a flow that found the pool empty.
func reference(proto uint8, pkts []refPkt, window int, gap time.Duration, valid bool) map[string]float64 {
	m := map[string]float64{}
	for _, name := range schema {
		m[name] = 0
	}
	var fwd, bwd []refPkt
	for _, p := range pkts {
		if p.bwd {
			bwd = append(bwd, p)
		} else {
			fwd = append(fwd, p)
		}
	}
	refGroup(m, "fwd", fwd)
	refGroup(m, "bwd", bwd)
	refGroup(m, "both", pkts)
	if len(pkts) > 0 {
		m["duration_us"] = float64(pkts[len(pkts)-1].t-pkts[0].t) / 1e3
	}
	m["l4_proto"] = float64(proto)
	sizeCounts, iatCounts := make([]float64, bins), make([]float64, bins)
	for i, p := range bwd {
		sizeCounts[refBin(sizeEdges, float64(p.size))]++
		if i > 0 {
			iatCounts[refBin(iatEdges, float64(p.t-bwd[i-1].t))]++
		}
	}
	m["bwd_size_entropy_bits"] = refEntropy(sizeCounts)
	m["bwd_iat_entropy_bits"] = refEntropy(iatCounts)
	for bit, name := range []string{"fin", "syn", "rst", "psh", "ack", "urg", "ece", "cwr"} {
		for _, p := range pkts {
			if p.flags&(1<<bit) != 0 {
				m["tcp_"+name+"_count"]++
			}
		}
	}
	if !valid {
		return m
	}
	m["hist_valid"] = 1
	if len(pkts) == 0 {
		return m
	}
	start := (len(pkts) - 1) / window * window
	win := pkts[start:]
	m["hist_packets"] = float64(len(win))
	for i, p := range win {
		var iat int64
		if start+i > 0 {
			iat = p.t - pkts[start+i-1].t
		}
		m[fmt.Sprintf("h1_%s_size%d_iat%d", sign(p.bwd), refBin(sizeEdges, float64(p.size)), refBin(iatEdges, float64(iat)))] += 1 / float64(len(win))
	}
	// Split into surges, then each surge into bursts.
	type burst struct {
		bwd          bool
		bytes, count float64
	}
	var cells []string
	for lo := 0; lo < len(win); {
		hi := lo + 1
		for hi < len(win) && win[hi].t-win[hi-1].t <= gap.Nanoseconds() {
			hi++
		}
		period := refBin(periodEdges, float64(win[hi-1].t-win[lo].t))
		var bs []burst
		for _, p := range win[lo:hi] {
			if len(bs) == 0 || bs[len(bs)-1].bwd != p.bwd {
				bs = append(bs, burst{bwd: p.bwd})
			}
			bs[len(bs)-1].bytes += float64(p.size)
			bs[len(bs)-1].count++
		}
		for _, b := range bs {
			cells = append(cells,
				fmt.Sprintf("h2_%s_bytes%d_period%d", sign(b.bwd), refBin(bytesEdges, b.bytes), period),
				fmt.Sprintf("h3_%s_pkts%d_period%d", sign(b.bwd), refBin(pktsEdges, b.count), period))
		}
		lo = hi
	}
	nb := float64(len(cells) / 2)
	m["hist_bursts"] = nb
	for _, c := range cells {
		m[c] += 1 / nb
	}
	return m
}

// compare checks a vector against the reference with relative tolerance
// 1e-6 (the float32 output itself carries 6e-8).
func compare(t *testing.T, ctx string, got []float32, want map[string]float64) {
	t.Helper()
	if len(got) != len(schema) {
		t.Fatalf("%s: vector has %d values, schema %d", ctx, len(got), len(schema))
	}
	if len(want) != len(schema) {
		t.Fatalf("%s: reference produced %d names, schema %d (a reference name is not in the schema)", ctx, len(want), len(schema))
	}
	bad := 0
	for i, name := range schema {
		g, w := float64(got[i]), want[name]
		if math.Abs(g-w) > 1e-6*math.Abs(w)+1e-7 {
			if bad++; bad <= 5 {
				t.Errorf("%s: %s = %v, want %v", ctx, name, g, w)
			}
		}
	}
	if bad > 5 {
		t.Fatalf("%s: %d features differ", ctx, bad)
	}
}

// randomFlow draws a flow: directions in runs, sizes log-uniform over
// 40..65535 with spikes at common values, gaps from 0 to minutes.
func randomFlow(r *rand.Rand, n int, t0 int64) []refPkt {
	pkts := make([]refPkt, n)
	t := t0
	bwd := r.IntN(2) == 0
	switchP := r.Float64()
	for i := range pkts {
		if r.Float64() < switchP {
			bwd = !bwd
		}
		var size uint32
		switch r.IntN(4) {
		case 0: // common sizes and bin edges
			size = []uint32{40, 52, 63, 64, 1500, 4095, 4096, 65535}[r.IntN(8)]
		default:
			size = uint32(math.Exp(math.Log(40) + r.Float64()*(math.Log(65535)-math.Log(40))))
		}
		if i > 0 {
			switch r.IntN(6) {
			case 0: // same timestamp
			case 5: // exactly a surge gap or an IAT bin edge
				t += []int64{int64(time.Millisecond), int64(time.Second), int64(10 * time.Second), 1<<14 - 1, 1 << 14, 1 << 32}[r.IntN(6)]
			case 1: // long idle, up to 5 minutes
				t += r.Int64N(int64(5 * time.Minute))
			default: // 1 ns .. 10 s, log-uniform
				t += int64(math.Exp(r.Float64() * math.Log(1e10)))
			}
		}
		pkts[i] = refPkt{bwd: bwd, t: t, size: size, payload: uint32(r.Int64N(int64(size) + 1)), flags: uint8(r.IntN(256))}
	}
	return pkts
}

func flowLength(r *rand.Rand) int {
	switch r.IntN(4) {
	case 0:
		return r.IntN(HotPackets + 2)
	case 1:
		return r.IntN(40)
	case 2:
		return r.IntN(300)
	}
	return r.IntN(2500)
}

func TestAgainstReference(t *testing.T) {
	r := newRand(1)
	for trial := range 40 {
		cfg := DefaultConfig()
		cfg.Window = []int{8, 8, 32, 256, 1024}[trial%5]
		cfg.SurgeGap = []time.Duration{time.Millisecond, time.Second, 10 * time.Second}[r.IntN(3)]
		cfg.Pool = 4
		x, err := NewExtractor(cfg)
		if err != nil {
			t.Fatal(err)
		}
		// Three flows interleaved, as a worker sees them.
		const nf = 3
		var flows [nf]Flow
		var want [nf][]refPkt
		var pos [nf]int
		var proto [nf]uint8
		for k := range flows {
			proto[k] = uint8(r.IntN(256))
			start := r.Int64N(1 << 50)
			want[k] = randomFlow(r, flowLength(r), start+r.Int64N(1000))
			x.Start(&flows[k], proto[k], start)
		}
		vec := make([]float32, 0, VectorLen)
		for {
			k := r.IntN(nf)
			if pos[k] == len(want[k]) {
				if pos[0] == len(want[0]) && pos[1] == len(want[1]) && pos[2] == len(want[2]) {
					break
				}
				continue
			}
			p := want[k][pos[k]]
			end := x.Packet(&flows[k], p.bwd, p.t, p.size, p.payload, p.flags)
			pos[k]++
			if wantEnd := pos[k]%cfg.Window == 0; end != wantEnd {
				t.Fatalf("trial %d flow %d packet %d: window end %v, want %v", trial, k, pos[k], end, wantEnd)
			}
			// The reference is quadratic over a flow: sample the snapshots,
			// favouring window ends and always the flow's last packet.
			if (end && r.IntN(3) == 0) || r.IntN(40) == 0 || pos[k] == len(want[k]) {
				ctx := fmt.Sprintf("trial %d (window %d, gap %v) flow %d after %d packets", trial, cfg.Window, cfg.SurgeGap, k, pos[k])
				ref := reference(proto[k], want[k][:pos[k]], cfg.Window, cfg.SurgeGap, true)
				compare(t, ctx, x.Vector(&flows[k], vec[:0]), ref)
				// A second snapshot must see the same state.
				compare(t, ctx+" (second Vector)", x.Vector(&flows[k], vec[:0]), ref)
			}
		}
		for k := range flows {
			if len(want[k]) == 0 {
				compare(t, "empty flow", x.Vector(&flows[k], vec[:0]), reference(proto[k], nil, cfg.Window, cfg.SurgeGap, true))
			}
			x.Release(&flows[k])
		}
		if s := x.Stats(); s.PoolInUse != 0 || s.PoolExhausted != 0 {
			t.Fatalf("trial %d: stats after release %+v", trial, s)
		}
	}
}

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 2)) }
