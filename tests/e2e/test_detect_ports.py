"""Detection end-to-end, per port and per host: a PO with ports [53, 80] and
a per-host UDP limit; a bounded UDP flood across a veth, captured by moatd
(AF_PACKET), to one host's port 53, plus a little traffic to another host's
port 9 (a port the PO does not list).

What must hold:
- the rate detector (short learning set in the config) declares an attack
  on (web, udp, 53) — the port series, not only the PO's — whose top target
  is the flooded host;
- the host limit (300 pps) declares (web, udp, any port) from the first
  second, its reason naming the host;
- the traffic API's port-53 UDP inbound counters hold exactly the flood's
  packets (what the capture saw: no kernel drops), port 80 nothing, and the
  PO's UDP total the flood plus the port-9 packets; the per-protocol top
  hosts put the flooded host first for UDP and list nobody for TCP;
- /metrics has the port series and `moat traffic` shows the port table.

Topology as in test_detect_live.py: namespace "atk" (198.51.100.1/24) joined
by a veth to an interface in moatd's namespace that moatd captures on; the
frames go to 192.0.2.10/.11 through static neighbour entries and die at the
capture interface.
"""
import json
import subprocess
import time

from conftest import need  # noqa: F401
from collectlib import attacker_link
from nslib import wait_for
from test_foundation_moatd import Moatd

FLOOD_PKTS = 6000
SIDE_PKTS = 100

SENDER = r"""
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(%(side)d):
    s.sendto(b"y" * 80, ("192.0.2.11", 9))
t0 = time.time()
for i in range(%(n)d):                  # bounded in count: every packet is sent
    s.sendto(b"x" * 200, ("192.0.2.10", 53))
    if i %% 100 == 99:
        lag = t0 + (i + 1) / %(pps)d - time.time()
        if lag > 0:
            time.sleep(lag)
print(%(n)d + %(side)d)
"""

DETECTION = """detection:
  set:
    rate.warmup: 1s
    rate.learn: 3s
    rate.persist: 4
    rate.min_pps: 100
    threshold_expiry: 5s
"""


def attacks(m):
    st, body = m.request("GET", "/api/v1/attacks?state=live", token=None)
    assert st == 200, body
    return body["attacks"]


def test_port_attack_and_host_threshold(topo, tmp_path):
    atk, cap = attacker_link(topo, ("192.0.2.10", "192.0.2.11"))

    m = Moatd(topo, tmp_path, "collect:\n  udp: []\n  capture:\n    - { interface: %s }\n"
              % cap + DETECTION)
    m.start()
    st, body = m.request("POST", "/api/v1/pos", body={
        "name": "web", "prefixes": ["192.0.2.0/24"], "ports": [80, 53],
        "host_thresholds": {"udp": {"pps": 300}}})
    assert st == 201, body
    assert body["ports"] == [53, 80]
    assert body["host_thresholds"] == {"udp": {"pps": 300}}

    # the port series exist and have learned (silence: a zero baseline)
    def learned():
        st, fl = m.request("GET", "/api/v1/flight?category=learning", token=None)
        assert st == 200
        return any(e["event"] == "learning.done" and "web udp in port 53" in e["message"]
                   for e in fl["entries"])
    wait_for(learned, timeout=15, interval=0.2, what="the port-53 series to learn")
    assert attacks(m) == []

    sender = topo.spawn(atk, "/usr/bin/python3", "-c",
                        SENDER % {"n": FLOOD_PKTS, "side": SIDE_PKTS, "pps": 2000})

    def both():
        live = [a for a in attacks(m) if a["state"] == "declared" and a["po"] == "web"
                and a["protocol"] == "udp"]
        on53 = [a for a in live if a["port"] == 53]
        on0 = [a for a in live if a["port"] == 0]
        return (on53[0], on0[0]) if on53 and on0 else None
    a53, a0 = wait_for(both, timeout=15, interval=0.2, what="attacks on udp/53 and udp/any")
    assert sender.wait(timeout=20) == 0

    # the port attack: by the rate detector, on the flooded host
    st, one = m.request("GET", "/api/v1/attacks/%d" % a53["id"], token=None)
    assert st == 200, one
    assert "rate" in [d["name"] for d in one["detectors"]]
    assert one["top_targets"][0]["address"] == "192.0.2.10"
    # the host limit: from the first second, naming the host
    assert "host 192.0.2.10" in a0["reason"] and "host limit 300" in a0["reason"], a0
    st, one0 = m.request("GET", "/api/v1/attacks/%d" % a0["id"], token=None)
    assert "threshold" in [d["name"] for d in one0["detectors"]]
    assert one0["top_targets"][0]["address"] == "192.0.2.10"

    # counters: exact once the capture has seen everything the sender sent
    def settled():
        st, ex = m.request("GET", "/api/v1/exporters", token=None)
        st2, tr = m.request("GET", "/api/v1/pos/web/traffic", token=None)
        assert st == 200 and st2 == 200
        udp = tr["traffic"]["in"]["udp"]["total"]["packets"]
        return (ex, tr) if udp >= FLOOD_PKTS + SIDE_PKTS else None
    ex, tr = wait_for(settled, timeout=10, interval=0.2, what="the counters to settle")
    time.sleep(1.5)                     # one more interval: nothing else arrives
    st, tr = m.request("GET", "/api/v1/pos/web/traffic", token=None)
    st, ex = m.request("GET", "/api/v1/exporters", token=None)
    inp = ex["inputs"][0]
    assert inp["kernel_drops"] == 0, inp
    ports = {p["port"]: p for p in tr["ports"]}
    assert sorted(ports) == [53, 80]
    p53 = ports[53]["in"]["udp"]["total"]
    assert p53["packets"] == FLOOD_PKTS, p53
    assert p53["bytes"] in (FLOOD_PKTS * 228, FLOOD_PKTS * 242), p53   # IP or frame length
    assert ports[53]["in"]["tcp"]["total"]["packets"] == 0
    assert ports[53]["out"]["udp"]["total"]["packets"] == 0
    assert ports[80]["in"]["udp"]["total"]["packets"] == 0
    assert tr["traffic"]["in"]["udp"]["total"]["packets"] == FLOOD_PKTS + SIDE_PKTS
    assert inp["packets"] >= FLOOD_PKTS + SIDE_PKTS
    by = tr["top_hosts_by_protocol"]
    assert set(by) == {"tcp", "udp", "icmp", "other"}
    assert by["tcp"] == []

    # metrics carry the port series
    st, text = m.request("GET", "/metrics", token=None)
    assert st == 200
    text = text if isinstance(text, str) else text.decode()
    line = ('moat_po_port_traffic_total{po="web",dir="in",proto="udp",port="53",'
            'unit="packets"} %d' % FLOOD_PKTS)
    assert line in text

    # the CLI shows the port table
    out = m.moat("traffic", "web", "--once").stdout
    assert "PORT" in out and "53" in out
    js = json.loads(m.moat("--json", "traffic", "web").stdout)
    assert [p["port"] for p in js["ports"]] == [53, 80]


def test_backtest_pcap_per_port(tmp_path):
    """The pcap backtest builds per-port readings like live: a flood to
    port 53 in a pcap is declared on (web, udp, 53) when the PO has port 53."""
    need("tcpdump")
    from scapy.all import Ether, IP, UDP, Raw, wrpcap  # noqa: E402
    from conftest import binpath

    pkts = []
    t = 1700000000.0
    for sec in range(40):
        n = 400 if 30 <= sec < 36 else 2
        for i in range(n):
            p = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / IP(src="198.51.100.1", dst="192.0.2.10") / UDP(sport=4000, dport=53) / Raw(b"x" * 100)
            p.time = t + sec + i / (n + 1)
            pkts.append(p)
        p = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / IP(src="198.51.100.1", dst="192.0.2.10") / UDP(sport=4000, dport=9) / Raw(b"y" * 100)
        p.time = t + sec + 0.99
        pkts.append(p)
    path = str(tmp_path / "flood.pcap")
    wrpcap(path, pkts)

    def run(po):
        out = subprocess.run([binpath("moatd"), "--backtest", "--json", "--pcap", "--po", po,
                              "--set", "rate.warmup=2s", "--set", "rate.learn=10s", path],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        rep = json.loads(out.stdout)
        return rep, [(a["po"], a["protocol"], a["port"]) for a in rep["attacks"]]
    rep, got = run("web=192.0.2.0/24@53,80")
    assert ("web", "udp", 53) in got and ("web", "udp", 0) in got, rep
    # 40 s x (8 port-0 readings + 2 ports x 2 protocols x 2 directions), less the first second
    assert rep["stats"]["readings"] == 39 * 16, rep["stats"]
    rep, got = run("web=192.0.2.0/24")
    assert got == [("web", "udp", 0)], rep
    assert rep["stats"]["readings"] == 39 * 8
