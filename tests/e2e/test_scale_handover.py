"""Scale-out end-to-end: a shard given back on rebalance hands its state
over (docs/scale.md, "Failure behaviour").

A nats-server with JetStream and a private PostgreSQL server (initdb +
pg_ctl) in temp dirs on free ports; one `collect` moatd receiving NetFlow
v5 on loopback; engine A alone owns every shard. A learns the PO "web"
(a short learning period in the configuration), then a UDP flood to web is
declared and mitigated by A through the notify driver (a script appending
to a file: nothing touches a firewall). Engine B joins: A gives shards back
one at a time, handing each one's baselines, live attacks and mitigations
over before it releases the lease. B owns web's shard, the attack goes on
under its id on B, the rule is not installed again, B does not learn web
again, and when the flood stops the attack ends on B and its one rule is
withdrawn once. And a clean stop mid-attack (test_clean_stop_mid_attack):
the stopping engine saves, keeps its rule and lets its leases go; the
other adopts (same id, one `ban`, one `unban`); then a SIGKILL right after
an attack ended leaves nothing live to adopt. Every process is started
through the topo fixture (killed at teardown, even on failure) and every
temp dir is removed.
"""
import signal
import socket
import time

from conftest import need  # noqa: F401
from nslib import wait_for
from clusterlib import (cluster_of, cluster_yaml, flight, free_udp_port, live_attacks,  # noqa: F401
                        nats, nf5, notify_hook, pgserver, rules_of, shard_of, store_yaml)
from test_foundation_moatd import Moatd

SHARDS = 8
NPOS = 10


def pos_yaml():
    """web = 198.51.100.0/24 (UDP threshold 300 pps) and others on /30s of
    203.0.113.0/24, each reporting to the notify driver."""
    out = ["pos:",
           "  - {name: web, prefixes: [198.51.100.0/24], drivers: [notify],",
           "     thresholds: {udp: {pps: 300}}}"]
    for i in range(NPOS - 1):
        out.append("  - {name: po-%d, prefixes: [203.0.113.%d/30], drivers: [notify]}" % (i, 4 * i))
    return "\n".join(out) + "\n"


def web_learned(m):
    """learning.done entries of web's series (the rate detector finished
    learning one). The engines share the store, so this is every engine's."""
    return [e for e in flight(m, "learning")
            if e["event"] == "learning.done" and e["message"].startswith("web ")]


def log_of(m):
    """The whole log of the moatd's current run."""
    with open(str(m.dir / ("moatd.%d.log" % m.starts)), errors="replace") as f:
        return f.read()


def test_handover_on_rebalance(topo, tmp_path, nats, pgserver):
    web_shard = shard_of("web", SHARDS)
    # A gives back its lowest shards first (0 .. SHARDS/2 - 1): web's must be one.
    assert web_shard < SHARDS // 2, web_shard
    hook_log, mitigate = notify_hook(tmp_path)
    store = store_yaml(pgserver)
    # A short learning period, so A learns web before the flood.
    detection = "detection:\n  set:\n    rate.warmup: 1s\n    rate.learn: 4s\n"
    udp = free_udp_port()

    col_dir = tmp_path / "collect"
    col_dir.mkdir()
    col = Moatd(topo, col_dir, cluster_yaml("collect", "col-1", nats.url, SHARDS) +
                "collect:\n  udp: [\"127.0.0.1:%d\"]\n" % udp + pos_yaml()).start()

    def engine(name):
        d = tmp_path / name
        d.mkdir()
        return Moatd(topo, d, cluster_yaml("engine", name, nats.url, SHARDS) + store + mitigate +
                     detection + pos_yaml())

    a = engine("eng-a").start()
    wait_for(lambda: set(cluster_of(a)["owned"]) == set(range(SHARDS)), timeout=30,
             interval=0.5, what="engine A to own every shard")

    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    seq = [0]

    def send(seconds, packets, nrec, period):
        end = time.time() + seconds
        while time.time() < end:
            s.sendto(nf5(seq[0], "198.51.100.10", packets, nrec), ("127.0.0.1", udp))
            seq[0] += nrec
            time.sleep(period)

    def flood(seconds):
        """About 10,000 pps to 198.51.100.10 for `seconds` (bounded)."""
        send(seconds, 200, 10, 0.2)

    def banned():
        return [r for r in rules_of(hook_log) if r and r[0] == "ban"]

    try:
        # A learns web from light traffic (about 20 pps, under every limit).
        t0 = time.time()
        while not web_learned(a):
            assert time.time() - t0 < 40, "A never learned web: %s" % a.log()
            send(1, 5, 2, 0.5)
        print("A learned web: %s" % [e["message"] for e in web_learned(a)])

        # The flood: declared and mitigated by A.
        t0 = time.time()
        attack = None
        while time.time() - t0 < 15 and attack is None:
            flood(0.5)
            live = live_attacks(a)
            attack = live[0] if live else None
        assert attack is not None, "the flood was not declared by A: %s" % a.log()
        t0 = time.time()
        while time.time() - t0 < 10 and not banned():
            flood(0.5)
        assert len(banned()) == 1, rules_of(hook_log)
        print("declared by A: attack %s, rule %s" % (attack["id"], banned()[0]))

        # B joins; A gives shards back one at a time, web's among them.
        b = engine("eng-b").start()
        t0 = time.time()
        while web_shard not in cluster_of(b)["owned"]:
            assert time.time() - t0 < 60, (cluster_of(a), cluster_of(b))
            flood(0.2)
        print("B owns web's shard %d %.1f s after it started" % (web_shard, time.time() - t0))

        # The attack goes on under its id on B, with A's rule (no second).
        t0 = time.time()
        after = None
        while time.time() - t0 < 10 and after is None:
            flood(0.5)
            live = live_attacks(b)
            after = live[0] if live else None
        assert after is not None, "the attack was not handed over: %s" % b.log()
        assert after["id"] == attack["id"], (after["id"], attack["id"], a.log(), b.log())
        assert not live_attacks(a), live_attacks(a)
        cb = cluster_of(b)
        assert cb["adopted_attacks"] == 1 and cb["adopted_mitigations"] == 1, cb
        st, mits = b.request("GET", "/api/v1/mitigations?scope=instance", token=None)
        held = [x for x in mits["mitigations"] if x["status"] == "mitigating"]
        assert len(held) == 1 and held[0]["request"]["attack_id"] == attack["id"], mits
        st, mits = a.request("GET", "/api/v1/mitigations?scope=instance", token=None)
        assert not [x for x in mits["mitigations"] if x["status"] == "mitigating"], mits
        took = [e for e in flight(b, "cluster") if e["event"] == "cluster.takeover"
                and "shard %d " % web_shard in e["message"]]
        print("B: %s" % [e["message"] for e in took])
        assert took and "from eng-a" in took[0]["message"], took
        assert " 0 baseline series" not in took[0]["message"], took
        gave = [e["message"] for e in flight(a, "cluster") if e["event"] == "cluster.handoff"]
        print("A: %s" % gave)
        assert any("shard %d handed over" % web_shard in m for m in gave), gave

        # B does not learn web again: the learning period (4 s) passes
        # with the flood on and no learning.done of web is added (the
        # flight record is shared: A's are there), nor in B's log.
        learned_before = len(web_learned(b))
        assert learned_before > 0
        flood(8)
        assert len(web_learned(b)) == learned_before, web_learned(b)
        # The log line is rate-limited (10 a minute), so only its absence
        # on B says something; the flight record's per-series entries above
        # are the check that holds.
        assert "detection: web " not in log_of(b), log_of(b)
        assert live_attacks(b)[0]["id"] == attack["id"]
        assert [r[0] for r in rules_of(hook_log)] == ["ban"], rules_of(hook_log)

        # The flood stops: the attack ends on B and its one rule goes, once.
        wait_for(lambda: not live_attacks(b), timeout=120, interval=1,
                 what="the attack to end")
        wait_for(lambda: any(r[0] == "unban" for r in rules_of(hook_log)), timeout=30,
                 what="the rule to be withdrawn")
        time.sleep(2)
        calls = rules_of(hook_log)
        print("hook calls: %s" % calls)
        assert [r[0] for r in calls] == ["ban", "unban"], calls
        assert calls[0][1:3] == calls[1][1:3], calls
        assert not live_attacks(a)
    finally:
        s.close()
    for m in (col, a, b):
        assert m.stop() == 0


def test_clean_stop_mid_attack(topo, tmp_path, nats, pgserver):
    """Two engines; the owner of web's shard declares and mitigates a flood
    and is stopped (SIGTERM, exit 0): it saves its state before it lets
    its leases go and leaves its rule in place; the other engine owns the
    shard at its next step and adopts the attack (same id) and its
    mitigation (no second `ban`); when the flood stops it withdraws the
    one rule once. Then the crash window: the survivor is killed (SIGKILL)
    right after that attack ended; the stopped engine comes back, takes
    the shard over from the dead one and finds the attack ended, not a live
    one to adopt (an engine saves an attack's end at once, not a minute
    later)."""
    web_shard = shard_of("web", SHARDS)
    hook_log, mitigate = notify_hook(tmp_path)
    store = store_yaml(pgserver)
    # The threshold detector declares at once; a short expiry and quiet
    # period end the attack soon after the flood.
    detection = "detection:\n  set:\n    threshold_expiry: 2s\n    quiet: 2s\n"
    udp = free_udp_port()

    col_dir = tmp_path / "collect"
    col_dir.mkdir()
    col = Moatd(topo, col_dir, cluster_yaml("collect", "col-1", nats.url, SHARDS) +
                "collect:\n  udp: [\"127.0.0.1:%d\"]\n" % udp + pos_yaml()).start()
    engines = {}
    for name in ("eng-a", "eng-b"):
        d = tmp_path / name
        d.mkdir()
        engines[name] = Moatd(topo, d, cluster_yaml("engine", name, nats.url, SHARDS) + store +
                              mitigate + detection + pos_yaml()).start()

    def split():
        owned = [set(cluster_of(m)["owned"]) for m in engines.values()]
        return (owned[0] | owned[1] == set(range(SHARDS)) and not owned[0] & owned[1]
                and len(owned[0]) == len(owned[1]))
    wait_for(split, timeout=30, interval=0.5, what="the engines to share the shards")
    owner_name = [n for n, m in engines.items() if web_shard in cluster_of(m)["owned"]][0]
    other_name = [n for n in engines if n != owner_name][0]
    owner, other = engines[owner_name], engines[other_name]

    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    seq = [0]

    def flood(seconds):
        """About 10,000 pps to 198.51.100.10 for `seconds` (bounded)."""
        end = time.time() + seconds
        while time.time() < end:
            s.sendto(nf5(seq[0], "198.51.100.10", 200, 10), ("127.0.0.1", udp))
            seq[0] += 10
            time.sleep(0.2)

    def calls():
        return [r[0] for r in rules_of(hook_log)]

    try:
        t0 = time.time()
        attack = None
        while time.time() - t0 < 15 and attack is None:
            flood(0.5)
            live = live_attacks(owner)
            attack = live[0] if live else None
        assert attack is not None, "the flood was not declared: %s" % owner.log()
        t0 = time.time()
        while time.time() - t0 < 10 and "ban" not in calls():
            flood(0.5)
        assert calls() == ["ban"], rules_of(hook_log)
        print("declared by %s: attack %s" % (owner_name, attack["id"]))

        # The clean stop: exit 0, its rule left in place.
        assert owner.stop() == 0, owner.log()
        assert calls() == ["ban"], rules_of(hook_log)
        t0 = time.time()
        while web_shard not in cluster_of(other)["owned"]:
            assert time.time() - t0 < 10, cluster_of(other)
            flood(0.2)
        print("%s owns web's shard %.1f s after the stop" % (other_name, time.time() - t0))
        t0 = time.time()
        after = None
        while time.time() - t0 < 10 and after is None:
            flood(0.5)
            live = live_attacks(other)
            after = live[0] if live else None
        assert after is not None, "the attack was not adopted: %s" % other.log()
        assert after["id"] == attack["id"], (after, attack)
        co = cluster_of(other)
        assert co["adopted_attacks"] == 1 and co["adopted_mitigations"] == 1, co
        st, mits = other.request("GET", "/api/v1/mitigations?scope=instance", token=None)
        held = [x for x in mits["mitigations"] if x["status"] == "mitigating"]
        assert len(held) == 1 and held[0]["request"]["attack_id"] == attack["id"], mits
        took = [e["message"] for e in flight(other, "cluster") if e["event"] == "cluster.takeover"
                and "shard %d " % web_shard in e["message"]]
        print("%s: %s" % (other_name, took))
        assert took and "from %s" % owner_name in took[0], took
        flood(2)
        assert calls() == ["ban"], rules_of(hook_log)

        # The flood stops: the survivor ends the attack and withdraws the rule once.
        wait_for(lambda: not live_attacks(other), timeout=60, interval=0.5,
                 what="the attack to end")
        wait_for(lambda: "unban" in calls(), timeout=15, interval=0.2,
                 what="the rule to be withdrawn")
        assert calls() == ["ban", "unban"], rules_of(hook_log)
        assert rules_of(hook_log)[0][1:3] == rules_of(hook_log)[1][1:3], rules_of(hook_log)

        # The crash window: kill the survivor right after the end; the
        # stopped engine comes back and takes the shard over from it.
        other.stop(signal.SIGKILL)
        back = time.time()
        owner.start()
        t0 = time.time()
        while web_shard not in cluster_of(owner)["owned"]:
            assert time.time() - t0 < 20, cluster_of(owner)
            time.sleep(0.5)
        took = []
        t0 = time.time()
        while not took:
            assert time.time() - t0 < 10, flight(owner, "cluster")
            # The flight record is shared: only this run's entries count.
            took = [e["message"] for e in flight(owner, "cluster")
                    if e["event"] == "cluster.takeover" and e["time"] >= back - 1
                    and "shard %d " % web_shard in e["message"]
                    and "from %s" % other_name in e["message"]]
            time.sleep(0.2)
        print("%s back: %s" % (owner_name, took))
        assert all(" 0 live attack(s)" in m for m in took), took
        assert not live_attacks(owner), live_attacks(owner)
        assert cluster_of(owner)["adopted_attacks"] == 0, cluster_of(owner)
        assert calls() == ["ban", "unban"], rules_of(hook_log)
    finally:
        s.close()
    for m in (col, owner):
        assert m.stop() == 0
