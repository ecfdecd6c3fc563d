//go:build dpdk

package dpdk

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

const pcapDir = "../../../shared/data/pcap/"

// Captures behind the test ports: http_ipv6 has 3 frames over 2 KiB, webex 68
// (up to 18 KiB), dlt_ppp is not Ethernet (net_pcap hands it over anyway).
var (
	pcapSimple  = pcapDir + "http_ipv6.pcap"
	pcapJumbo   = pcapDir + "webex.pcap"
	pcapQueue0  = pcapDir + "dns.pcap"
	pcapQueue1  = pcapDir + "dlt_ppp.pcap"
	pcapDrained = pcapDir + "dns.pcap"
)

// testDataRoom holds 2048 bytes of packet per segment, so longer frames chain.
const testDataRoom = 2048 + MbufHeadroom

// Ports started by TestMain, shared by the tests.
var (
	portSimple, portJumbo, portQueues, portDrained, portNull Port
	nullPool                                                 *Mempool

	mainThreadLcore uint // LcoreID() on the thread that called EALInit
)

// ealPrefix keeps this test process's EAL files apart from others'.
var ealPrefix = fmt.Sprintf("tsdpdk%d", os.Getpid())

func ealArgs() []string {
	return []string{
		"dpdk.test",
		"--no-huge", "-m", "512", "--no-shconf", "--no-pci",
		"--file-prefix=" + ealPrefix,
		"--lcores=(0-2)@(0-1)",
		"--log-level=*:error",
		"--vdev=net_pcap0,rx_pcap=" + pcapSimple,
		"--vdev=net_pcap1,rx_pcap=" + pcapJumbo,
		"--vdev=net_pcap2,rx_pcap=" + pcapQueue0 + ",rx_pcap=" + pcapQueue1,
		"--vdev=net_pcap3,rx_pcap=" + pcapDrained,
		"--vdev=net_null0",
	}
}

func TestMain(m *testing.M) {
	for _, f := range []string{pcapSimple, pcapJumbo, pcapQueue0, pcapQueue1} {
		if _, err := os.Stat(f); err != nil {
			abs, _ := filepath.Abs(f)
			fmt.Fprintf(os.Stderr, "shared capture missing (%s): %v\n", abs, err)
			os.Exit(1)
		}
	}
	// The thread that initialises the EAL is the main lcore. Keeping it
	// locked to this goroutine gives TestMain the main lcore's identity and
	// keeps the tests' goroutines off it.
	runtime.LockOSThread()
	if _, err := EALInit(ealArgs()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	mainThreadLcore = LcoreID()
	// Lcore tests poll on both worker lcores while the test goroutine waits.
	EnsureGOMAXPROCS(len(Lcores()))
	if err := setupPorts(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	WaitAllLcores()
	for _, p := range Ports() {
		if err := p.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
		if err := p.Close(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}
	if err := EALCleanup(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	os.RemoveAll(filepath.Join(RuntimeBase(), ealPrefix))
	os.Exit(code)
}

func setupPorts() error {
	for _, s := range []struct {
		name string
		port *Port
		nrx  uint16
		conf PortConf
	}{
		{"net_pcap0", &portSimple, 1, PortConf{}},
		{"net_pcap1", &portJumbo, 1, PortConf{}},
		{"net_pcap2", &portQueues, 2, PortConf{}},
		{"net_pcap3", &portDrained, 1, PortConf{}},
		{"net_null0", &portNull, 2, PortConf{RSS: true}},
	} {
		p, err := PortByName(s.name)
		if err != nil {
			return err
		}
		*s.port = p
		mp, err := CreateMbufPool("test_"+s.name, 2047, 32, testDataRoom, p.SocketID())
		if err != nil {
			return err
		}
		if s.name == "net_null0" {
			nullPool = mp
		}
		if err := startPort(p, s.nrx, s.conf, mp); err != nil {
			return err
		}
	}
	return nil
}

func startPort(p Port, nrx uint16, conf PortConf, mp *Mempool) error {
	if err := p.Configure(nrx, 1, conf); err != nil {
		return err
	}
	for q := range nrx {
		if err := p.RxqSetup(q, 512, p.SocketID(), mp); err != nil {
			return err
		}
	}
	if err := p.TxqSetup(0, 512, p.SocketID()); err != nil {
		return err
	}
	return p.Start()
}
