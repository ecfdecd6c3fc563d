"""TRex stateless (STL) profile: an IMIX of many flows toward a tunnelscope box.

Frame sizes follow the classic simple IMIX, 7:4:1 by packet count of 64, 594
and 1518 bytes on the wire (60, 590 and 1514 here: the NIC adds the 4-byte
FCS), so a rate in Gbps means the same as on a real ISP link. Each size is
sent as TCP/443, UDP/443 (QUIC-like) and UDP/4500 (IPsec NAT-T, a VPN)
streams, and the field engine spreads them over FLOWS distinct 5-tuples so
tunnelscope's flow tables and RSS see many flows instead of one.

Load it from the TRex console, e.g. for 10 Gb/s on port 0 with 100k flows:
    start -f tunnelscope_imix.py -m 10gbps --port 0 -t flows=100000
(TRex 2.90+ style tunables: -t --flows 100000). See README.md.
"""

import argparse

try:  # TRex v2.60 and later
    from trex.stl.api import (
        IP, TCP, UDP, Ether, STLPktBuilder, STLScVmRaw, STLStream, STLTXCont,
        STLVmFixIpv4, STLVmTupleGen, STLVmWrFlowVar,
    )
except ImportError:  # older TRex releases
    from trex_stl_lib.api import (
        IP, TCP, UDP, Ether, STLPktBuilder, STLScVmRaw, STLStream, STLTXCont,
        STLVmFixIpv4, STLVmTupleGen, STLVmWrFlowVar,
    )

# (frame length without FCS, packets per IMIX cycle)
IMIX = ((60, 7), (590, 4), (1514, 1))

# (name, L4 layer, server port): each stream looks like a traffic class
# tunnelscope must tell apart.
L4 = (
    ("tcp443", TCP, 443),
    ("udp443", UDP, 443),
    ("udp4500", UDP, 4500),
)

PORTS_PER_IP = 250  # source ports per client address in the tuple generator


def ip_add(base, n):
    """Returns the dotted IPv4 address n addresses after base."""
    parts = [int(p) for p in base.split(".")]
    v = (parts[0] << 24 | parts[1] << 16 | parts[2] << 8 | parts[3]) + n
    return ".".join(str((v >> s) & 0xFF) for s in (24, 16, 8, 0))


class TunnelscopeImix(object):
    def parse(self, tunables, kwargs):
        p = argparse.ArgumentParser(prog="tunnelscope_imix.py", add_help=False)
        p.add_argument("--flows", type=int, default=int(kwargs.get("flows", 10000)),
                       help="distinct client 5-tuples per stream (default 10000)")
        p.add_argument("--client", default=kwargs.get("client", "16.0.0.1"),
                       help="first client address (default 16.0.0.1)")
        p.add_argument("--server", default=kwargs.get("server", "48.0.0.1"),
                       help="server address (default 48.0.0.1)")
        return p.parse_args(tunables or [])

    def streams_for(self, a, direction):
        ips = max(1, -(-a.flows // PORTS_PER_IP))  # ceil
        client_last = ip_add(a.client, ips - 1)
        streams = []
        for size, weight in IMIX:
            for name, proto, service in L4:
                # Direction 0 sends client -> server; direction 1 (the other
                # port of a pair) the replies, so two ports carry both halves
                # of the same flows.
                if direction == 0:
                    ip = IP(src=a.client, dst=a.server)
                    l4 = proto(sport=1025, dport=service)
                    ip_field, port_field = "IP.src", "sport"
                else:
                    ip = IP(src=a.server, dst=a.client)
                    l4 = proto(sport=service, dport=1025)
                    ip_field, port_field = "IP.dst", "dport"
                if proto is TCP:
                    l4.flags = "A"
                base = Ether() / ip / l4
                pad = max(0, size - len(base)) * b"x"
                vm = STLScVmRaw([
                    STLVmTupleGen(ip_min=a.client, ip_max=client_last,
                                  port_min=1025, port_max=1025 + PORTS_PER_IP - 1,
                                  name="tuple"),
                    STLVmWrFlowVar(fv_name="tuple.ip", pkt_offset=ip_field),
                    STLVmWrFlowVar(fv_name="tuple.port",
                                   pkt_offset="%s.%s" % (proto.__name__, port_field)),
                    # L4 checksums stay as built: tunnelscope does not verify
                    # them, and fixing them costs TRex per-packet work.
                    STLVmFixIpv4(offset="IP"),
                ])
                streams.append(STLStream(
                    name="%s_%d" % (name, size + 4),
                    packet=STLPktBuilder(pkt=base / pad, vm=vm),
                    mode=STLTXCont(pps=weight),
                ))
        return streams

    def get_streams(self, direction=0, tunables=None, **kwargs):
        return self.streams_for(self.parse(tunables, kwargs), direction)


def register():
    return TunnelscopeImix()
