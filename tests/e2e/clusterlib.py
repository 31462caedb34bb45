"""Helpers of the scale-out end-to-end tests (test_scale*.py): a private
nats-server with JetStream (one node or a routed cluster) and a private
PostgreSQL server as fixtures, the cluster section of moatd.yaml, NetFlow v5
records, and the API reads the tests share. Every server runs in a temp dir
on free loopback ports and is stopped, its dir removed, however the test
ends.
"""
import os
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time

import pytest

from nslib import wait_for
from test_foundation_moatd import free_port
from test_store_postgres import PgServer


def shard_of(name, shards):
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


def cluster_yaml(role, instance, urls, shards, replicas=1):
    """The cluster: section; urls: one URL or a list."""
    if isinstance(urls, str):
        urls = [urls]
    return ("cluster:\n  role: %s\n  instance: %s\n  shards: %d\n  lease_ttl: 3s\n"
            "  nats:\n    urls: [%s]\n    replicas: %d\n"
            % (role, instance, shards, ", ".join('"%s"' % u for u in urls), replicas))


def notify_hook(tmp_path):
    """A notify driver script appending each call to hook.log (nothing
    touches a firewall): returns the log's path and the mitigate: section."""
    hook_log = str(tmp_path / "hook.log")
    hook = tmp_path / "hook.sh"
    hook.write_text("#!/bin/sh\necho \"$@\" >> %s\n" % hook_log)
    os.chmod(hook, 0o755)
    return hook_log, "mitigate:\n  drivers:\n    notify: {script: %s}\n" % hook


def store_yaml(pg):
    """The store: section of an instance sharing the PostgreSQL server pg."""
    return 'store:\n  backend: postgres\n  conninfo: "%s"\n' % pg.conninfo()


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
    """The instance's own live attacks of po (scope=instance: an engine's
    default view is the whole deployment's)."""
    st, body = m.request("GET", "/api/v1/attacks?state=live&scope=instance", token=None)
    assert st == 200, body
    return [a for a in body["attacks"] if a["po"] == po]


def flight(m, category):
    st, body = m.request("GET", "/api/v1/flight?category=%s&limit=1000" % category, token=None)
    assert st == 200, body
    return body["entries"]


def rules_of(path):
    """The notify script's log: one line per call, ACTION TARGET PO ..."""
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [ln.split() for ln in f if ln.strip()]
