package features_test

import (
	"fmt"
	"time"

	"github.com/tunnelscope/tunnelscope/features"
)

// A worker keeps one Extractor and a Flow per flow-table slot.
func Example() {
	x, err := features.NewExtractor(features.DefaultConfig())
	if err != nil {
		panic(err)
	}
	flows := make([]features.Flow, 1024) // parallel to the flow table
	names := features.Schema()
	vec := make([]float32, 0, features.VectorLen)

	// A DNS query and its answer 250 µs later, in slot 7.
	f := &flows[7]
	x.Start(f, 17, 0)
	x.Packet(f, false, 0, 60, 32, 0)
	x.Packet(f, true, int64(250*time.Microsecond), 140, 112, 0)
	vec = x.Vector(f, vec[:0])
	x.Release(f)

	for i, name := range names {
		switch name {
		case "fwd_packets", "bwd_bytes", "both_size_mean", "both_iat_mean_us", "hist_valid", "hist_bursts", "h1_bwd_size2_iat2":
			fmt.Println(name, vec[i])
		}
	}
	fmt.Println("pool in use:", x.Stats().PoolInUse)
	// Output:
	// fwd_packets 1
	// bwd_bytes 140
	// both_size_mean 100
	// both_iat_mean_us 250
	// hist_valid 1
	// hist_bursts 2
	// h1_bwd_size2_iat2 0.5
	// pool in use: 0
}
