package features

import "strconv"

// VectorLen is the number of values Vector appends.
const VectorLen = 3*groupLen + 4 + 8 + 3 + 3*2*bins*bins

const groupLen = 11

var schema = buildSchema()

func buildSchema() []string {
	names := make([]string, 0, VectorLen)
	for _, d := range []string{"fwd", "bwd", "both"} {
		for _, s := range []string{"packets", "bytes", "payload_bytes",
			"size_min", "size_max", "size_mean", "size_var",
			"iat_min_us", "iat_max_us", "iat_mean_us", "iat_var_us2"} {
			names = append(names, d+"_"+s)
		}
	}
	names = append(names, "duration_us", "l4_proto", "bwd_size_entropy_bits", "bwd_iat_entropy_bits")
	for _, fl := range []string{"fin", "syn", "rst", "psh", "ack", "urg", "ece", "cwr"} {
		names = append(names, "tcp_"+fl+"_count")
	}
	names = append(names, "hist_valid", "hist_packets", "hist_bursts")
	// The histogram cells' names are written into one buffer and cut from
	// one string: a Sprintf and a string apiece cost every process a
	// quarter of a millisecond at start, before main.
	buf := make([]byte, 0, 3*2*bins*bins*24)
	ends := make([]int, 0, 3*2*bins*bins)
	for _, h := range []struct{ name, row, col string }{
		{"h1", "size", "iat"}, {"h2", "bytes", "period"}, {"h3", "pkts", "period"},
	} {
		for _, sign := range []string{"fwd", "bwd"} {
			for i := range bins {
				for j := range bins {
					buf = append(append(append(append(append(buf, h.name...), '_'), sign...), '_'), h.row...)
					buf = append(append(strconv.AppendInt(buf, int64(i), 10), '_'), h.col...)
					buf = strconv.AppendInt(buf, int64(j), 10)
					ends = append(ends, len(buf))
				}
			}
		}
	}
	all, start := string(buf), 0
	for _, end := range ends {
		names = append(names, all[start:end])
		start = end
	}
	return names
}

// Schema returns the feature names in vector order (see the package
// comment for their meaning and units). It does not depend on the
// configuration. The caller may modify the copy.
func Schema() []string { return append([]string(nil), schema...) }
