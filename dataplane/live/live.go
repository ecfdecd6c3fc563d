//go:build dpdk

package live

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tunnelscope/tunnelscope/control/reload"
	"github.com/tunnelscope/tunnelscope/dataplane"
	"github.com/tunnelscope/tunnelscope/dataplane/dpdk"
	"github.com/tunnelscope/tunnelscope/dataplane/packet"
	"github.com/tunnelscope/tunnelscope/dataplane/ring"
)

// Port is one port to receive from.
type Port struct {
	// Device is a vdev spec ("net_pcap0,rx_pcap=x.pcap") or a PCI address;
	// empty means the first port the EAL finds.
	Device   string
	Link     packet.LinkType
	RxQueues int
	// Lcores names the worker (by index from 0) serving each RX queue;
	// empty spreads queues over workers round-robin.
	Lcores []int
}

// Options configure a run.
type Options struct {
	EAL          []string
	Worker       dataplane.Config
	Workers      int
	Ports        []Port
	Mbufs        int
	MbufCache    int
	DataRoom     int
	RxDesc       int
	Burst        int
	EventRing    int
	DispatchRing int
	Dispatch     string // auto, rss, software
	// Metrics is the host:port serving Prometheus metrics at /metrics for
	// the length of the run; empty serves none. Version labels
	// tunnelscope_build_info.
	Metrics string
	Version string

	// Model holds the classifier every worker uses from its next
	// iteration on: each lcore loads the pointer once per burst, so a
	// reload reaches every lcore without a lock. When nil, Run makes one
	// holding Worker.Model.
	Model *reload.Model

	// Record receives every flow record on the main lcore's goroutine.
	Record func(*dataplane.Record)
	// Warn receives problems that do not stop the run; nil drops them.
	Warn func(error)
	// The run ends on Stop, after Duration (if > 0), or after ExitIdle
	// without a received packet (if > 0); every flow is then flushed.
	Stop     <-chan struct{}
	Duration time.Duration
	ExitIdle time.Duration
}

// Summary is what a run did; it is written as JSON by --summary.
type Summary struct {
	RxPackets uint64        `json:"rx_packets"`
	RxBytes   uint64        `json:"rx_bytes"`
	ElapsedS  float64       `json:"elapsed_s"`
	Mpps      float64       `json:"mpps"`
	Records   uint64        `json:"records"`
	Lcores    []LcoreReport `json:"lcores"`
	Drops     Drops         `json:"drops"`
	Ports     []PortReport  `json:"ports"`
	// YieldMs is how often each worker yielded to the Go scheduler, in ms;
	// 0 where a CPU was left free of workers and they never did (see
	// yieldEvery).
	YieldMs int `json:"yield_ms"`
}

// LcoreReport is one worker lcore's share.
type LcoreReport struct {
	Lcore   uint   `json:"lcore"`
	Socket  int    `json:"socket"`
	CPUs    []int  `json:"cpus"` // the lcore thread's CPU set
	Packets uint64 `json:"packets"`
	Frames  uint64 `json:"frames"`
	Flows   uint64 `json:"flows"`
	NotIP   uint64 `json:"not_ip"`
	Bad     uint64 `json:"malformed"`
}

// Drops counts what was lost and where.
type Drops struct {
	Imissed      uint64 `json:"imissed"`
	RxNombuf     uint64 `json:"rx_nombuf"`
	Ierrors      uint64 `json:"ierrors"`
	Ring         uint64 `json:"ring"` // dispatch-ring and event-ring drops
	DispatchRing uint64 `json:"dispatch_ring"`
	EventRing    uint64 `json:"event_ring"`
	Truncated    uint64 `json:"truncated_frames"` // frames longer than the scratch buffer
}

// PortReport describes a port and how packets reach workers from it.
type PortReport struct {
	Port     uint16 `json:"port"`
	Name     string `json:"name"`
	Driver   string `json:"driver"`
	Socket   int    `json:"socket"`
	RxQueues int    `json:"rx_queues"`
	Dispatch string `json:"dispatch"` // "rss", "software", "none" or "single-queue"
	Packets  uint64 `json:"packets"`
}

// ErrOptions wraps options the appliance cannot run with.
var ErrOptions = errors.New("live options")

// checkQueueWorkers refuses a port whose Lcores names a worker that does
// not exist, before the EAL starts: the number of workers is known only
// here, after --workers may have overridden the configuration's.
func checkQueueWorkers(ports []Port, workers int) error {
	for i, p := range ports {
		for q, w := range p.Lcores {
			if w < 0 || w >= workers {
				return fmt.Errorf("%w: live.port[%d].lcores: queue %d goes to worker %d, outside 0..%d (workers are numbered from 0; live.workers or --workers sets how many run)",
					ErrOptions, i, q, w, workers-1)
			}
		}
	}
	return nil
}

// symmetricKey is a Toeplitz key of one repeated 16-bit word: with it the
// hash of (src, dst, sport, dport) equals that of (dst, src, dport, sport),
// so both directions of a flow reach one queue.
func symmetricKey(n int) []byte {
	k := make([]byte, n)
	for i := range k {
		k[i] = [2]byte{0x6d, 0x5a}[i%2]
	}
	return k
}

type queueRef struct {
	port  dpdk.Port
	q     uint16
	link  packet.LinkType
	stamp bool // the device stamps packets with epoch time (net_pcap)
	soft  bool // software dispatch: spread packets over every worker
}

// ealArgs adds what the appliance needs to the user's EAL arguments: the
// configured devices, and an lcore map when the user gave none (main lcore
// 0 and worker lcores 1..n, spread over the CPUs this process may use).
func ealArgs(o *Options) []string {
	args := []string{"tunnelscope"}
	args = append(args, o.EAL...)
	hasLcores := false
	for _, a := range o.EAL {
		if a == "-l" || a == "-c" || strings.HasPrefix(a, "--lcores") || strings.HasPrefix(a, "-l") {
			hasLcores = true
		}
	}
	if !hasLcores {
		ncpu := runtime.NumCPU()
		m := []string{"0@0"}
		for i := 1; i <= o.Workers; i++ {
			m = append(m, fmt.Sprintf("%d@%d", i, i%ncpu))
		}
		args = append(args, "--lcores="+strings.Join(m, ","))
	}
	for _, p := range o.Ports {
		switch {
		case p.Device == "":
		case strings.HasPrefix(p.Device, "net_"):
			args = append(args, "--vdev="+p.Device)
		default:
			args = append(args, "-a", p.Device)
		}
	}
	return args
}

func deviceName(dev string) string {
	name, _, _ := strings.Cut(dev, ",")
	return name
}

// worker is one lcore's state; only that lcore touches it while running,
// except the atomics.
type worker struct {
	idx    int
	lcore  uint
	w      *dataplane.Worker
	queues []queueRef
	in     []*ring.SPSC[dispatched] // one per producer lcore (software dispatch)
	from   []*worker                // the producer of each in ring
	out    []*ring.SPSC[dispatched] // to each worker, nil for self
	// stage holds a received burst's packets, decoded, and sel the
	// indices into it of each worker's packets, this one's included,
	// until the burst is done (lcore-local; see loop).
	stage  []dispatched
	sel    [][]uint16
	events *ring.SPSC[dataplane.Record]
	kick   chan<- struct{} // wakes the control loop to drain events now

	// published is w once the lcore has built it, for goroutines (metrics
	// scrapes) that may look before start-up is over.
	published     atomic.Pointer[dataplane.Worker]
	dispatchDrops atomic.Uint64
	eventDrops    atomic.Uint64
	truncated     atomic.Uint64
	tid           atomic.Int32 // the lcore thread's ID, set when it starts
	cpus          unix.CPUSet  // the lcore thread's CPU set, set when it starts
	rxDone        atomic.Bool  // this lcore stopped polling its RX queues
	done          atomic.Bool
	flushing      bool // lcore-local: at shutdown, wait for event-ring room
	stamped       bool // packet time comes from device timestamps, not the TSC
}

// dispatched carries a packet to the worker that owns its flow. A decoded
// packet (ok) travels as its decoded view alone: the receiving lcore never
// touches the mbuf, which its receiver frees at once, so no mbuf header
// crosses between cores and each lcore's mempool cache takes back what it
// handed out. A frame that did not decode travels undecoded, with its mbuf,
// to worker 0, which counts it exactly as the offline dispatch does. The
// struct is pointer-free (the mbuf as a handle), so ring copies are plain
// moves.
type dispatched struct {
	mbuf    uintptr // dpdk.Mbuf.Handle of the frame; a receiver uses it only when !ok (the sender frees a decoded one)
	t       int64
	wireLen uint32
	link    packet.LinkType
	ok      bool
	pkt     packet.Packet
}

// eventSink pushes finished flows to the control plane. A full ring is
// counted and the record dropped, except while flushing at shutdown, when
// the lcore waits for the control plane (it is draining) rather than lose
// what was received.
type eventSink struct{ wk *worker }

func (s eventSink) FlowEnd(r *dataplane.Record) {
	ev := s.wk.events
	for !ev.Push(r) {
		if !s.wk.flushing {
			s.wk.eventDrops.Add(1)
			return
		}
		runtime.Gosched()
	}
	if ev.Len() > ev.Cap()/4 {
		select {
		case s.wk.kick <- struct{}{}:
		default: // a kick is pending already
		}
	}
}

func (s eventSink) Snapshot(*dataplane.Record, dataplane.Snapshot, []float32) {}

func (o *Options) warn(err error) {
	if o.Warn != nil {
		o.Warn(err)
	}
}
