"""The BGP driver never holds the engine's loop: gobgpd frozen mid-mitigation.

Topology as in test_mitigate_router (namespaces of this test, documentation
addresses): moatd in rtr drives GoBGP in rtr; a bounded UDP flood from atk
to web (203.0.113.10) is mitigated with a blackhole route. Then gobgpd is
frozen (SIGSTOP): every gobgp call hangs until the driver's timeout (2 s).
While it is frozen the attack ends and its route is withdrawn (a gobgp call
that cannot succeed), and `moat status` keeps answering, each time within
1 s. The failure shows as a flight entry (mitigation.driver-failed). Thawed,
gobgpd still holds the route nobody wants; the periodic reconciliation
(every 60 s) removes it, with a flight entry (mitigation.reconcile). The
second test does the same through privilege separation (moatd --user).
"""
import json
import os
import shutil
import signal
import tempfile
import time

from conftest import binpath, need
from nslib import sh, wait_for
from test_foundation_moatd import free_port
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


def test_bgp_frozen_speaker_through_privsep(topo):
    """The same with `moatd --user moat`: the bgp driver runs in the
    privileged part, the engine reaches it over the channel. A proven scan
    alarm blackholes the PO's host; with gobgpd frozen, `moat unmitigate`
    returns, `moat status` keeps answering within 1 s, and the privileged
    driver's failure reaches the engine (STATUS request) as a
    mitigation.driver-failed flight entry."""
    need("gobgpd", "gobgp")
    sh("getent", "passwd", "moat")
    d = tempfile.mkdtemp(prefix="moat-bgpasync-", dir="/tmp")
    os.chmod(d, 0o755)
    try:
        rtr = topo.ns("rtr")
        with open(d + "/gobgpd.toml", "w") as f:
            f.write(GOBGPD_CONF)
        gobgpd = topo.spawn(rtr, "gobgpd", "-f", d + "/gobgpd.toml", "-t", "toml",
                            "--api-hosts", "127.0.0.1:50051")
        wait_for(lambda: topo.run(rtr, "gobgp", "global", check=False,
                                  timeout=10).returncode == 0,
                 timeout=15, interval=0.5, what="gobgpd's API")
        state = d + "/state"
        port = free_port()
        with open(d + "/moatd.yaml", "w") as f:
            f.write('api:\n  listen: "127.0.0.1:%d"\nmitigate:\n  drivers:\n'
                    '    bgp: { local_as: 64500, next_hop: 198.51.100.1, timeout_ms: 2000 }\n'
                    % port)
        log = open(d + "/moatd.log", "w")
        p = topo.spawn(rtr, binpath("moatd"), "-c", d + "/moatd.yaml", "--state", state,
                       "--user", "moat", stdout=log, stderr=log)
        log.close()
        moat = [binpath("moat"), "--state", state]
        wait_for(lambda: topo.run(rtr, *moat, "status", check=False).returncode == 0,
                 timeout=10, what="moatd")
        topo.run(rtr, *moat, "po", "add", "web", "--prefix", "192.0.2.99/32", "--driver", "bgp")
        with open(state + "/api.token") as f:
            token = f.read().strip()
        alarm = {"type": "chaff.alarm", "kind": "syn_scan", "src": "198.51.100.7",
                 "decoy": "192.0.2.99", "n_decoys": 12, "count": 40, "scan": True,
                 "proto": "tcp", "proven": True}
        topo.run(rtr, "curl", "-sf", "-H", "Authorization: Bearer " + token,
                 "-H", "Content-Type: application/json", "-d", json.dumps(alarm),
                 "http://127.0.0.1:%d/api/v1/alarms" % port)

        def mitigations():
            return json.loads(topo.run(rtr, *moat, "--json", "mitigations").stdout)["mitigations"]

        def rib():
            return topo.run(rtr, "gobgp", "global", "rib", "-a", "ipv4", check=False,
                            timeout=10).stdout
        live = wait_for(lambda: [m for m in mitigations() if m["status"] == "mitigating"],
                        timeout=10, interval=0.3, what="the bgp mitigation")
        assert live[0]["driver"] == "bgp", live
        wait_for(lambda: "192.0.2.99/32" in rib(), timeout=10, interval=0.3,
                 what="the blackhole route in GoBGP")

        os.kill(gobgpd.pid, signal.SIGSTOP)
        try:
            t0 = time.monotonic()
            topo.run(rtr, *moat, "unmitigate", str(live[0]["id"]), timeout=10)
            slowest = time.monotonic() - t0
            events = []
            deadline = time.time() + 30
            while time.time() < deadline and "mitigation.driver-failed" not in events:
                t0 = time.monotonic()
                out = topo.run(rtr, *moat, "status", check=False, timeout=10)
                slowest = max(slowest, time.monotonic() - t0)
                assert out.returncode == 0, out.stdout + out.stderr
                events = [e["event"] for e in json.loads(topo.run(
                    rtr, *moat, "--json", "flight", "--category", "mitigation").stdout)["entries"]]
                time.sleep(0.3)
            print("privsep: slowest answer with gobgpd frozen %.3f s" % slowest)
            assert "mitigation.driver-failed" in events, events
            assert all(m["status"] == "ended" for m in mitigations())
            assert slowest < 1.0, "moat took %.3f s with gobgpd frozen" % slowest
        finally:
            os.kill(gobgpd.pid, signal.SIGCONT)
        os.kill(p.pid, signal.SIGTERM)
        assert p.wait(15) == 0
    finally:
        shutil.rmtree(d, ignore_errors=True)
