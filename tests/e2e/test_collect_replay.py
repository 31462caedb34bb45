"""Traffic collection, pcap replay on packet time (`collect.clock: packet`):
moatd replays a 20-minute capture built with scapy — benign traffic at known
per-second counts to two POs and a UDP flood to one host of PO web during a
known window — as fast as it can. The engine's clock is the packets' clock:
the replay finishes in a few real seconds, the attack's start and end in
`GET /api/v1/attacks` are packet times next to the injected window, flight
entries carry packet time, the traffic totals equal the truth exactly, and
moatd stays up after the file ends and says the replay is done.

Also: packet time next to a live input is a configuration error.
"""
import struct
import subprocess
import time

import pytest

from collectlib import Moatd, POS_YAML, observed, empty_truth, add_truth, packet_facts, POS
from nslib import wait_for
from conftest import binpath

T0 = 1700000000                 # packet time of the first second (a whole second)
SPAN = 1200                     # seconds of packet time: 20 minutes
FLOOD_START, FLOOD_END = 600, 660   # seconds after T0: [start, end)
FLOOD_PPS = 500                 # over the PO's udp.pps threshold of 200
BENIGN = (("web_udp", 3), ("dns_tcp", 2))   # per second, the whole span

CONFIG = POS_YAML.replace("prefixes: [192.0.2.0/24, \"2001:db8:1::/48\"]\n",
                          "prefixes: [192.0.2.0/24, \"2001:db8:1::/48\"]\n"
                          "    thresholds: {udp: {pps: 200}}\n") + """detection:
  set: {threshold_expiry: 2s, rate.expiry: 2s, quiet: 5s}
collect:
  clock: packet
  pcap:
    - {file: %s, speed: %s}
"""


def templates():
    from scapy.all import IP, TCP, UDP, Ether, Raw
    e = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
    return {
        "web_udp": e / IP(src="203.0.113.7", dst="192.0.2.11") / UDP(sport=5000, dport=443) /
        Raw(b"b" * 120),
        "dns_tcp": e / IP(src="203.0.113.8", dst="198.51.100.5") / TCP(sport=40000, dport=53,
                                                                        flags="S"),
        "flood": e / IP(src="203.0.113.66", dst="192.0.2.10") / UDP(sport=1234, dport=9) /
        Raw(b"f" * 200),
    }


def write_capture(path):
    """A nanosecond pcap: every second of SPAN its benign packets (and, in the
    window, the flood) spread evenly inside the second. Returns the truth per
    PO and the packet count."""
    from scapy.all import Ether
    raw = {k: bytes(v) for k, v in templates().items()}
    truth = empty_truth()
    facts = {k: packet_facts(Ether(v)) for k, v in raw.items()}   # from the bytes on file
    n = 0
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b23c4d, 2, 4, 0, 0, 65535, 1))
        for s in range(SPAN):
            kinds = [k for k, c in BENIGN for _ in range(c)]
            if FLOOD_START <= s < FLOOD_END:
                kinds += ["flood"] * FLOOD_PPS
            for i, k in enumerate(kinds):
                ns = (2 * i + 1) * 500000000 // len(kinds)     # evenly, inside the second
                f.write(struct.pack("<IIII", T0 + s, ns, len(raw[k]), len(raw[k])))
                f.write(raw[k])
                add_truth(truth, *facts[k])
                n += 1
    return truth, n


# As fast as possible, and paced at 400x the recorded speed (3 s): readings
# are exact per packet-time second either way.
@pytest.mark.parametrize("speed", ["max", "400"])
def test_packet_time_replay(topo, tmp_path, speed):
    path = str(tmp_path / "day.pcap")
    truth, npkts = write_capture(path)

    m = Moatd(topo, tmp_path, CONFIG % (path, speed))
    t_start = time.time()
    m.start()

    def done():
        st, body = m.request("GET", "/api/v1/exporters", token=None)
        assert st == 200, body
        ins = body["inputs"]
        return ins[0] if ins and ins[0]["done"] else None
    inp = wait_for(done, timeout=60, interval=0.1, what="the replay to finish")
    wall = time.time() - t_start
    span = inp["last_packet"] - inp["first_packet"]
    print("speed %s: replayed %.0f s of packet time (%d packets) in %.2f s of real time (%.0fx)"
          % (speed, span, npkts, wall, span / wall))
    assert inp["failed"] is False and inp["clock"] == "packet"
    assert inp["packets"] == npkts
    assert span > SPAN - 2
    assert wall < 30, "the replay took %.1f s" % wall

    # Totals: exact, and final as soon as the input says done.
    for po in POS:
        got = observed(m, po)
        assert got == truth[po], "PO %s: got %s want %s" % (po, got[po], truth[po])
    assert truth["web"]["in"]["udp"]["packets"] == 3 * SPAN + FLOOD_PPS * (FLOOD_END - FLOOD_START)

    # The attack, on packet time.
    st, body = m.request("GET", "/api/v1/attacks?state=all", token=None)
    assert st == 200, body
    atks = [a for a in body["attacks"] if a["po"] == "web" and a["protocol"] == "udp"]
    assert len(atks) == 1, body
    a = atks[0]
    print("attack: start %+.1f s declared %+.1f s end %+.1f s (flood %d..%d)"
          % (a["start"] - T0, a["declared"] - T0, a["end"] - T0, FLOOD_START, FLOOD_END))
    assert a["state"] == "ended"
    assert T0 + FLOOD_START <= a["start"] <= T0 + FLOOD_START + 2
    assert a["start"] <= a["declared"] <= T0 + FLOOD_START + 2
    # ends once the last detection expired (2 s: the threshold and, during
    # learning, the short-baseline rate detector) and the quiet time (5 s) passed
    assert T0 + FLOOD_END <= a["end"] <= T0 + FLOOD_END + 2 + 5 + 2

    # Flight entries carry packet time too.
    st, fl = m.request("GET", "/api/v1/flight?category=attack", token=None)
    assert st == 200
    decl = [e for e in fl["entries"] if e["event"] == "attack.declared"]
    assert decl and abs(decl[0]["time"] - a["declared"]) < 1.5

    # The clock stands still after the end; moatd keeps serving.
    time.sleep(1.2)
    assert observed(m, "web") == truth["web"]
    st, body = m.request("GET", "/api/v1/attacks?state=all", token=None)
    assert st == 200 and len(body["attacks"]) == 1
    assert m.proc.poll() is None
    assert m.stop() == 0


def test_stop_during_a_long_recorded_gap(topo, tmp_path):
    """At recorded speed a capture with an hour of silence waits an hour;
    SIGTERM must not wait with it."""
    raw = bytes(templates()["web_udp"])
    path = str(tmp_path / "gap.pcap")
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b23c4d, 2, 4, 0, 0, 65535, 1))
        for t in (T0, T0 + 1, T0 + 3600):
            f.write(struct.pack("<IIII", t, 0, len(raw), len(raw)) + raw)
    m = Moatd(topo, tmp_path, CONFIG % (path, "recorded"))
    m.start()

    def first_second_closed():
        got = observed(m, "web")["in"]["udp"]["packets"]
        return got if got >= 1 else None
    wait_for(first_second_closed, timeout=10, what="the first second to close")
    st, body = m.request("GET", "/api/v1/exporters", token=None)
    assert body["inputs"][0]["done"] is False       # waiting out the gap
    assert body["inputs"][0]["packets"] == 2         # progress shows while it waits
    assert m.stop(timeout=5) == 0


def test_packet_time_refuses_live_inputs(tmp_path):
    cfg = tmp_path / "moatd.yaml"
    cfg.write_text("collect:\n  clock: packet\n  pcap: [{file: /nonexistent.pcap}]\n"
                   "  udp: [\"127.0.0.1:2055\"]\n")
    r = subprocess.run([binpath("moatd"), "-n", "-c", str(cfg)], capture_output=True, text=True,
                       timeout=10)
    assert r.returncode == 2
    assert "live inputs cannot run on packet time" in r.stderr and ":4:" in r.stderr
