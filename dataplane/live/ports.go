//go:build dpdk

package live

import (
	"fmt"

	"github.com/tunnelscope/tunnelscope/dataplane/dpdk"
	"github.com/tunnelscope/tunnelscope/dataplane/packet"
	"github.com/tunnelscope/tunnelscope/dataplane/ring"
)

// setupPorts configures every port with its mempool on the port's socket
// and assigns its RX queues to workers. Strategy (RSS or software dispatch)
// is chosen here, once, per port.
func setupPorts(o *Options, workers []*worker) ([]dpdk.Port, []PortReport, error) {
	specs := o.Ports
	if len(specs) == 0 {
		specs = []Port{{Link: packet.LinkEthernet, RxQueues: 1}}
	}
	var ports []dpdk.Port
	var reports []PortReport
	next := 0 // round-robin worker for queues without an explicit lcore
	for i, spec := range specs {
		var p dpdk.Port
		var err error
		if spec.Device == "" {
			all := dpdk.Ports()
			if len(all) <= i {
				return nil, nil, fmt.Errorf("%w: port %d: the EAL found %d ports (give a device, e.g. --eal=--vdev=net_pcap0,rx_pcap=FILE)", ErrOptions, i, len(all))
			}
			p = all[i]
		} else if p, err = dpdk.PortByName(deviceName(spec.Device)); err != nil {
			return nil, nil, fmt.Errorf("port %q: %w", spec.Device, err)
		}
		info, err := p.Info()
		if err != nil {
			return nil, nil, fmt.Errorf("port %d: %w", p, err)
		}
		nrx := max(spec.RxQueues, 1)
		if nrx > int(info.MaxRxQueues) {
			return nil, nil, fmt.Errorf("%w: port %d (%s): %d rx queues, the device has %d", ErrOptions, p, info.DriverName, nrx, info.MaxRxQueues)
		}
		// net_null and net_pcap advertise or lack RSS without hashing; they
		// always take the software dispatch.
		hashes := info.FlowTypeRSSOffloads != 0 && info.DriverName != "net_null" && info.DriverName != "net_pcap"
		soft := len(workers) > 1 && (o.Dispatch == "software" || (o.Dispatch == "auto" && (!hashes || nrx < len(workers))))
		if o.Dispatch == "none" && nrx < len(workers) {
			return nil, nil, fmt.Errorf("%w: port %d (%s): dispatch = \"none\" needs a queue per worker (%d queues, %d workers)", ErrOptions, p, info.DriverName, nrx, len(workers))
		}
		if o.Dispatch == "rss" && !hashes && nrx > 1 {
			return nil, nil, fmt.Errorf("%w: port %d (%s): dispatch = \"rss\" but the device does not hash", ErrOptions, p, info.DriverName)
		}
		conf := dpdk.PortConf{}
		if nrx > 1 && hashes {
			conf.RSS = true
			if info.HashKeySize > 0 {
				conf.RSSKey = symmetricKey(int(info.HashKeySize))
			}
		}
		socket := info.SocketID
		if socket < 0 {
			socket = 0
		}
		mp, err := dpdk.CreateMbufPool(fmt.Sprintf("ts_rx_p%d", p), uint32(o.Mbufs), uint32(o.MbufCache), uint16(o.DataRoom), socket)
		if err != nil {
			return nil, nil, fmt.Errorf("port %d: %w", p, err)
		}
		if err := p.Configure(uint16(nrx), 1, conf); err != nil {
			return nil, nil, err
		}
		for q := range nrx {
			if err := p.RxqSetup(uint16(q), uint16(o.RxDesc), socket, mp); err != nil {
				return nil, nil, err
			}
		}
		if err := p.TxqSetup(0, 512, socket); err != nil {
			return nil, nil, err
		}
		if err := p.Start(); err != nil {
			return nil, nil, err
		}
		_ = p.Promiscuous(true) // virtual devices may refuse; they see everything anyway
		stamp := info.DriverName == "net_pcap"
		for q := range nrx {
			wi := next % len(workers)
			if q < len(spec.Lcores) {
				wi = spec.Lcores[q] // in range: checkQueueWorkers
			} else {
				next++
			}
			workers[wi].queues = append(workers[wi].queues, queueRef{port: p, q: uint16(q), link: spec.Link, stamp: stamp, soft: soft})
		}
		mode := "rss"
		switch {
		case soft:
			mode = "software"
		case nrx == 1:
			mode = "single-queue"
		case o.Dispatch == "none" || !hashes:
			mode = "none"
		}
		ports = append(ports, p)
		reports = append(reports, PortReport{Port: uint16(p), Name: info.Name, Driver: info.DriverName,
			Socket: socket, RxQueues: nrx, Dispatch: mode})
	}
	// Device time is used only when every port stamps packets: one worker
	// must never mix two clocks.
	stamped := true
	for _, wk := range workers {
		for _, q := range wk.queues {
			stamped = stamped && q.stamp
		}
	}
	for _, wk := range workers {
		wk.stamped = stamped
	}
	return ports, reports, nil
}

// setupRings gives every worker that dispatches in software a ring to each
// other worker.
func setupRings(o *Options, workers []*worker) error {
	for _, src := range workers {
		soft := false
		for _, q := range src.queues {
			soft = soft || q.soft
		}
		if !soft {
			continue
		}
		src.out = make([]*ring.SPSC[dispatched], len(workers))
		src.stage = make([]dispatched, o.Burst)
		src.sel = make([][]uint16, len(workers))
		for j, dst := range workers {
			src.sel[j] = make([]uint16, 0, o.Burst)
			if j == src.idx {
				continue
			}
			r, err := ring.New[dispatched](o.DispatchRing)
			if err != nil {
				return fmt.Errorf("%w: dispatch ring: %w", ErrOptions, err)
			}
			src.out[j] = r
			dst.in = append(dst.in, r)
			dst.from = append(dst.from, src)
		}
	}
	return nil
}
