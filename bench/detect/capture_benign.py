#!/usr/bin/python3
"""capture_benign.py OUT.pcap [SECONDS] [--workload 2|3]: capture a real benign
workload (workload 1 made benign.pcap, workload 2 benign2.pcap, workload 3
benign3.pcap: the hold-outs).

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

Workload 2 (bench/detect/benign2.pcap, 140 s: the hold-out the detector is
not tuned on) differs in mix, sizes and pacing: twelve clients
(192.0.2.2-192.0.2.13); HTTP runs of 1-3 GETs of files of 2 KiB to 512 KiB (uniform choice);
a second TCP service (a python key-value server on port 7000) used over
long-lived connections, each session a run of small requests with replies
of 64 B to 4 KiB; DNS at a lower share; on/off pacing (sessions of
activity, heavy-tailed (Pareto) think times between them) instead of a
slow wave.

Workload 3 (bench/detect/benign3.pcap, 120 s: the second hold-out, made
after benign2.pcap had been looked at, and not tuned on) uses other tools
and another mix: eight clients (192.0.2.20-192.0.2.27) whose think times
differ per client (means of 1.5 to 6 s, exponential) and shorten over the
run (a mild ramp, 1.3x to 0.7x of the mean), each action one of: wget GETs
(4 KiB to 256 KiB, some rate-limited to 300 KB/s), scp of 16 KiB to 192 KiB
files both ways (uploads are inbound bulk, downloads outbound bulk), ssh
sessions trickling small lines (interactive-like), rsync over the rsync
daemon (pulls and pushes of a tree of small files), short iperf3 runs
(400 kbit/s for 2 s, a quarter of them reversed: the PO sends) and ping
trains (ICMP echo, 56 to 1400 bytes). Servers in srv: OpenSSH's sshd,
rsync --daemon, iperf3 -s (one per client), python3's http.server.

The traffic is real (kernel TCP, curl, python's HTTP server, dnsmasq); the
bytes differ run to run (ports, timing), the workload's shape does not.

Workload 3 needs openssh-server, rsync and iperf3, which scripts/deps does
not install (the committed benign3.pcap is what the bench reads; installing
openssh-server starts an sshd on the host): install them by hand before
re-recording, and stop the host's sshd after.
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

CLIENTS2 = ["192.0.2.%d" % i for i in range(2, 14)]

# Workload 2's client: on/off sessions; each session is HTTP GETs of larger
# files, or a run of key-value requests over one connection, or DNS.
CLIENT2 = r"""
import random, socket, struct, subprocess, sys, time
src, seed, secs = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
rng = random.Random(1000 + seed)
sizes = [2, 4, 8, 16, 32, 64, 512]
t0 = time.time()
n = 0
while time.time() - t0 < secs and n < 3000:          # bounded in time and count
    n += 1
    u = rng.random()
    if u < 0.15:
        q = struct.pack(">HHHHHH", rng.randrange(65536), 0x0100, 1, 0, 0, 0)
        for part in ("k%d" % rng.randrange(20), "example", "test"):
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
    elif u < 0.55:
        for _ in range(rng.randrange(1, 4)):
            subprocess.run(["curl", "-s", "-o", "/dev/null", "--max-time", "8", "--interface",
                            src, "http://203.0.113.10/g%d" % rng.choice(sizes)], check=False)
    else:
        try:
            c = socket.create_connection(("203.0.113.10", 7000), timeout=3,
                                         source_address=(src, 0))
            for _ in range(rng.randrange(3, 16)):
                c.sendall(b"GET %d\n" % rng.choice((64, 256, 1024, 4096)))
                want = int(c.recv(8).split(b" ")[0])
                got = 0
                while got < want:
                    b = c.recv(65536)
                    if not b:
                        break
                    got += len(b)
                time.sleep(rng.uniform(0.02, 0.3))
            c.close()
        except (OSError, ValueError):
            pass
    time.sleep(min(30.0, rng.paretovariate(1.5) * 5))   # heavy-tailed off time
"""

# Workload 2's key-value server: "GET n\n" -> "%07d " header then n bytes.
KVSERVER = r"""
import socket, threading, time, sys
end = time.time() + float(sys.argv[1])
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("203.0.113.10", 7000))
srv.listen(64)
srv.settimeout(1)
def serve(c):
    c.settimeout(10)
    f = c.makefile("rb")
    try:
        for line in f:
            n = min(int(line.split()[1]), 1 << 20)
            c.sendall(b"%07d " % n + b"v" * n)
    except (OSError, ValueError, IndexError):
        pass
    c.close()
while time.time() < end:
    try:
        c, _ = srv.accept()
    except OSError:
        continue
    threading.Thread(target=serve, args=(c,), daemon=True).start()
"""


CLIENTS3 = ["192.0.2.%d" % i for i in range(20, 28)]

# Workload 3's client: argv src, seed, secs, tmp dir (keys, files), index.
CLIENT3 = r"""
import os, random, subprocess, sys, time
src, seed, secs, tmp, idx = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4], int(sys.argv[5])
rng = random.Random(3000 + seed)
mean = [1.5, 2, 2.5, 3, 3.5, 4, 5, 6][idx % 8]
ssh = ["-i", os.path.join(tmp, "id"), "-o", "StrictHostKeyChecking=no",
       "-o", "UserKnownHostsFile=/dev/null", "-o", "BindAddress=" + src, "-o", "LogLevel=ERROR",
       "-o", "BatchMode=yes"]
mine = os.path.join(tmp, "c%d" % idx)
os.makedirs(mine, exist_ok=True)
def run(argv, limit=20):
    try:
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=limit,
                       check=False)
    except subprocess.TimeoutExpired:
        pass
t0 = time.time()
n = 0
while time.time() - t0 < secs and n < 2000:          # bounded in time and count
    n += 1
    phase = (time.time() - t0) / secs
    u = rng.random()
    if u < 0.25:
        argv = ["wget", "-q", "-O", "/dev/null", "-T", "10", "--bind-address=" + src,
                "http://203.0.113.10/w%d" % rng.choice((4, 16, 64, 256))]
        if rng.random() < 0.3:
            argv.insert(1, "--limit-rate=300k")
        run(argv)
    elif u < 0.4:
        k = rng.choice((16, 64, 192))
        if rng.random() < 0.5:
            run(["scp", "-q"] + ssh + ["root@203.0.113.10:" + os.path.join(tmp, "www", "s%d" % k),
                 os.path.join(mine, "got")])
        else:
            run(["scp", "-q"] + ssh + [os.path.join(tmp, "www", "s%d" % k),
                 "root@203.0.113.10:" + os.path.join(tmp, "up%d" % idx)])
    elif u < 0.55:
        lines = rng.randrange(5, 40)
        run(["ssh"] + ssh + ["root@203.0.113.10",
             "for i in $(seq %d); do echo line $i; sleep 0.%d; done" % (lines, rng.randrange(1, 6))],
            limit=30)
    elif u < 0.7:
        if rng.random() < 0.6:
            run(["rsync", "-a", "--address=" + src, "rsync://203.0.113.10/www/tree/",
                 os.path.join(mine, "tree")])
        else:
            run(["rsync", "-a", "--address=" + src, os.path.join(tmp, "www", "tree") + "/",
                 "rsync://203.0.113.10/up/c%d/" % idx])
        subprocess.run(["rm", "-rf", os.path.join(mine, "tree")], check=False)
    elif u < 0.8:
        argv = ["iperf3", "-c", "203.0.113.10", "-B", src, "-p", str(5201 + idx), "-t", "2",
                "-b", "400K", "-l", "1200"]
        if rng.random() < 0.25:
            argv.append("-R")
        run(argv, limit=15)
    else:
        run(["ping", "-q", "-n", "-I", src, "-c", str(rng.randrange(3, 15)), "-i", "0.2",
             "-s", str(rng.choice((56, 200, 1400))), "203.0.113.10"])
    time.sleep(rng.expovariate(1.0) * mean * (1.3 - 0.6 * phase))
"""

SSHD_CONFIG = """Port 22
ListenAddress 203.0.113.10
HostKey {tmp}/hostkey
AuthorizedKeysFile {tmp}/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
StrictModes no
UsePAM no
PidFile {tmp}/sshd.pid
MaxStartups 100
MaxSessions 50
Subsystem sftp internal-sftp
"""

RSYNCD_CONFIG = """port = 873
address = 203.0.113.10
use chroot = no
pid file = {tmp}/rsyncd.pid
uid = root
gid = root
max connections = 50
[www]
path = {tmp}/www
read only = true
[up]
path = {tmp}/up
read only = false
"""


def start3(tmp, secs, procs, nclients):
    """Workload 3's servers in SRV: sshd, rsync --daemon, iperf3 -s per client."""
    www = os.path.join(tmp, "www")
    for k in (4, 16, 64, 256):
        with open(os.path.join(www, "w%d" % k), "wb") as f:
            f.write(os.urandom(k * 1024))
    for k in (16, 64, 192):
        with open(os.path.join(www, "s%d" % k), "wb") as f:
            f.write(os.urandom(k * 1024))
    tree = os.path.join(www, "tree")
    os.mkdir(tree)
    rng = random.Random(33)
    for i in range(24):
        with open(os.path.join(tree, "t%d" % i), "wb") as f:
            f.write(os.urandom(rng.choice((200, 1000, 3000, 12000))))
    os.mkdir(os.path.join(tmp, "up"))
    os.chmod(tmp, 0o700)
    sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", os.path.join(tmp, "hostkey"))
    sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", os.path.join(tmp, "id"))
    shutil.copy(os.path.join(tmp, "id.pub"), os.path.join(tmp, "authorized_keys"))
    for name, text in (("sshd_config", SSHD_CONFIG), ("rsyncd.conf", RSYNCD_CONFIG)):
        with open(os.path.join(tmp, name), "w") as f:
            f.write(text.format(tmp=tmp))
    os.makedirs("/run/sshd", exist_ok=True)     # sshd's privilege separation directory
    procs.append(subprocess.Popen(
        ["ip", "netns", "exec", SRV, "/usr/sbin/sshd", "-D", "-e", "-f",
         os.path.join(tmp, "sshd_config")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True))
    procs.append(subprocess.Popen(
        ["ip", "netns", "exec", SRV, "rsync", "--daemon", "--no-detach",
         "--config=" + os.path.join(tmp, "rsyncd.conf")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True))
    for i in range(nclients):
        procs.append(subprocess.Popen(
            ["ip", "netns", "exec", SRV, "timeout", str(int(secs + 60)), "iperf3", "-s", "-B",
             "203.0.113.10", "-p", str(5201 + i)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True))


def sh(*argv, ns=None, check=True, **kw):
    prefix = ["ip", "netns", "exec", ns] if ns else []
    return subprocess.run(prefix + list(argv), check=check, **kw)


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    workload = 1
    if "--workload" in sys.argv:
        workload = int(sys.argv[sys.argv.index("--workload") + 1])
        args.remove(str(workload))
    out = os.path.abspath(args[0])
    secs = float(args[1]) if len(args) > 1 else 180
    clients_addr, client_code = {1: (CLIENTS, CLIENT), 2: (CLIENTS2, CLIENT2),
                                 3: (CLIENTS3, CLIENT3)}[workload]
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
        for a in clients_addr:
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
        for k in (2, 4, 8, 16, 32, 64, 512):
            with open(os.path.join(www, "g%d" % k), "wb") as f:
                f.write(os.urandom(k * 1024))
        if workload == 3:
            start3(tmp, secs, procs, len(clients_addr))
        if workload == 2:
            procs.append(subprocess.Popen(
                ["ip", "netns", "exec", SRV, "/usr/bin/python3", "-c", KVSERVER, str(secs + 30)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True))
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
        clients = [subprocess.Popen(["ip", "netns", "exec", CLI, "/usr/bin/python3", "-c",
                                     client_code, src, str(i + 1), str(secs), tmp, str(i)],
                                    start_new_session=True)
                   for i, src in enumerate(clients_addr)]
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
