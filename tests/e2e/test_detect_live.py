"""Detection end-to-end, live: a bounded UDP flood across a veth captured by
moatd (AF_PACKET) is declared an attack within 3 s of its start, by the
threshold detector of the PO it hits, and shows in `moat attacks` and
`moat attack ID` with its type and top target (from the per-host counters).

Topology: namespace "atk" (198.51.100.1/24) joined by a veth to an
interface in moatd's namespace that moatd captures on. The flood goes to
192.0.2.10 (PO web) through a static neighbour entry, so no ARP is needed
and nothing is routed anywhere: the frames die at the capture interface.
"""
import json
import time

from conftest import need  # noqa: F401
from collectlib import attacker_link
from nslib import wait_for
from test_foundation_moatd import Moatd

FLOOD = r"""
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
t0 = time.time()
for i in range(%(n)d):                  # bounded in count ...
    s.sendto(b"x" * 200, ("192.0.2.10", 9))
    if i %% 100 == 99:
        lag = t0 + (i + 1) / %(pps)d - time.time()
        if lag > 0:
            time.sleep(lag)
    if time.time() - t0 > %(secs)d:     # ... and in time
        break
"""


def test_flood_declared_within_3s(topo, tmp_path):
    atk, cap = attacker_link(topo, ("192.0.2.10",))

    m = Moatd(topo, tmp_path, "collect:\n  udp: []\n  capture:\n    - { interface: %s }\n" % cap)
    m.start()
    st, body = m.request("POST", "/api/v1/pos", body={
        "name": "web", "prefixes": ["192.0.2.0/24"],
        "thresholds": {"udp": {"pps": 300}}})
    assert st == 201, body
    time.sleep(1.5)                     # the PO table reaches the capture threads

    t0 = time.time()
    flood = topo.spawn(atk, "/usr/bin/python3", "-c", FLOOD % {"n": 8000, "pps": 2000, "secs": 6})

    def declared():
        st, body = m.request("GET", "/api/v1/attacks?state=live", token=None)
        assert st == 200, body
        live = [a for a in body["attacks"] if a["state"] == "declared"]
        return live[0] if live else None
    a = wait_for(declared, timeout=10, interval=0.1, what="the flood to be declared")
    seen = time.time()
    flood.wait(timeout=15)
    assert a["po"] == "web" and a["protocol"] == "udp" and a["type"] == "udp-flood"
    print("declared %.2f s after the flood began" % (a["declared"] - t0))
    assert a["declared"] - t0 <= 3.0, "declared %.2f s after the flood began" % (a["declared"] - t0)
    assert seen - t0 <= 4.0
    assert "pps" in a["reason"] and "limit 300" in a["reason"]

    listed = m.moat("attacks").stdout
    assert "web" in listed and "udp-flood" in listed
    one = json.loads(m.moat("--json", "attack", str(a["id"])).stdout)
    assert one["detectors"][0]["name"] == "threshold"
    assert one["peak_pps"] > 300
    assert one["top_targets"][0]["address"] == "192.0.2.10"
    assert "192.0.2.10" in m.moat("attack", str(a["id"])).stdout
    st, fl = m.request("GET", "/api/v1/flight?category=attack", token=None)
    assert st == 200
    assert any(e["event"] == "attack.declared" and e["detail"]["id"] == a["id"]
               for e in fl["entries"])
    assert m.stop() == 0
