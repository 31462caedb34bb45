"""Traffic collection, live capture: moatd captures (AF_PACKET TPACKET_V3,
two fanout workers) on a veth end inside a namespace while a neighbour
namespace sends a known mix at it; tshark captures the same interface at
the same time, and moatd's per-PO totals must equal the truth computed from
tshark's file. No kernel drops are expected at this rate.
"""
import json
import os
import select
import random
import subprocess
import time

from collectlib import POS, POS_YAML, truth_of
from conftest import binpath, need
from nslib import wait_for

SENDER = r'''
import sys, random
from scapy.all import Ether, IP, IPv6, TCP, UDP, ICMP, Raw, sendp, fragment
iface, dmac = sys.argv[1], sys.argv[2]
rnd = random.Random(3)
e = Ether(dst=dmac)
pkts = []
for i in range(200):
    pkts.append(e / IP(src="203.0.113.%d" % (i % 200 + 1), dst="192.0.2.10") / TCP(sport=2000 + i, dport=80, flags="S"))
for i in range(150):
    pkts.append(e / IP(src="203.0.113.7", dst="198.51.100.5") / UDP(sport=3000, dport=53) / Raw(b"q" * rnd.randrange(10, 500)))
for i in range(50):
    pkts.append(e / IP(src="203.0.113.8", dst="192.0.2.20") / ICMP() / Raw(b"p" * 56))
for i in range(5):
    pkts.extend(e / f for f in fragment(IP(src="203.0.113.9", dst="192.0.2.30", id=i) / UDP(sport=5, dport=5) / Raw(b"F" * 2500), fragsize=1000))
for i in range(60):
    pkts.append(e / IPv6(src="2001:db8::5", dst="2001:db8:1::1") / UDP(sport=7, dport=7) / Raw(b"6" * rnd.randrange(0, 700)))
sendp(pkts, iface=iface, verbose=False)
print(len(pkts))
'''


def ns_get(topo, ns, port, path):
    out = topo.run(ns, "curl", "-s", "-m", "5", "http://127.0.0.1:%d%s" % (port, path)).stdout
    return json.loads(out)


def test_live_capture_equals_tshark(topo, tmp_path):
    need("tshark", "curl")
    a, b = topo.ns("src"), topo.ns("dst")
    va, vb = topo.veth(a, "203.0.113.1/24", b, ["192.0.2.10/24", "198.51.100.5/25"])
    topo.run(a, "ip", "route", "add", "192.0.2.0/24", "dev", va)
    topo.run(a, "ip", "route", "add", "198.51.100.0/25", "dev", va)
    topo.run(b, "ip", "route", "add", "203.0.113.0/24", "dev", vb)
    dmac = topo.run(b, "cat", "/sys/class/net/%s/address" % vb).stdout.strip()

    port = 18080 + os.getpid() % 1000
    state = tmp_path / "state"
    state.mkdir()
    conf = tmp_path / "moatd.yaml"
    conf.write_text('api:\n  listen: "127.0.0.1:%d"\n' % port + POS_YAML +
                    "collect:\n  udp: []\n  capture:\n    - interface: %s\n      threads: 2\n" % vb)
    log = open(str(tmp_path / "moatd.log"), "w")
    topo.spawn(b, binpath("moatd"), "-c", str(conf), "--state", str(state), stdout=log,
               stderr=subprocess.STDOUT)

    def up():
        try:
            return ns_get(topo, b, port, "/api/v1/exporters")["inputs"]
        except (ValueError, subprocess.CalledProcessError):
            return None
    inputs = wait_for(up, timeout=15, what="moatd to capture")
    assert inputs[0]["kind"] == "capture" and inputs[0]["name"] == vb

    ref = str(tmp_path / "ref.pcapng")
    ts = topo.spawn(b, "tshark", "-q", "-i", vb, "-a", "duration:6", "-w", ref,
                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    # dumpcap writes the file header before the capture is live; tshark says
    # "Capturing on ..." once it is, so wait for that line.
    deadline = time.time() + 20
    line = ""
    while "Capturing on" not in line:
        ready, _, _ = select.select([ts.stderr], [], [], max(0.1, deadline - time.time()))
        assert time.time() < deadline and ts.poll() is None, "tshark did not start: " + line
        if ready:
            line = ts.stderr.readline()
    time.sleep(0.5)
    sent = topo.run(a, "/usr/bin/python3", "-c", SENDER, va, dmac, timeout=60).stdout
    assert int(sent.split()[-1]) > 400
    assert ts.wait(30) == 0

    from scapy.all import rdpcap
    truth = truth_of(rdpcap(ref))
    want = sum(truth[po][d][p]["packets"] for po in POS for d in truth[po] for p in truth[po][d])

    last = [None]

    def settled():
        cur = {po: ns_get(topo, b, port, "/api/v1/pos/%s/traffic" % po)["traffic"] for po in POS}
        got = {po: {d: {p: {k: cur[po][d][p]["total"][k] for k in ("bytes", "packets", "syns", "frags")}
                        for p in cur[po][d]} for d in cur[po]} for po in POS}
        n = sum(got[po][d][p]["packets"] for po in POS for d in got[po] for p in got[po][d])
        ok = n >= want and got == last[0]
        last[0] = got
        if not ok:
            time.sleep(0.6)
        return got if ok else None
    try:
        got = wait_for(settled, timeout=20, interval=0.1, what="capture totals to settle")
    except AssertionError:
        got = last[0]       # report the difference below
    for po in POS:
        assert got[po] == truth[po], "PO %s: moat %s tshark %s" % (po, got[po], truth[po])
    assert got["web"]["in"]["tcp"]["syns"] == 200
    inp = ns_get(topo, b, port, "/api/v1/exporters")["inputs"][0]
    assert inp["kernel_drops"] == 0
