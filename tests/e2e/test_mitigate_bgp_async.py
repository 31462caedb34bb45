"""The BGP driver never holds the engine's loop: gobgpd frozen mid-mitigation.

Topology as in test_mitigate_router (namespaces of this test, documentation
addresses): moatd in rtr drives GoBGP in rtr; a bounded UDP flood from atk
to web (203.0.113.10) is mitigated with a blackhole route. Then gobgpd is
frozen (SIGSTOP): every gobgp call hangs until the driver's timeout (2 s).
While it is frozen the attack ends and its route is withdrawn (a gobgp call
that cannot succeed), and `moat status` keeps answering, each time within
1 s. The failure shows as a flight entry (mitigation.driver-failed). Thawed,
gobgpd still holds the route nobody wants; the periodic reconciliation
(every 60 s) removes it, with a flight entry (mitigation.reconcile).
"""
import os
import signal
import time

from conftest import binpath, need
from nslib import wait_for
from test_mitigate_router import GOBGPD_CONF, UDP_FLOOD, Router, mitigating


def test_bgp_frozen_speaker_does_not_block_the_loop(topo, tmp_path):
    need("gobgpd", "gobgp")
    r = Router(topo, tmp_path)
    d = str(tmp_path)
    with open(d + "/gobgpd.toml", "w") as f:
        f.write(GOBGPD_CONF)
    gobgpd = topo.spawn(r.rtr, "gobgpd", "-f", d + "/gobgpd.toml", "-t", "toml",
                        "--api-hosts", "127.0.0.1:50051")

    def rib():
        return topo.run(r.rtr, "gobgp", "global", "rib", "-a", "ipv4", check=False,
                        timeout=10).stdout
    wait_for(lambda: topo.run(r.rtr, "gobgp", "global", check=False, timeout=10).returncode == 0,
             timeout=15, interval=0.5, what="gobgpd's API")
    r.start_moatd("mitigate:\n  scope: target\n  drivers:\n"
                  "    bgp: { local_as: 64500, next_hop: 198.51.100.1, timeout_ms: 2000 }\n")
    r.moat("po", "add", "web", "--prefix", "203.0.113.10/32", "--driver", "bgp",
           "--threshold", "udp.pps=1000")
    time.sleep(1.5)                     # the PO table reaches the capture threads
    udp = topo.spawn(r.atk, "/usr/bin/python3", "-c",
                     UDP_FLOOD % {"n": 120000, "pps": 20000, "port": 9, "secs": 5})
    m = wait_for(lambda: mitigating(r, 1), timeout=10, interval=0.2, what="mitigation")[0]
    assert m["driver"] == "bgp"
    wait_for(lambda: "203.0.113.10/32" in rib(), timeout=10, interval=0.2,
             what="the blackhole route in GoBGP")

    os.kill(gobgpd.pid, signal.SIGSTOP)
    try:
        slowest = 0.0
        deadline = time.time() + 40     # bounded: the attack ends within ~15 s
        ended = False
        settled = None
        while time.time() < deadline:
            t0 = time.monotonic()
            out = topo.run(r.rtr, binpath("moat"), "--state", r.state, "status", check=False,
                           timeout=10)
            took = time.monotonic() - t0
            slowest = max(slowest, took)
            assert out.returncode == 0, out.stdout + out.stderr
            ms = r.moat_json("mitigations")["mitigations"]
            ended = ms and all(x["status"] == "ended" for x in ms)
            events = [e["event"] for e in
                      r.moat_json("flight", "--category", "mitigation")["entries"]]
            if ended and "mitigation.driver-failed" in events:
                # Stay frozen long enough for the queued withdrawal to run
                # and fail (two gobgp calls of 2 s at most), still asking.
                settled = settled or time.time() + 6
                if time.time() > settled:
                    break
            time.sleep(0.3)
        print("moat status with gobgpd frozen: slowest answer %.3f s" % slowest)
        assert ended, r.moat("mitigations").stdout
        assert "mitigation.driver-failed" in events, (events, r.log())
        assert slowest < 1.0, "moat status took %.3f s with gobgpd frozen" % slowest
    finally:
        os.kill(gobgpd.pid, signal.SIGCONT)
    udp.wait(timeout=30)

    # Thawed: the withdrawal failed, so the route is still there until the
    # periodic reconciliation removes it as a leftover.
    wait_for(lambda: "203.0.113.10/32" not in rib(), timeout=100, interval=1,
             what="the periodic reconciliation to remove the leftover route")
    flight = r.moat_json("flight", "--category", "mitigation")["entries"]
    rec = [e for e in flight if e["event"] == "mitigation.reconcile"]
    assert rec and rec[-1]["detail"]["removed"] >= 1, flight
    r.proc.terminate()
    assert r.proc.wait(10) == 0
