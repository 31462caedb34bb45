#!/usr/bin/python3
"""bench/ins/bench_ins_sources.py BUILD_DIR [SECONDS [RATE [SERVERS [MODES [KINDS]]]]]: slow HTTP
attacks from many sources, side by side: nginx (2 workers x 768 connections)
with the timeouts a tuned deployment sets (client_header_timeout,
client_body_timeout, send_timeout, keepalive_timeout all 5 s) alone, and the
same nginx under `moat-ins --isolate` with its default shedding (hold http,
grace 1 s, window 2 s, IPv4 /32 /24 and IPv6 /64 /48 aggregation) and a cap
of 32 open connections per source.

Attacks (a bounded Python attacker in its own namespace, RATE new
connections per second — default 400 — for SECONDS — default 20 — each
connection kept as long as the server allows, all closed at the end):
  slowloris  headers never finished, one header line every 5 s;
  slow-body  a POST announcing 8 KiB, 10 bytes every 5 s;
  slow-read  GET /1m.bin with a 256-byte receive buffer, 4 bytes read every 2 s;
each from 50 IPv4 addresses (198.51.100.10-59: the documentation ranges give
them one /24) and from a new random IPv6 address of one /64 per connection
(2001:db8:a::/64). A legitimate client in another namespace (192.0.2.2,
2001:db8::2 for the IPv6 runs) fetches 1 KiB every 50 ms during the attack.
Prints its success rate, p50/p99, how long attacking connections lived at the
server side (median, from the attacker: connect to close), and what moat-ins
shed. SERVERS: comma-separated subset of nginx-tuned,moat-ins,moat-ins-32
(moat-ins-32: no prefix aggregation, IPv4 /32 and IPv6 /128 only, to show the
judge alone); MODES a subset of slowloris,slow-body,slow-read; KINDS of v4,v6.
Needs root and nginx."""
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "e2e"))
sys.path.insert(0, HERE)
from bench_ins_slow import Lines, legit_stats, stop  # noqa: E402 (after the path)

NOFILE = __import__("resource").getrlimit(__import__("resource").RLIMIT_NOFILE)[1]
SRV, CLI = "192.0.2.1", "192.0.2.2"
SRV6, CLI6 = "2001:db8::1", "2001:db8::2"
ATK_LINK4, ATK_SRV4 = "198.51.100.2", "198.51.100.1"
ATK_LINK6, ATK_SRV6 = "2001:db8:1::2", "2001:db8:1::1"
ATK_NET6 = "2001:db8:a::/64"

TUNED = ("client_header_timeout 5s; client_body_timeout 5s; send_timeout 5s; "
         "keepalive_timeout 5s; reset_timedout_connection on;")

POLICY = """hold:
  mode: http
  timeout_ms: 5000
  max_per_source: 32
  max_conns_per_source: 32
shed:
  observe_ms: 500
  deny_after_drops: 16
  deny_for: 60s
"""
POLICY_32 = POLICY + """sources:
  ipv4_prefixes: [32]
  ipv6_prefixes: [128]
"""

# The attacker: argv = mode server_addr secs rate sources
# (sources "v4:A,B,..." or "v6:PREFIX" for a new random address per connection).
# Prints one line per connection that ended: "<lifetime s>" and a summary.
ATTACKER = textwrap.dedent("""
    import heapq, ipaddress, random, selectors, socket, sys, time
    mode, host, secs, rate, srcs = sys.argv[1], sys.argv[2], float(sys.argv[3]), \\
        int(sys.argv[4]), sys.argv[5]
    v6 = srcs.startswith("v6:")
    if v6:
        net = ipaddress.ip_network(srcs[3:])
    else:
        addrs = srcs[3:].split(",")
    sel = selectors.DefaultSelector()
    conns = {}          # sock -> [t_open, phase]
    due = []            # heap of (time, seq, sock)
    lives, failed, made, seq = [], 0, 0, 0
    start = time.time()
    def src_addr(i):
        if v6:
            return str(net[random.getrandbits(64) | 1])
        return addrs[i % len(addrs)]
    def first_bytes():
        if mode == "slowloris":
            return b"GET /1k.bin HTTP/1.1\\r\\nHost: x\\r\\n"
        if mode == "slow-body":
            return (b"POST /1k.bin HTTP/1.1\\r\\nHost: x\\r\\nContent-Length: 8192\\r\\n"
                    b"Content-Type: application/x-www-form-urlencoded\\r\\n\\r\\n")
        return b"GET /1m.bin HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n"
    def end(s):
        try:
            sel.unregister(s)
        except (KeyError, ValueError):
            pass
        lives.append(time.time() - conns.pop(s)[0])
        s.close()
    def later(s, t):
        global seq
        seq += 1
        heapq.heappush(due, (t, seq, s))
    while True:
        now = time.time()
        if now - start < secs:
            while made < int((now - start) * rate):
                made += 1
                s = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_STREAM)
                if mode == "slow-read":
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 256)
                s.setblocking(False)
                try:
                    s.bind((src_addr(made), 0))
                    s.connect_ex((host, 80))
                except OSError:
                    failed += 1
                    s.close()
                    continue
                conns[s] = [now, 0]
                sel.register(s, selectors.EVENT_READ)
                later(s, now + 0.05)
        elif not conns or now - start > secs + 15:
            break
        for key, _ in sel.select(0.02):
            s = key.fileobj
            try:
                data = s.recv(4096)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data:
                end(s)
        now = time.time()
        while due and due[0][0] <= now:
            _, _, s = heapq.heappop(due)
            st = conns.get(s)
            if st is None:
                continue
            try:
                if st[1] == 0:
                    s.send(first_bytes())
                    st[1] = 1
                    if mode == "slow-read":
                        sel.unregister(s)   # it reads on its own schedule only
                    later(s, now + (2 if mode == "slow-read" else 5))
                elif mode == "slowloris":
                    s.send(b"X-a: %d\\r\\n" % random.getrandbits(16))
                    later(s, now + 5)
                elif mode == "slow-body":
                    s.send(b"a=0123456")
                    later(s, now + 5)
                elif s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)[0] in (7, 8):
                    end(s)      # reset or closed by the server (its bytes still buffered here)
                elif s.recv(4):
                    later(s, now + 2)
                else:
                    end(s)
            except BlockingIOError:
                later(s, now + 0.1)
            except OSError:
                end(s)
    for s in list(conns):
        end(s)
    lives.sort()
    print("attacker made %d connections (%d failed to start), their life median %.1f s, "
          "p90 %.1f s" % (made, failed, lives[len(lives) // 2] if lives else 0,
                          lives[int(len(lives) * 0.9)] if lives else 0))
""")


LEGIT = textwrap.dedent("""
    import socket, sys, time
    host, secs = sys.argv[1], float(sys.argv[2])
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    start = time.time()
    while time.time() < start + secs:
        t0 = time.time()
        ok = 0
        try:
            s = socket.socket(fam)
            s.settimeout(2)
            s.connect((host, 80))
            s.sendall(b"GET /1k.bin HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n")
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
            s.close()
            ok = int(data.startswith(b"HTTP/1.1 200") and len(data) > 1024)
        except OSError:
            pass
        print("%.3f %d %.6f" % (t0 - start, ok, time.time() - t0), flush=True)
        time.sleep(0.05)
""")


def setup(topo):
    srv, cli, atk = topo.ns("srv"), topo.ns("cli"), topo.ns("atk")
    topo.veth(srv, [SRV + "/24", SRV6 + "/64"], cli, [CLI + "/24", CLI6 + "/64"])
    addrs4 = ["198.51.100.%d/24" % i for i in range(10, 60)]
    topo.veth(srv, [ATK_SRV4 + "/24", ATK_SRV6 + "/64"], atk, [ATK_LINK4 + "/24", ATK_LINK6 + "/64"]
              + addrs4)
    # the attacker may bind any address of its /64 (AnyIP), the server routes it back
    topo.run(atk, "ip", "link", "set", "lo", "up")
    topo.run(atk, "ip", "-6", "route", "add", "local", ATK_NET6, "dev", "lo", "table", "local")
    topo.run(atk, "sysctl", "-qw", "net.ipv6.ip_nonlocal_bind=1")
    topo.run(srv, "ip", "-6", "route", "add", ATK_NET6, "via", ATK_LINK6)
    return srv, cli, atk


def serve(topo, srv, cli, argv, addr):
    from inslib import port_open
    p = topo.spawn(srv, "prlimit", "--nofile=%d" % NOFILE, "--", *argv)
    out = Lines(p)
    try:
        port_open(topo, cli, addr, 80, timeout=20)
    except AssertionError:
        stop(p)
        raise AssertionError("server did not start: %s" % out.text())
    return p, out


def one_run(topo, nets, argv, mode, srcs, secs, rate, six):
    srv, cli, atk = nets
    target = ATK_SRV6 if six else ATK_SRV4
    legit_addr = SRV6 if six else SRV
    p, out = serve(topo, srv, cli, argv, legit_addr)
    atk_p = topo.spawn(atk, "prlimit", "--nofile=%d" % NOFILE, "--", "/usr/bin/python3", "-c",
                       ATTACKER, mode, target, str(secs), str(rate), srcs)
    atk_out = Lines(atk_p)
    r = topo.run(cli, "/usr/bin/python3", "-c", LEGIT, legit_addr, str(secs),
                 timeout=secs + 60)
    try:
        atk_p.wait(secs + 40)
    except subprocess.TimeoutExpired:
        stop(atk_p)
    stop(p)
    time.sleep(0.3)
    n, ok, p50, p99 = legit_stats(r.stdout.splitlines())
    text = out.text()
    st = re.search(r"held_dropped (\d+) capped (\d+) denied (\d+)", text)
    ob = re.search(r"destroyed (\d+) ", text)
    shed = ("held-dropped %s, capped %s, denied %s, destroyed %s" %
            (st.group(1), st.group(2), st.group(3), ob.group(1) if ob else "0") if st else "-")
    atk_line = atk_out.text().strip().splitlines()
    return n, ok, p50, p99, (atk_line[-1] if atk_line else "attacker: no output"), shed


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    build = os.path.abspath(sys.argv[1])
    os.environ["MOAT_BUILD"] = build
    secs = float(sys.argv[2]) if len(sys.argv) > 2 else 20
    rate = int(sys.argv[3]) if len(sys.argv) > 3 else 400
    want = (sys.argv[4] if len(sys.argv) > 4 else "nginx-tuned,moat-ins").split(",")
    modes = (sys.argv[5] if len(sys.argv) > 5 else "slowloris,slow-body,slow-read").split(",")
    kinds = (sys.argv[6] if len(sys.argv) > 6 else "v4,v6").split(",")
    if os.geteuid() != 0 or not shutil.which("nginx"):
        print("skipped: needs root and nginx")
        return 0
    from nslib import Topology
    from test_ins_nginx import nginx_argv, nginx_dir
    from inslib import moat_ins
    print("attack: %d new connections/s for %.0f s (%d in all); nginx 2 workers x 768 "
          "connections, %s" % (rate, secs, int(rate * secs), TUNED))
    topo = Topology()
    d = None
    try:
        nets = setup(topo)
        d = nginx_dir(TUNED)
        conf = os.path.join(d, "nginx.conf")
        with open(conf) as f:
            text = f.read().replace("worker_connections 1024;", "worker_connections 768;")
            text = text.replace("keepalive_timeout 30s;", "")
            text = text.replace("daemon off;", "daemon off;\nworker_rlimit_nofile %d;" % NOFILE)
        with open(conf, "w") as f:
            f.write(text)
        for name, pol in (("policy.yaml", POLICY), ("policy32.yaml", POLICY_32)):
            with open(os.path.join(d, name), "w") as f:
                f.write(pol)
        servers = {
            "nginx-tuned": nginx_argv(d),
            "moat-ins": moat_ins("-v", "--policy", os.path.join(d, "policy.yaml"), "--isolate",
                                 "--", *nginx_argv(d)),
            "moat-ins-32": moat_ins("-v", "--policy", os.path.join(d, "policy32.yaml"),
                                    "--isolate", "--", *nginx_argv(d)),
        }
        sources = {
            "50 IPv4": ("v4:" + ",".join("198.51.100.%d" % i for i in range(10, 60)), False),
            "IPv6 /64": ("v6:" + ATK_NET6, True),
        }
        for mode in modes:
            for sname, (srcs, six) in sources.items():
                if ("v6" if six else "v4") not in kinds:
                    continue
                for name in want:
                    n, ok, p50, p99, atk_line, shed = one_run(
                        topo, nets, servers[name], mode, srcs, secs, rate, six)
                    print("%-9s %-8s %-11s: legit %d requests, %.1f%% ok, p50 %.2f ms p99 "
                          "%.2f ms; %s; shed %s" % (mode, sname, name, n, 100 * ok,
                                                    1000 * p50, 1000 * p99, atk_line, shed),
                          flush=True)
    finally:
        topo.teardown()
        if d:
            shutil.rmtree(d, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
