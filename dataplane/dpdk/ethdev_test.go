//go:build dpdk

package dpdk

import (
	"errors"
	"slices"
	"testing"
)

func TestPorts(t *testing.T) {
	if PortCount() != 5 || len(Ports()) != 5 {
		t.Fatalf("PortCount() = %d, Ports() = %v; TestMain made 5 vdevs", PortCount(), Ports())
	}
	for name, want := range map[string]Port{"net_pcap0": portSimple, "net_null0": portNull} {
		info, err := want.Info()
		if err != nil {
			t.Fatal(err)
		}
		if info.Name != name {
			t.Errorf("port %d: Info().Name = %q, want %q", want, info.Name, name)
		}
	}
	info, err := portQueues.Info()
	if err != nil {
		t.Fatal(err)
	}
	if info.DriverName != "net_pcap" || info.MaxRxQueues != 2 || info.FlowTypeRSSOffloads != 0 {
		t.Errorf("net_pcap with two rx_pcap: %+v", info)
	}
	if _, err := PortByName("net_nosuch0"); !errors.Is(err, ErrNoDevice) {
		t.Errorf("PortByName of a missing device: %v, want ErrNoDevice", err)
	}
}

func TestConfigureErrors(t *testing.T) {
	// net_pcap cannot hash; asking for RSS must fail before touching the port.
	if err := portDrained.Configure(1, 1, PortConf{RSS: true}); !errors.Is(err, ErrNotSupported) {
		t.Errorf("RSS on net_pcap: %v, want ErrNotSupported", err)
	}
	if err := portDrained.Configure(1, 1, PortConf{Timestamp: true}); !errors.Is(err, ErrNotSupported) {
		t.Errorf("timestamp offload on net_pcap: %v, want ErrNotSupported", err)
	}
	// net_null does not report its key size, so a key is refused.
	if err := portNull.RSSHashUpdate(make([]byte, 40), RSSIP); !errors.Is(err, ErrNotSupported) {
		t.Errorf("RSS key on net_null: %v, want ErrNotSupported", err)
	}
	if _, err := CreateMbufPool("test_net_null0", 63, 0, testDataRoom, SocketIDAny); !errors.Is(err, ErrExists) {
		t.Errorf("second pool with one name: %v, want ErrExists", err)
	}
	if _, err := CreateMbufPool("test_tiny", 63, 0, MbufHeadroom, SocketIDAny); !errors.Is(err, ErrInvalid) {
		t.Errorf("pool without data room: %v, want ErrInvalid", err)
	}
}

func TestRSSConfig(t *testing.T) {
	info, err := portNull.Info()
	if err != nil {
		t.Fatal(err)
	}
	if err := portNull.RSSHashUpdate(nil, RSSIP|RSSUDP); err != nil {
		t.Fatal(err)
	}
	if _, hf, err := portNull.RSSHashConf(); err != nil || hf != (RSSIP|RSSUDP)&info.FlowTypeRSSOffloads || hf == 0 {
		t.Errorf("RSSHashConf after update: hf %#x, %v; want %#x", hf, err, (RSSIP|RSSUDP)&info.FlowTypeRSSOffloads)
	}
	if err := portNull.RetaUpdate([]uint16{1, 0}); err != nil {
		t.Fatal(err)
	}
	reta, err := portNull.Reta()
	if err != nil {
		t.Fatal(err)
	}
	if len(reta) != int(info.RetaSize) || info.RetaSize == 0 {
		t.Fatalf("Reta() has %d entries, device %d", len(reta), info.RetaSize)
	}
	for i, q := range reta {
		if want := uint16(1 - i%2); q != want {
			t.Fatalf("reta[%d] = %d, want %d", i, q, want)
		}
	}
	if err := portSimple.RetaUpdate([]uint16{0}); !errors.Is(err, ErrNotSupported) {
		t.Errorf("RetaUpdate on net_pcap: %v, want ErrNotSupported", err)
	}
}

func TestNullRxStatsAndPool(t *testing.T) {
	b := NewBurst(32)
	defer b.Free()
	before := nullPool.InUse()
	if before+nullPool.Avail() != 2047 {
		t.Errorf("InUse %d + Avail %d, pool has 2047", before, nullPool.Avail())
	}
	st0, err := portNull.Stats()
	if err != nil {
		t.Fatal(err)
	}
	n := portNull.RxBurst(1, b)
	if n != 32 {
		t.Fatalf("net_null delivered %d of 32", n)
	}
	// The test goroutine is no EAL lcore, so no mempool cache hides mbufs.
	if got := nullPool.InUse(); got != before+32 {
		t.Errorf("InUse %d while holding a burst, want %d", got, before+32)
	}
	for i := range n {
		m := b.Mbuf(i)
		if m.PktLen() != 64 || m.NbSegs() != 1 || len(m.Frame(nil)) != 64 {
			t.Fatalf("net_null packet %d: %d bytes, %d segments", i, m.PktLen(), m.NbSegs())
		}
		if _, ok := m.RSSHash(); ok {
			t.Errorf("net_null packet %d claims an RSS hash; the driver computes none", i)
		}
	}
	b.FreeAll(n)
	if got := nullPool.InUse(); got != before {
		t.Errorf("InUse %d after FreeAll, want %d", got, before)
	}
	st, err := portNull.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.Ipackets-st0.Ipackets != 32 {
		t.Errorf("Ipackets grew by %d, received 32", st.Ipackets-st0.Ipackets)
	}
	xs, err := portNull.Xstats()
	if err != nil {
		t.Fatal(err)
	}
	if xs["rx_good_packets"] != st.Ipackets {
		t.Errorf("xstat rx_good_packets %d, Stats.Ipackets %d (xstats: %v)", xs["rx_good_packets"], st.Ipackets, slices.Sorted(mapKeys(xs)))
	}
}

func mapKeys(m map[string]uint64) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func TestTxBurst(t *testing.T) {
	b := NewBurst(16)
	defer b.Free()
	before := nullPool.InUse()
	n := portNull.RxBurst(0, b)
	sent := portNull.TxBurst(0, b, n)
	b.FreeRange(sent, n)
	if n == 0 || sent > n {
		t.Fatalf("received %d, sent %d", n, sent)
	}
	// net_null frees what it transmits, so every mbuf is back.
	if got := nullPool.InUse(); got != before {
		t.Errorf("InUse %d after tx, want %d", got, before)
	}
	st, err := portNull.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.Opackets < uint64(sent) {
		t.Errorf("Opackets %d after sending %d", st.Opackets, sent)
	}
}

// FreeAndRxBurst reads the TSC with the receive: Burst.TSC lies between
// readings taken around the call, and the mbufs the call received are
// untouched by it (the TSC has a slot of its own).
func TestFreeAndRxBurstTSC(t *testing.T) {
	b := NewBurst(32)
	defer b.Free()
	if b.TSC() != 0 {
		t.Fatalf("TSC %d before any receive", b.TSC())
	}
	n := 0
	var last uint64
	for range 10 {
		before := TSC()
		n = portNull.FreeAndRxBurst(0, b, n)
		after := TSC()
		if got := b.TSC(); got < before || got > after || got < last {
			t.Fatalf("burst TSC %d outside [%d, %d] or before the previous burst's %d", got, before, after, last)
		}
		last = b.TSC()
		if n != b.Len() {
			t.Fatalf("net_null gave %d packets, want a full burst of %d", n, b.Len())
		}
		for i := range n {
			if m := b.Mbuf(i); m.IsNil() || m.PktLen() == 0 {
				t.Fatalf("mbuf %d of %d is nil or empty", i, n)
			}
		}
	}
	b.FreeAll(n)
}

// FreeOthersAndRxBurst returns another array's mbufs to their pool with
// the receive: after it, only the burst just received is out of the pool.
func TestFreeOthersAndRxBurst(t *testing.T) {
	b, done := NewBurst(32), NewBurst(64)
	defer b.Free()
	defer done.Free()
	base := nullPool.InUse()
	n := portNull.RxBurst(0, done)
	if n == 0 {
		t.Fatal("net_null gave no packets")
	}
	if in := nullPool.InUse(); in != base+uint32(n) {
		t.Fatalf("%d mbufs in use after receiving %d, want %d", in, n, base+uint32(n))
	}
	before := TSC()
	got := portNull.FreeOthersAndRxBurst(0, b, done, n)
	if in := nullPool.InUse(); in != base+uint32(got) {
		t.Errorf("%d mbufs in use after freeing %d and receiving %d, want %d", in, n, got, base+uint32(got))
	}
	if b.TSC() < before || b.TSC() > TSC() {
		t.Errorf("burst TSC %d not taken during the call", b.TSC())
	}
	b.FreeAll(got)
}

func TestZeroAllocs(t *testing.T) {
	b := NewBurst(32)
	defer b.Free()
	dyn, err := LookupTimestampDynfield()
	if err != nil {
		t.Fatal(err)
	}
	scratch := make([]byte, 0, 1<<16)
	var n, total, sink int
	allocs := testing.AllocsPerRun(100, func() {
		n = portNull.FreeAndRxBurst(0, b, n)
		total += n
		for i := range n {
			m := b.Mbuf(i)
			sink += len(m.Frame(scratch)) + len(m.Data())
			if h, ok := m.RSSHash(); ok {
				sink += int(h)
			}
			if ts, ok := m.Timestamp(dyn); ok {
				sink += int(ts)
			}
		}
	})
	b.FreeAll(n)
	if total == 0 || sink == 0 {
		t.Fatal("no packets received: the loop measured nothing")
	}
	if allocs != 0 {
		t.Errorf("%v allocations per burst", allocs)
	}
}

// drainedPort empties net_pcap3 (a short capture) so that it delivers nothing.
func drainedPort(b *Burst) Port {
	for idle := 0; idle < idlePolls; {
		n := portDrained.RxBurst(0, b)
		if n == 0 {
			idle++
		}
		b.FreeAll(n)
	}
	return portDrained
}

func BenchmarkEmptyRxBurst(b *testing.B) {
	burst := NewBurst(32)
	defer burst.Free()
	p := drainedPort(burst)
	b.ReportAllocs()
	got := 0
	for b.Loop() {
		got += p.RxBurst(0, burst)
	}
	if got != 0 {
		b.Fatalf("drained port delivered %d packets", got)
	}
}

// BenchmarkRxBurstNull reports the cost per packet of receiving, touching
// and freeing net_null's 64-byte packets in bursts of 32.
func BenchmarkRxBurstNull(b *testing.B) {
	burst := NewBurst(32)
	defer burst.Free()
	scratch := make([]byte, 0, 1<<16)
	b.ReportAllocs()
	n, sink := 0, 0
	for i := 0; i < b.N; i += n {
		n = portNull.FreeAndRxBurst(0, burst, n)
		for j := range n {
			sink += len(burst.Mbuf(j).Frame(scratch))
		}
	}
	burst.FreeAll(n)
	if sink == 0 {
		b.Fatal("no packets")
	}
}

func BenchmarkTSC(b *testing.B) {
	b.ReportAllocs()
	var t uint64
	for b.Loop() {
		t += TSC()
	}
	if t == 0 {
		b.Fatal("TSC read 0")
	}
}

// TestBurstSet collects mbufs from one burst into another, as a worker does
// with mbufs that came through a dispatch ring, and frees them from there.
func TestBurstSet(t *testing.T) {
	rx, collect := NewBurst(8), NewBurst(8)
	defer rx.Free()
	defer collect.Free()
	before := nullPool.InUse()
	n := portNull.RxBurst(0, rx)
	if n != 8 {
		t.Fatalf("net_null delivered %d of 8", n)
	}
	for i := range n {
		collect.Set(n-1-i, rx.Mbuf(i))
	}
	if collect.Mbuf(0) != rx.Mbuf(n-1) || collect.Mbuf(n-1) != rx.Mbuf(0) {
		t.Error("Set did not store the mbufs where asked")
	}
	collect.FreeAll(n)
	if got := nullPool.InUse(); got != before {
		t.Errorf("InUse %d after freeing the collected burst, want %d", got, before)
	}
}
