"""Do no harm: mitigation blocks only what attacks, and leaves nothing behind.

The router topology of test_mitigate_router (atk 198.51.100.2 and cli
192.0.2.2 reach vic 203.0.113.10/.11 through rtr, where moatd runs and
captures both client-side interfaces). Each test checks real outcomes with
counters in the namespaces' own nftables tables (not moat's):

- a busy host of the same PO that is not attacked keeps all its traffic
  while its neighbour's flood is dropped;
- a rule left by a killed run is removed at start and recorded, although
  the nft driver is not configured now and GoBGP (configured) is down;
- `scope: sources` ends up blocking only the flood's source, while a benign
  source sending to the same host and port keeps passing;
- a dry-run PO installs nothing and records what it would have done;
- an address on the never-block list is never blocked.
"""
import json
import time

from conftest import binpath, need
from nslib import wait_for
from test_mitigate_router import Router, mitigating, moat_rules, stop

SEND = r"""
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
t0 = time.time()
for i in range(%(n)d):                  # bounded in count ...
    s.sendto(b"x" * 64, ("%(dst)s", %(port)d))
    if i %% 20 == 19:
        lag = t0 + (i + 1) / %(pps)d - time.time()
        if lag > 0:
            time.sleep(lag)
    if time.time() - t0 > %(secs)d:     # ... and in time
        break
"""

# The test's own counters (table "harm"), per flow of these tests.
HARM = """
table inet harm {
  chain c {
    type filter hook %s priority 0; policy accept;
    ip daddr 203.0.113.10 ip saddr 198.51.100.2 udp dport 9 counter comment "flood"
    ip daddr 203.0.113.11 udp dport 5353 counter comment "busy"
    ip daddr 203.0.113.10 ip saddr 192.0.2.2 udp dport 9 counter comment "benign"
  }
}
"""


def harm_counters(topo, ns):
    out = json.loads(topo.run(ns, "nft", "-j", "list", "table", "inet", "harm").stdout)
    got = {}
    for item in out["nftables"]:
        rule = item.get("rule")
        if rule and "comment" in rule:
            for e in rule["expr"]:
                if "counter" in e:
                    got[rule["comment"]] = e["counter"]["packets"]
    return got


def send(topo, ns, dst, port, pps, secs):
    return topo.spawn(ns, "/usr/bin/python3", "-c", SEND % {
        "n": pps * secs, "dst": dst, "port": port, "pps": pps, "secs": secs})


class HarmRouter(Router):
    """The router, capturing both client sides, with the test's counters."""

    def __init__(self, topo, tmp_path):
        super().__init__(topo, tmp_path)
        self.r_cli = "rc" + topo.tag[-5:]
        for ns, hook in ((self.atk, "output"), (self.cli, "output"), (self.vic, "input")):
            topo.run(ns, "nft", "-f", "-", input=HARM % hook)

    def start(self, mitigate_yaml):
        conf = self.dir / "moatd.yaml"
        super().start_moatd(mitigate_yaml)
        # the base class captures the attacker side only: add the client side, restart
        text = conf.read_text().replace(
            "    - { interface: %s }\n" % self.r_atk,
            "    - { interface: %s }\n    - { interface: %s }\n" % (self.r_atk, self.r_cli))
        conf.write_text(text)
        self.proc.terminate()
        assert self.proc.wait(10) == 0
        self.start_moatd()

    def flight(self):
        return self.moat_json("flight", "--category", "mitigation")["entries"]

    def stop(self):
        self.proc.terminate()
        assert self.proc.wait(10) == 0


def window_start(topo, receiver, *senders):
    """Counters at the start of a window: the receiver first, so packets a
    sender counts inside the window arrive inside it too."""
    return [harm_counters(topo, ns) for ns in (receiver,) + senders]


def window_end(topo, *namespaces):
    """Counters at the end of a window: senders first, the receiver last."""
    return [harm_counters(topo, ns) for ns in namespaces]


def delta(topo, ns, secs):
    a = harm_counters(topo, ns)
    time.sleep(secs)
    b = harm_counters(topo, ns)
    return {k: b[k] - a[k] for k in b}


def test_busy_unattacked_host_keeps_its_traffic(topo, tmp_path):
    """PO web holds .10 (flooded, UDP 9) and .11 (busy: steady UDP 5353 at
    about 3 % of the PO's UDP). The rule names .10 only; .11 loses nothing."""
    need("nft")
    r = HarmRouter(topo, tmp_path)
    r.start("mitigate:\n  scope: target\n")
    r.moat("po", "add", "web", "--prefix", "203.0.113.10/32", "--prefix", "203.0.113.11/32",
           "--driver", "nft", "--threshold", "udp.pps=3000")
    time.sleep(1.5)
    busy = send(topo, r.cli, "203.0.113.11", 5353, 500, 25)
    time.sleep(1)
    flood = send(topo, r.atk, "203.0.113.10", 9, 15000, 14)
    live = wait_for(lambda: mitigating(r, 1), timeout=10, interval=0.2, what="mitigation")
    assert live[0]["request"]["targets"] == ["203.0.113.10/32"], live[0]
    time.sleep(2)                       # refinements settle
    m = mitigating(r, 1)[0]
    assert m["request"]["targets"] == ["203.0.113.10/32"], m
    v0, a0, f0 = window_start(topo, r.vic, r.cli, r.atk)
    time.sleep(3)
    a1, f1, v1 = window_end(topo, r.cli, r.atk, r.vic)
    busy_sent, busy_got = a1["busy"] - a0["busy"], v1["busy"] - v0["busy"]
    flood_sent, flood_got = f1["flood"] - f0["flood"], v1["flood"] - v0["flood"]
    print("busy: sent %d arrived %d; flood: sent %d arrived %d" %
          (busy_sent, busy_got, flood_sent, flood_got))
    assert flood_sent > 5000 and flood_got <= 0.05 * flood_sent
    assert busy_sent > 600 and busy_got >= 0.98 * busy_sent
    stop(flood)                         # measured: the flows end here
    stop(busy)
    r.stop()


def test_leftover_of_killed_run_removed_with_gobgp_down(topo, tmp_path):
    """A run mitigating with nft is SIGKILLed; the next run has another state
    directory (nothing saved), no nft section, and a bgp driver whose GoBGP
    is down. At start the nft leftover is removed and recorded, bgp is
    reported as not inspectable, and nothing stops the others."""
    need("nft")
    r = HarmRouter(topo, tmp_path)
    r.start_moatd("mitigate:\n  scope: proto\n")
    r.moat("po", "add", "web", "--prefix", "203.0.113.10/32", "--driver", "nft",
           "--threshold", "udp.pps=1000")
    time.sleep(1.5)
    flood = send(topo, r.atk, "203.0.113.10", 9, 10000, 8)
    first = wait_for(lambda: mitigating(r, 1), timeout=10, interval=0.2, what="mitigation")[0]
    r.proc.kill()
    r.proc.wait(5)
    stop(flood)
    assert moat_rules(topo, r.rtr) == ["moat:%d" % first["rule_id"]]

    # A fresh state: the new run knows nothing of the old rule.
    r.state = str(tmp_path / "state2")
    (tmp_path / "state2").mkdir()
    r.start_moatd("mitigate:\n  drivers:\n    bgp: { local_as: 64500, api: \"127.0.0.1:9\","
                  " timeout_ms: 500 }\n")
    assert moat_rules(topo, r.rtr) == []
    assert "moat" not in topo.run(r.rtr, "nft", "list", "ruleset").stdout
    assert r.moat_json("mitigations")["mitigations"] == []
    flight = r.flight()
    rec = [e for e in flight if e["event"] == "mitigation.reconcile"]
    assert rec and rec[0]["detail"]["driver"] == "nft", flight
    assert rec[0]["detail"]["removed_ids"] == [first["rule_id"]]
    failed = [e for e in flight if e["event"] == "mitigation.inspect-failed"]
    assert [e["detail"]["driver"] for e in failed] == ["bgp"], flight
    health = r.moat_json("status")
    assert "bgp" in json.dumps(health), health
    r.stop()


def test_scope_sources_spares_a_benign_source(topo, tmp_path):
    """A flood from 198.51.100.2 and a benign stream from 192.0.2.2 to the
    same host and port: once the sources are known the rule names the flood's
    source only, and the benign stream passes."""
    need("nft")
    r = HarmRouter(topo, tmp_path)
    r.start("mitigate:\n  scope: sources\n")
    r.moat("po", "add", "web", "--prefix", "203.0.113.10/32", "--driver", "nft",
           "--threshold", "udp.pps=3000")
    time.sleep(1.5)
    benign = send(topo, r.cli, "203.0.113.10", 9, 300, 25)
    time.sleep(1)
    flood = send(topo, r.atk, "203.0.113.10", 9, 15000, 16)

    def refined():
        ms = mitigating(r, 1)
        return ms if ms and ms[0]["request"]["sources"] else None
    m = wait_for(refined, timeout=12, interval=0.2, what="the rule refined with sources")[0]
    assert m["request"]["sources"] == ["198.51.100.2"], m
    assert len(moat_rules(topo, r.rtr)) == 1    # the old rule went after the new came
    time.sleep(0.5)
    v0, a0, c0 = window_start(topo, r.vic, r.atk, r.cli)
    time.sleep(3)
    a1, c1, v1 = window_end(topo, r.atk, r.cli, r.vic)
    fs, fg = a1["flood"] - a0["flood"], v1["flood"] - v0["flood"]
    bs, bg = c1["benign"] - c0["benign"], v1["benign"] - v0["benign"]
    print("flood: sent %d arrived %d; benign: sent %d arrived %d" % (fs, fg, bs, bg))
    assert fs > 5000 and fg <= 0.05 * fs
    assert bs > 400 and bg >= 0.98 * bs
    # the rule named the sources from the start, or was refined to them
    events = [e["event"] for e in r.flight()]
    print("flight:", events)
    assert events.count("mitigation.start") == 1
    stop(flood)                         # measured: the flows end here
    stop(benign)
    r.stop()


def test_dry_run_installs_nothing_and_says_what(topo, tmp_path):
    need("nft")
    r = HarmRouter(topo, tmp_path)
    r.start_moatd("mitigate:\n  scope: proto\n  po:\n    web: { dry_run: true }\n")
    r.moat("po", "add", "web", "--prefix", "203.0.113.10/32", "--driver", "nft",
           "--threshold", "udp.pps=1000")
    time.sleep(1.5)
    flood = send(topo, r.atk, "203.0.113.10", 9, 10000, 6)
    m = wait_for(lambda: mitigating(r, 1), timeout=10, interval=0.2, what="mitigation")[0]
    assert m["dry_run"] and "would drop proto 17" in m["reason"], m
    assert "203.0.113.10/32" in m["reason"]
    for _ in range(10):
        assert "moat" not in topo.run(r.rtr, "nft", "list", "ruleset").stdout
        time.sleep(0.3)
    v = delta(topo, r.vic, 1)
    assert v["flood"] > 1000            # nothing was blocked
    msgs = [e["message"] for e in r.flight() if e["event"] == "mitigation.start"]
    assert msgs and "dry run" in msgs[0] and "would drop" in msgs[0], msgs
    assert "would drop" in r.log()
    stop(flood)
    r.stop()


def test_never_block_address_is_never_blocked(topo, tmp_path):
    need("nft")
    r = HarmRouter(topo, tmp_path)
    r.start_moatd("mitigate:\n  scope: target\n  never_block: [203.0.113.10]\n")
    r.moat("po", "add", "web", "--prefix", "203.0.113.10/32", "--driver", "nft",
           "--threshold", "udp.pps=1000")
    time.sleep(1.5)
    flood = send(topo, r.atk, "203.0.113.10", 9, 10000, 6)

    def recorded():
        ms = r.moat_json("mitigations")["mitigations"]
        return ms or None
    m = wait_for(recorded, timeout=10, interval=0.2, what="the request")[0]
    assert m["status"] == "not-mitigated" and "never-block" in m["reason"], m
    for _ in range(6):
        assert "moat" not in topo.run(r.rtr, "nft", "list", "ruleset").stdout
        time.sleep(0.3)
    assert delta(topo, r.vic, 1)["flood"] > 1000
    msgs = [e["message"] for e in r.flight() if e["event"] == "mitigation.start"]
    assert msgs and "never-block" in msgs[0], msgs
    stop(flood)
    r.stop()
