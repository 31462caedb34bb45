"""Hostile REST clients: moatd refuses before it buffers and keeps answering.

Each test runs moatd in a namespace of its own (its API on that namespace's
loopback) and drives it with tests/e2e/apiclient.py run inside it:
oversized bodies from several clients without a token (moatd's RSS stays
bounded, the API answers); idle connections past a lowered descriptor limit
(an authorized request still gets through, the log is not flooded); a head
trickled byte by byte (cut at the head deadline); a wrong Host header (DNS
rebinding: 421 everywhere); a planted state dir (moatd refuses it); a
planted api.url (the CLI refuses it and sends nothing); a backup whose PO
keys and names disagree (refused, nothing changed, no temporary file left);
and promtool check metrics on /metrics.
"""
import json
import os
import sqlite3
import subprocess
import sys
import time

import pytest

from conftest import binpath, need
from nslib import wait_for
from test_foundation_moatd import Moatd

CLIENT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "apiclient.py")


class NsMoatd(Moatd):
    """A Moatd whose process and API live in a namespace of their own."""

    def __init__(self, topo, tmp_path, config_extra=""):
        self.ns = topo.ns("api")
        super().__init__(topo, tmp_path, config_extra)

    def start(self, timeout=10.0):
        self.starts += 1
        log = open(str(self.dir / ("moatd.%d.log" % self.starts)), "w")
        self.proc = self.topo.spawn(self.ns, binpath("moatd"), "-c", self.config,
                                    "--state", self.state, stdout=log,
                                    stderr=subprocess.STDOUT)
        log.close()

        def up():
            if self.proc.poll() is not None:
                raise AssertionError("moatd exited with %s:\n%s"
                                     % (self.proc.returncode, self.log()))
            try:
                return self.call("request", "GET", "/api/v1/health")["status"] == 200
            except (subprocess.CalledProcessError, ValueError):
                return False
        wait_for(up, timeout=timeout, what="moatd to answer")
        return self

    def call(self, cmd, *args, timeout=120):
        p = self.topo.run(self.ns, sys.executable, CLIENT, cmd, str(self.port),
                          *[str(a) for a in args], timeout=timeout)
        return json.loads(p.stdout)

    def spawn_client(self, cmd, *args):
        return self.topo.spawn(self.ns, sys.executable, CLIENT, cmd, str(self.port),
                               *[str(a) for a in args], stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL)

    def req(self, method, path, host=None, token=None, body=None):
        return self.call("request", method, path, host or "-", token or "-",
                         body if body is not None else "-")

    def po_names_ns(self):
        r = self.req("GET", "/api/v1/pos")
        assert r["status"] == 200, r
        return [p["name"] for p in json.loads(r["body"])["pos"]]

    def rss_kib(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise AssertionError("no VmRSS")

    def log_lines(self):
        path = str(self.dir / ("moatd.%d.log" % self.starts))
        with open(path, errors="replace") as f:
            return f.read().splitlines()


@pytest.fixture
def nsmoatd(topo, tmp_path):
    return NsMoatd(topo, tmp_path).start()


def test_oversized_bodies_not_buffered(nsmoatd):
    m = nsmoatd
    size = 250 << 20
    base = m.rss_kib()
    peak = base
    clients = [m.spawn_client("flood", 3, size, 20, "GET", "/api/v1/health"),
               m.spawn_client("flood", 3, size, 20, "POST", "/api/v1/restore")]
    answered = 0
    deadline = time.time() + 60
    while any(c.poll() is None for c in clients) and time.time() < deadline:
        peak = max(peak, m.rss_kib())
        if m.req("GET", "/api/v1/health")["status"] == 200:
            answered += 1
        time.sleep(0.1)
    results = []
    for c in clients:
        out, _ = c.communicate(timeout=60)
        results += json.loads(out)["clients"]
    after = m.rss_kib()
    sent = sum(r["sent"] for r in results)
    print("RSS KiB: base %d peak %d after %d; %d clients sent %.1f MiB in all; "
          "health answered %d times during the flood"
          % (base, peak, after, len(results), sent / 1048576.0, answered))
    assert len(results) == 6
    # Refused at the head: nothing near 6 x 250 MiB reaches the heap.
    assert peak - base < 32 * 1024, (base, peak)
    assert after - base < 32 * 1024, (base, after)
    assert m.req("GET", "/api/v1/health")["status"] == 200
    # Refusals say why, in JSON: a body on a bodiless route, a token missing.
    r = m.req("GET", "/api/v1/health", body="x" * 100)
    assert r["status"] == 413 and "body" in json.loads(r["body"])["error"], r
    r = m.req("POST", "/api/v1/restore", body="x" * 100)
    assert r["status"] == 401, r
    # An authorized body over its route's cap is refused too; under it, handled.
    big = m.dir / "big.json"
    big.write_text(json.dumps({"name": "x" * (2 << 20)}))
    assert m.req("POST", "/api/v1/pos", token=m.token, body="@%s" % big)["status"] == 413
    ok = json.dumps({"name": "web", "prefixes": ["192.0.2.0/24"]})
    assert m.req("POST", "/api/v1/pos", token=m.token, body=ok)["status"] == 201
    # An authorized upload that turns out useless: its memory is given back.
    junk = m.dir / "junk.bin"
    with open(str(junk), "wb") as f:
        f.write(os.urandom(1 << 20) * 100)
    before = m.rss_kib()
    r = m.req("POST", "/api/v1/restore", token=m.token, body="@%s" % junk)
    assert r["status"] == 400, r
    time.sleep(0.5)
    print("RSS KiB around a refused 100 MiB restore: %d -> %d" % (before, m.rss_kib()))
    assert m.rss_kib() - before < 32 * 1024
    assert not [n for n in os.listdir(m.state) if n.startswith(".restore-")]


def test_idle_connections_past_descriptor_limit(nsmoatd):
    m = nsmoatd
    subprocess.run(["prlimit", "--pid", str(m.proc.pid), "--nofile=128:128"], check=True)
    lines_before = len(m.log_lines())
    idle = m.spawn_client("idle", 400, 15)
    time.sleep(3)                          # the idle connections are in
    ok = json.dumps({"name": "web", "prefixes": ["192.0.2.0/24"]})
    r = m.req("POST", "/api/v1/pos", token=m.token, body=ok)
    assert r["status"] == 201, r
    assert m.req("GET", "/api/v1/pos")["status"] == 200
    out, _ = idle.communicate(timeout=60)
    got = json.loads(out)
    lines = m.log_lines()[lines_before:]
    print("idle: %s; %d log lines meanwhile" % (got, len(lines)))
    assert got["opened"] > 128, got        # past the descriptor limit
    assert got["closed_by_server"] > 0, got
    assert len(lines) < 20, lines[:40]
    assert m.proc.poll() is None
    assert m.req("GET", "/api/v1/health")["status"] == 200


def _cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])       # utime + stime


def test_accept_out_of_descriptors_pauses(nsmoatd):
    m = nsmoatd
    nfd = len(os.listdir("/proc/%d/fd" % m.proc.pid))
    # Not one descriptor left: every accept() fails with EMFILE.
    subprocess.run(["prlimit", "--pid", str(m.proc.pid), "--nofile=%d:%d" % (nfd, nfd)],
                   check=True)
    lines_before = len(m.log_lines())
    cpu_before = _cpu_ticks(m.proc.pid)
    idle = m.spawn_client("idle", 20, 5)
    out, _ = idle.communicate(timeout=60)
    cpu = _cpu_ticks(m.proc.pid) - cpu_before
    hz = os.sysconf("SC_CLK_TCK")
    lines = m.log_lines()[lines_before:]
    print("EMFILE: clients %s; moatd used %.2f s of CPU in ~5 s; log: %s"
          % (out.strip(), cpu / hz, lines))
    assert m.proc.poll() is None
    assert cpu < hz, cpu                   # paused, not spinning on accept()
    assert 1 <= len(lines) <= 3, lines
    assert any("Too many open files" in line for line in lines), lines


def test_slow_head_cut_at_deadline(nsmoatd):
    m = nsmoatd
    r = m.call("slow", 30, timeout=60)
    print("slow head: %s" % r)
    assert r["cut"], r                     # moatd closed it, the client had not finished
    assert m.req("GET", "/api/v1/health")["status"] == 200


def test_wrong_host_refused(topo, tmp_path):
    m = NsMoatd(topo, tmp_path, '  hosts: ["moat.example"]\n')   # under api:
    m.start()
    for path in ("/api/v1/health", "/api/v1/pos", "/metrics", "/api/v1/attacks"):
        for host in ("evil.example", "evil.example:%d" % m.port, "127.0.0.2",
                     "127.0.0.1:1"):
            r = m.req("GET", path, host=host)
            assert r["status"] == 421, (path, host, r)
    r = m.req("POST", "/api/v1/pos", host="evil.example", token=m.token,
              body=json.dumps({"name": "web", "prefixes": ["192.0.2.0/24"]}))
    assert r["status"] == 421, r
    for host in ("127.0.0.1:%d" % m.port, "127.0.0.1", "localhost:%d" % m.port,
                 "moat.example:%d" % m.port, "MOAT.example"):
        assert m.req("GET", "/api/v1/health", host=host)["status"] == 200, host


def test_planted_state_dir_refused(tmp_path):
    cfg = tmp_path / "moatd.yaml"
    cfg.write_text('api:\n  listen: "127.0.0.1:1"\n')
    for mode, owner in ((0o777, 0), (0o775, 0), (0o700, 65534)):
        d = tmp_path / ("state-%o-%d" % (mode, owner))
        d.mkdir()
        os.chmod(str(d), mode)
        os.chown(str(d), owner, owner)
        p = subprocess.run([binpath("moatd"), "-c", str(cfg), "--state", str(d)],
                           capture_output=True, text=True, timeout=10)
        assert p.returncode != 0, p.stderr
        assert str(d) in p.stderr and "chmod 700" in p.stderr, p.stderr
        assert not os.path.exists(str(d / "api.token")), "moatd wrote into it"


def test_planted_api_url_refused(topo, tmp_path):
    m = NsMoatd(topo, tmp_path)
    # moatd is not started: a spy listens where the planted api.url points
    spy = m.spawn_client("listen", 8)
    time.sleep(0.5)
    state = tmp_path / "planted"
    state.mkdir(mode=0o755)
    url = state / "api.url"
    url.write_text("http://127.0.0.1:%d\n" % m.port)
    env = dict(os.environ, MOAT_TOKEN="a" * 64)
    env.pop("MOAT_API", None)
    for mode, owner in ((0o644, 65534), (0o666, 0), (0o664, 0)):
        os.chmod(str(url), mode)
        os.chown(str(url), owner, owner)
        p = topo.run(m.ns, binpath("moat"), "--state", str(state), "po", "rm", "web",
                     env=env, check=False, timeout=20)
        assert p.returncode != 0, p.stdout
        assert "api.url" in p.stderr and "refusing" in p.stderr, p.stderr
    out, _ = spy.communicate(timeout=30)
    got = json.loads(out)
    assert got["connections"] == 0 and "aaaa" not in got["data"], got


def test_restore_mismatched_po_keys_refused(nsmoatd, tmp_path):
    m = nsmoatd
    ok = json.dumps({"name": "web", "prefixes": ["192.0.2.0/24"]})
    assert m.req("POST", "/api/v1/pos", token=m.token, body=ok)["status"] == 201
    # a backup (SQLite's own backup of the store), doctored: the row says
    # "other", the JSON inside still says "web"
    bak = str(tmp_path / "doctored.db")
    src = sqlite3.connect(m.db_path())
    dst = sqlite3.connect(bak)
    src.backup(dst)
    src.close()
    dst.execute("UPDATE po SET name = 'other'")
    dst.commit()
    dst.close()
    with open(bak, "rb") as f:
        data = f.read()
    r = m.call("request", "POST", "/api/v1/restore", "-", m.token, "-")
    assert r["status"] == 400, r          # an empty body is no backup
    r = m.req("POST", "/api/v1/restore", token=m.token, body="@" + bak)
    assert r["status"] == 400, r
    assert m.po_names_ns() == ["web"]
    assert not [n for n in os.listdir(m.state) if n.startswith(".restore-")]
    # a restore interrupted by a kill leaves its file: the next start removes it
    planted = os.path.join(m.state, ".restore-abc123")
    with open(planted, "wb") as f:
        f.write(data[:4096])
    m.stop()
    m.start()
    assert not os.path.exists(planted)
    assert m.po_names_ns() == ["web"]


def test_metrics_pass_promtool(topo, tmp_path):
    need("promtool")
    m = NsMoatd(topo, tmp_path, 'collect:\n  udp: ["127.0.0.1:29995"]\n')
    m.start()
    ok = json.dumps({"name": "web", "prefixes": ["192.0.2.0/24"]})
    assert m.req("POST", "/api/v1/pos", token=m.token, body=ok)["status"] == 201
    # one NetFlow v5 datagram, so an exporter exists
    v5 = ("import socket,struct,time;"
          "h=struct.pack('!HHIIIIBBH',5,1,1000,int(time.time()),0,1,0,0,0);"
          "r=struct.pack('!4s4s4sHHIIIIHHBBBBHHBBH',bytes([192,0,2,1]),bytes([198,51,100,7]),"
          "bytes(4),0,0,10,1000,0,0,53,1234,0,0,17,0,0,0,24,24,0);"
          "socket.socket(socket.AF_INET,socket.SOCK_DGRAM).sendto(h+r,('127.0.0.1',29995))")
    m.topo.run(m.ns, sys.executable, "-c", v5)
    time.sleep(1.5)
    r = m.req("GET", "/metrics")
    assert r["status"] == 200, r
    text = r["body"]
    p = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 0, p.stdout + p.stderr + text[:3000]
    for family in ("moat_up", "moat_pos", "moat_health_status", "moat_attacks_live",
                   "moat_attacks_declared_total", "moat_mitigations_active",
                   "moat_mitigations_failing", "moat_mitigation_dropped_packets_total",
                   "moat_exporter_last_seen_timestamp_seconds", "moat_po_traffic_total"):
        assert "# TYPE %s " % family in text, family
    assert "moat_exporter_last_seen_timestamp_seconds{exporter=\"127.0.0.1\"" in text, text
