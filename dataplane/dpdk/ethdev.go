//go:build dpdk

package dpdk

/*
#cgo pkg-config: libdpdk
#cgo CFLAGS: -Wno-deprecated-declarations
#include <stdlib.h>
#include "binding.h"
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// Port is an ethdev port id.
type Port uint16

// RSS hash function sets for PortConf.RSSHashFunctions and RSSHashUpdate.
const (
	RSSIP  uint64 = C.RTE_ETH_RSS_IP
	RSSTCP uint64 = C.RTE_ETH_RSS_TCP
	RSSUDP uint64 = C.RTE_ETH_RSS_UDP
	// RSSDefault hashes IPv4/IPv6 on addresses, TCP and UDP on the 4-tuple.
	RSSDefault = RSSIP | RSSTCP | RSSUDP
)

// Rx offload bits Configure reads from DevInfo.RxOffloadCapa.
const (
	rxOffloadRSSHash   uint64 = C.RTE_ETH_RX_OFFLOAD_RSS_HASH
	rxOffloadTimestamp uint64 = C.RTE_ETH_RX_OFFLOAD_TIMESTAMP
)

// DevInfo is the part of rte_eth_dev_info the appliance uses.
type DevInfo struct {
	DriverName          string
	Name                string
	MaxRxQueues         uint16
	MaxTxQueues         uint16
	MaxRxPktLen         uint32
	RxOffloadCapa       uint64
	FlowTypeRSSOffloads uint64 // RSS hash functions the device supports
	RetaSize            uint16
	HashKeySize         uint8
	SocketID            int
}

// PortConf is what Configure sets. VLAN stripping, LRO and every other rx
// offload that would change the frames are always off, so the worker sees
// the wire.
type PortConf struct {
	// RSS spreads flows over the rx queues and fills Mbuf.RSSHash.
	RSS bool
	// RSSKey replaces the device's hash key; nil keeps its default. Its
	// length must be DevInfo.HashKeySize.
	RSSKey []byte
	// RSSHashFunctions selects what is hashed (RSSIP, RSSTCP, ...); 0 means
	// RSSDefault. Functions the device lacks are masked off.
	RSSHashFunctions uint64
	// Timestamp asks the device to stamp packets (device clock); see
	// LookupTimestampDynfield.
	Timestamp bool
	// MTU is the receive MTU; 0 keeps the device default.
	MTU uint32
}

// Stats are the port's basic counters.
type Stats struct {
	Ipackets, Ibytes, Imissed, Ierrors, RxNombuf uint64
	Opackets, Obytes, Oerrors                    uint64
}

// PortCount is the number of usable ports.
func PortCount() int {
	if !loaded() {
		return 0
	}
	return int(C.ts_eth_dev_count_avail())
}

// Ports lists the usable ports.
func Ports() []Port {
	var ps []Port
	if !loaded() {
		return nil
	}
	for p := C.ts_next_port(0); p < C.RTE_MAX_ETHPORTS; p = C.ts_next_port(p + 1) {
		ps = append(ps, Port(p))
	}
	return ps
}

// PortByName finds a port by device name, e.g. "net_pcap0" or a PCI address.
func PortByName(name string) (Port, error) {
	if !loaded() {
		return 0, fmt.Errorf("port %q: lookup: %w", name, ErrNotInitialised)
	}
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	var id C.uint16_t
	if err := errno(int(C.ts_eth_dev_get_port_by_name(cname, &id))); err != nil {
		return 0, fmt.Errorf("port %q: lookup: %w", name, err)
	}
	return Port(id), nil
}

// Info describes the device behind the port.
func (p Port) Info() (DevInfo, error) {
	if !loaded() {
		return DevInfo{}, fmt.Errorf("port %d: info: %w", p, ErrNotInitialised)
	}
	var di C.struct_rte_eth_dev_info
	if err := errno(int(C.ts_eth_dev_info_get(C.uint16_t(p), &di))); err != nil {
		return DevInfo{}, fmt.Errorf("port %d: info: %w", p, err)
	}
	var name [C.RTE_ETH_NAME_MAX_LEN]C.char
	if err := errno(int(C.ts_eth_dev_get_name_by_port(C.uint16_t(p), &name[0]))); err != nil {
		return DevInfo{}, fmt.Errorf("port %d: name: %w", p, err)
	}
	return DevInfo{
		DriverName:          C.GoString(di.driver_name),
		Name:                C.GoString(&name[0]),
		MaxRxQueues:         uint16(di.max_rx_queues),
		MaxTxQueues:         uint16(di.max_tx_queues),
		MaxRxPktLen:         uint32(di.max_rx_pktlen),
		RxOffloadCapa:       uint64(di.rx_offload_capa),
		FlowTypeRSSOffloads: uint64(di.flow_type_rss_offloads),
		RetaSize:            uint16(di.reta_size),
		HashKeySize:         uint8(di.hash_key_size),
		SocketID:            p.SocketID(),
	}, nil
}

// SocketID is the NUMA socket of the device, SocketIDAny if unknown.
func (p Port) SocketID() int {
	if !loaded() {
		return SocketIDAny
	}
	return int(C.ts_eth_dev_socket_id(C.uint16_t(p)))
}

// Configure sets nrx receive and ntx transmit queues. RSS that the device
// cannot do at all is an error (ErrNotSupported) rather than silently off,
// because the worker layout depends on it.
func (p Port) Configure(nrx, ntx uint16, conf PortConf) error {
	info, err := p.Info()
	if err != nil {
		return fmt.Errorf("port %d: configure: %w", p, err)
	}
	var offloads, hf uint64
	if conf.RSS {
		want := conf.RSSHashFunctions
		if want == 0 {
			want = RSSDefault
		}
		hf = want & info.FlowTypeRSSOffloads
		if hf == 0 {
			return fmt.Errorf("port %d (%s): configure: RSS requested, device hashes none of %#x: %w",
				p, info.DriverName, want, ErrNotSupported)
		}
		if err := checkKey(info, conf.RSSKey); err != nil {
			return fmt.Errorf("port %d: configure: %w", p, err)
		}
		offloads |= info.RxOffloadCapa & rxOffloadRSSHash
	}
	if conf.Timestamp {
		if info.RxOffloadCapa&rxOffloadTimestamp == 0 {
			return fmt.Errorf("port %d (%s): configure: rx timestamps: %w", p, info.DriverName, ErrNotSupported)
		}
		offloads |= rxOffloadTimestamp
	}
	var key *C.uint8_t
	if len(conf.RSSKey) > 0 {
		key = (*C.uint8_t)(unsafe.Pointer(&conf.RSSKey[0]))
	}
	rc := C.ts_configure(C.uint16_t(p), C.uint16_t(nrx), C.uint16_t(ntx), C.int(b2u(conf.RSS)),
		key, C.uint8_t(len(conf.RSSKey)), C.uint64_t(hf), C.uint64_t(offloads), C.uint32_t(conf.MTU))
	if err := errno(int(rc)); err != nil {
		return fmt.Errorf("port %d: configure %d rx, %d tx queues: %w", p, nrx, ntx, err)
	}
	return nil
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// checkKey refuses a key for a device that does not report its key size:
// such drivers (net_null) copy a fixed 40 bytes whatever length they are
// given, so a short key would be over-read.
func checkKey(info DevInfo, key []byte) error {
	if key == nil {
		return nil
	}
	if info.HashKeySize == 0 {
		return fmt.Errorf("RSS key: %s does not report its key size: %w", info.DriverName, ErrNotSupported)
	}
	if len(key) != int(info.HashKeySize) {
		return fmt.Errorf("RSS key of %d bytes, device wants %d: %w", len(key), info.HashKeySize, ErrInvalid)
	}
	return nil
}

// RxqSetup sets up receive queue q with nDesc descriptors, filled from mp.
func (p Port) RxqSetup(q uint16, nDesc uint16, socket int, mp *Mempool) error {
	rc := C.ts_eth_rx_queue_setup(C.uint16_t(p), C.uint16_t(q), C.uint16_t(nDesc), C.uint(socket), nil, mp.mp)
	if err := errno(int(rc)); err != nil {
		return fmt.Errorf("port %d: rx queue %d setup: %w", p, q, err)
	}
	return nil
}

// TxqSetup sets up transmit queue q with nDesc descriptors.
func (p Port) TxqSetup(q uint16, nDesc uint16, socket int) error {
	if !loaded() {
		return fmt.Errorf("port %d: tx queue setup: %w", p, ErrNotInitialised)
	}
	rc := C.ts_eth_tx_queue_setup(C.uint16_t(p), C.uint16_t(q), C.uint16_t(nDesc), C.uint(socket), nil)
	if err := errno(int(rc)); err != nil {
		return fmt.Errorf("port %d: tx queue %d setup: %w", p, q, err)
	}
	return nil
}

// Start starts the port's queues.
func (p Port) Start() error {
	if !loaded() {
		return fmt.Errorf("port %d: start: %w", p, ErrNotInitialised)
	}
	if err := errno(int(C.ts_eth_dev_start(C.uint16_t(p)))); err != nil {
		return fmt.Errorf("port %d: start: %w", p, err)
	}
	return nil
}

// Stop stops the port; no lcore may still poll it.
func (p Port) Stop() error {
	if !loaded() {
		return fmt.Errorf("port %d: stop: %w", p, ErrNotInitialised)
	}
	if err := errno(int(C.ts_eth_dev_stop(C.uint16_t(p)))); err != nil {
		return fmt.Errorf("port %d: stop: %w", p, err)
	}
	return nil
}

// Close releases a stopped port; its id is then invalid.
func (p Port) Close() error {
	if !loaded() {
		return fmt.Errorf("port %d: close: %w", p, ErrNotInitialised)
	}
	if err := errno(int(C.ts_eth_dev_close(C.uint16_t(p)))); err != nil {
		return fmt.Errorf("port %d: close: %w", p, err)
	}
	return nil
}

// Promiscuous turns promiscuous mode on or off.
func (p Port) Promiscuous(on bool) error {
	if !loaded() {
		return fmt.Errorf("port %d: promiscuous: %w", p, ErrNotInitialised)
	}
	var rc C.int
	if on {
		rc = C.ts_eth_promiscuous_enable(C.uint16_t(p))
	} else {
		rc = C.ts_eth_promiscuous_disable(C.uint16_t(p))
	}
	if err := errno(int(rc)); err != nil {
		return fmt.Errorf("port %d: promiscuous %t: %w", p, on, err)
	}
	return nil
}

// Stats reads the port's basic counters.
func (p Port) Stats() (Stats, error) {
	if !loaded() {
		return Stats{}, fmt.Errorf("port %d: stats: %w", p, ErrNotInitialised)
	}
	var s C.struct_rte_eth_stats
	if err := errno(int(C.ts_eth_stats_get(C.uint16_t(p), &s))); err != nil {
		return Stats{}, fmt.Errorf("port %d: stats: %w", p, err)
	}
	return Stats{
		Ipackets: uint64(s.ipackets), Ibytes: uint64(s.ibytes), Imissed: uint64(s.imissed),
		Ierrors: uint64(s.ierrors), RxNombuf: uint64(s.rx_nombuf),
		Opackets: uint64(s.opackets), Obytes: uint64(s.obytes), Oerrors: uint64(s.oerrors),
	}, nil
}

// StatsReset zeroes the port's basic counters.
func (p Port) StatsReset() error {
	if !loaded() {
		return fmt.Errorf("port %d: stats reset: %w", p, ErrNotInitialised)
	}
	if err := errno(int(C.ts_eth_stats_reset(C.uint16_t(p)))); err != nil {
		return fmt.Errorf("port %d: stats reset: %w", p, err)
	}
	return nil
}

// Xstats reads the driver's extended counters by name.
func (p Port) Xstats() (map[string]uint64, error) {
	if !loaded() {
		return nil, fmt.Errorf("port %d: xstats: %w", p, ErrNotInitialised)
	}
	n := C.ts_eth_xstats_get_names(C.uint16_t(p), nil, 0)
	if n < 0 {
		return nil, fmt.Errorf("port %d: xstats names: %w", p, errno(int(n)))
	}
	names := make([]C.struct_rte_eth_xstat_name, n+1)
	vals := make([]C.struct_rte_eth_xstat, n+1)
	if got := C.ts_eth_xstats_get_names(C.uint16_t(p), &names[0], C.uint(n)); got != n {
		return nil, fmt.Errorf("port %d: xstats names: got %d of %d: %w", p, got, n, ErrIO)
	}
	got := C.ts_eth_xstats_get(C.uint16_t(p), &vals[0], C.uint(n))
	if got < 0 || got > n {
		return nil, fmt.Errorf("port %d: xstats: got %d of %d: %w", p, got, n, ErrIO)
	}
	m := make(map[string]uint64, int(got))
	for _, v := range vals[:got] {
		if v.id < C.uint64_t(n) {
			m[C.GoString(&names[v.id].name[0])] = uint64(v.value)
		}
	}
	return m, nil
}

// RSSHashUpdate replaces the hash key (nil keeps it) and hash functions, the
// latter masked by what the device supports.
func (p Port) RSSHashUpdate(key []byte, hf uint64) error {
	info, err := p.Info()
	if err != nil {
		return fmt.Errorf("port %d: rss hash update: %w", p, err)
	}
	if err := checkKey(info, key); err != nil {
		return fmt.Errorf("port %d: rss hash update: %w", p, err)
	}
	var k *C.uint8_t
	if len(key) > 0 {
		k = (*C.uint8_t)(unsafe.Pointer(&key[0]))
	}
	rc := C.ts_rss_hash_update(C.uint16_t(p), k, C.uint8_t(len(key)), C.uint64_t(hf&info.FlowTypeRSSOffloads))
	if err := errno(int(rc)); err != nil {
		return fmt.Errorf("port %d: rss hash update: %w", p, err)
	}
	return nil
}

// RSSHashConf reads back the hash key (nil if the device does not report
// its size) and hash functions in force.
func (p Port) RSSHashConf() (key []byte, hf uint64, err error) {
	info, err := p.Info()
	if err != nil {
		return nil, 0, fmt.Errorf("port %d: rss hash conf: %w", p, err)
	}
	// Without a reported key size the key is not read back: see checkKey.
	var k *C.uint8_t
	if info.HashKeySize > 0 {
		key = make([]byte, info.HashKeySize)
		k = (*C.uint8_t)(unsafe.Pointer(&key[0]))
	}
	var h C.uint64_t
	if err := errno(int(C.ts_rss_hash_get(C.uint16_t(p), k, C.uint8_t(len(key)), &h))); err != nil {
		return nil, 0, fmt.Errorf("port %d: rss hash conf: %w", p, err)
	}
	return key, uint64(h), nil
}

// RetaUpdate fills the RSS redirection table by repeating queues: entry i
// sends to queues[i%len(queues)]. Passing the rx queue list spreads hashes
// evenly; passing DevInfo.RetaSize entries sets the table exactly.
func (p Port) RetaUpdate(queues []uint16) error {
	info, err := p.Info()
	if err != nil {
		return fmt.Errorf("port %d: reta update: %w", p, err)
	}
	if info.RetaSize == 0 {
		return fmt.Errorf("port %d (%s): reta update: %w", p, info.DriverName, ErrNotSupported)
	}
	if len(queues) == 0 {
		return fmt.Errorf("port %d: reta update: no queues: %w", p, ErrInvalid)
	}
	conf := retaGroups(info.RetaSize)
	for i := range int(info.RetaSize) {
		g := &conf[i/C.RTE_ETH_RETA_GROUP_SIZE]
		g.mask = ^C.uint64_t(0)
		g.reta[i%C.RTE_ETH_RETA_GROUP_SIZE] = C.uint16_t(queues[i%len(queues)])
	}
	if err := errno(int(C.ts_eth_dev_rss_reta_update(C.uint16_t(p), &conf[0], C.uint16_t(info.RetaSize)))); err != nil {
		return fmt.Errorf("port %d: reta update: %w", p, err)
	}
	return nil
}

// Reta reads the RSS redirection table.
func (p Port) Reta() ([]uint16, error) {
	info, err := p.Info()
	if err != nil {
		return nil, fmt.Errorf("port %d: reta query: %w", p, err)
	}
	if info.RetaSize == 0 {
		return nil, fmt.Errorf("port %d (%s): reta query: %w", p, info.DriverName, ErrNotSupported)
	}
	conf := retaGroups(info.RetaSize)
	for i := range conf {
		conf[i].mask = ^C.uint64_t(0)
	}
	if err := errno(int(C.ts_eth_dev_rss_reta_query(C.uint16_t(p), &conf[0], C.uint16_t(info.RetaSize)))); err != nil {
		return nil, fmt.Errorf("port %d: reta query: %w", p, err)
	}
	t := make([]uint16, info.RetaSize)
	for i := range t {
		t[i] = uint16(conf[i/C.RTE_ETH_RETA_GROUP_SIZE].reta[i%C.RTE_ETH_RETA_GROUP_SIZE])
	}
	return t, nil
}

func retaGroups(size uint16) []C.struct_rte_eth_rss_reta_entry64 {
	return make([]C.struct_rte_eth_rss_reta_entry64, (int(size)+C.RTE_ETH_RETA_GROUP_SIZE-1)/C.RTE_ETH_RETA_GROUP_SIZE)
}
