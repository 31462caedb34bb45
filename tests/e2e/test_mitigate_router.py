"""Mitigation end to end, on a router: detection → ordered drivers → exact undo.

Topology (all namespaces of this test, documentation addresses, no route out):

    atk 198.51.100.2 ──┐                      ┌── vic 203.0.113.10
                       rtr (moatd: capture on the attacker side, nft / XDP here)
    cli 192.0.2.2 ─────┘

Two POs: "web" (203.0.113.10) and "mail" (203.0.113.11). A bounded UDP
flood (port 9) hits web and a bounded SYN flood (hping3, port 80) hits mail,
while cli keeps connecting to web on TCP port 8080. moatd, running in rtr,
declares both attacks from its threshold detector and mitigates each with
its PO's driver, scoped to the attack's protocol and top target host
(scope "proto"): web's TCP still gets through. Counters in the attacker's and the
victim's own nftables tables (not moat's) measure what was sent and what
arrived: while mitigated the victim gets at most 5 % of each flood and at
least 95 % of the legitimate traffic. When the floods stop the attacks end
and every rule is withdrawn: no moat table, no XDP program left.
"""
import json
import os
import signal
import time

import pytest

from conftest import binpath, need
from nslib import sh, wait_for
from test_foundation_moatd import free_port

UDP_FLOOD = r"""
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
t0 = time.time()
for i in range(%(n)d):                  # bounded in count ...
    s.sendto(b"x" * 64, ("203.0.113.10", %(port)d))
    if i %% 50 == 49:
        lag = t0 + (i + 1) / %(pps)d - time.time()
        if lag > 0:
            time.sleep(lag)
    if time.time() - t0 > %(secs)d:     # ... and in time
        break
"""

LEGIT = r"""
import socket, time
t0 = time.time()
for i in range(3000):                   # bounded: 100 connection attempts a second
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(0.05)
    try:
        s.connect(("203.0.113.10", 8080))
    except OSError:
        pass                            # refused: nobody listens, the SYN arrived
    s.close()
    lag = t0 + (i + 1) / 100 - time.time()
    if lag > 0:
        time.sleep(lag)
    if time.time() - t0 > 25:
        break
"""

COUNTERS = """
table inet cnt {
  chain c {
    type filter hook %s priority 0; policy accept;
    udp dport 9 counter comment "udp9"
    tcp dport 80 tcp flags syn counter comment "syn80"
    tcp dport 8080 counter comment "legit"
  }
}
"""


def counters(topo, ns):
    """The test's own per-flow counters in namespace ns: {comment: packets}."""
    out = json.loads(topo.run(ns, "nft", "-j", "list", "table", "inet", "cnt").stdout)
    got = {}
    for item in out["nftables"]:
        rule = item.get("rule")
        if not rule or "comment" not in rule:
            continue
        for e in rule["expr"]:
            if "counter" in e:
                got[rule["comment"]] = e["counter"]["packets"]
    return got


class Router:
    """Four namespaces joined at rtr, and a moatd running inside rtr."""

    def __init__(self, topo, tmp_path):
        self.topo = topo
        self.atk = topo.ns("atk")
        self.rtr = topo.ns("rtr")
        self.vic = topo.ns("vic")
        self.cli = topo.ns("cli")
        t = topo.tag[-5:]
        self.r_atk, self.a_if = "ra" + t, "aa" + t
        topo.veth(self.rtr, "198.51.100.1/24", self.atk, "198.51.100.2/24", self.r_atk, self.a_if)
        topo.veth(self.rtr, "203.0.113.1/24", self.vic, ["203.0.113.10/24", "203.0.113.11/24"],
                  "rv" + t, "vv" + t)
        topo.veth(self.rtr, "192.0.2.1/24", self.cli, "192.0.2.2/24", "rc" + t, "cc" + t)
        topo.run(self.rtr, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        topo.run(self.atk, "ip", "route", "add", "203.0.113.0/24", "via", "198.51.100.1")
        topo.run(self.cli, "ip", "route", "add", "203.0.113.0/24", "via", "192.0.2.1")
        for net in ("198.51.100.0/24", "192.0.2.0/24"):
            topo.run(self.vic, "ip", "route", "add", net, "via", "203.0.113.1")
        for ns, hook in ((self.atk, "output"), (self.cli, "output"), (self.vic, "input")):
            topo.run(ns, "nft", "-f", "-", input=COUNTERS % hook)
        self.dir = tmp_path
        self.state = str(tmp_path / "state")
        os.makedirs(self.state)
        self.proc = None

    def start_moatd(self, mitigate_yaml=None):
        """Start moatd in rtr; with no yaml, again with the previous config."""
        conf = str(self.dir / "moatd.yaml")
        if mitigate_yaml is not None:
            port = free_port("127.0.0.1")    # free in rtr: its loopback is new
            with open(conf, "w") as f:
                f.write('api:\n  listen: "127.0.0.1:%d"\n' % port)
                f.write("collect:\n  udp: []\n  capture:\n    - { interface: %s }\n"
                        % self.r_atk)
                # attacks end 3 s + 5 s after the flood, not 10 s + 30 s: the test is faster
                f.write("detection:\n  set:\n    threshold_expiry: 3s\n    quiet: 5s\n")
                f.write(mitigate_yaml)
        log = open(str(self.dir / "moatd.log"), "a")
        self.proc = self.topo.spawn(self.rtr, binpath("moatd"), "-c", conf, "--state", self.state,
                                    stdout=log, stderr=log)
        log.close()
        wait_for(lambda: self.moat("status", check=False).returncode == 0, timeout=10,
                 what="moatd in the router namespace to answer")

    def log(self):
        with open(str(self.dir / "moatd.log"), errors="replace") as f:
            return f.read()[-3000:]

    def moat(self, *args, check=True):
        return self.topo.run(self.rtr, binpath("moat"), "--state", self.state, *args, check=check)

    def moat_json(self, *args):
        return json.loads(self.moat("--json", *args).stdout)


def stop(p):
    """End a flood or stream (SIGTERM to its group) once the test has what it
    needs from it, rather than waiting out its bound in count and time."""
    if p.poll() is None:
        os.killpg(p.pid, signal.SIGTERM)
    p.wait(timeout=30)


def mitigating(r, n):
    """The live mitigations once there are n of them, else None."""
    ms = [m for m in r.moat_json("mitigations")["mitigations"] if m["status"] == "mitigating"]
    return ms if len(ms) >= n else None


def run_scenario(topo, tmp_path, driver, mitigate_yaml, left_behind):
    need("hping3", "nft")
    r = Router(topo, tmp_path)
    r.start_moatd(mitigate_yaml)
    r.moat("po", "add", "web", "--prefix", "203.0.113.10/32", "--driver", driver,
           "--threshold", "udp.pps=1000")
    r.moat("po", "add", "mail", "--prefix", "203.0.113.11/32", "--driver", driver,
           "--threshold", "tcp.syn_pps=500")
    time.sleep(1.5)                     # the PO table reaches the capture threads

    legit = topo.spawn(r.cli, "/usr/bin/python3", "-c", LEGIT)
    udp = topo.spawn(r.atk, "/usr/bin/python3", "-c",
                     UDP_FLOOD % {"n": 300000, "pps": 20000, "port": 9, "secs": 12})
    syn = topo.spawn(r.atk, "hping3", "-q", "-S", "-p", "80", "-i", "u250", "-c", "40000",
                     "203.0.113.11")
    try:
        live = wait_for(lambda: mitigating(r, 2), timeout=8, interval=0.2,
                        what="both floods to be mitigated")
    except AssertionError:
        raise AssertionError("%s\n%s" % (r.moat("mitigations").stdout, r.log()))
    assert {m["driver"] for m in live} == {driver}
    assert {m["request"]["attack_type"] for m in live} == {"udp-flood", "syn-flood"}
    for m in live:      # the counters' samples name the attacker as the top source
        attack = r.moat_json("attack", str(m["request"]["attack_id"]))
        assert attack["top_sources"][0]["address"] == "198.51.100.2", attack["top_sources"]
    targets = {m["request"]["attack_type"]: m["request"]["targets"] for m in live}
    # each rule names its victim host, not the whole PO
    assert targets == {"udp-flood": ["203.0.113.10/32"], "syn-flood": ["203.0.113.11/32"]}
    time.sleep(0.5)                     # packets queued before the rule went in arrive

    a0, v0, c0 = counters(topo, r.atk), counters(topo, r.vic), counters(topo, r.cli)
    time.sleep(3)
    a1, v1, c1 = counters(topo, r.atk), counters(topo, r.vic), counters(topo, r.cli)
    for flow in ("udp9", "syn80"):
        sent, got = a1[flow] - a0[flow], v1[flow] - v0[flow]
        print("%s %s: sent %d, arrived %d while mitigated" % (driver, flow, sent, got))
        assert sent > 1000, "the %s flood did not run" % flow
        assert got <= 0.05 * sent, "%s: %d of %d arrived" % (flow, got, sent)
    sent, got = c1["legit"] - c0["legit"], v1["legit"] - v0["legit"]
    print("%s legit: sent %d, arrived %d" % (driver, sent, got))
    assert sent > 150 and got >= 0.95 * sent

    # The rules count what they drop, read back into the mitigations.
    wait_for(lambda: all(m["packets"] > 0 for m in mitigating(r, 2) or [{"packets": 0}]),
             timeout=5, what="dropped packets counted")

    for p in (udp, syn):                # measured: the floods end here
        stop(p)

    def all_ended():
        ms = r.moat_json("mitigations")["mitigations"]
        return ms and all(m["status"] == "ended" for m in ms)
    wait_for(all_ended, timeout=90, interval=1, what="the attacks to end and the rules to go")
    assert left_behind(r) == "", left_behind(r)
    stop(legit)                         # it ran through every attack's end
    flight = r.moat_json("flight", "--category", "mitigation")["entries"]
    events = [e["event"] for e in flight]
    assert events.count("mitigation.start") == 2 and events.count("mitigation.end") == 2
    r.proc.terminate()
    assert r.proc.wait(10) == 0


def test_nft_driver_on_router(topo, tmp_path):
    def left(r):
        return topo.run(r.rtr, "nft", "list", "ruleset").stdout if "moat" in \
            topo.run(r.rtr, "nft", "list", "ruleset").stdout else ""
    run_scenario(topo, tmp_path, "nft", "mitigate:\n  scope: proto\n", left)


def test_xdp_driver_on_router(topo, tmp_path):
    def left(r):
        link = json.loads(topo.run(r.rtr, "ip", "-j", "link", "show", "dev", r.r_atk).stdout)
        return json.dumps(link[0]["xdp"]) if "xdp" in link[0] else ""
    # the interface name is only known once the topology exists: fill it in late
    topo_tag = topo.tag[-5:]
    yaml = "mitigate:\n  scope: proto\n  drivers:\n    xdp: { interfaces: [ra%s] }\n" % topo_tag
    run_scenario(topo, tmp_path, "xdp", yaml, left)


def moat_rules(topo, ns):
    """The comments of moat's nft rules in namespace ns."""
    out = topo.run(ns, "nft", "-j", "list", "ruleset").stdout
    return [i["rule"]["comment"] for i in json.loads(out)["nftables"]
            if "rule" in i and i["rule"].get("table") == "moat"]


def test_nft_restart_reconciles(topo, tmp_path):
    """SIGKILL moatd while it mitigates, delete its rule by hand, start it:
    the rule is back exactly once, and the attack's end still removes it."""
    need("nft")
    r = Router(topo, tmp_path)
    r.start_moatd("mitigate:\n  scope: proto\n")
    r.moat("po", "add", "web", "--prefix", "203.0.113.10/32", "--driver", "nft",
           "--threshold", "udp.pps=1000")
    time.sleep(1.5)
    udp = topo.spawn(r.atk, "/usr/bin/python3", "-c",
                     UDP_FLOOD % {"n": 400000, "pps": 20000, "port": 9, "secs": 15})
    first = wait_for(lambda: mitigating(r, 1), timeout=8, interval=0.2, what="mitigation")[0]
    assert len(moat_rules(topo, r.rtr)) == 1

    r.proc.kill()
    r.proc.wait(5)
    handle = [i["rule"]["handle"] for i in json.loads(topo.run(
        r.rtr, "nft", "-j", "-a", "list", "table", "inet", "moat").stdout)["nftables"] if "rule" in i]
    topo.run(r.rtr, "nft", "delete", "rule", "inet", "moat", "mitigate", "handle", str(handle[0]))
    assert moat_rules(topo, r.rtr) == []

    r.start_moatd()
    assert moat_rules(topo, r.rtr) == ["moat:%d" % first["id"]]   # back, once
    again = mitigating(r, 1)
    assert again and again[0]["id"] == first["id"]
    events = [e["event"] for e in r.moat_json("flight", "--category", "mitigation")["entries"]]
    assert "mitigation.reinstalled" in events and "mitigation.reconcile" in events

    stop(udp)                           # reconciled: the flood ends here
    wait_for(lambda: moat_rules(topo, r.rtr) == [] and
             all(m["status"] == "ended" for m in r.moat_json("mitigations")["mitigations"]),
             timeout=90, interval=1, what="the attack to end and its rule to go")
    assert "moat" not in topo.run(r.rtr, "nft", "list", "ruleset").stdout
    r.proc.terminate()
    assert r.proc.wait(10) == 0


BIRD_CONF = """router id 198.51.100.2;
protocol device {}
protocol bgp upstream {
  local 198.51.100.2 as 64501;
  neighbor 198.51.100.1 port 1790 as 64500;
  connect delay time 1;
  connect retry time 1;
  ipv4 { import all; export none; };
}
"""

GOBGPD_CONF = """[global.config]
  as = 64500
  router-id = "198.51.100.1"
  port = 1790
[[neighbors]]
  [neighbors.config]
    neighbor-address = "198.51.100.2"
    peer-as = 64501
  [neighbors.timers.config]
    connect-retry = 1
"""


def test_bgp_blackhole_from_a_live_attack(topo, tmp_path):
    """moatd's speaker (GoBGP in rtr) peers with BIRD 2 in the attacker-side
    namespace standing in for the upstream: during the flood BIRD holds the
    victim's /32 with community (65535,666); after the attack it is gone."""
    need("gobgpd", "bird", "birdc")
    r = Router(topo, tmp_path)
    d = str(tmp_path)
    with open(d + "/gobgpd.toml", "w") as f:
        f.write(GOBGPD_CONF)
    with open(d + "/bird.conf", "w") as f:
        f.write(BIRD_CONF)
    topo.spawn(r.rtr, "gobgpd", "-f", d + "/gobgpd.toml", "-t", "toml",
               "--api-hosts", "127.0.0.1:50051")
    topo.spawn(r.atk, "bird", "-f", "-c", d + "/bird.conf", "-s", d + "/bird.ctl")

    def bird(*args):
        return topo.run(r.atk, "birdc", "-s", d + "/bird.ctl", *args, check=False).stdout
    wait_for(lambda: "Established" in bird("show", "protocols", "all", "upstream"),
             timeout=30, interval=0.5, what="the BGP session")
    r.start_moatd("mitigate:\n  scope: target\n  drivers:\n"
                  "    bgp: { local_as: 64500, next_hop: 198.51.100.1 }\n")
    r.moat("po", "add", "web", "--prefix", "203.0.113.10/32", "--driver", "bgp",
           "--threshold", "udp.pps=1000")
    time.sleep(1.5)
    udp = topo.spawn(r.atk, "/usr/bin/python3", "-c",
                     UDP_FLOOD % {"n": 200000, "pps": 20000, "port": 9, "secs": 8})
    m = wait_for(lambda: mitigating(r, 1), timeout=10, interval=0.2, what="mitigation")[0]
    assert m["driver"] == "bgp"
    # the speaker's neighbour (BIRD) is on the never-block list
    assert "bgp peer 198.51.100.2 is never blocked" in r.log(), r.log()
    wait_for(lambda: "(65535,666)" in bird("show", "route", "203.0.113.10/32", "all"),
             timeout=10, what="the blackhole route at the upstream")
    stop(udp)                           # announced: the flood ends here
    wait_for(lambda: "203.0.113.10/32" not in bird("show", "route"), timeout=60, interval=1,
             what="the blackhole route to be withdrawn")
    assert all(x["status"] == "ended" for x in r.moat_json("mitigations")["mitigations"])
    r.proc.terminate()
    assert r.proc.wait(10) == 0
