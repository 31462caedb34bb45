"""Scale-out end-to-end: moatd instances sharing the work over NATS
JetStream (docs/scale.md).

The test starts, in temp dirs, a nats-server with JetStream on free
loopback ports and a private PostgreSQL server (initdb + pg_ctl, as in
test_store_postgres), then two `collect` moatds receiving NetFlow v5 on
loopback and three `engine` moatds sharing 1,000 POs in 8 shards through
leases in the KV bucket. A UDP flood (NetFlow records to 198.51.100.10, PO
"web") is exported to both collectors, each seeing it below web's
threshold and the two together above it: only the engine's sum of the
two collectors' seconds (cluster/merge) declares it. The engine owning
web's shard mitigates it through the notify driver (a script appending to
a file: nothing touches a firewall), the rule naming the victim host the
collectors reported among the PO's busiest hosts. The owner is SIGKILLed
mid-attack: another engine takes the shard when the lease expires, goes on
detecting the flood, and the attack ends after the flood stops. Every process is started through the
topo fixture (killed at teardown, even on failure) and every temp dir is
removed.
"""
import json
import os
import signal
import socket
import time

from conftest import need  # noqa: F401
from nslib import wait_for
from clusterlib import (cluster_of, cluster_yaml, free_udp_port, live_attacks, nats,  # noqa: F401
                        nats3, nf5, notify_hook, pgserver, rules_of, shard_of, store_yaml)
from test_foundation_moatd import Moatd

SHARDS = 8
NPOS = 1000
ENGINES = ("eng-a", "eng-b", "eng-c")
COLLECTORS = ("col-1", "col-2")
# The flood: every 0.2 s one datagram of 10 records x 200 packets to each
# collector, so 8,000-12,000 pps through each (at most six datagrams in a
# second) and twice that summed. web's threshold lies between the two: a
# collector's seconds alone never reach it, their sum always does.
WEB_UDP_PPS = 14000


def pos_yaml():
    """web = 198.51.100.0/24 (UDP threshold WEB_UDP_PPS) and 999 others on
    /48s of 2001:db8::/32, each reporting to the notify driver."""
    out = ["pos:",
           "  - {name: web, prefixes: [198.51.100.0/24], drivers: [notify],",
           "     thresholds: {udp: {pps: %d}}}" % WEB_UDP_PPS]
    for i in range(NPOS - 1):
        out.append("  - {name: po-%d, prefixes: [\"2001:db8:%x::/48\"], drivers: [notify]}"
                   % (i, i + 1))
    return "\n".join(out) + "\n"


def run_failover(topo, tmp_path, nats, pgserver, replicas=1, disturb=None):
    """The scenario; disturb(), if given, runs after the take-over while the
    flood goes on (a NATS node restart)."""
    web_shard = shard_of("web", SHARDS)
    hook_log, mitigate = notify_hook(tmp_path)
    store = store_yaml(pgserver)
    cols = {}
    for name in COLLECTORS:
        d = tmp_path / name
        d.mkdir()
        port = free_udp_port()
        cols[name] = (Moatd(topo, d, cluster_yaml("collect", name, nats.urls, SHARDS, replicas) +
                            "collect:\n  udp: [\"127.0.0.1:%d\"]\n" % port + pos_yaml()).start(),
                      port)
    engines = {}
    for name in ENGINES:
        d = tmp_path / name
        d.mkdir()
        engines[name] = Moatd(topo, d, cluster_yaml("engine", name, nats.urls, SHARDS, replicas) + store +
                              mitigate + pos_yaml()).start()

    # The shards split between the three engines (each takes its fair
    # share: 3, 3 and 2 of 8).
    def split():
        owned = {n: set(cluster_of(m)["owned"]) for n, m in engines.items()}
        allsh = set().union(*owned.values())
        if (allsh == set(range(SHARDS)) and sum(len(x) for x in owned.values()) == SHARDS and
                sorted(len(x) for x in owned.values()) == [2, 3, 3]):
            return owned
        return None
    owned = wait_for(split, timeout=40, interval=0.5, what="the shards to split evenly")
    owner = [n for n, s in owned.items() if web_shard in s][0]
    survivors = [n for n in engines if n != owner]
    print("web is in shard %d, owned by %s; shards %s" % (web_shard, owner, owned))
    for col, _ in cols.values():
        c = cluster_of(col)
        assert c["role"] == "collect" and c["connected"], c
        assert "published:" in col.moat("status").stdout
    st = engines[owner].moat("status").stdout
    assert "role:       engine (instance %s, NATS connected)" % owner in st, st
    assert ("shards:     %d of 8 owned:" % len(owned[owner])) in st, st
    assert "3 live engine(s)" in st, st
    js = json.loads(engines[owner].moat("--json", "status").stdout)
    assert js["cluster"]["role"] == "engine" and web_shard in js["cluster"]["owned"], js

    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    seq = [0]
    peak_alone = {}

    def flood(seconds):
        """The same datagram to each collector every 0.2 s for `seconds`
        (bounded): 8,000-12,000 pps through each, twice that summed."""
        end = time.time() + seconds
        while time.time() < end:
            for _, port in cols.values():
                s.sendto(nf5(seq[0], "198.51.100.10", 200), ("127.0.0.1", port))
            seq[0] += 10
            time.sleep(0.2)

    def web_udp_in(col):
        """A collector's own counters of web (UDP in): total and last second."""
        st, body = col.request("GET", "/api/v1/pos/web/traffic", token=None)
        assert st == 200 and body["collecting"], body
        return body["traffic"]["in"]["udp"]

    try:
        # Baseline: the owner's detection is fed from the stream.
        wait_for(lambda: cluster_of(engines[owner])["readings"] > 0, timeout=15,
                 what="readings to reach the owning engine")
        flood(1)
        t0 = time.time()
        attack = None
        while time.time() - t0 < 15 and attack is None:
            flood(0.5)
            live = live_attacks(engines[owner])
            attack = live[0] if live else None
        assert attack is not None, "the flood was not declared by %s" % owner
        assert attack["type"] == "udp-flood", attack
        for n in survivors:
            assert not live_attacks(engines[n]), "declared by %s, not owning web" % n
        st, full = engines[owner].request("GET", "/api/v1/attacks/%d" % attack["id"], token=None)
        assert st == 200 and full["top_targets"][0]["address"] == "198.51.100.10", full
        print("declared by %s: attack %s" % (owner, attack["id"]))

        # Each collector saw the flood, each below web's threshold (its
        # busiest second); the engine's readings are their sum: its attack's
        # peak is above the threshold, and the packets it counted over a
        # stretch of flood are the two collectors' packets of that stretch.
        for name, (col, _) in cols.items():
            tr = web_udp_in(col)
            assert tr["total"]["packets"] > 0, (name, tr)
        time.sleep(3.5)     # a pause: what the collectors counted is all fed
        before = {n: web_udp_in(c)["total"]["packets"] for n, (c, _) in cols.items()}
        st, a0 = engines[owner].request("GET", "/api/v1/attacks/%d" % attack["id"], token=None)
        t_stretch = time.time()
        while time.time() - t_stretch < 3:
            flood(0.2)
            for n, (c, _) in cols.items():
                peak_alone[n] = max(peak_alone.get(n, 0), web_udp_in(c)["last"]["packets"])
        time.sleep(3.5)     # every collector's last second of the stretch is fed
        after_c = {n: web_udp_in(c)["total"]["packets"] for n, (c, _) in cols.items()}
        st, a1 = engines[owner].request("GET", "/api/v1/attacks/%d" % attack["id"], token=None)
        sent = {n: after_c[n] - before[n] for n in cols}
        fed = a1["packets"] - a0["packets"]
        mc = cluster_of(engines[owner])["merge"]
        print("sum: collectors %s packets, engine %s fed %d; peak %d pps (threshold %d), "
              "each collector's busiest second %s; merge %s"
              % (sent, owner, fed, a1["peak_pps"], WEB_UDP_PPS, peak_alone, mc))
        assert all(v > 0 for v in sent.values()), sent
        assert fed == sum(sent.values()), (fed, sent)
        assert all(v < WEB_UDP_PPS for v in peak_alone.values()), peak_alone
        assert a1["peak_pps"] >= WEB_UDP_PPS, a1
        assert mc["summed"] > 0 and mc["late"] == 0 and mc["overflow"] == 0, mc
        # Its top sources and source ports came over JetStream too (each
        # collector's samples, summed): the flood's sources, port 1234.
        srcs = [x["address"] for x in a1["top_sources"]]
        print("engine's top sources %s, source ports %s"
              % (srcs, [(x["port"], x["share"]) for x in a1["top_source_ports"]]))
        assert srcs and set(srcs) <= {"203.0.113.%d" % (200 + i) for i in range(10)}, a1
        assert [x["port"] for x in a1["top_source_ports"]] == [1234], a1

        def banned():
            return [r for r in rules_of(hook_log) if r and r[0] == "ban"]
        t_ban = time.time()
        while time.time() - t_ban < 10 and not banned():
            flood(0.5)
        assert len(banned()) == 1, (rules_of(hook_log), engines[owner].request(
            "GET", "/api/v1/mitigations?scope=instance", token=None), engines[owner].log())

        # SIGKILL the owner mid-attack; the flood goes on.
        engines[owner].stop(signal.SIGKILL)
        t_kill = time.time()
        took = other = None
        while time.time() - t_kill < 15 and other is None:
            flood(0.2)
            for n in survivors:
                if web_shard in cluster_of(engines[n])["owned"]:
                    took, other = time.time() - t_kill, n
                    break
        assert took is not None, "no survivor took shard %d" % web_shard
        print("failover: %s owned shard %d %.2f s after the kill" % (other, web_shard, took))
        # The dead engine's other shards follow, each as its lease is taken
        # (one at a time, not atomically with the web's shard), and the two
        # survivors share all of them.
        t_all = time.time()
        while True:
            now = {n: set(cluster_of(engines[n])["owned"]) for n in survivors}
            if (set().union(*now.values()) == set(range(SHARDS)) and
                    sum(len(x) for x in now.values()) == SHARDS):
                break
            assert time.time() - t_all < 15, now
            flood(0.2)

        # The survivor adopted the live attack (same id) and its mitigation
        # (no second rule), and goes on detecting the flood under that id.
        t1 = time.time()
        after = None
        while time.time() - t1 < 10 and after is None:
            flood(0.5)
            live = live_attacks(engines[other])
            after = live[0] if live else None
        assert after is not None, "the attack was not taken over"
        print("after failover: attack %s on %s (before: %s)" % (after["id"], other, attack["id"]))
        assert after["id"] == attack["id"]
        c = cluster_of(engines[other])
        assert c["adopted_attacks"] == 1 and c["adopted_mitigations"] == 1, c
        st, mits = engines[other].request("GET", "/api/v1/mitigations?scope=instance", token=None)
        held = [x for x in mits["mitigations"] if x["status"] == "mitigating"]
        assert len(held) == 1 and held[0]["request"]["attack_id"] == attack["id"], mits
        flood(3)
        assert [r[0] for r in rules_of(hook_log)] == ["ban"], rules_of(hook_log)
        if disturb is not None:
            disturb()
            flood(3)
            assert live_attacks(engines[other])[0]["id"] == attack["id"]

        # The flood stops: the attack ends and its one rule is withdrawn.
        wait_for(lambda: not live_attacks(engines[other]), timeout=120, interval=1,
                 what="the attack to end")
        wait_for(lambda: any(r[0] == "unban" for r in rules_of(hook_log)), timeout=30,
                 what="the rule to be withdrawn")
        calls = rules_of(hook_log)
        print("hook calls: %s" % calls)
        assert [r[0] for r in calls] == ["ban", "unban"], calls
        # The rule names the victim host, from the top hosts the collector
        # sends with the counters (not the whole PO).
        assert calls[0][1:3] == calls[1][1:3] == ["198.51.100.10/32", "web"], calls
        c = cluster_of(engines[other])
        print("engine %s: %d messages, %d readings, %d gap(s), %d lost, lag %d ms, merge %s"
              % (other, c["received"], c["readings"], c["gaps"], c["lost"], c["lag_ms"],
                 c["merge"]))
        assert c["refused"] == 0 and c["merge"]["summed"] > 0, c
        for col, _ in cols.values():
            col_c = cluster_of(col)
            assert col_c["dropped"] == 0 and col_c["published"] > 0, col_c
    finally:
        s.close()
    for m in [c for c, _ in cols.values()] + [m for m in engines.values()
                                               if m.proc.poll() is None]:
        assert m.stop() == 0
    return cols, engines[other]


def test_failover(topo, tmp_path, nats, pgserver):
    run_failover(topo, tmp_path, nats, pgserver)


def test_failover_three_nodes(topo, tmp_path, nats3, pgserver):
    """The same on a three-node NATS cluster (stream and bucket with three
    replicas), with a NATS node and then PostgreSQL restarted mid-attack
    (after the take-over): nothing the collector published is dropped, what
    the engine missed is counted as lost, and the adopted attack and its
    one rule carry on to their end."""
    def restart():
        nats3.restart_node(0)
        pgserver.as_pg(os.path.join(pgserver.bin, "pg_ctl"), "-D", pgserver.data, "-w",
                       "-t", "60", "-m", "fast", "-l", os.path.join(pgserver.dir, "server.log"),
                       "restart")
    cols, eng = run_failover(topo, tmp_path, nats3, pgserver, replicas=3, disturb=restart)
