"""Per-listener hold and prefix-aggregated sources in moat-ins.

- A server-speaks-first protocol on one port (hold none, from the policy's
  `listeners:`) works — every client gets its banner, nobody is denied — while
  port 8080 of the same program holds http: a request whose headers never
  complete there is reset at the hold timeout and never reaches the program.
- Slow-body connections from a new IPv6 address of one /64 each are one
  source: after deny_after_drops sheds the /64 is denied and further
  connections from fresh addresses of it are reset at accept, while a client
  of another /48 is served throughout."""
import re
import subprocess
import textwrap
import time

from inslib import moat_ins, port_open, proc_output

PY = "/usr/bin/python3"
SRV, CLI = "192.0.2.1", "192.0.2.2"
SRV6, CLI6 = "2001:db8::1", "2001:db8::2"
ATK_NET6 = "2001:db8:a::/64"

# Port 5432 speaks first (a banner, then echoes a line); port 8080 is HTTP
# and counts the requests that reach it.
SERVER = textwrap.dedent("""
    import socket, threading, sys
    seen = [0]
    def banner(c):
        c.sendall(b"220 hello\\r\\n")
        c.recv(100)
        c.close()
    def http(c):
        seen[0] += 1
        data = b""
        while b"\\r\\n\\r\\n" not in data:
            chunk = c.recv(4096)
            if not chunk:
                return c.close()
            data += chunk
        head, _, body = data.partition(b"\\r\\n\\r\\n")
        want = 0
        for line in head.split(b"\\r\\n"):
            if line.lower().startswith(b"content-length:"):
                want = int(line.split(b":")[1])
        while len(body) < want:
            try:
                chunk = c.recv(4096)
            except OSError:
                return c.close()
            if not chunk:
                return c.close()
            body += chunk
        c.sendall(b"HTTP/1.0 200 OK\\r\\nContent-Length: 2\\r\\n\\r\\nok")
        c.close()
        print("http", seen[0], flush=True)
    def serve(port, fn):
        s = socket.socket(socket.AF_INET6)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("::", port))
        s.listen(128)
        while True:
            c, _ = s.accept()
            threading.Thread(target=fn, args=(c,), daemon=True).start()
    threading.Thread(target=serve, args=(5432, banner), daemon=True).start()
    serve(8080, http)
""")

BANNERS = textwrap.dedent("""
    import socket, sys
    ok = 0
    for i in range(30):
        s = socket.create_connection((sys.argv[1], 5432), timeout=3)
        try:
            if s.recv(100).startswith(b"220"):
                ok += 1
            s.sendall(b"quit\\r\\n")
        finally:
            s.close()
    print(ok)
""")

# Headers that never complete on the http port: reset at the hold timeout?
PARTIAL = textwrap.dedent("""
    import socket, sys, time
    s = socket.create_connection((sys.argv[1], 8080), timeout=5)
    s.sendall(b"GET / HTTP/1.1\\r\\nHost: x\\r\\n")
    t0 = time.time()
    try:
        got = s.recv(100)
        print("closed" if not got else "answered", "%.1f" % (time.time() - t0))
    except ConnectionResetError:
        print("reset", "%.1f" % (time.time() - t0))
    except socket.timeout:
        print("still-open")
""")


def test_hold_per_listener(topo):
    srv, cli = topo.ns("srv"), topo.ns("cli")
    topo.veth(srv, SRV + "/24", cli, CLI + "/24")
    pol = "/tmp/moat-ins-listeners-%d.yaml" % id(topo)
    with open(pol, "w") as f:
        f.write("hold:\n  mode: http\n  timeout_ms: 1000\n"
                "listeners:\n  - {port: 5432, hold: none}\n  - {port: 8080, hold: http}\n"
                "shed:\n  deny_after_drops: 2\n")
    p = topo.spawn(srv, *moat_ins("-v", "--policy", pol, "--isolate", "--", PY, "-c", SERVER))
    port_open(topo, cli, SRV, 8080)
    r = topo.run(cli, PY, "-c", BANNERS, SRV, check=False, timeout=60)
    partial = topo.run(cli, PY, "-c", PARTIAL, SRV, check=False, timeout=30)
    r2 = topo.run(cli, PY, "-c", BANNERS, SRV, check=False, timeout=60)
    out = proc_output(p)
    assert r.returncode == 0 and r.stdout.strip() == "30", (r.stdout, r.stderr, out[-2000:])
    verdict = partial.stdout.split()
    assert verdict and verdict[0] in ("reset", "closed"), (partial.stdout, partial.stderr)
    # one held drop on the http port does not deny the banner port's clients
    assert r2.returncode == 0 and r2.stdout.strip() == "30", (r2.stdout, r2.stderr)
    assert not re.search(r"^http ", out, re.M), out[-2000:]   # the partial request never arrived
    assert re.search(r"listening on port 5432 \(hold none\)", out), out[-3000:]
    assert re.search(r"listening on port 8080 \(hold http\)", out), out[-3000:]


# Slow-body connections, each from a fresh address of the /64, one every
# 0.2 s: headers announcing 1000 bytes, then 1 byte a second on each. Prints
# how many are still open, how many were refused at once (reset or closed
# within 0.1 s) and how many were cut while trickling.
ROTATE = textwrap.dedent("""
    import ipaddress, random, socket, sys, time
    net = ipaddress.ip_network(sys.argv[2])
    live, shed, refused, last_drip = [], 0, 0, time.time()
    end = time.time() + float(sys.argv[3])
    while time.time() < end:
        s = socket.socket(socket.AF_INET6)
        s.bind((str(net[random.getrandbits(64) | 1]), 0))
        s.settimeout(3)
        try:
            s.connect((sys.argv[1], 8080))
            s.sendall(b"POST / HTTP/1.1\\r\\nHost: x\\r\\nContent-Length: 1000\\r\\n\\r\\n")
            s.settimeout(0.1)
            if s.recv(10) == b"":
                refused += 1
                s.close()
                continue
        except socket.timeout:
            live.append(s)
        except OSError:
            refused += 1
            s.close()
        time.sleep(0.2)
        if time.time() - last_drip >= 1:
            last_drip = time.time()
            for c in list(live):
                try:
                    c.send(b"a")
                except OSError:
                    live.remove(c)
                    shed += 1
    print(len(live), refused, shed)
""")



def test_ipv6_rotation_within_a_64_is_one_source(topo):
    srv, cli, atk = topo.ns("srv"), topo.ns("cli"), topo.ns("atk")
    topo.veth(srv, SRV6 + "/64", cli, CLI6 + "/64")
    topo.veth(srv, "2001:db8:1::1/64", atk, "2001:db8:1::2/64")
    topo.run(atk, "ip", "link", "set", "lo", "up")
    topo.run(atk, "ip", "-6", "route", "add", "local", ATK_NET6, "dev", "lo", "table", "local")
    topo.run(atk, "sysctl", "-qw", "net.ipv6.ip_nonlocal_bind=1")
    topo.run(srv, "ip", "-6", "route", "add", ATK_NET6, "via", "2001:db8:1::2")
    pol = "/tmp/moat-ins-rotate-%d.yaml" % id(topo)
    with open(pol, "w") as f:
        f.write("hold:\n  mode: http\n"
                "shed:\n  observe_ms: 250\n  grace_ms: 500\n  window_ms: 1000\n"
                "  deny_after_drops: 4\n  deny_for: 60s\n")
    p = topo.spawn(srv, *moat_ins("-v", "--policy", pol, "--isolate", "--", PY, "-c", SERVER))
    port_open(topo, cli, SRV6, 8080)
    atk_p = topo.spawn(atk, PY, "-c", ROTATE, "2001:db8:1::1", ATK_NET6, "12", stderr=subprocess.STDOUT)
    # the legitimate client (another /48) is served while the /64 is shed and denied
    ok = 0
    t_end = time.time() + 14
    while time.time() < t_end:
        r = topo.run(cli, "curl", "-s", "-m", "3", "http://[%s]:8080/" % SRV6, check=False)
        ok += r.stdout == "ok"
        time.sleep(0.2)
    atk_out, _ = atk_p.communicate(timeout=30)
    out = proc_output(p)
    kept, refused, gone = (int(x) for x in atk_out.strip().splitlines()[-1].split())
    shed = len(re.findall("destroyed slow-body connection", out))
    print("rotating /64: %d kept, %d refused at accept, %d seen shed by the attacker, %d shed "
          "by moat-ins; legit %d ok" % (kept, refused, gone, shed, ok))
    assert shed >= 4, out[-3000:]
    assert "source denied" in out, out[-3000:]
    # once denied, fresh addresses of the /64 are refused at accept
    assert refused >= 20, (atk_out, out[-3000:])
    assert ok >= 20, out[-3000:]
