"""Helpers for the traffic-collection end-to-end tests (test_collect_*.py).

A moatd with a `collect:` section (Moatd from the foundation tests), the
truth of a scapy packet list per (PO, direction, protocol) computed the way
moat counts (IP length, SYN without ACK, fragments), and polling of the
traffic API until the totals settle.
"""
import ipaddress
import time

from test_foundation_moatd import Moatd  # noqa: F401  (re-exported)
from nslib import sh, wait_for

PROTO = {6: "tcp", 17: "udp", 1: "icmp", 58: "icmp"}
FIELDS = ("bytes", "packets", "syns", "frags")

# Test POs: documentation ranges only.
POS_YAML = """pos:
  - name: web
    prefixes: [192.0.2.0/24, "2001:db8:1::/48"]
  - name: dns
    prefixes: [198.51.100.0/25]
"""
POS = {"web": [ipaddress.ip_network("192.0.2.0/24"), ipaddress.ip_network("2001:db8:1::/48")],
       "dns": [ipaddress.ip_network("198.51.100.0/25")]}


def po_of(addr):
    a = ipaddress.ip_address(addr)
    for name, nets in POS.items():
        if any(a.version == n.version and a in n for n in nets):
            return name
    return None


def empty_truth():
    return {po: {d: {p: dict.fromkeys(FIELDS, 0) for p in ("tcp", "udp", "icmp", "other")}
                 for d in ("in", "out")} for po in POS}


def packet_facts(pkt):
    """(src, dst, proto number, IP length, is SYN, is fragment) of a scapy
    packet with an IP or IPv6 layer, else None."""
    from scapy.all import IP, IPv6, TCP, IPv6ExtHdrFragment
    if IP in pkt:
        ip = pkt[IP]
        frag = bool(ip.flags.MF) or ip.frag > 0
        proto, length = ip.proto, ip.len
    elif IPv6 in pkt:
        ip = pkt[IPv6]
        frag = IPv6ExtHdrFragment in pkt
        proto = pkt[IPv6ExtHdrFragment].nh if frag else ip.nh
        length = ip.plen + 40
    else:
        return None
    syn = False
    if TCP in pkt and not (IP in pkt and ip.frag > 0):
        flags = int(pkt[TCP].flags)
        syn = (flags & 0x12) == 0x02
    return ip.src, ip.dst, proto, length, syn, frag


def add_truth(truth, src, dst, proto, length, syn, frag, packets=1, scale=1):
    cls = PROTO.get(proto, "other")
    for po, d in ((po_of(dst), "in"), (po_of(src), "out")):
        if po is None:
            continue
        t = truth[po][d][cls]
        t["bytes"] += length * scale
        t["packets"] += packets * scale
        t["syns"] += (packets if syn else 0) * scale
        t["frags"] += (packets if frag else 0) * scale


def truth_of(pkts):
    truth = empty_truth()
    for p in pkts:
        f = packet_facts(p)
        if f:
            add_truth(truth, *f)
    return truth


def observed(m, po):
    st, body = m.request("GET", "/api/v1/pos/%s/traffic" % po, token=None)
    assert st == 200, body
    assert body["collecting"] is True
    out = {}
    for d in ("in", "out"):
        out[d] = {}
        for p in ("tcp", "udp", "icmp", "other"):
            tot = body["traffic"][d][p]["total"]
            out[d][p] = {k: tot[k] for k in FIELDS}
    return out


def wait_totals(m, want_packets, timeout=20.0):
    """Poll until the POs' packet totals reach want_packets (sum over POs,
    directions and protocols) and stay there for two reads a tick apart."""
    last = [None]

    def settled():
        cur = {po: observed(m, po) for po in POS}
        n = sum(cur[po][d][p]["packets"] for po in POS for d in cur[po] for p in cur[po][d])
        ok = n >= want_packets and cur == last[0]
        last[0] = cur
        if not ok:
            time.sleep(0.6)
        return cur if ok else None
    return wait_for(settled, timeout=timeout, interval=0.1, what="traffic totals to settle")


def attacker_link(topo, hosts):
    """A namespace "atk" (198.51.100.1/24) joined by a veth pair to moatd's
    namespace, whose end (the returned name) stays there for a capture input;
    packets to 192.0.2.0/24 leave atk through it, the hosts' neighbour
    entries pointing at a MAC nobody has so nothing answers. The link goes
    away with atk. Returns (atk, capture interface name)."""
    atk = topo.ns("atk")
    cap = "vc%s" % topo.tag[-6:]
    peer = "vp%s" % topo.tag[-6:]
    sh("ip", "link", "add", cap, "type", "veth", "peer", "name", peer, "netns", atk)
    sh("ip", "link", "set", cap, "up")
    topo.run(atk, "ip", "addr", "add", "198.51.100.1/24", "dev", peer)
    topo.run(atk, "ip", "link", "set", peer, "up")
    topo.run(atk, "ip", "route", "add", "192.0.2.0/24", "dev", peer)
    for host in hosts:
        topo.run(atk, "ip", "neigh", "add", host, "lladdr", "02:00:00:00:00:99", "dev", peer)
    return atk, cap
