"""Do no harm, end to end: the rate detector's attacks end, and mitigation
with them.

The router topology of test_mitigate_router (atk 198.51.100.2 and cli
192.0.2.2 reach vic 203.0.113.10 through rtr, where moatd runs, captures
both client-side interfaces and mitigates with nft). The rate detector (not
a threshold) decides, after a short learning period set in the config. The
benign stream is 512-byte UDP from cli; floods are 64-byte UDP from atk (a
flood's character: tiny packets from a new heavy source). Outcomes are
checked with counters in the namespaces' own nft table (not moat's):

- a benign stream that steps +100 % and stays is never declared (or its
  attack ends within rate.relearn + quiet), then a 5x flood is declared by
  the rate detector and mitigated: the flood stops arriving;
- a mitigated 3x flood (scope sources) whose target keeps its legitimate
  stream: the legitimate stream keeps arriving while the flood is dropped,
  and the attack and its rule end within a minute of the flood's end, with
  the stream still flowing and nothing of moat left in the router;
- probes (mitigate.probe_after 10 s here): while the flood goes on, each
  probe finds it again and the same rule goes back at once, so the flood
  stays dropped but for the probes' few seconds; after the flood the
  mitigation ends (by a probe or with its attack) and nothing is left.
"""
import json
import os
import signal
import time

from conftest import binpath, need
from nslib import wait_for
from test_foundation_moatd import free_port
from test_mitigate_router import Router, moat_rules

# SIGTERM ends the stream cleanly (exit 0): a test ends a flood once it has
# measured what it needs instead of waiting out its longest length.
SEND = r"""
import signal, socket, time
stop = []
signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
t0 = time.time()
for i in range(%(n)d):                  # bounded in count ...
    if stop:
        break
    s.sendto(b"x" * %(size)d, ("203.0.113.10", 9))
    if i %% 10 == 9:
        lag = t0 + (i + 1) / %(pps)d - time.time()
        if lag > 0:
            time.sleep(lag)
    if time.time() - t0 > %(secs)d:     # ... and in time
        break
"""

COUNT = """
table inet dh {
  chain c {
    type filter hook %s priority 0; policy accept;
    ip daddr 203.0.113.10 ip saddr 192.0.2.2 udp dport 9 counter comment "legit"
    ip daddr 203.0.113.10 ip saddr 198.51.100.2 udp dport 9 counter comment "flood"
  }
}
"""

# Learning 8 s; a same-character shift is re-learned after 10 s; the
# rest (quiet 30 s, rate.expiry 10 s, persist 3) are the defaults. How long
# the learning lasts barely matters here: its EWMA's period is
# rate.period_learn (240 s), so 8 readings move the baseline from the
# warm-up's about as little as 15 did (3 % of the way, not 6 %).
DETECTION = """detection:
  set:
    rate.warmup: 1s
    rate.learn: 8s
    rate.relearn: 10s
"""


def send(topo, ns, pps, secs, size):
    return topo.spawn(ns, "/usr/bin/python3", "-c", SEND % {
        "n": pps * secs, "pps": pps, "secs": secs, "size": size})


def finish(p):
    """End a sender early (SIGTERM to its group) and return its exit status:
    0 when it ran without error until then."""
    if p.poll() is None:
        os.killpg(p.pid, signal.SIGTERM)
    return p.wait(timeout=10)


def counters(topo, ns):
    out = json.loads(topo.run(ns, "nft", "-j", "list", "table", "inet", "dh").stdout)
    got = {}
    for item in out["nftables"]:
        rule = item.get("rule")
        if rule and "comment" in rule:
            for e in rule["expr"]:
                if "counter" in e:
                    got[rule["comment"]] = e["counter"]["packets"]
    return got


class RateRouter(Router):
    """The router with moatd capturing both client sides, the rate detector
    learning for 8 s, and the test's own counters."""

    def __init__(self, topo, tmp_path, detection=DETECTION,
                 mitigate="mitigate:\n  scope: sources\n  min_source_share: 50\n"):
        super().__init__(topo, tmp_path)
        t = topo.tag[-5:]
        for ns, hook in ((self.atk, "output"), (self.cli, "output"), (self.vic, "input")):
            topo.run(ns, "nft", "-f", "-", input=COUNT % hook)
        conf = self.dir / "moatd.yaml"
        conf.write_text('api:\n  listen: "127.0.0.1:%d"\n' % free_port("127.0.0.1") +
                        "collect:\n  udp: []\n  capture:\n"
                        "    - { interface: ra%s }\n    - { interface: rc%s }\n" % (t, t) +
                        detection + mitigate)

    def start(self, *po_args):
        self.start_moatd()
        self.moat("po", "add", "web", "--prefix", "203.0.113.10/32", "--driver", "nft", *po_args)

    def attacks(self):
        return self.moat_json("attacks", "--state", "all")["attacks"]

    def mitigations(self):
        return self.moat_json("mitigations")["mitigations"]

    def stop(self):
        self.proc.terminate()
        assert self.proc.wait(10) == 0


def learned(r):
    fl = r.moat_json("flight", "--category", "learning")["entries"]
    return any(e["event"] == "learning.done" and "web udp in" in e["message"] for e in fl)


def live(r):
    return [a for a in r.attacks() if a["state"] in ("declared", "ending")]


def test_step_then_flood(topo, tmp_path):
    """A benign 200 pps stream doubles for good: no attack outlives
    relearn + quiet; a 2000 pps flood of tiny packets after it is declared by
    the rate detector and mitigated."""
    need("nft")
    r = RateRouter(topo, tmp_path)
    r.start()
    base = send(topo, r.cli, 200, 200, 512)
    wait_for(lambda: learned(r), timeout=40, interval=0.5, what="web udp in to learn")
    time.sleep(5)
    assert r.attacks() == [], r.attacks()
    step = send(topo, r.cli, 200, 180, 512)    # +100 %, same users, stays
    t_step = time.time()
    # A declaration of the step comes within its first readings (rate.persist);
    # 15 s past rate.relearn (10 s), the step is re-learned if ever declared.
    time.sleep(25)

    # declared or not, nothing of the step is live after relearn + quiet
    def settled():
        declared = [a for a in r.attacks() if a["declared"] is not None]
        return [declared] if all(a["state"] == "ended" for a in declared) else None
    try:
        stepped, = wait_for(settled, timeout=30 + 15, interval=1,
                           what="the step's attack (if any) to end")
    except AssertionError:
        raise AssertionError("%s\n%s" % (r.attacks(), r.log()))
    print("step: %d attack(s) declared, none live %.0f s after the step" %
          (len(stepped), time.time() - t_step))
    assert not [m for m in r.mitigations() if m["status"] == "mitigating"]
    time.sleep(3)

    c0 = counters(topo, r.vic)
    flood = send(topo, r.atk, 2000, 20, 64)

    def mitigated():
        ms = [m for m in r.mitigations() if m["status"] == "mitigating"]
        return ms or None
    try:
        m = wait_for(mitigated, timeout=15, interval=0.2, what="the flood mitigated")[0]
    except AssertionError:
        raise AssertionError("%s\n%s" % (r.attacks(), r.log()))
    attack = r.moat_json("attack", str(m["request"]["attack_id"]))
    assert attack["id"] not in [a["id"] for a in stepped]
    assert "rate" in [d["name"] for d in attack["detectors"]], attack
    assert attack["type"] == "udp-flood", attack
    assert m["driver"] == "nft" and m["request"]["targets"] == ["203.0.113.10/32"], m
    time.sleep(4)                           # the sources arrive, the rule settles
    v0, f0 = counters(topo, r.vic), counters(topo, r.atk)
    time.sleep(4)
    f1, v1 = counters(topo, r.atk), counters(topo, r.vic)
    sent, got = f1["flood"] - f0["flood"], v1["flood"] - v0["flood"]
    print("flood under the rule: sent %d arrived %d; before: %d arrived" %
          (sent, got, v0["flood"] - c0["flood"]))
    assert sent > 3000 and got <= 0.05 * sent
    assert finish(flood) == 0               # measured: the flood need not run its 20 s
    for p in (base, step):
        p.kill()
        p.wait(10)
    r.stop()


def test_mitigated_flood_ends_within_a_minute(topo, tmp_path):
    """A 300 pps legitimate stream to .10, then a +600 pps flood (3x) until
    it is measured (20 s at most): the rule names the flood's source only,
    the stream keeps arriving, and the attack and its rule end within a
    minute of the flood's end."""
    need("nft")
    r = RateRouter(topo, tmp_path)
    r.start()
    legit = send(topo, r.cli, 300, 140, 512)
    wait_for(lambda: learned(r), timeout=40, interval=0.5, what="web udp in to learn")
    time.sleep(5)
    assert r.attacks() == [], r.attacks()

    flood = send(topo, r.atk, 600, 20, 64)

    def refined():
        ms = [m for m in r.mitigations() if m["status"] == "mitigating"]
        return ms if ms and ms[0]["request"]["sources"] else None
    try:
        m = wait_for(refined, timeout=15, interval=0.2, what="the rule on the flood's source")[0]
    except AssertionError:
        raise AssertionError("%s\n%s\n%s" % (r.attacks(), r.mitigations(), r.log()))
    assert m["request"]["sources"] == ["198.51.100.2"], m
    v0, l0, f0 = counters(topo, r.vic), counters(topo, r.cli), counters(topo, r.atk)
    time.sleep(4)
    l1, f1, v1 = counters(topo, r.cli), counters(topo, r.atk), counters(topo, r.vic)
    legit_sent, legit_got = l1["legit"] - l0["legit"], v1["legit"] - v0["legit"]
    flood_sent, flood_got = f1["flood"] - f0["flood"], v1["flood"] - v0["flood"]
    print("under the rule: legit sent %d arrived %d; flood sent %d arrived %d" %
          (legit_sent, legit_got, flood_sent, flood_got))
    assert flood_sent > 1000 and flood_got <= 0.05 * flood_sent
    assert legit_sent > 600 and legit_got >= 0.98 * legit_sent

    assert finish(flood) == 0               # the flood ends here (at most its 20 s)
    t_end = time.time()
    attack_id = m["request"]["attack_id"]

    def ended():
        a = r.moat_json("attack", str(attack_id))
        return a if a["state"] == "ended" else None
    try:
        a = wait_for(ended, timeout=60, interval=1, what="the attack to end within a minute")
    except AssertionError:
        raise AssertionError("%s\n%s" % (r.moat_json("attack", str(attack_id)), r.log()))
    print("attack ended %.0f s after the flood (end - last flood second: %d s)" %
          (time.time() - t_end, a["end"] - int(t_end)))
    wait_for(lambda: moat_rules(topo, r.rtr) == [], timeout=5, interval=0.2,
             what="the rule withdrawn")
    assert [x["status"] for x in r.mitigations()] == ["ended"]
    # the stream still flows after the end, and no new attack was declared
    v0 = counters(topo, r.vic)
    time.sleep(3)
    v1 = counters(topo, r.vic)
    assert v1["legit"] - v0["legit"] > 600
    assert [x["id"] for x in r.attacks()] == [attack_id]
    legit.kill()
    legit.wait(10)
    r.stop()


def test_probe_reinstalls_during_the_flood(topo, tmp_path):
    """A 3000 pps flood over the PO's 1000 pps UDP threshold, until two
    probes are done (40 s at most), rules probed every 10 s for up to 5 s:
    every probe during the flood puts the rule back (the threshold detects
    the flood again at once), most of the flood is still dropped, and after
    the flood nothing of moat remains."""
    need("nft")
    r = RateRouter(topo, tmp_path, detection="detection:\n  set:\n    threshold_expiry: 3s\n"
                   "    quiet: 20s\n",
                   mitigate="mitigate:\n  scope: proto\n  probe_after: 10s\n"
                   "  probe_window: 5s\n")
    r.start("--threshold", "udp.pps=1000")
    time.sleep(1.5)
    f0 = counters(topo, r.atk)
    v0 = counters(topo, r.vic)
    flood = send(topo, r.atk, 3000, 40, 64)

    def mitigated():
        return [m for m in r.mitigations() if m["status"] == "mitigating"] or None
    m = wait_for(mitigated, timeout=10, interval=0.2, what="the flood mitigated")[0]

    def mitigation_events():
        return [e["event"] for e in
                r.moat_json("flight", "--category", "mitigation")["entries"]]

    # The flood goes on (40 s at most) until two probes have each put the rule
    # back and it has sent the 60000 packets asked of it below; then it stops.
    def probed_twice():
        return (mitigation_events().count("mitigation.probe-reinstalled") >= 2 and
                counters(topo, r.atk)["flood"] - f0["flood"] > 60000) or flood.poll() is not None
    wait_for(probed_twice, timeout=45, interval=0.5, what="two probes during the flood")
    assert finish(flood) == 0
    f1, v1 = counters(topo, r.atk), counters(topo, r.vic)
    sent, got = f1["flood"] - f0["flood"], v1["flood"] - v0["flood"]
    events = mitigation_events()
    print("flood: sent %d arrived %d (%.1f %%); events %s" % (sent, got, 100.0 * got / sent,
                                                            events))
    probes = events.count("mitigation.probe")
    back = events.count("mitigation.probe-reinstalled")
    assert probes >= 2 and back >= 2, events
    assert sent > 60000 and got < 0.25 * sent

    def ended():
        ms = r.mitigations()
        return ms if all(x["status"] == "ended" for x in ms) else None
    ms = wait_for(ended, timeout=60, interval=1, what="the mitigation to end")
    print("ended: %s" % [x["reason"] for x in ms])
    assert [x["id"] for x in ms] == [m["id"]]
    wait_for(lambda: moat_rules(topo, r.rtr) == [], timeout=5, interval=0.2,
             what="the rule withdrawn")
    r.stop()
