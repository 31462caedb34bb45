"""Scale-out end-to-end: moatd instances sharing the work over NATS
JetStream (docs/scale.md).

The test starts, in temp dirs, a nats-server with JetStream on free
loopback ports and a private PostgreSQL server (initdb + pg_ctl, as in
test_store_postgres), then one `collect` moatd receiving NetFlow v5 on
loopback and two `engine` moatds sharing 50 POs in 8 shards through
leases in the KV bucket. A UDP flood (NetFlow records to 198.51.100.10, PO
"web") is declared by the engine owning web's shard, which mitigates it
through the notify driver (a script appending to a file: nothing touches
a firewall), the rule naming the victim host the collector reported among
the PO's busiest hosts. The owner is SIGKILLed mid-attack: the other engine takes
the shard when the lease expires, goes on detecting the flood, and the
attack ends after the flood stops. Every process is started through the
topo fixture (killed at teardown, even on failure) and every temp dir is
removed.
"""
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time

import pytest

from conftest import need  # noqa: F401
from nslib import wait_for
from test_foundation_moatd import Moatd, free_port
from test_store_postgres import PgServer

SHARDS = 8
NPOS = 50


def shard_of(name, shards=SHARDS):
    """cluster_shard_of(): FNV-1a of the name modulo shards."""
    h = 2166136261
    for b in name.encode():
        h ^= b
        h = (h * 16777619) & 0xffffffff
    return h % shards


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class NatsServer:
    """nats-server with JetStream in a temp dir on free loopback ports: one
    node, or `nodes` nodes routed into one cluster (JetStream clustered)."""

    def __init__(self, topo, nodes=1):
        self.topo = topo
        self.dir = tempfile.mkdtemp(prefix="moat-e2e-nats-")
        self.ports = [free_port() for _ in range(nodes)]
        self.routes = [free_port() for _ in range(nodes)] if nodes > 1 else []
        self.procs = [None] * nodes

    def argv(self, i):
        a = [shutil.which("nats-server") or "/usr/sbin/nats-server", "-a", "127.0.0.1",
             "-p", str(self.ports[i]), "-js", "-sd", os.path.join(self.dir, "js%d" % i),
             "-n", "moat-e2e-%d" % i]
        if self.routes:
            a += ["--cluster_name", "moat-e2e", "--cluster",
                  "nats://127.0.0.1:%d" % self.routes[i], "--routes",
                  ",".join("nats://127.0.0.1:%d" % r for j, r in enumerate(self.routes) if j != i)]
        return a

    def start_node(self, i):
        log = open(os.path.join(self.dir, "nats%d.log" % i), "a")
        self.procs[i] = self.topo.spawn(None, *self.argv(i), stdout=log, stderr=subprocess.STDOUT)
        log.close()

        def up():
            assert self.procs[i].poll() is None, self.log(i)
            try:
                with socket.create_connection(("127.0.0.1", self.ports[i]), timeout=1) as s:
                    return s.recv(6) == b"INFO {"
            except OSError:
                return False
        wait_for(up, timeout=15, what="nats-server %d to listen" % i)

    def start(self):
        for i in range(len(self.ports)):
            self.start_node(i)
        return self

    def stop_node(self, i):
        p = self.procs[i]
        if p is not None and p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)

    def restart_node(self, i):
        self.stop_node(i)
        self.start_node(i)

    def log(self, i=0):
        with open(os.path.join(self.dir, "nats%d.log" % i), errors="replace") as f:
            return f.read()[-3000:]

    @property
    def urls(self):
        return ["nats://127.0.0.1:%d" % p for p in self.ports]

    @property
    def url(self):
        return self.urls[0]

    def stop(self):
        for i in range(len(self.procs)):
            self.stop_node(i)
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def nats(topo):
    n = NatsServer(topo)
    try:
        yield n.start()
    finally:
        n.stop()


@pytest.fixture
def nats3(topo):
    n = NatsServer(topo, nodes=3)
    try:
        yield n.start()
    finally:
        n.stop()


@pytest.fixture
def pgserver():
    pg = PgServer()
    try:
        pg.start()
        yield pg
    finally:
        pg.stop()


def pos_yaml():
    """web = 198.51.100.0/24 (UDP threshold 300 pps) and 49 others on /30s of
    203.0.113.0/24, each reporting to the notify driver."""
    out = ["pos:",
           "  - {name: web, prefixes: [198.51.100.0/24], drivers: [notify],",
           "     thresholds: {udp: {pps: 300}}}"]
    for i in range(NPOS - 1):
        out.append("  - {name: po-%d, prefixes: [203.0.113.%d/30], drivers: [notify]}" % (i, 4 * i))
    return "\n".join(out) + "\n"


def cluster_yaml(role, instance, urls, replicas=1):
    return ("cluster:\n  role: %s\n  instance: %s\n  shards: %d\n  lease_ttl: 3s\n"
            "  nats:\n    urls: [%s]\n    replicas: %d\n"
            % (role, instance, SHARDS, ", ".join('"%s"' % u for u in urls), replicas))


def nf5(seq, dst, packets, nrec=10):
    """NetFlow v5: nrec UDP records 203.0.113.x -> dst of `packets` each."""
    hdr = struct.pack("!HHIIIIBBH", 5, nrec, 1000, int(time.time()), 0, seq, 0, 0, 0)
    recs = b""
    for i in range(nrec):
        recs += struct.pack("!4s4s4sHHIIIIHHBBBBHHBBH", bytes([203, 0, 113, 200 + i]),
                            socket.inet_aton(dst), b"\0" * 4, 0, 0, packets, packets * 200,
                            900, 1000, 1234, 9, 0, 0, 17, 0, 0, 0, 0, 0, 0)
    return hdr + recs


def cluster_of(m):
    st, body = m.request("GET", "/api/v1/cluster", token=None)
    assert st == 200, body
    return body


def live_attacks(m, po="web"):
    st, body = m.request("GET", "/api/v1/attacks?state=live", token=None)
    assert st == 200, body
    return [a for a in body["attacks"] if a["po"] == po]


def rules_of(path):
    """The notify script's log: one line per call, ACTION TARGET PO ..."""
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [ln.split() for ln in f if ln.strip()]


def run_failover(topo, tmp_path, nats, pgserver, replicas=1, disturb=None):
    """The scenario; disturb(), if given, runs after the take-over while the
    flood goes on (a NATS node restart)."""
    web_shard = shard_of("web")
    hook_log = str(tmp_path / "hook.log")
    hook = tmp_path / "hook.sh"
    hook.write_text("#!/bin/sh\necho \"$@\" >> %s\n" % hook_log)
    os.chmod(hook, 0o755)
    store = 'store:\n  backend: postgres\n  conninfo: "%s"\n' % pgserver.conninfo()
    mitigate = ("mitigate:\n  drivers:\n    notify: {script: %s}\n" % hook)
    udp = free_udp_port()

    col_dir = tmp_path / "collect"
    col_dir.mkdir()
    col = Moatd(topo, col_dir, cluster_yaml("collect", "col-1", nats.urls, replicas) +
                "collect:\n  udp: [\"127.0.0.1:%d\"]\n" % udp + pos_yaml()).start()
    engines = {}
    for name in ("eng-a", "eng-b"):
        d = tmp_path / name
        d.mkdir()
        engines[name] = Moatd(topo, d, cluster_yaml("engine", name, nats.urls, replicas) + store +
                              mitigate + pos_yaml()).start()

    # The shards split between the two engines (each takes its fair share).
    def split():
        owned = {n: set(cluster_of(m)["owned"]) for n, m in engines.items()}
        a, b = owned["eng-a"], owned["eng-b"]
        if a | b == set(range(SHARDS)) and not a & b and len(a) == len(b) == SHARDS // 2:
            return owned
        return None
    owned = wait_for(split, timeout=40, interval=0.5, what="the shards to split evenly")
    owner = [n for n, s in owned.items() if web_shard in s][0]
    other = [n for n in engines if n != owner][0]
    print("web is in shard %d, owned by %s" % (web_shard, owner))
    c = cluster_of(col)
    assert c["role"] == "collect" and c["connected"], c
    st = engines[owner].moat("status").stdout
    assert "role:       engine (instance %s, NATS connected)" % owner in st, st
    assert "shards:     4 of 8 owned:" in st and "2 live engine(s)" in st, st
    js = json.loads(engines[owner].moat("--json", "status").stdout)
    assert js["cluster"]["role"] == "engine" and web_shard in js["cluster"]["owned"], js
    assert "published:" in col.moat("status").stdout

    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    seq = [0]

    def flood(seconds):
        """About 10,000 pps to 198.51.100.10 for `seconds` (bounded)."""
        end = time.time() + seconds
        while time.time() < end:
            s.sendto(nf5(seq[0], "198.51.100.10", 200), ("127.0.0.1", udp))
            seq[0] += 10
            time.sleep(0.2)

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
        assert not live_attacks(engines[other]), "declared by the engine not owning web"
        st, full = engines[owner].request("GET", "/api/v1/attacks/%d" % attack["id"], token=None)
        assert st == 200 and full["top_targets"][0]["address"] == "198.51.100.10", full
        print("declared by %s: attack %s" % (owner, attack["id"]))

        def banned():
            return [r for r in rules_of(hook_log) if r and r[0] == "ban"]
        t_ban = time.time()
        while time.time() - t_ban < 10 and not banned():
            flood(0.5)
        assert len(banned()) == 1, (rules_of(hook_log), engines[owner].request(
            "GET", "/api/v1/mitigations", token=None), engines[owner].log())

        # SIGKILL the owner mid-attack; the flood goes on.
        engines[owner].stop(signal.SIGKILL)
        t_kill = time.time()
        took = None
        while time.time() - t_kill < 15:
            flood(0.2)
            if web_shard in cluster_of(engines[other])["owned"]:
                took = time.time() - t_kill
                break
        assert took is not None, "%s never took shard %d" % (other, web_shard)
        print("failover: %s owned shard %d %.2f s after the kill" % (other, web_shard, took))
        # The dead engine's other shards follow, each as its lease is taken
        # (one at a time, not atomically with the web's shard).
        t_all = time.time()
        while set(cluster_of(engines[other])["owned"]) != set(range(SHARDS)):
            assert time.time() - t_all < 15, (other, cluster_of(engines[other]))
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
        st, mits = engines[other].request("GET", "/api/v1/mitigations", token=None)
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
        print("engine %s: %d messages, %d readings, %d gap(s), %d lost, lag %d ms"
              % (other, c["received"], c["readings"], c["gaps"], c["lost"], c["lag_ms"]))
        assert c["refused"] == 0, c
        col_c = cluster_of(col)
        assert col_c["dropped"] == 0 and col_c["published"] > 0, col_c
    finally:
        s.close()
    for m in [col] + [m for m in engines.values() if m.proc.poll() is None]:
        assert m.stop() == 0
    return col, engines[other]


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
    col, eng = run_failover(topo, tmp_path, nats3, pgserver, replicas=3, disturb=restart)
