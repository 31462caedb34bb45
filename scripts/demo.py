#!/usr/bin/python3
"""moat's story demo: `make demo` (scripts/demo BUILD runs this).

One scenario in network namespaces the demo creates and always removes
(also on Ctrl-C or SIGTERM), documentation addresses only, no route out:

    atk 198.51.100.2 ─┐                 ┌─ srv 203.0.113.10  nginx under `moat run --isolate`
                      rtr (moatd) ── lan bridge ─ moat-chaff decoys 203.0.113.32-255 (224)
    cli 192.0.2.2 ────┘  203.0.113.1

rtr runs moatd (SQLite store in its own state dir, REST on rtr's loopback,
capturing what crosses rtr from the attacker and client sides, IPFIX from
moat-ins, mitigating with nftables in rtr) and moat-chaff (its own leg on
the LAN bridge, alarms to moatd). The client fetches a page every 100 ms
for the whole run. The attacker, in turn and each bounded in time: sweeps
the LAN with nmap, runs slowloris and slow read against the server, floods
UDP and SYN, and stops. The demo prints a timeline from moatd's flight
record, the dashboard URL (a host loopback port relayed into rtr), and at
the end a summary: each attack, when it was detected, how it was mitigated,
what the client saw per phase, and what was left behind. Exit 0 only if
every phase behaved.

Environment: DEMO_SHORT=1 shorter phases (what `make test` runs);
DEMO_HOLD=1 keep everything up after the summary until Ctrl-C;
DEMO_PORT=N the dashboard's host port (default 8080, else the next free).
"""
import ctypes
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import urllib.error
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
from nslib import Topology, wait_for  # noqa: E402

PY = "/usr/bin/python3"
SHORT = os.environ.get("DEMO_SHORT") == "1"
HOLD = os.environ.get("DEMO_HOLD") == "1"
SRV, RTR_LAN, CLI, ATK = "203.0.113.10", "203.0.113.1", "192.0.2.2", "198.51.100.2"
DECOYS = ["203.0.113.32/27", "203.0.113.64/26", "203.0.113.128/25"]
IPFIX_PORT = 4739

# phase lengths in seconds: (full, short)
LEN = {"baseline": (10, 5), "slowloris": (20, 12), "slowread": (20, 12),
       "udp": (15, 8), "syn": (15, 8)}


def secs(phase):
    return LEN[phase][1 if SHORT else 0]


NGINX_CONF = """daemon off;
master_process on;
worker_processes 2;
worker_rlimit_nofile 8192;
user root;
pid {d}/nginx.pid;
error_log {d}/nginx.err warn;
events {{ worker_connections 4096; use epoll; }}
http {{
    access_log off;
    sendfile on;
    keepalive_timeout 30s;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    server {{
        listen 80 default_server;
        root {d}/www;
    }}
}}
"""

# moat-ins: hold until the headers, shed slow clients (the bench's policy)
INS_POLICY = """hold:
  mode: http
  timeout_ms: 3000
  max_per_source: 32
  max_conns_per_source: 64
shed:
  observe_ms: 500
  grace_ms: 2000
  window_ms: 2000
  min_rate: 64
  deny_after_drops: 16
  deny_for: 20s
"""

# The legitimate client: one GET every 100 ms for SECS seconds; one line per
# request: wall time, 1/0, latency in ms.
CLIENT = textwrap.dedent("""
    import socket, sys, time
    host, secs = sys.argv[1], float(sys.argv[2])
    end = time.time() + secs
    while time.time() < end:
        t0 = time.time()
        ok = 0
        try:
            s = socket.create_connection((host, 80), timeout=2)
            s.settimeout(2)
            s.sendall(b"GET /index.html HTTP/1.0\\r\\nHost: web\\r\\n\\r\\n")
            got = b""
            while True:
                c = s.recv(65536)
                if not c:
                    break
                got += c
            s.close()
            ok = 1 if got.startswith(b"HTTP/1.1 200") else 0
        except OSError:
            pass
        t1 = time.time()
        print("%.3f %d %.2f" % (t0, ok, (t1 - t0) * 1000), flush=True)
        time.sleep(max(0, 0.1 - (t1 - t0)))
""")

UDP_FLOOD = textwrap.dedent("""
    import socket, sys, time
    dst, pps, secs = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    t0 = time.time()
    for i in range(int(pps * secs)):        # bounded in count ...
        s.sendto(b"x" * 64, (dst, 9))
        if i % 50 == 49:
            lag = t0 + (i + 1) / pps - time.time()
            if lag > 0:
                time.sleep(lag)
        if time.time() - t0 > secs:         # ... and in time
            break
""")


class Relay:
    """A host loopback port relayed to an address inside a namespace: the
    outbound socket is made by a thread that joined the namespace (setns is
    per thread), so no extra program is needed. At most 32 connections."""

    def __init__(self, ns, dst, port):
        self.ns, self.dst = ns, dst
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", port))
        self.lsock.listen(16)
        self.port = self.lsock.getsockname()[1]
        self.active = 0
        self.stop = False
        threading.Thread(target=self.accept_loop, daemon=True).start()

    def connect_in_ns(self):
        out = {}

        def run():
            libc = ctypes.CDLL(None, use_errno=True)
            fd = os.open("/run/netns/" + self.ns, os.O_RDONLY | os.O_CLOEXEC)
            try:
                if libc.setns(fd, 0x40000000) != 0:     # CLONE_NEWNET
                    return
            finally:
                os.close(fd)
            try:
                out["s"] = socket.create_connection(self.dst, timeout=5)
            except OSError:
                pass
        t = threading.Thread(target=run)
        t.start()
        t.join()
        return out.get("s")

    def accept_loop(self):
        while not self.stop:
            try:
                c, _ = self.lsock.accept()
            except OSError:
                return
            if self.active >= 32:
                c.close()
                continue
            threading.Thread(target=self.pump, args=(c,), daemon=True).start()

    def pump(self, c):
        self.active += 1
        r = self.connect_in_ns()
        try:
            if r is None:
                return
            r.settimeout(None)
            pair = {c: r, r: c}
            while not self.stop:
                ready, _, _ = select.select(list(pair), [], [], 60)
                if not ready:
                    return
                for s in ready:
                    data = s.recv(65536)
                    if not data:
                        return
                    pair[s].sendall(data)
        except OSError:
            pass
        finally:
            self.active -= 1
            c.close()
            if r is not None:
                r.close()

    def close(self):
        self.stop = True
        self.lsock.close()


class Demo:
    def __init__(self, build):
        self.build = build
        self.bin = {n: os.path.join(build, p) for n, p in (
            ("moatd", "src/engine/moatd"), ("moat", "src/cli/moat"),
            ("moat-ins", "src/ins/moat-ins"), ("moat-chaff", "src/chaff/moat-chaff"))}
        for b in self.bin.values():
            if not os.access(b, os.X_OK):
                sys.exit("demo: %s not built (run 'make build')" % b)
        for prog in ("nginx", "nmap", "slowhttptest", "hping3", "nft"):
            if shutil.which(prog) is None:
                sys.exit("demo: %s is not installed (run 'make deps')" % prog)
        self.t0 = time.time()
        self.topo = Topology()
        self.tmp = tempfile.mkdtemp(prefix="moat-demo.")
        self.state = os.path.join(self.tmp, "state")
        os.makedirs(self.state)
        self.relay = None
        self.seen = set()
        self.phases = []        # (name, start, end)
        self.results = []       # (phase, ok, what)
        self.lock = threading.Lock()
        self.stop_timeline = False

    # ---- output ----
    def say(self, part, msg):
        with self.lock:
            print("%+7.1fs  %-9s %s" % (time.time() - self.t0, part, msg), flush=True)

    def heading(self, msg):
        with self.lock:
            print("\n\033[1m== %s\033[0m" % msg, flush=True)

    # ---- moatd's REST API through the relay ----
    def api(self, path):
        try:
            with urllib.request.urlopen(self.url + path, timeout=5) as r:
                return json.loads(r.read())
        except (urllib.error.URLError, OSError, ValueError):
            return None

    def moat(self, *args):
        return self.topo.run(self.rtr, self.bin["moat"], "--state", self.state, *args)

    def timeline(self):
        """Print moatd's flight entries as they appear (the story as moatd tells it)."""
        parts = {"attack": "moatd", "detection": "moatd", "mitigation": "mitigate",
                 "decoy": "moat-chaff", "ins": "moat-ins", "exporter": "collect",
                 "learning": "moatd"}
        since = int(self.t0)
        while not self.stop_timeline:
            got = self.api("/api/v1/flight?since=%d&limit=500&category=%s" % (
                since, ",".join(parts)))
            for e in reversed((got or {}).get("entries", [])):
                if e["id"] in self.seen:
                    continue
                self.seen.add(e["id"])
                if e["event"] in ("detection.update", "learning.done"):
                    continue
                msg = e["message"]
                with self.lock:
                    print("%+7.1fs  %-9s %s" % (e["time"] - self.t0, parts.get(e["category"], "moatd"),
                                                msg if len(msg) < 120 else msg[:117] + "..."),
                          flush=True)
            time.sleep(0.5)

    # ---- the scenario ----
    def build_network(self):
        t, topo = self.topo.tag[-5:], self.topo
        self.rtr, self.lan, self.srv = topo.ns("rtr"), topo.ns("lan"), topo.ns("srv")
        self.cli, self.atk = topo.ns("cli"), topo.ns("atk")
        topo.run(self.lan, "ip", "link", "add", "br0", "type", "bridge")
        topo.run(self.lan, "ip", "link", "set", "br0", "up")
        self.if_atk, self.if_cli, self.if_chaff = "ra" + t, "rc" + t, "rh" + t
        topo.veth(self.rtr, "198.51.100.1/24", self.atk, ATK + "/24", self.if_atk, "aa" + t)
        topo.veth(self.rtr, "192.0.2.1/24", self.cli, CLI + "/24", self.if_cli, "cc" + t)
        for name, ns, addr, lan_if in (("rl" + t, self.rtr, RTR_LAN + "/24", "lr" + t),
                                       ("sl" + t, self.srv, SRV + "/24", "ls" + t),
                                       (self.if_chaff, self.rtr, None, "lh" + t)):
            topo.veth(ns, addr, self.lan, None, name, lan_if)
            topo.run(self.lan, "ip", "link", "set", lan_if, "master", "br0")
        # moat-chaff's leg: no address, promiscuous, and rtr never answers ARP on it
        topo.run(self.rtr, "ip", "link", "set", self.if_chaff, "promisc", "on")
        topo.run(self.rtr, "sysctl", "-qw", "net.ipv4.conf.%s.arp_ignore=8" % self.if_chaff)
        topo.run(self.rtr, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        for ns in (self.atk, self.cli):
            topo.run(ns, "ip", "route", "add", "default", "via", "%s.1" % (
                ATK if ns == self.atk else CLI).rsplit(".", 1)[0])
        topo.run(self.srv, "ip", "route", "add", "default", "via", RTR_LAN)
        self.say("network", "namespaces %s-*: router, LAN bridge, server, client, attacker"
                 % self.topo.tag)

    def start_moatd(self):
        # The dashboard's host port first: moatd (alone in rtr's namespace)
        # listens on the same port, so the Host header the browser sends
        # through the relay (127.0.0.1:PORT) is moatd's own address and port
        # (moatd answers 421 to any other Host: DNS rebinding).
        port = int(os.environ.get("DEMO_PORT", "8080"))
        for p in list(range(port, port + 50)) + [0]:
            try:
                self.relay = Relay(self.rtr, ("127.0.0.1", 0), p)
                break
            except OSError:
                continue
        api_port = self.api_port = self.relay.port
        self.relay.dst = ("127.0.0.1", api_port)
        conf = os.path.join(self.tmp, "moatd.yaml")
        with open(conf, "w") as f:
            f.write(textwrap.dedent("""\
                # the demo's moatd: embedded defaults, plus where to listen and capture
                api:
                  listen: "127.0.0.1:%d"
                collect:
                  udp: ["%s:%d"]
                  capture:
                    - { interface: %s }
                    - { interface: %s }
                detection:
                  set:
                    threshold_expiry: 3s
                    quiet: 5s
                mitigate:
                  scope: sources
                  # The client is allowlisted: a slow-connection attack's top sources
                  # come from the captured port-80 traffic, where the client is a big
                  # share, so without this its rule would block the client too.
                  allowlist: ["%s/32"]
                connections:
                  retention: 10m
                """ % (api_port, RTR_LAN, IPFIX_PORT, self.if_atk, self.if_cli, CLI)))
        log = open(os.path.join(self.tmp, "moatd.log"), "w")
        self.moatd = self.topo.spawn(self.rtr, self.bin["moatd"], "-c", conf, "--state", self.state,
                                     stdout=log, stderr=subprocess.STDOUT)
        log.close()
        wait_for(lambda: os.path.exists(os.path.join(self.state, "api.url")) and self.topo.run(
            self.rtr, self.bin["moat"], "--state", self.state, "status", check=False).returncode == 0,
            timeout=15, what="moatd")
        self.url = "http://127.0.0.1:%d" % self.relay.port
        self.say("moatd", "running in the router namespace (SQLite store in %s)" % self.state)
        self.moat("po", "add", "web", "--prefix", SRV + "/32", "--port", "80", "--driver", "nft",
                  "--threshold", "udp.pps=2000", "--threshold", "tcp.syn_pps=1000")
        args = ["po", "add", "lan"]
        for d in DECOYS:
            args += ["--prefix", d]
        self.moat(*args, "--driver", "nft")
        self.say("moatd", "POs: web = %s port 80 (udp 2000 pps, SYN 1000/s), lan = the decoys"
                 % SRV)
        self.say("moatd", "mitigation: nft, scope sources, the client %s allowlisted" % CLI)
        threading.Thread(target=self.timeline, daemon=True).start()
        print("\n  Dashboard: \033[1m%s/\033[0m  (REST: %s/api/v1/health)\n" % (self.url, self.url),
              flush=True)

    def start_server(self):
        d = os.path.join(self.tmp, "nginx")
        os.makedirs(os.path.join(d, "www"))
        with open(os.path.join(d, "www", "index.html"), "w") as f:
            f.write("<html><body><h1>moat demo</h1>" + "<p>hello</p>" * 60 + "</body></html>\n")
        with open(os.path.join(d, "www", "1m.bin"), "wb") as f:
            f.write(os.urandom(1 << 20))
        with open(os.path.join(d, "nginx.conf"), "w") as f:
            f.write(NGINX_CONF.format(d=d))
        with open(os.path.join(d, "policy.yaml"), "w") as f:
            f.write(INS_POLICY)
        env = dict(os.environ, MOAT_INS=self.bin["moat-ins"])
        log = open(os.path.join(self.tmp, "server.log"), "w")
        self.server = self.topo.spawn(
            self.srv, "prlimit", "--nofile=20000", "--", self.bin["moat"], "run", "--isolate",
            "--policy", os.path.join(d, "policy.yaml"), "--ipfix", "%s:%d" % (RTR_LAN, IPFIX_PORT),
            "--", "nginx", "-e", os.path.join(d, "nginx.err"), "-p", d,
            "-c", os.path.join(d, "nginx.conf"), stdout=log, stderr=subprocess.STDOUT, env=env)
        log.close()
        probe = ("import socket,sys\ns=socket.socket()\ns.settimeout(0.5)\n"
                 "sys.exit(s.connect_ex(('%s', 80)))\n" % SRV)
        wait_for(lambda: self.topo.run(self.cli, PY, "-c", probe, check=False).returncode == 0,
                 timeout=15, what="nginx under moat-ins")
        self.say("server", "nginx under `moat run --isolate` (hold http, shed slow), IPFIX to moatd")

    def start_chaff(self):
        conf = os.path.join(self.tmp, "chaff.yaml")
        with open(conf, "w") as f:
            f.write(textwrap.dedent("""\
                interface: %s
                seed: 7
                decoys:
                  - ranges: [%s]
                    personality: "linux-5.4"
                    tcp: [22, 80, 443]
                alarms:
                  file: "%s/chaff-alarms.jsonl"
                  window: 2s
                  allow: [%s]
                  moatd_url: "http://127.0.0.1:%d/api/v1/alarms"
                  moatd_token_file: "%s/api.token"
                alive:
                  pps: 1000
                  interval: 1h
                """ % (self.if_chaff, ", ".join(DECOYS), self.tmp, RTR_LAN + "/32", self.api_port,
                       self.state)))
        log = open(os.path.join(self.tmp, "chaff.log"), "w")
        self.chaff = self.topo.spawn(self.rtr, self.bin["moat-chaff"], "-c", conf,
                                     stdout=log, stderr=subprocess.STDOUT)
        log.close()
        time.sleep(0.5)
        if self.chaff.poll() is not None:
            raise RuntimeError("moat-chaff exited: " + open(os.path.join(self.tmp, "chaff.log")).read())
        self.say("lan", "moat-chaff: 224 decoys in %s beside the server" % ", ".join(DECOYS))

    def start_client(self, total):
        self.client_out = open(os.path.join(self.tmp, "client.txt"), "w")
        self.client = self.topo.spawn(self.cli, PY, "-c", CLIENT, SRV, str(total),
                                      stdout=self.client_out, stderr=subprocess.DEVNULL)
        self.say("client", "fetching http://%s/ every 100 ms" % SRV)

    # ---- what moatd says ----
    def attacks(self):
        return (self.api("/api/v1/attacks") or {}).get("attacks", [])

    def mitigations(self):
        return (self.api("/api/v1/mitigations") or {}).get("mitigations", [])

    def attack_of(self, po, types, since, proto=None):
        for a in self.attacks():
            if a["po"] == po and (a["type"] in types or a["protocol"] == proto) and \
                    a["start"] >= since - 1 and \
                    a["state"] in ("declared", "ending", "ended"):
                return a
        return None

    def mitigation_of(self, attack_id):
        for m in self.mitigations():
            if m["request"]["attack_id"] == attack_id:
                return m
        return None

    def phase(self, name, fn):
        self.heading(name)
        start = time.time()
        try:
            ok, what = fn()
        except Exception as e:      # a phase that broke is a phase that did not behave
            ok, what = False, "error: %s" % e
        self.phases.append((name, start, time.time()))
        self.results.append((name, ok, what))
        self.say("demo", ("\033[32mok\033[0m: " if ok else "\033[31mNOT OK\033[0m: ") + what)

    def run_bounded(self, ns, argv, limit):
        p = self.topo.spawn(ns, *argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            p.wait(limit)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGTERM)
            p.wait(5)

    def ph_baseline(self):
        time.sleep(secs("baseline"))
        return True, "quiet traffic: the client alone"

    def ph_scan(self):
        start = time.time()
        self.say("attacker", "nmap ping sweep of 203.0.113.0/24, then a TCP scan of 8 decoys")
        self.run_bounded(self.atk, ["nmap", "-sn", "-n", "--max-retries", "1", "-T4",
                                    "203.0.113.0/24"], 60)
        self.run_bounded(self.atk, ["nmap", "-sT", "-n", "-Pn", "-p", "22,80,443",
                                    "--max-retries", "1", "--host-timeout", "10s",
                                    "203.0.113.32/29"], 40)
        a = wait_for(lambda: self.attack_of("lan", ("scan",), start), timeout=20, interval=0.5,
                     what="a scan attack")
        m = wait_for(lambda: self.mitigation_of(a["id"]), timeout=10, interval=0.5,
                     what="the scanner blocked")
        self.scan = (a, m)
        return m["request"]["sources"] == [ATK], "scan attack #%d, %s blocked by %s" % (
            a["id"], ",".join(m["request"]["sources"]), m["driver"])

    def slowhttp(self, mode, name):
        start = time.time()
        n = secs(name)
        if mode == "-H":
            argv = ["-H", "-c", "500", "-r", "200", "-i", "5", "-x", "10",
                    "-u", "http://%s/index.html" % SRV]
        else:
            argv = ["-X", "-c", "300", "-r", "150", "-w", "1", "-y", "16", "-n", "2", "-z", "4",
                    "-k", "2", "-u", "http://%s/1m.bin" % SRV]
        self.say("attacker", "slowhttptest %s for %d s" % ("slowloris (-H)" if mode == "-H"
                                                            else "slow read (-X)", n))
        self.run_bounded(self.atk, ["prlimit", "--nofile=20000", "--", "slowhttptest", *argv,
                                    "-l", str(n), "-p", "3"], n + 15)
        kinds = ("hold_timeout", "capped", "denied") if mode == "-H" else ("slow_read",)
        conns = (self.api("/api/v1/connections?source=%s&limit=10000" % ATK) or {}).get(
            "connections", [])
        shed = [c for c in conns if c["last_event"] in kinds and c["start"] >= start - 1]
        blocked = any(m["status"] == "mitigating" and ATK in m["request"]["sources"] and
                      m["request"]["po"] == "web" for m in self.mitigations())
        a = self.attack_of("web", ("slow-connection",), start) or self.attack_of(
            "web", ("slow-connection",), self.t0)
        what = "moat-ins shed %d connections (%s)" % (len(shed), "/".join(kinds))
        mine = (self.api("/api/v1/connections?source=%s&limit=10000" % CLI) or {}).get(
            "connections", [])
        hurt = [c["last_event"] for c in mine if c["state"] in ("slow", "dropped") and
                c["start"] >= start - 1]
        if hurt:
            what += "; the client lost %d (%s)" % (len(hurt), ",".join(sorted(set(hurt))))
        if a:
            what += ", moatd: %s attack #%d" % (a["type"], a["id"])
        if blocked:
            what += ", the attacker is under an nft mitigation"
        return bool(shed) or blocked, what

    def ph_slowloris(self):
        return self.slowhttp("-H", "slowloris")

    def ph_slowread(self):
        return self.slowhttp("-X", "slowread")

    def web_drops(self):
        return sum(m["packets"] for m in self.mitigations() if m["request"]["po"] == "web")

    def flood(self, name, types, proto, argv, limit):
        start = time.time()
        drops0 = self.web_drops()
        p = self.topo.spawn(self.atk, *argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            a = wait_for(lambda: self.attack_of("web", types, start, proto), timeout=limit, interval=0.3,
                         what="the %s declared" % name)
            m = wait_for(lambda: self.mitigation_of(a["id"]), timeout=10, interval=0.3,
                         what="the %s mitigated" % name)
            try:
                p.wait(limit + 10)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGTERM)
            m = self.mitigation_of(a["id"])
            # an earlier rule that already holds the attacker (the slowloris's) may
            # drop the flood before this one sees it: count every web rule's drops
            others = self.web_drops() - drops0 - m["packets"]
            return m["packets"] + others > 0, \
                "%s attack #%d declared %.1f s after it began; %s dropped %d packets%s" % (
                    a["type"], a["id"], a["declared"] - start, m["driver"], m["packets"],
                    " (+%d by the earlier rule on the attacker)" % others if others > 0 else "")
        finally:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
                p.wait(5)

    def ph_udp(self):
        n = secs("udp")
        self.say("attacker", "UDP flood, 15,000 pps for %d s" % n)
        return self.flood("udp", ("udp-flood",), "udp", [PY, "-c", UDP_FLOOD, SRV, "15000", str(n)], n)

    def ph_syn(self):
        n = secs("syn")
        self.say("attacker", "SYN flood on port 80 (hping3), 5,000 pps for %d s" % n)
        return self.flood("syn", ("syn-flood",), "tcp", ["hping3", "-q", "-S", "-p", "80", "-i", "u200",
                                                  "-c", str(5000 * n), SRV], n)

    def ph_stop(self):
        self.say("attacker", "stops")

        def calm():
            live = [a for a in self.attacks() if a["state"] != "ended"]
            ms = [m for m in self.mitigations() if m["status"] not in ("ended", "not-mitigated")]
            return not live and not ms
        wait_for(calm, timeout=150, interval=1, what="every attack to end, every rule withdrawn")
        rules = self.topo.run(self.rtr, "nft", "list", "table", "inet", "moat",
                              check=False).stdout
        left = rules.count("comment \"moat:")
        return left == 0, "every attack ended, every mitigation withdrawn (%d moat rules left)" % left

    # ---- the client's view per phase ----
    def client_stats(self):
        rows = []
        try:
            with open(os.path.join(self.tmp, "client.txt")) as f:
                for line in f:
                    p = line.split()
                    if len(p) == 3:
                        rows.append((float(p[0]), int(p[1]), float(p[2])))
        except OSError:
            pass
        out = []
        for name, s, e in self.phases:
            r = [x for x in rows if s <= x[0] < e]
            ok = [x[2] for x in r if x[1]]
            ok.sort()

            def pct(q):
                return ok[min(len(ok) - 1, int(q * len(ok)))] if ok else float("nan")
            out.append((name, len(r), len(ok) / len(r) if r else 0.0, pct(0.5), pct(0.99)))
        return out

    def summary(self):
        self.heading("Summary")
        print("%-11s %-8s %-40s %s" % ("phase", "result", "what moat did", ""))
        for name, ok, what in self.results:
            print("%-11s %-8s %s" % (name, "ok" if ok else "NOT OK", what))
        print()
        print("%-11s %9s %9s %10s %10s" % ("client", "requests", "success", "p50 ms", "p99 ms"))
        stats = self.client_stats()
        bad = []
        for name, n, rate, p50, p99 in stats:
            print("%-11s %9d %8.1f%% %10.1f %10.1f" % (name, n, rate * 100, p50, p99))
            # the client must be served in every phase (a few drops while a
            # flood is declared and before its rule is in are tolerated)
            if n == 0 or rate < 0.9:
                bad.append(name)
        print()
        print("attacks seen by moatd:")
        for a in sorted(self.attacks(), key=lambda a: a["id"]):
            det = a["declared"] - self.t0 if a["declared"] else None
            print("  #%-3d %-16s on %-4s %-6s detected %s, ended %s" % (
                a["id"], a["type"], a["po"], a["protocol"],
                ("+%.1fs" % det) if det is not None else "never",
                ("+%.1fs" % (a["end"] - self.t0)) if a["end"] else "no"))
        for m in sorted(self.mitigations(), key=lambda m: m["started"]):
            print("  mitigation of #%-3d by %-4s sources %-15s dropped %d packets, %s" % (
                m["request"]["attack_id"], m["driver"], ",".join(m["request"]["sources"]) or "any",
                m["packets"], m["status"]))
        return bad

    def teardown(self):
        self.stop_timeline = True
        if self.relay:
            self.relay.close()
        if getattr(self, "moatd", None) is not None and self.moatd.poll() is None:
            self.moatd.terminate()
            try:
                self.moatd.wait(10)
            except subprocess.TimeoutExpired:
                pass
        self.topo.teardown()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def left_behind(self):
        tag = self.topo.tag + "-"
        ns = [n for n in subprocess.run(["ip", "netns", "list"], capture_output=True,
                                        text=True).stdout.split() if n.startswith(tag)]
        procs = [p for p in self.topo.procs if p.poll() is None]
        return ns, procs, os.path.exists(self.tmp)


def main():
    build = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build"))
    if os.geteuid() != 0:
        sys.exit("demo: needs root (network namespaces, nftables)")
    d = Demo(build)
    # Ctrl-C and SIGTERM unwind through the finally below
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(130))
    bad = ["setup"]
    try:
        d.heading("Setting up (%s mode)" % ("short" if SHORT else "full"))
        d.build_network()
        d.start_moatd()
        d.start_server()
        d.start_chaff()
        d.start_client(sum(secs(p) for p in LEN) + 400)
        for name, fn in (("baseline", d.ph_baseline), ("scan", d.ph_scan),
                         ("slowloris", d.ph_slowloris), ("slowread", d.ph_slowread),
                         ("udp-flood", d.ph_udp), ("syn-flood", d.ph_syn), ("after", d.ph_stop)):
            d.phase(name, fn)
        time.sleep(1)
        d.stop_timeline = True
        bad = d.summary() + [n for n, ok, _ in d.results if not ok]
        if HOLD:
            print("\nDEMO_HOLD=1: the scenario stays up; dashboard %s/ ; Ctrl-C ends it" % d.url,
                  flush=True)
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        print("\ndemo: interrupted", flush=True)
        bad = bad or ["interrupted"]
    finally:
        d.teardown()
    ns, procs, tmp = d.left_behind()
    left = []
    if ns:
        left.append("%d namespaces" % len(ns))
    if procs:
        left.append("%d processes" % len(procs))
    if tmp:
        left.append(d.tmp)
    print("left behind: %s" % (", ".join(left) if left else "nothing (namespaces, processes, "
                                "rules and state dir removed)"))
    if left:
        bad.append("cleanup")
    print("demo: %s" % ("every phase behaved" if not bad else "NOT OK: " + ", ".join(sorted(set(bad)))))
    return 0 if not bad else 1


if __name__ == "__main__":
    sys.exit(main())
