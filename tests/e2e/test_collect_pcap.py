"""Traffic collection, pcap replay: moatd replays a scapy-built capture with a
known mix (TCP SYNs and data, UDP, ICMP, IPv6, IPv4 and IPv6 fragments,
traffic out of a PO, between two POs, to nobody, ARP, a malformed frame) and
its per-PO totals must equal the truth computed from the packets exactly.
"""
import random

import pytest

from collectlib import Moatd, POS_YAML, truth_of, observed, wait_totals, empty_truth, POS
from nslib import wait_for


def build_mix(seed=7):
    from scapy.all import (ARP, ICMP, IP, UDP, TCP, Ether, IPv6, IPv6ExtHdrFragment,
                           ICMPv6EchoRequest, Raw, fragment, fragment6)
    rnd = random.Random(seed)
    e = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
    pkts = []
    for i in range(300):                      # SYN flood-ish to web
        pkts.append(e / IP(src="203.0.113.%d" % (i % 250 + 1), dst="192.0.2.10") /
                    TCP(sport=1024 + i, dport=80, flags="S"))
    for i in range(200):                      # established web traffic
        pkts.append(e / IP(src="203.0.113.7", dst="192.0.2.11") /
                    TCP(sport=5555, dport=443, flags="PA") / Raw(b"x" * rnd.randrange(0, 1400)))
    for i in range(150):                      # web answers: outbound
        pkts.append(e / IP(src="192.0.2.11", dst="203.0.113.7") /
                    TCP(sport=443, dport=5555, flags="SA" if i == 0 else "A") /
                    Raw(b"y" * rnd.randrange(0, 1400)))
    for i in range(120):                      # DNS queries in
        pkts.append(e / IP(src="203.0.113.%d" % (i % 20 + 1), dst="198.51.100.5") /
                    UDP(sport=rnd.randrange(1024, 65535), dport=53) / Raw(b"q" * rnd.randrange(20, 300)))
    for i in range(40):                       # ICMP in
        pkts.append(e / IP(src="203.0.113.9", dst="192.0.2.20") / ICMP() / Raw(b"p" * 56))
    for i in range(60):                       # IPv6 UDP and ICMPv6 in
        pkts.append(e / IPv6(src="2001:db8::%x" % (i + 1), dst="2001:db8:1::1") /
                    UDP(sport=4000, dport=4001) / Raw(b"6" * rnd.randrange(0, 900)))
        pkts.append(e / IPv6(src="2001:db8::1", dst="2001:db8:1::2") / ICMPv6EchoRequest())
    for i in range(10):                       # IPv4 fragments (3 each) to web
        big = IP(src="203.0.113.50", dst="192.0.2.30", id=100 + i) / UDP(sport=7, dport=7) / Raw(b"F" * 3000)
        pkts.extend(e / f for f in fragment(big, fragsize=1200))
    for i in range(5):                        # IPv6 fragments to web
        big6 = (IPv6(src="2001:db8::99", dst="2001:db8:1::3") / IPv6ExtHdrFragment(id=i) /
                UDP(sport=9, dport=9) / Raw(b"G" * 2500))
        pkts.extend(e / f for f in fragment6(big6, 1280))
    for i in range(30):                       # dns -> web: counts for both
        pkts.append(e / IP(src="198.51.100.5", dst="192.0.2.10") / UDP(sport=53, dport=53000) /
                    Raw(b"a" * 100))
    for i in range(25):                       # to nobody
        pkts.append(e / IP(src="203.0.113.1", dst="203.0.113.2") / UDP(sport=1, dport=2))
    for i in range(8):                        # GRE (other) into dns
        pkts.append(e / IP(src="203.0.113.3", dst="198.51.100.9", proto=47) / Raw(b"g" * 64))
    for i in range(12):                       # not IP
        pkts.append(e / ARP(psrc="192.0.2.1", pdst="192.0.2.2"))
    pkts.append(Ether(type=0x0800) / Raw(b"\x45\x00"))   # malformed
    rnd.shuffle(pkts)
    t0 = 1700000000.0
    for i, p in enumerate(pkts):
        p.time = t0 + i * 0.004               # about 4 s of traffic
    return pkts


def test_pcap_totals_equal_truth(topo, tmp_path):
    from scapy.all import rdpcap, wrpcap
    path = str(tmp_path / "mix.pcap")
    wrpcap(path, build_mix())
    pkts = rdpcap(path)        # the truth comes from the bytes on file
    truth = truth_of(pkts)
    total = sum(truth[po][d][p]["packets"] for po in POS for d in truth[po] for p in truth[po][d])

    m = Moatd(topo, tmp_path, POS_YAML + "collect:\n  udp: []\n  pcap:\n    - file: %s\n" % path)
    m.start()

    def done():
        st, body = m.request("GET", "/api/v1/exporters", token=None)
        assert st == 200, body
        ins = body["inputs"]
        return ins[0] if ins and ins[0]["done"] else None
    inp = wait_for(done, timeout=30, what="the replay to finish")
    assert inp["failed"] is False
    assert inp["packets"] == len(pkts)
    assert inp["not_ip"] == 12
    assert inp["malformed"] == 1
    assert inp["decoded"] == len(pkts) - 13

    got = wait_totals(m, total)
    for po in POS:
        assert got[po] == truth[po], "PO %s: got %s want %s" % (po, got[po], truth[po])
    # spot checks a reader can follow
    assert got["web"]["in"]["tcp"]["syns"] == 300
    assert got["web"]["in"]["udp"]["frags"] == 30 + sum(1 for p in pkts if p.haslayer("IPv6ExtHdrFragment"))
    assert got["dns"]["out"]["udp"]["packets"] == 30

    st, body = m.request("GET", "/api/v1/pos/nosuch/traffic", token=None)
    assert st == 404
    st, text = m.request("GET", "/metrics", token=None)
    assert st == 200
    text = text.decode() if isinstance(text, bytes) else str(text)
    assert 'moat_po_traffic_total{po="web",dir="in",proto="tcp",unit="syns"} 300' in text
    # the CLI: moat traffic / moat exporters
    out = m.moat("traffic", "web", "--once").stdout
    assert "PO web" in out and "tcp" in out
    assert "%d" % got["web"]["in"]["tcp"]["packets"] in out or "K" in out
    assert '"collecting": true' in m.moat("--json", "traffic", "web").stdout.replace('":true', '": true')
    m.moat("traffic", "nosuch", "--once", rc=1)
    m.moat("traffic", rc=2)
    out = m.moat("exporters").stdout
    assert "pcap" in out and path in out
    assert m.stop() == 0
