#!/usr/bin/python3
"""bench/ins/bench_ins_slow.py BUILD_DIR [CONNS [RATE [WORKER_CONNECTIONS]]]: slow HTTP DoS at
MAGICWAND's catalogue scale — slowhttptest with CONNS (default 16,384)
connections at RATE (default 256) per second, in slowloris (-H), slow body
(-B) and slow read (-X) modes, from an attacker namespace against nginx (2
workers x WORKER_CONNECTIONS, default 768: Debian's nginx.conf), while a legitimate client in another
namespace requests a 1 KiB file every 50 ms. Each mode runs against nginx
alone and against nginx under `moat-ins --isolate`. Prints, per run: the
legitimate client's success rate (whole attack, and once the attack is at
full scale), its p50/p99 latency and their ratio to the same server's
no-attack run, the time from the attack's start to moat-ins's first
detection (a source denied or a connection destroyed), and what moat-ins
shed (held connections dropped, capped, denied, destroyed). Every
slowhttptest run is bounded (-l). Needs root, nginx and slowhttptest."""
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

# Descriptors for moat-ins (it raises its soft limit to this), nginx and
# slowhttptest: the hard limit we were given (this host: 20,000; 16,384 fit).
NOFILE = __import__("resource").getrlimit(__import__("resource").RLIMIT_NOFILE)[1]
SRV, CLI, ATK = "192.0.2.1", "192.0.2.2", "198.51.100.3"
URL = "http://198.51.100.1"

MODES = {
    "slowloris": ["-H", "-i", "5", "-x", "10", "-u", URL + "/1k.bin"],
    "slow-body": ["-B", "-i", "5", "-x", "10", "-s", "8192", "-u", URL + "/1k.bin"],
    "slow-read": ["-X", "-w", "1", "-y", "16", "-n", "2", "-z", "4", "-k", "2",
                  "-u", URL + "/1m.bin"],
}

POLICY = """hold:
  mode: http
  timeout_ms: 3000
  max_per_source: 32
  max_conns_per_source: 32
shed:
  observe_ms: 500
  grace_ms: 2000
  window_ms: 2000
  min_rate: 64
  deny_after_drops: 16
  deny_for: 60s
"""

# One request every 50 ms; one line per request: seconds since start, ok, latency.
LEGIT = textwrap.dedent("""
    import socket, sys, time
    host, secs = sys.argv[1], float(sys.argv[2])
    start = time.time()
    while time.time() < start + secs:
        t0 = time.time()
        ok = 0
        try:
            s = socket.create_connection((host, 80), timeout=2)
            s.settimeout(2)
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


def pct(sorted_vals, q):
    if not sorted_vals:
        return float("nan")
    return sorted_vals[min(len(sorted_vals) - 1, int(q * len(sorted_vals)))]


def legit_stats(lines, since=0.0):
    """(requests, success rate, p50, p99) of the legit client's lines from `since` s on."""
    rows = [tuple(float(x) for x in l.split()) for l in lines if len(l.split()) == 3]
    rows = [r for r in rows if r[0] >= since]
    oks = sorted(r[2] for r in rows if r[1] == 1)
    n = len(rows)
    return n, (len(oks) / n if n else 0.0), pct(oks, 0.5), pct(oks, 0.99)


class Lines:
    """A process's output lines with the time each arrived."""

    def __init__(self, p):
        self.lines = []
        self.t = threading.Thread(target=self._read, args=(p,), daemon=True)
        self.t.start()

    def _read(self, p):
        for line in p.stdout:
            self.lines.append((time.time(), line.rstrip("\n")))

    def first(self, pattern, after):
        for t, line in list(self.lines):
            if t >= after and re.search(pattern, line):
                return t
        return None

    def text(self):
        return "\n".join(l for _, l in self.lines)


def setup(topo, nginx_dir, worker_connections):
    srv, cli, atk = topo.ns("srv"), topo.ns("cli"), topo.ns("atk")
    topo.veth(srv, SRV + "/24", cli, CLI + "/24")
    topo.veth(srv, "198.51.100.1/24", atk, ATK + "/24")
    d = nginx_dir()
    conf = os.path.join(d, "nginx.conf")
    with open(conf) as f:
        text = f.read()
    text = text.replace("worker_connections 1024;", "worker_connections %d;" % worker_connections)
    text = text.replace("daemon off;", "daemon off;\nworker_rlimit_nofile %d;" % NOFILE)
    with open(conf, "w") as f:
        f.write(text)
    with open(os.path.join(d, "policy.yaml"), "w") as f:
        f.write(POLICY)
    return srv, cli, atk, d


def stop(p, timeout=15):
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
    try:
        p.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()


def serve(topo, srv, cli, argv):
    from inslib import port_open
    p = topo.spawn(srv, "prlimit", "--nofile=%d" % NOFILE, "--", *argv)
    out = Lines(p)
    try:
        port_open(topo, cli, SRV, 80, timeout=20)
    except AssertionError:
        stop(p)
        raise AssertionError("server did not start: %s" % out.text())
    return p, out


def legit(topo, cli, secs):
    r = topo.run(cli, "/usr/bin/python3", "-c", LEGIT, SRV, str(secs), timeout=secs + 60)
    return r.stdout.splitlines()


def one_run(topo, nets, argv, mode, conns, rate, base):
    """One attack against one server; returns a dict of figures."""
    srv, cli, atk = nets
    ramp = conns / rate
    length = int(ramp + 20)
    p, out = serve(topo, srv, cli, argv)
    t0 = time.time()
    atk_p = topo.spawn(atk, "prlimit", "--nofile=%d" % NOFILE, "--",
                       "slowhttptest", *MODES[mode], "-c", str(conns), "-r", str(rate),
                       "-l", str(length), "-p", "3")
    atk_out = Lines(atk_p)
    lines = legit(topo, cli, length - 2)
    try:
        atk_p.wait(60)
    except subprocess.TimeoutExpired:
        stop(atk_p)
    stop(p)
    time.sleep(0.2)
    text = out.text()
    det = out.first(r"source denied|destroyed (slow|idle)", t0)
    n, rate_all, p50, p99 = legit_stats(lines)
    nf, rate_full, _, _ = legit_stats(lines, since=ramp)
    st = re.search(r"held_dropped (\d+) capped (\d+) denied (\d+)", text)
    ob = re.search(r"destroyed (\d+) ", text)
    atk_text = re.sub(r"\x1b\[[0-9;]*m", "", atk_out.text())
    opened = re.findall(r"connected:\s+(\d+)", atk_text)
    probes = re.findall(r"service available:\s+(\w+)", atk_text)
    return {
        "requests": n, "ok": rate_all, "ok_full": rate_full, "p50": p50, "p99": p99,
        "p50x": p50 / base[0] if base[0] else float("nan"),
        "p99x": p99 / base[1] if base[1] else float("nan"),
        "detect": (det - t0) if det else None,
        "shed": [int(x) for x in st.groups()] + [int(ob.group(1)) if ob else 0] if st else None,
        "atk_max_connected": max((int(x) for x in opened), default=0),
        "probe_no": sum(1 for x in probes if x == "NO"), "probes": len(probes),
    }


def report(mode, name, r):
    shed = ("held_dropped %d capped %d denied %d destroyed %d" % tuple(r["shed"])
            if r["shed"] else "-")
    det = "%.1f s" % r["detect"] if r["detect"] is not None else "none"
    return ("%-9s %-8s: legit %d requests, %.1f%% ok (%.1f%% at full scale), "
            "p50 %.2f ms (%.2fx) p99 %.2f ms (%.2fx); attacker max connected %d, "
            "its probe saw the service down %d/%d times; detected %s; shed %s" %
            (mode, name, r["requests"], 100 * r["ok"], 100 * r["ok_full"],
             1000 * r["p50"], r["p50x"], 1000 * r["p99"], r["p99x"],
             r["atk_max_connected"], r["probe_no"], r["probes"], det, shed))


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    build = os.path.abspath(sys.argv[1])
    os.environ["MOAT_BUILD"] = build
    conns = int(sys.argv[2]) if len(sys.argv) > 2 else 16384
    rate = int(sys.argv[3]) if len(sys.argv) > 3 else 256
    wconns = int(sys.argv[4]) if len(sys.argv) > 4 else 768
    if os.geteuid() != 0 or not shutil.which("slowhttptest") or not shutil.which("nginx"):
        print("skipped: needs root, nginx and slowhttptest")
        return 0
    from nslib import Topology
    from test_ins_nginx import nginx_argv, nginx_dir
    from inslib import moat_ins
    print("slowhttptest %d connections at %d/s (ramp %.0f s, each run %d s); nginx 2 workers "
          "x %d connections" % (conns, rate, conns / rate, int(conns / rate + 20), wconns))
    topo = Topology()
    try:
        nets = setup(topo, nginx_dir, wconns)
        srv, cli, atk, d = nets
        nets = (srv, cli, atk)
        servers = {
            "nginx": nginx_argv(d),
            "moat-ins": moat_ins("-v", "--policy", os.path.join(d, "policy.yaml"),
                                 "--isolate", "--", *nginx_argv(d)),
        }
        base = {}
        for name, argv in servers.items():
            p, _ = serve(topo, srv, cli, argv)
            n, ok, p50, p99 = legit_stats(legit(topo, cli, 15))
            stop(p)
            base[name] = (p50, p99)
            print("no attack, %-8s: %d requests, %.1f%% ok, p50 %.2f ms p99 %.2f ms" %
                  (name, n, 100 * ok, 1000 * p50, 1000 * p99))
        print("moat-ins / nginx alone without attack: p50 %.2fx p99 %.2fx" %
              (base["moat-ins"][0] / base["nginx"][0], base["moat-ins"][1] / base["nginx"][1]))
        for mode in MODES:
            for name, argv in servers.items():
                r = one_run(topo, nets, argv, mode, conns, rate, base[name])
                print(report(mode, name, r), flush=True)
        shutil.rmtree(d, ignore_errors=True)
    finally:
        topo.teardown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
