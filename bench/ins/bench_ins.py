#!/usr/bin/python3
"""bench/ins/bench_ins.py BUILD_DIR [SECONDS]: wrk against nginx serving 1 KiB
and 1 MiB files at 100 connections, with keep-alive and with a new
connection per request, three ways in one run: native nginx (the
reference); nginx under `moat-ins --isolate` (hold none, and hold http);
and native nginx behind HAProxy in TCP mode. Prints requests/s and p99
latency, and each as a ratio to native. Needs root (namespaces), nginx,
wrk and haproxy. Traffic stays between two private namespaces."""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "e2e"))
from inslib import port_open  # noqa: E402
from nslib import Topology  # noqa: E402

SRV, CLI = "192.0.2.1", "192.0.2.2"
NGINX_CONF = """
daemon off; master_process on; worker_processes 2; user root;
pid {d}/nginx{port}.pid; error_log stderr error;
events {{ worker_connections 4096; use epoll; }}
http {{
    access_log off; sendfile on; keepalive_requests 100000; keepalive_timeout 60s;
    client_body_temp_path {d}/body{port}; proxy_temp_path {d}/proxy{port};
    fastcgi_temp_path {d}/fcgi{port}; uwsgi_temp_path {d}/uwsgi{port}; scgi_temp_path {d}/scgi{port};
    server {{ listen {port} backlog=4096; root {d}/www; }}
}}
"""
HAPROXY_CONF = """
global
    maxconn 8000
    nbthread 2
defaults
    mode tcp
    timeout connect 5s
    timeout client 60s
    timeout server 60s
listen web
    bind 0.0.0.0:8080
    server nginx 127.0.0.1:80
"""


def wrk(topo, cli, url, secs, close):
    argv = ["wrk", "-t2", "-c100", "-d%ds" % secs, "--latency", url]
    if close:
        argv[1:1] = ["-H", "Connection: close"]
    out = topo.run(cli, *argv, timeout=secs + 60).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    m = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    p99 = float(m.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[m.group(2)]
    errs = re.search(r"Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)", out)
    return rps, p99, (errs.group(0) if errs else "")


def stop(p):
    p.terminate()
    try:
        p.wait(5)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    build = os.path.abspath(sys.argv[1])
    secs = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    ins = os.path.join(build, "src", "ins", "moat-ins")
    for prog in ("nginx", "wrk", "haproxy"):
        if not shutil.which(prog):
            print("bench_ins: %s not installed (scripts/deps)" % prog)
            return 2
    d = tempfile.mkdtemp(prefix="moat-bench-")
    os.makedirs(d + "/www")
    with open(d + "/www/1k", "wb") as f:
        f.write(os.urandom(1024))
    with open(d + "/www/1m", "wb") as f:
        f.write(os.urandom(1 << 20))
    def nginx(port):
        with open("%s/nginx%d.conf" % (d, port), "w") as f:
            f.write(NGINX_CONF.format(d=d, port=port))
        return ["nginx", "-e", "stderr", "-p", d, "-c", "%s/nginx%d.conf" % (d, port)]

    with open(d + "/haproxy.cfg", "w") as f:
        f.write(HAPROXY_CONF)
    # All servers run at once, each on its own port; cases alternate between
    # them and every pair is measured twice (best kept), so drift in a shared
    # machine's load hits all setups alike.
    setups = [
        ("native", nginx(80), 80),
        ("moat-ins", [ins, "--isolate", "--"] + nginx(81), 81),
        ("moat-ins hold=http", [ins, "--isolate", "--hold", "http", "--"] + nginx(82), 82),
        ("haproxy tcp", ["haproxy", "-db", "-f", d + "/haproxy.cfg"], 8080),
    ]
    cases = [("1k keep-alive", "1k", False), ("1m keep-alive", "1m", False),
             ("1k new conn", "1k", True), ("1m new conn", "1m", True)]
    results = {}
    topo = Topology()
    try:
        srv, cli = topo.ns("srv"), topo.ns("cli")
        topo.veth(srv, SRV + "/24", cli, CLI + "/24")
        for name, argv, port in setups:
            topo.spawn(srv, *argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            port_open(topo, cli, SRV, port)
        for cname, path, close in cases:
            for _ in range(2):
                for name, _, port in setups:
                    r = wrk(topo, cli, "http://%s:%d/%s" % (SRV, port, path), secs, close)
                    best = results.get((name, cname))
                    if best is None or r[0] > best[0]:
                        results[(name, cname)] = r
    finally:
        topo.teardown()
        shutil.rmtree(d, ignore_errors=True)
    print("%-20s %-14s %12s %9s %9s %9s  %s" % ("setup", "case", "req/s", "p99 ms", "x rps",
                                               "x p99", "errors"))
    for cname, _, _ in cases:
        base_rps, base_p99, _ = results[("native", cname)]
        for name, _, _ in setups:
            rps, p99, err = results[(name, cname)]
            print("%-20s %-14s %12.0f %9.2f %9.2f %9.2f  %s" %
                  (name, cname, rps, p99, rps / base_rps, p99 / base_p99 if base_p99 else 0, err))
    return 0


if __name__ == "__main__":
    sys.exit(main())
