"""moat-ins end to end: Go programs (raw system calls, no libc, so no shim)
under `moat run --isolate`. Their socket(2) calls are brokered through the
seccomp notification filter moat-ins installs before exec (src/ins/notif.c):
a Go HTTP server is reachable from another namespace, a Go client reaches an
upstream, and a call that cannot be brokered (a raw ICMP socket) is named in
moat-ins's log. The program (tests/e2e/go/gohttp.go, net/http only) is built
from source here with Debian's golang-go, static (CGO_ENABLED=0), offline."""
import os
import shutil
import subprocess

import pytest

from inslib import CLI_ADDR, SRV_ADDR, curl, moat_ins, port_open, proc_output, two_namespaces

PY = "/usr/bin/python3"
HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.fixture(scope="module")
def gohttp(tmp_path_factory):
    go = shutil.which("go")
    if not go:
        pytest.skip("golang-go not installed (scripts/deps.d/ins.txt)")
    d = tmp_path_factory.mktemp("gohttp")
    env = dict(os.environ, CGO_ENABLED="0", GOFLAGS="-mod=mod", GOPROXY="off",
               GOCACHE=str(d / "cache"), GOPATH=str(d / "gopath"), HOME=str(d))
    out = str(d / "gohttp")
    subprocess.run([go, "build", "-o", out, os.path.join(HERE, "go", "gohttp.go")], env=env,
                   check=True, timeout=600)
    assert b"statically linked" in subprocess.run(["file", out], capture_output=True).stdout
    return out


def test_go_http_server_and_client(topo, gohttp):
    """The Go server under --isolate serves another namespace; the Go client
    under --isolate fetches from an upstream there. Every socket is moat-ins's."""
    srv, cli = two_namespaces(topo)
    p = topo.spawn(srv, *moat_ins("--isolate", "--", gohttp, "serve", ":8080"))
    upstream = topo.spawn(cli, PY, "-m", "http.server", "--bind", CLI_ADDR, "8081")
    try:
        port_open(topo, cli, SRV_ADDR, 8080)
        port_open(topo, cli, CLI_ADDR, 8081)
        codes = [curl(topo, cli, "http://%s:8080/" % SRV_ADDR) for _ in range(10)]
        body = topo.run(cli, "curl", "-s", "-m", "5", "http://%s:8080/" % SRV_ADDR).stdout
        r = topo.run(srv, *moat_ins("--isolate", "--", gohttp, "get",
                                    "http://%s:8081/" % CLI_ADDR), check=False, timeout=30)
    finally:
        out = proc_output(p)
        proc_output(upstream)
    assert codes == ["200"] * 10, out
    assert body == "hello from go\n", out
    assert "brokered through seccomp notification" in out, out
    # The server's listener is the kernel's, not moat-ins's: named, with its port.
    assert "gohttp (pid " in out and \
        "listens on port 8080 with a socket made past the shim" in out, out
    assert "listeners 1" in out, out
    # The client's socket never listens: nothing named.
    assert "listens on port" not in r.stdout + r.stderr, r.stdout + r.stderr
    assert r.returncode == 0 and "status 200" in r.stdout, r.stdout + r.stderr
    brokered = [int(line.split("brokered ")[1].split()[0])
                for line in (r.stdout + r.stderr).splitlines() if "seccomp notification: " in line]
    assert brokered and brokered[0] >= 1, r.stdout + r.stderr


def test_go_unbrokered_call_is_named(topo, gohttp):
    """A raw ICMP socket cannot be brokered: moat-ins names the program and the
    call in its log, and the call stays in the empty namespace (EPERM: no
    CAP_NET_RAW under --isolate)."""
    srv, _ = two_namespaces(topo)
    r = topo.run(srv, *moat_ins("--isolate", "--", gohttp, "raw"), check=False, timeout=30)
    log = r.stdout + r.stderr
    assert "gohttp (pid " in log and "socket(AF_INET, SOCK_RAW, 1) not brokered" in log, log
    assert "raw -1 operation not permitted" in r.stdout, log


def test_go_client_under_connect_policy(topo, gohttp, tmp_path):
    """The Go client's brokered socket carries moat-ins's mark, so the connect
    policy holds for it as for a shim client: a destination outside the allow
    list is refused and nothing reaches it."""
    srv, cli = two_namespaces(topo)
    pol = tmp_path / "policy.yaml"
    pol.write_text("connect:\n  allow: [\"198.51.100.0/24\"]\n")
    upstream = topo.spawn(cli, PY, "-u", "-m", "http.server", "--bind", CLI_ADDR, "8081")
    try:
        port_open(topo, cli, CLI_ADDR, 8081)
        r = topo.run(srv, *moat_ins("--policy", str(pol), "--isolate", "--", gohttp, "get",
                                    "http://%s:8081/" % CLI_ADDR), check=False, timeout=30)
    finally:
        served = proc_output(upstream)
    assert r.returncode != 0 and "get:" in r.stdout, r.stdout + r.stderr
    assert "brokered through seccomp notification" in r.stdout + r.stderr, r.stdout + r.stderr
    assert "GET /" not in served, served
