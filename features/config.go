package features

import (
	"errors"
	"fmt"
	"time"
)

// ErrConfig is wrapped by every error of Config.Validate and NewExtractor.
var ErrConfig = errors.New("invalid features config")

// HotPackets is how many packets a Flow buffers before it takes pooled
// histogram state. Four covers the flows that make up most of an ISP
// link's flow count but little of its traffic (a DNS query and answer, a
// SYN answered by RST, a scan probe), so they cost only sizeof(Flow); a
// larger buffer would grow every Flow for a gain only on rare 5..8-packet
// flows. It must stay below the smallest Window (8) so the buffer never
// holds a window end.
const HotPackets = 4

// Limits of Config fields.
const (
	MinWindow   = 8
	MaxWindow   = 1 << 16
	MaxPool     = 1 << 24 // 16 M states ≈ 14 GiB: far beyond any worker's flow table
	MaxSurgeGap = time.Hour
)

// Config sets the histogram window and the pool of histogram states.
type Config struct {
	// Window is the number of packets per histogram window.
	Window int
	// SurgeGap is the largest gap between consecutive packets of one
	// surge. The default of 1 s lies above the gaps inside one page load,
	// video segment fetch or Tor circuit exchange (tens to hundreds of
	// milliseconds) and below user think time and keep-alive intervals
	// (seconds), so a surge is one application transaction.
	SurgeGap time.Duration
	// Pool is the number of histogram states preallocated, i.e. how many
	// flows past HotPackets packets keep histograms at once. With 0 only
	// flows of at most HotPackets packets have histograms (from their
	// buffer); every longer flow reads hist_valid = 0.
	Pool int
}

// DefaultConfig returns Window 1024, SurgeGap 1 s and Pool 65536
// (about 57 MiB of histogram state per worker).
func DefaultConfig() Config {
	return Config{Window: 1024, SurgeGap: time.Second, Pool: 1 << 16}
}

// Validate reports the first field out of range.
func (c Config) Validate() error {
	if c.Window < MinWindow || c.Window > MaxWindow {
		return fmt.Errorf("features: Config.Window = %d, want %d..%d packets: %w", c.Window, MinWindow, MaxWindow, ErrConfig)
	}
	if c.SurgeGap <= 0 || c.SurgeGap > MaxSurgeGap {
		return fmt.Errorf("features: Config.SurgeGap = %v, want > 0 and <= %v: %w", c.SurgeGap, MaxSurgeGap, ErrConfig)
	}
	if c.Pool < 0 || c.Pool > MaxPool {
		return fmt.Errorf("features: Config.Pool = %d, want 0..%d states: %w", c.Pool, MaxPool, ErrConfig)
	}
	return nil
}
