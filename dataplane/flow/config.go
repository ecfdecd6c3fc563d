package flow

import (
	"errors"
	"fmt"
	"time"
)

// MaxCapacity bounds Config.Capacity: slots travel as uint32 with 0
// reserved for an empty index cell, list links are int32, and the index
// (twice the capacity, rounded up to a power of two) must stay addressable
// by the 32 hash bits kept in each cell.
const MaxCapacity = 1 << 30

// ErrConfig is wrapped by every error Validate returns.
var ErrConfig = errors.New("flow: invalid config")

// Timeouts end a flow when it has been silent for longer than Idle or has
// lasted Active, whichever comes first.
type Timeouts struct {
	Idle, Active time.Duration
}

// Config sizes a Table and sets its timeouts per protocol class.
type Config struct {
	Capacity        int // maximum concurrent flows; memory is allocated for all of them up front
	TCP, UDP, Other Timeouts
	// TCPCloseLinger replaces the idle timeout of a TCP flow once it is
	// closing (FIN from both sides, or any RST), so the final ACKs and
	// repeated RSTs still count on it but the flow does not wait a full
	// idle timeout to be reported.
	TCPCloseLinger time.Duration
}

// DefaultConfig returns the configuration used when none is given.
func DefaultConfig() Config {
	t := Timeouts{Idle: 60 * time.Second, Active: 300 * time.Second}
	return Config{
		Capacity:       1 << 20,
		TCP:            t,
		UDP:            t,
		Other:          t,
		TCPCloseLinger: time.Second,
	}
}

// Validate reports the first field of c that New cannot work with.
func (c Config) Validate() error {
	if c.Capacity < 1 || c.Capacity > MaxCapacity {
		return fmt.Errorf("%w: Capacity is %d, want 1 to %d", ErrConfig, c.Capacity, MaxCapacity)
	}
	classes := [...]struct {
		name string
		t    Timeouts
	}{{"TCP", c.TCP}, {"UDP", c.UDP}, {"Other", c.Other}}
	for _, cl := range classes {
		if cl.t.Idle <= 0 {
			return fmt.Errorf("%w: %s.Idle is %v, want a positive duration", ErrConfig, cl.name, cl.t.Idle)
		}
		if cl.t.Active <= 0 {
			return fmt.Errorf("%w: %s.Active is %v, want a positive duration", ErrConfig, cl.name, cl.t.Active)
		}
	}
	if c.TCPCloseLinger < 0 {
		return fmt.Errorf("%w: TCPCloseLinger is %v, want zero or a positive duration", ErrConfig, c.TCPCloseLinger)
	}
	return nil
}
