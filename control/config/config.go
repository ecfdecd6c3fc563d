// Package config loads the appliance's TOML configuration: defaults, then a
// strict decode (an unknown key is an error naming it), then validation with
// messages naming the key at fault.
//
// Threading: a Config is an immutable value once Load returns; share it
// freely. Reloads build a new Config and swap it whole.
package config

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Config is the whole appliance configuration. Field tags are the TOML keys;
// configs/appliance.toml documents every one.
type Config struct {
	Flow     Flow     `toml:"flow"`
	Decap    Decap    `toml:"decap"`
	Features Features `toml:"features"`
	Output   Output   `toml:"output"`
	Model    Model    `toml:"model"`
	Live     Live     `toml:"live"`
}

// Model names the classifier.
type Model struct {
	// Path of a model file written by `tunnelscope train`; empty runs
	// without one (verdicts stay unknown). The -m flag overrides it. A
	// relative path is taken from the working directory.
	Path string `toml:"path"`
}

// Flow configures each worker's flow table.
type Flow struct {
	Capacity       int      `toml:"capacity"`
	TCPCloseLinger Duration `toml:"tcp_close_linger"`
	TCP            Timeouts `toml:"tcp"`
	UDP            Timeouts `toml:"udp"`
	Other          Timeouts `toml:"other"`
}

// Timeouts end a flow after Idle without packets or Active after its first.
type Timeouts struct {
	Idle   Duration `toml:"idle"`
	Active Duration `toml:"active"`
}

// Decap switches tunnel decapsulation, so the inner flow is the flow.
type Decap struct {
	GTPU     bool `toml:"gtpu"`
	ESPInUDP bool `toml:"esp_in_udp"`
	GRE      bool `toml:"gre"`
	IPIP     bool `toml:"ipip"`
	VXLAN    bool `toml:"vxlan"`
}

// Features configures per-flow feature extraction.
type Features struct {
	Window   int      `toml:"window"`
	SurgeGap Duration `toml:"surge_gap"`
	Pool     int      `toml:"pool"`
}

// Output configures flow records.
type Output struct {
	// Path of the JSON Lines flow records; "-" is standard output.
	Records string `toml:"records"`
}

// Live configures the DPDK appliance (tunnelscope run).
type Live struct {
	EAL          []string `toml:"eal"`
	Workers      int      `toml:"workers"`
	Ports        []Port   `toml:"port"`
	Mbufs        int      `toml:"mbufs"`
	MbufCache    int      `toml:"mbuf_cache"`
	DataRoom     int      `toml:"data_room"`
	RxDesc       int      `toml:"rx_desc"`
	Burst        int      `toml:"burst"`
	EventRing    int      `toml:"event_ring"`
	DispatchRing int      `toml:"dispatch_ring"`
	// Dispatch chooses how packets reach workers: "auto" (RSS where the
	// device hashes, software otherwise), "rss", "software", or "none"
	// (each worker keeps what its own queues receive: only for queues that
	// already carry whole flows, such as one capture replayed per queue).
	Dispatch string `toml:"dispatch"`
	// Metrics is the host:port serving Prometheus metrics at /metrics
	// while the appliance runs; empty serves none.
	Metrics string `toml:"metrics"`
}

// Port is one DPDK port the appliance receives from.
type Port struct {
	// Device is a PCI address (0000:03:00.0) or a vdev spec
	// (net_pcap0,rx_pcap=file.pcap).
	Device   string `toml:"device"`
	LinkType string `toml:"link_type"`
	RxQueues int    `toml:"rx_queues"`
	// Lcores lists, in queue order, the worker serving each RX queue, by
	// number from 0 to Live.Workers-1 (worker n runs on the EAL's n-th
	// lcore after the main one). Empty deals the queues out in turn.
	Lcores []int `toml:"lcores"`
}

// Duration is a time.Duration written as a Go duration string ("60s").
type Duration struct{ time.Duration }

// UnmarshalText parses a duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("bad duration %q (use e.g. \"90s\", \"5m\")", b)
	}
	d.Duration = v
	return nil
}

// MarshalText writes the duration string.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// Default returns the configuration used when no file is given.
func Default() Config {
	return Config{
		Flow: Flow{
			Capacity:       1 << 20,
			TCPCloseLinger: Duration{time.Second},
			TCP:            Timeouts{Idle: Duration{60 * time.Second}, Active: Duration{300 * time.Second}},
			UDP:            Timeouts{Idle: Duration{60 * time.Second}, Active: Duration{300 * time.Second}},
			Other:          Timeouts{Idle: Duration{60 * time.Second}, Active: Duration{300 * time.Second}},
		},
		Decap:    Decap{GTPU: true, ESPInUDP: true, GRE: true, IPIP: true, VXLAN: true},
		Features: Features{Window: 1024, SurgeGap: Duration{time.Second}, Pool: 1 << 16},
		Output:   Output{Records: "-"},
		Live: Live{
			EAL:          []string{"--no-huge", "-m", "512", "--no-shconf"},
			Workers:      1,
			Mbufs:        16383,
			MbufCache:    256,
			DataRoom:     2048 + 128,
			RxDesc:       1024,
			Burst:        64,
			EventRing:    4096,
			DispatchRing: 4096,
			Dispatch:     "auto",
		},
	}
}

// ErrInvalid is wrapped by every validation and decoding error.
var ErrInvalid = errors.New("invalid configuration")

// Load reads a TOML file over the defaults, rejecting unknown keys and
// invalid values with an error naming the file and key.
func Load(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, err
	}
	c, err := Parse(string(b))
	if err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Parse decodes TOML text over the defaults and validates the result.
func Parse(text string) (Config, error) {
	c := Default()
	md, err := toml.Decode(text, &c)
	if err != nil {
		return Config{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		sort.Strings(keys)
		return Config{}, fmt.Errorf("%w: unknown key %s", ErrInvalid, strings.Join(keys, ", "))
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// LinkTypes maps the names accepted in port.link_type to pcap LINKTYPE_ values.
var LinkTypes = map[string]uint16{
	"ethernet": 1, "null": 0, "ppp": 9, "raw": 101, "loop": 108,
	"linux_sll": 113, "ipv4": 228, "ipv6": 229, "linux_sll2": 276,
}

// Validate checks every value and names the first key at fault.
func (c *Config) Validate() error {
	bad := func(key, format string, a ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrInvalid, key, fmt.Sprintf(format, a...))
	}
	if c.Flow.Capacity < 16 || c.Flow.Capacity > 1<<28 {
		return bad("flow.capacity", "%d is outside 16..268435456", c.Flow.Capacity)
	}
	if c.Flow.TCPCloseLinger.Duration < 0 {
		return bad("flow.tcp_close_linger", "must not be negative")
	}
	for _, t := range []struct {
		name string
		t    Timeouts
	}{{"tcp", c.Flow.TCP}, {"udp", c.Flow.UDP}, {"other", c.Flow.Other}} {
		if t.t.Idle.Duration <= 0 {
			return bad("flow."+t.name+".idle", "must be positive")
		}
		if t.t.Active.Duration <= 0 {
			return bad("flow."+t.name+".active", "must be positive")
		}
	}
	if c.Features.Window < 8 || c.Features.Window > 65536 {
		return bad("features.window", "%d is outside 8..65536", c.Features.Window)
	}
	if c.Features.SurgeGap.Duration <= 0 {
		return bad("features.surge_gap", "must be positive")
	}
	if c.Features.Pool < 1 {
		return bad("features.pool", "must be at least 1")
	}
	if c.Output.Records == "" {
		return bad("output.records", "must name a file or \"-\"")
	}
	l := &c.Live
	if l.Workers < 1 || l.Workers > 128 {
		return bad("live.workers", "%d is outside 1..128", l.Workers)
	}
	if l.Mbufs < 1024 {
		return bad("live.mbufs", "%d is below 1024", l.Mbufs)
	}
	if l.MbufCache < 0 || l.MbufCache > 512 {
		return bad("live.mbuf_cache", "%d is outside 0..512", l.MbufCache)
	}
	if l.DataRoom < 256+128 || l.DataRoom > 65535 {
		return bad("live.data_room", "%d is outside 384..65535", l.DataRoom)
	}
	if l.RxDesc < 32 || l.RxDesc > 16384 {
		return bad("live.rx_desc", "%d is outside 32..16384", l.RxDesc)
	}
	if l.Burst < 1 || l.Burst > 512 {
		return bad("live.burst", "%d is outside 1..512", l.Burst)
	}
	for _, r := range []struct {
		key string
		n   int
	}{{"live.event_ring", l.EventRing}, {"live.dispatch_ring", l.DispatchRing}} {
		if r.n < 64 || r.n&(r.n-1) != 0 {
			return bad(r.key, "%d must be a power of two of at least 64", r.n)
		}
	}
	switch l.Dispatch {
	case "auto", "rss", "software", "none":
	default:
		return bad("live.dispatch", "%q is not auto, rss, software or none", l.Dispatch)
	}
	if l.Metrics != "" {
		if err := CheckListenAddr(l.Metrics); err != nil {
			return bad("live.metrics", "%q: %v", l.Metrics, err)
		}
	}
	for i := range l.Ports {
		p := &l.Ports[i]
		key := fmt.Sprintf("live.port[%d]", i)
		if p.Device == "" {
			return bad(key+".device", "missing")
		}
		if p.LinkType == "" {
			p.LinkType = "ethernet"
		}
		if _, ok := LinkTypes[p.LinkType]; !ok {
			return bad(key+".link_type", "%q is not one of %s", p.LinkType, linkTypeNames())
		}
		if p.RxQueues == 0 {
			p.RxQueues = 1
		}
		if p.RxQueues < 1 || p.RxQueues > 128 {
			return bad(key+".rx_queues", "%d is outside 1..128", p.RxQueues)
		}
		if len(p.Lcores) != 0 && len(p.Lcores) != p.RxQueues {
			return bad(key+".lcores", "has %d entries for %d rx_queues", len(p.Lcores), p.RxQueues)
		}
		// Each entry's range is checked by run, after --workers may have
		// changed the count; a negative one is wrong whatever the count.
		for q, w := range p.Lcores {
			if w < 0 {
				return bad(key+".lcores", "queue %d goes to worker %d; workers are numbered from 0", q, w)
			}
		}
	}
	return nil
}

// CheckListenAddr accepts a host:port for live.metrics (and --metrics): a
// typo fails when the configuration loads, not minutes into a deployment.
// The port must be a number in 1..65535: a service name or port 0 (any
// free port) would leave Prometheus no fixed address to scrape. An empty
// host means every interface, as with net.Listen.
func CheckListenAddr(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("not host:port (e.g. \"127.0.0.1:9650\")")
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
		return fmt.Errorf("port %q is not a number in 1..65535", port)
	}
	return nil
}

func linkTypeNames() string {
	names := make([]string, 0, len(LinkTypes))
	for n := range LinkTypes {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}
