-- pktgen-dpdk Lua script: an IMIX of flows at line rate toward a tunnelscope
-- box. Sequence mode sends a repeating cycle of 12 frames, 7 x 64 B, 4 x 594 B
-- and 1 x 1518 B (the simple IMIX, sizes with FCS as pktgen counts them),
-- each frame from its own client address and port, so tunnelscope sees 12
-- flows per port with realistic size mix. For many real flows replay a
-- capture instead (pktgen -s P:file.pcap, see README.md).
--
-- Run: pktgen <EAL args> -- -P -m "[1:2].0" -f scripts/pktgen/tunnelscope_imix.lua
-- Environment: TS_PORT (default 0), TS_SECONDS (default 30, 0 = until quit),
-- TS_RATE percent of line rate (default 100), TS_DST_MAC (the tunnelscope
-- NIC's MAC; it runs promiscuous, so any value works).
package.path = package.path .. ";?.lua;test/?.lua;app/?.lua;"
require "Pktgen"

local port = os.getenv("TS_PORT") or "0"
local seconds = tonumber(os.getenv("TS_SECONDS") or "30")
local rate = tonumber(os.getenv("TS_RATE") or "100")
local dst_mac = os.getenv("TS_DST_MAC") or "0200:0000:0002"

-- { frame size with FCS, protocol, server port } in cycle order; the mix
-- interleaves sizes the way a busy link does rather than in blocks.
local cycle = {
  { 64, "tcp", 443 }, { 594, "udp", 443 }, { 64, "udp", 443 },
  { 64, "udp", 4500 }, { 594, "tcp", 443 }, { 64, "tcp", 443 },
  { 1518, "tcp", 443 }, { 64, "udp", 443 }, { 594, "udp", 4500 },
  { 64, "tcp", 443 }, { 594, "udp", 443 }, { 64, "udp", 4500 },
}

pktgen.stop(port)
for i, f in ipairs(cycle) do
  pktgen.seqTable(i - 1, port, {
    ["eth_dst_addr"] = dst_mac,
    ["eth_src_addr"] = "0200:0000:0001",
    ["ip_src_addr"] = string.format("16.0.0.%d/24", i),
    ["ip_dst_addr"] = "48.0.0.1",
    ["sport"] = 1024 + i,
    ["dport"] = f[3],
    ["ethType"] = "ipv4",
    ["ipProto"] = f[2],
    ["vlanid"] = 1,
    ["pktSize"] = f[1],
    ["teid"] = 0,
    ["cos"] = 0,
    ["tos"] = 0,
  })
end
pktgen.set(port, "seq_cnt", #cycle)
pktgen.set(port, "rate", rate)
pktgen.set(port, "count", 0)
pktgen.clr()
pktgen.start(port)
if seconds > 0 then
  pktgen.delay(seconds * 1000)
  pktgen.stop(port)
  pktgen.delay(500)
  local st = pktgen.portStats(port, "port")[tonumber(port)]
  printf("tunnelscope_imix: port %s sent %d packets (%d errors) in %d s\n",
    port, st.opackets, st.oerrors, seconds)
end
