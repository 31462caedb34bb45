"""Foundation end-to-end: a real moatd in a temp dir driven by the real CLI.

This file also holds the helpers the other test_foundation_*.py files use:
the Moatd class (start/stop/kill a moatd on a random free loopback port with
its own state dir and config file; raw API calls; CLI runs) and the `moatd`
fixture. Processes are started through the topo fixture's spawn() with
ns=None, so they are killed at teardown even when a test fails.

Scenario here: the CLI's exit codes, help and status against a live moatd.
"""
import http.client
import json
import os
import signal
import socket
import subprocess

import pytest

from conftest import binpath
from nslib import wait_for


def free_port(host="127.0.0.1"):
    """A TCP port on host (a loopback address) that was free a moment ago."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class Moatd:
    """One moatd with its own state dir, config file and API port."""

    def __init__(self, topo, tmp_path, config_extra="", host="127.0.0.1"):
        self.topo = topo
        self.dir = tmp_path
        self.state = str(tmp_path / "state")
        os.makedirs(self.state, exist_ok=True)
        self.host = host
        self.port = free_port(host)
        self.config = str(tmp_path / "moatd.yaml")
        listen = ("[%s]:%d" if ":" in host else "%s:%d") % (host, self.port)
        with open(self.config, "w") as f:
            f.write('api:\n  listen: "%s"\n%s' % (listen, config_extra))
        self.proc = None
        self.starts = 0

    # --- lifecycle -----------------------------------------------------
    def start(self, timeout=10.0):
        self.starts += 1
        log = open(str(self.dir / ("moatd.%d.log" % self.starts)), "w")
        self.proc = self.topo.spawn(None, binpath("moatd"), "-c", self.config,
                                    "--state", self.state, stdout=log,
                                    stderr=subprocess.STDOUT)
        log.close()

        def up():
            if self.proc.poll() is not None:
                raise AssertionError("moatd exited with %s:\n%s"
                                     % (self.proc.returncode, self.log()))
            try:
                return self.request("GET", "/api/v1/health", token=None)[0] == 200
            except OSError:
                return False
        wait_for(up, timeout=timeout, what="moatd to answer")
        return self

    def stop(self, sig=signal.SIGTERM, timeout=10.0):
        """Signal moatd and wait for it; returns its exit status."""
        self.proc.send_signal(sig)
        rc = self.proc.wait(timeout)
        return rc

    def log(self):
        path = str(self.dir / ("moatd.%d.log" % self.starts))
        with open(path, errors="replace") as f:
            return f.read()[-4000:]

    @property
    def url(self):
        if ":" in self.host:
            return "http://[%s]:%d" % (self.host, self.port)
        return "http://%s:%d" % (self.host, self.port)

    @property
    def token(self):
        with open(os.path.join(self.state, "api.token")) as f:
            return f.read().strip()

    def db_path(self):
        """The SQLite store: the state dir's file that starts like one."""
        for name in sorted(os.listdir(self.state)):
            p = os.path.join(self.state, name)
            if os.path.isfile(p):
                with open(p, "rb") as f:
                    if f.read(16) == b"SQLite format 3\0":
                        return p
        raise AssertionError("no SQLite store in %s" % self.state)

    # --- API and CLI -----------------------------------------------------
    def request(self, method, path, body=None, token=True, ctype=None,
                timeout=10):
        """Raw HTTP call. body: dict/list (sent as JSON), bytes or str.
        token: True = the real one, None = none, str = that one.
        Returns (status, parsed JSON or raw bytes)."""
        headers = {}
        if token is True:
            token = self.token
        if token is not None:
            headers["Authorization"] = "Bearer " + token
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            ctype = ctype or "application/json"
        elif isinstance(body, str):
            body = body.encode()
            ctype = ctype or "application/json"
        if ctype:
            headers["Content-Type"] = ctype
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
        finally:
            conn.close()
        try:
            return resp.status, json.loads(data) if data else None
        except ValueError:
            return resp.status, data

    def pos(self):
        status, body = self.request("GET", "/api/v1/pos", token=None)
        assert status == 200, body
        return body["pos"]

    def po_names(self):
        return [p["name"] for p in self.pos()]

    def moat(self, *args, env=None, rc=0, timeout=30, state_opt=True):
        """Run the CLI against this moatd (found through --state, or only
        through env when state_opt is False); check rc."""
        e = dict(os.environ)
        for k in ("MOAT_API", "MOAT_STATE", "MOAT_TOKEN"):
            e.pop(k, None)
        e.update(env or {})
        pre = ["--state", self.state] if state_opt else []
        p = subprocess.run([binpath("moat")] + pre + list(args),
                           capture_output=True, text=True, env=e, timeout=timeout)
        if rc is not None:
            assert p.returncode == rc, "moat %s: rc %d, want %d\nstdout: %s\nstderr: %s" % (
                " ".join(args), p.returncode, rc, p.stdout, p.stderr)
        return p


@pytest.fixture
def moatd(topo, tmp_path):
    """A started moatd; stopped (killed if need be) at teardown."""
    return Moatd(topo, tmp_path).start()


def po_body(name, prefixes, ports=()):
    return {"name": name, "prefixes": list(prefixes), "ports": list(ports)}


# --- scenario: CLI exit codes, help, status ---------------------------------

def test_status_and_discovery(moatd):
    # The CLI finds moatd through <state>/api.url alone.
    with open(os.path.join(moatd.state, "api.url")) as f:
        assert f.read().strip() == moatd.url
    st = os.stat(os.path.join(moatd.state, "api.token"))
    assert st.st_mode & 0o077 == 0, "api.token must be readable by its owner only"
    p = moatd.moat("status")
    assert "status:" in p.stdout and "ok" in p.stdout
    h = json.loads(moatd.moat("status", "--json").stdout)
    assert h["status"] in ("ok", "degraded", "failing")
    assert h["version"]
    h2 = json.loads(moatd.moat("--json", "status").stdout)
    assert h2["store"] == h["store"]


def test_exit_codes(moatd, tmp_path):
    # usage -> 2 (no request made)
    moatd.moat("po", "add", "web", rc=2)
    moatd.moat("frobnicate", rc=2)
    moatd.moat("flight", "--since", "yesterday", rc=2)
    # missing PO -> 1 (404), and the message names it
    p = moatd.moat("po", "show", "nope", rc=1)
    assert "404" in p.stderr
    moatd.moat("po", "rm", "nope", rc=1)
    # bad token -> 4, and nothing was added
    moatd.moat("po", "add", "web", "--prefix", "192.0.2.0/24",
               env={"MOAT_TOKEN": "0" * 64}, rc=4)
    assert "web" not in moatd.po_names()
    # unreadable token (a state dir without one) -> 4 with the hint
    empty = tmp_path / "empty"
    empty.mkdir()
    p = subprocess.run([binpath("moat"), "--state", str(empty), "--api", moatd.url,
                        "po", "rm", "web"], capture_output=True, text=True,
                       env={k: v for k, v in os.environ.items() if k != "MOAT_TOKEN"})
    assert p.returncode == 4 and "MOAT_TOKEN" in p.stderr, p.stderr
    # unreachable -> 3
    p = subprocess.run([binpath("moat"), "--api", "http://127.0.0.1:%d" % free_port(),
                        "status"], capture_output=True, text=True)
    assert p.returncode == 3, p.stderr
    # a refused add -> 1 (409 on a duplicate)
    moatd.moat("po", "add", "web", "--prefix", "192.0.2.0/24")
    p = moatd.moat("po", "add", "web", "--prefix", "198.51.100.0/24", rc=1)
    assert "409" in p.stderr


def test_help(moatd):
    p = moatd.moat("--help")
    for verb in ("status", "po", "flight", "backup", "restore", "reset", "help"):
        assert verb in p.stdout
    for verb in ("status", "po", "flight", "backup", "restore", "reset"):
        a = moatd.moat("help", verb).stdout
        b = moatd.moat(verb, "--help").stdout
        assert a == b
        for section in ("NAME", "SYNOPSIS", "DESCRIPTION", "EXIT STATUS", "EXAMPLES"):
            assert section in a, (verb, section)


def test_non_root_user(moatd):
    """A user who cannot read the token can still read; writes say why not."""
    nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOAT_")}
    probe = subprocess.run(nobody + [binpath("moat"), "--version"], capture_output=True,
                           text=True, env=env)
    if probe.returncode != 0:
        pytest.skip("user nobody cannot run %s here" % binpath("moat"))
    base = nobody + [binpath("moat"), "--state", moatd.state, "--api", moatd.url]
    p = subprocess.run(base + ["po", "list"], capture_output=True, text=True, env=env)
    assert p.returncode == 0, p.stderr
    p = subprocess.run(base + ["po", "add", "web", "--prefix", "192.0.2.0/24"],
                       capture_output=True, text=True, env=env)
    assert p.returncode == 4, p.stderr
    assert "run as root or set MOAT_TOKEN" in p.stderr
    env["MOAT_TOKEN"] = moatd.token
    p = subprocess.run(base + ["po", "add", "web", "--prefix", "192.0.2.0/24"],
                       capture_output=True, text=True, env=env)
    assert p.returncode == 0, p.stderr
    assert moatd.po_names() == ["web"]
