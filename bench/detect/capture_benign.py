#!/usr/bin/python3
"""capture_benign.py OUT.pcap [SECONDS]: capture a real benign workload.

How bench/detect/benign.pcap was made (root; namespaces and documentation
addresses only; everything it starts is bounded in time and removed):

- namespace srv (203.0.113.10 web, 203.0.113.53 DNS) and namespace cli
  (clients 192.0.2.2-192.0.2.9) joined by a veth pair;
- srv runs python3's http.server over a directory of files of 1 KiB to
  256 KiB and dnsmasq answering names under example.test;
- cli runs eight clients, each a seeded loop of curl GETs (keep-alive off,
  like browsers' many short connections) and DNS queries (python, one UDP
  query each, answered by dnsmasq), with think times that follow a slow
  wave over the run, so the rate varies as a real site's does;
- the veth's GSO size is the MTU, so packets are wire-sized;
- tcpdump in srv captures the veth with a snap length of 96 bytes (headers
  only; the original lengths are kept, which is what the counters count).

The traffic is real (kernel TCP, curl, python's HTTP server, dnsmasq); the
bytes differ run to run (ports, timing), the workload's shape does not.
"""
import math
import os
import random
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

TAG = "bc%d" % (os.getpid() % 100000)
SRV, CLI = TAG + "s", TAG + "c"
CLIENTS = ["192.0.2.%d" % i for i in range(2, 10)]

CLIENT = r"""
import math, random, socket, struct, subprocess, sys, time
src, seed, secs = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
rng = random.Random(seed)
sizes = [1, 2, 4, 8, 16, 32, 64, 128, 256]
t0 = time.time()
n = 0
while time.time() - t0 < secs and n < 5000:          # bounded in time and count
    n += 1
    phase = (time.time() - t0) / secs
    wave = 0.55 + 0.45 * math.sin(2 * math.pi * phase)   # slow load wave
    if rng.random() < 0.3:
        q = struct.pack(">HHHHHH", rng.randrange(65536), 0x0100, 1, 0, 0, 0)
        name = "h%d.example.test" % rng.randrange(50)
        for part in name.split("."):
            q += bytes([len(part)]) + part.encode()
        q += b"\0" + struct.pack(">HH", 1, 1)
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((src, 0))
        s.settimeout(1)
        s.sendto(q, ("203.0.113.53", 53))
        try:
            s.recv(512)
        except OSError:
            pass
        s.close()
    else:
        size = sizes[min(int(rng.expovariate(0.7)), len(sizes) - 1)]
        subprocess.run(["curl", "-s", "-o", "/dev/null", "--max-time", "5",
                        "--interface", src, "http://203.0.113.10/f%d" % size],
                       check=False)
    time.sleep(rng.expovariate(1.0) * 0.9 / wave)
"""


def sh(*argv, ns=None, check=True, **kw):
    prefix = ["ip", "netns", "exec", ns] if ns else []
    return subprocess.run(prefix + list(argv), check=check, **kw)


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    out = os.path.abspath(sys.argv[1])
    secs = float(sys.argv[2]) if len(sys.argv) > 2 else 180
    tmp = tempfile.mkdtemp(prefix="benign")
    procs = []
    try:
        sh("ip", "netns", "add", SRV)
        sh("ip", "netns", "add", CLI)
        sh("ip", "link", "add", TAG + "a", "type", "veth", "peer", "name", TAG + "b")
        sh("ip", "link", "set", TAG + "a", "netns", SRV)
        sh("ip", "link", "set", TAG + "b", "netns", CLI)
        for a in ("203.0.113.10/24", "203.0.113.53/24"):
            sh("ip", "addr", "add", a, "dev", TAG + "a", ns=SRV)
        sh("ip", "addr", "add", "192.0.2.1/24", "dev", TAG + "a", ns=SRV)
        for a in CLIENTS:
            sh("ip", "addr", "add", a + "/24", "dev", TAG + "b", ns=CLI)
        for ns, dev in ((SRV, TAG + "a"), (CLI, TAG + "b")):
            sh("ip", "link", "set", "lo", "up", ns=ns)
            sh("ip", "link", "set", dev, "up", ns=ns)
        sh("ip", "route", "add", "203.0.113.0/24", "via", "192.0.2.1", ns=CLI)
        # wire-sized packets, as a real interface shows them (no 64 KiB segments)
        for ns, dev in ((SRV, TAG + "a"), (CLI, TAG + "b")):
            sh("ip", "link", "set", "dev", dev, "gso_max_size", "1500", ns=ns)
        www = os.path.join(tmp, "www")
        os.mkdir(www)
        for k in (1, 2, 4, 8, 16, 32, 64, 128, 256):
            with open(os.path.join(www, "f%d" % k), "wb") as f:
                f.write(os.urandom(k * 1024))
        procs.append(subprocess.Popen(
            ["ip", "netns", "exec", SRV, "/usr/bin/python3", "-m", "http.server", "--bind",
             "203.0.113.10", "--directory", www, "80"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True))
        procs.append(subprocess.Popen(
            ["ip", "netns", "exec", SRV, "dnsmasq", "-k", "--no-resolv", "--no-hosts",
             "--listen-address=203.0.113.53", "--bind-interfaces", "--port=53",
             "--address=/example.test/203.0.113.10", "--pid-file=" + os.path.join(tmp, "pid"),
             "--user=root"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True))
        dump = subprocess.Popen(
            ["ip", "netns", "exec", SRV, "tcpdump", "-q", "-n", "-s", "96", "-i", TAG + "a",
             "-w", out, "ip"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)
        procs.append(dump)
        time.sleep(2)
        clients = [subprocess.Popen(["ip", "netns", "exec", CLI, "/usr/bin/python3", "-c", CLIENT, src,
                                     str(i + 1), str(secs)], start_new_session=True)
                   for i, src in enumerate(CLIENTS)]
        procs.extend(clients)
        for c in clients:
            c.wait(timeout=secs + 60)
        time.sleep(1)
        dump.send_signal(signal.SIGINT)
        dump.wait(timeout=10)
        print("captured %s: %d bytes" % (out, os.path.getsize(out)))
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
                try:
                    p.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)
        for ns in (SRV, CLI):
            sh("ip", "netns", "del", ns, check=False)
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
