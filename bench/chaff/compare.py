#!/usr/bin/python3
"""bench/chaff/compare.py BUILD_DIR

moat-chaff next to a real Debian host, seen from one scanner on one segment
(issue #15): a bridge joins three namespaces, the scanner, a moat-chaff with
a linux-5.4 decoy (22/25/80/443/6379, IPv6) and a windows-10 decoy
(135/139/445/3389), and a "real host": this machine's kernel in a namespace
running the real programs Debian already installed here (OpenSSH's sshd with
fresh host keys, nginx with a self-signed certificate, redis-server, Python's
smtpd). Every check of the issue runs against both and a markdown table is
printed: check | real Debian host | moat-chaff decoy | same?.

Only documentation addresses; every probe bounded in time; namespaces,
processes and temporary files removed at exit, even on failure. Root.
Not part of `make test`: it prints a comparison, it asserts nothing.
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
E2E = os.path.join(HERE, "..", "..", "tests", "e2e")
sys.path.insert(0, E2E)
WIRE = os.path.join(E2E, "chaffwire.py")

SCAN = "198.51.100.1"
REAL = "198.51.100.10"
LINUX = "198.51.100.20"
WINDOWS = "198.51.100.30"
SPOOFED = "198.51.100.77"          # held by nobody: the zero-window client's address
PREFIX = "2001:db8:1::"
SCAN6 = PREFIX + "1"
REAL6 = PREFIX + "10"
LPORTS = [22, 25, 80, 443, 6379]
WPORTS = [135, 139, 445, 3389]


# ---- probes run inside the scanner namespace (compare.py --probe ...) ----

def probe_arp_all(iface, my_ip, target, count):
    """ARP requests (my_ip 0.0.0.0: RFC 5227 probes) for target, count of
    them 1 s apart; print every MAC that answers."""
    import chaffwire
    import struct
    s = chaffwire.packet_socket(iface)
    my_mac = s.getsockname()[4]
    req = (b"\xff" * 6 + my_mac + b"\x08\x06" + struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) +
           my_mac + socket.inet_aton(my_ip) + b"\0" * 6 + socket.inet_aton(target))
    macs = set()
    for _ in range(count):
        s.send(req)
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            try:
                d = chaffwire.parse(s.recv(2048))
            except socket.timeout:
                continue
            if d and d["kind"] == "arp" and d["op"] == 2 and d["spa"] == target:
                macs.add(d["sha"])
    print(json.dumps(sorted(macs)))


def probe_vlan(iface, target, vid):
    """An ARP request tagged vid (scapy, which puts back the tag the kernel
    took off); print how it is answered."""
    from scapy.all import ARP, Dot1Q, Ether, AsyncSniffer, sendp, conf, get_if_hwaddr
    conf.verb = 0
    me = get_if_hwaddr(iface)
    sn = AsyncSniffer(iface=iface, filter="arp or vlan", store=True)
    sn.start()
    time.sleep(0.5)
    sendp(Ether(dst="ff:ff:ff:ff:ff:ff", src=me) / Dot1Q(vlan=int(vid)) /
          ARP(op=1, hwsrc=me, psrc="198.51.100.1", pdst=target), iface=iface)
    time.sleep(1.0)
    sn.stop()
    tags = ["%s by %s" % ("tagged %d" % p[Dot1Q].vlan if Dot1Q in p else "untagged",
                          p[ARP].hwsrc) for p in sn.results
            if ARP in p and p[ARP].op == 2 and p[ARP].psrc == target]
    print(json.dumps("answered " + ", ".join(tags) if tags else "no answer"))


def probe_tls536(iface, ip):
    """A TLS handshake to ip:443 from a client whose MSS is 536, every
    segment from ip captured: the certificate flight must come cut at the
    MSS (524 data bytes with timestamps)."""
    import ssl
    import chaffwire
    cap = chaffwire.packet_socket(iface)
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, 536)
    c.settimeout(10)
    c.connect((ip, 443))
    ok = True
    try:
        t = ctx.wrap_socket(c)
        t.close()
    except (OSError, ssl.SSLError):
        ok = False
        c.close()
    segs = []
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        try:
            d = chaffwire.parse(cap.recv(4096))
        except socket.timeout:
            continue
        if d and d["kind"] == "tcp" and d["src"] == ip and d["data_len"] > 0:
            segs.append(d)
    print(json.dumps({"ok": ok, "n": len(segs), "bytes": sum(d["data_len"] for d in segs),
                      "max": max([d["data_len"] for d in segs] or [0]),
                      "ts": all("tsval" in d["opts"] for d in segs)}))


def probe_smtp(ip):
    out = {"banner": None, "ehlo": None}
    try:
        c = socket.create_connection((ip, 25), timeout=5)
        f = c.makefile("rb")
        out["banner"] = f.readline().decode("latin-1").strip()
        c.sendall(b"EHLO scanner.example\r\n")
        kw = []
        for _ in range(40):
            line = f.readline().decode("latin-1").rstrip()
            if not line:
                break
            kw.append(line[4:])
            if line[3:4] != "-":
                break
        out["ehlo"] = kw[1:]
        c.sendall(b"QUIT\r\n")
        c.close()
    except OSError as e:
        out["error"] = str(e)
    print(json.dumps(out))


def probe_rdp(ip):
    """X.224 Connection Request with RDP_NEG_REQ (TLS|CredSSP); print the
    answer's TPDU code and negotiation type."""
    req = bytes.fromhex("030000130ee000000000000100080003000000")
    try:
        c = socket.create_connection((ip, 3389), timeout=5)
        c.sendall(req)
        c.settimeout(5)
        data = c.recv(64)
        c.close()
        if len(data) >= 19 and data[5] == 0xd0 and data[11] == 2:
            names = {0: "RDP", 1: "TLS", 2: "CredSSP", 8: "CredSSP+EarlyUserAuth"}
            print(json.dumps("X.224 Connection Confirm, RDP_NEG_RSP selects %s" %
                             names.get(data[15], data[15])))
        elif len(data) >= 7 and data[5] == 0xd0:
            print(json.dumps("X.224 Connection Confirm, %d bytes: %s" % (len(data),
                                                                        data.hex())))
        else:
            print(json.dumps("answer %s" % data[:16].hex()))
    except OSError as e:
        print(json.dumps("error: %s" % e))


if len(sys.argv) > 2 and sys.argv[1] == "--probe":
    what, args = sys.argv[2], sys.argv[3:]
    if what == "arpall":
        probe_arp_all(args[0], args[1], args[2], int(args[3]))
    elif what == "vlan":
        probe_vlan(args[0], args[1], args[2])
    elif what == "tls536":
        probe_tls536(args[0], args[1])
    elif what == "smtp":
        probe_smtp(args[0])
    elif what == "rdp":
        probe_rdp(args[0])
    sys.exit(0)

from nslib import Topology  # noqa: E402


class Cmp:
    def __init__(self, topo, scan):
        self.topo, self.scan, self.rows = topo, scan, []

    def run(self, *argv, timeout=60):
        try:
            r = self.topo.run(self.scan, *argv, check=False, timeout=timeout)
            return r.stdout + r.stderr
        except subprocess.TimeoutExpired:
            return "(timed out after %d s)" % timeout

    def wire(self, *args, timeout=30):
        out = self.run(sys.executable, WIRE, *args, timeout=timeout)
        try:
            return json.loads(out)
        except ValueError:
            return {"error": out.strip()[:80]}

    def probe(self, *args, timeout=30):
        out = self.run(sys.executable, os.path.abspath(__file__), "--probe", *args,
                       timeout=timeout)
        try:
            return json.loads(out)
        except ValueError:
            return "error: " + out.strip()[:80]

    def row(self, check, real, decoy, same=None):
        real, decoy = str(real), str(decoy)
        if same is None:
            same = "yes" if real == decoy else "no"
        self.rows.append((check, real, decoy, same))
        print("  %s\n    real:  %s\n    decoy: %s" % (check, real, decoy), flush=True)

    def table(self):
        esc = lambda s: s.replace("|", "\\|").replace("\n", " ")   # noqa: E731
        lines = ["| check | real Debian host | moat-chaff decoy | same? |",
                 "|---|---|---|---|"]
        lines += ["| %s |" % " | ".join(esc(c) for c in r) for r in self.rows]
        return "\n".join(lines)


# ---- the checks: each returns a short comparable string ----

def ping(c, *args):
    out = c.run("ping", *args, timeout=20)
    m = re.search(r"(\d+) packets transmitted, (\d+) received", out)
    ttl = sorted(set(re.findall(r"(?:ttl|hlim)=(\d+)", out)))
    size = sorted(set(re.findall(r"^(\d+) bytes from", out, re.M)))
    if not m:
        return out.strip()[:60]
    s = "%s/%s replies" % (m.group(2), m.group(1))
    if ttl:
        s += ", ttl %s" % "/".join(ttl)
    if size and "-s" in args:
        s += ", %s bytes" % "/".join(size)
    return s


def all_nodes_responders(c):
    """ping -6 ff02::1 from the scanner; returns {MAC: link-local} of every
    responder (each then pinged by unicast so the neighbour table names its
    MAC: multicast echo replies make no neighbour entry)."""
    out = c.run("ping", "-6", "-c", "2", "-w", "4", "-I", "s0", "ff02::1", timeout=20)
    lls = sorted(set(re.findall(r"from (fe80::[0-9a-f:]+)", out)))
    res = {}
    for ll in lls:
        c.run("ping", "-6", "-c", "1", "-W", "1", "%s%%s0" % ll, timeout=10)
        n = c.run("ip", "-6", "neigh", "show", ll, "dev", "s0")
        m = re.search(r"lladdr (\S+)", n)
        if m:
            res[m.group(1)] = ll
    return res


def iid_kind(ll, mac):
    if not ll:
        return "none"
    b = [int(x, 16) for x in mac.split(":")]
    eui = "%x:%x:%x:%x" % ((b[0] ^ 2) << 8 | b[1], b[2] << 8 | 0xff, 0xfe00 | b[3],
                           b[4] << 8 | b[5])
    return "EUI-64" if ll.endswith(eui) else "opaque"


def neigh(c, addr):
    out = c.run("ip", "-6", "neigh", "show", addr).strip()
    if not out:
        return "no entry"
    st = out.split()[-1]
    return "lladdr, %s%s" % (st, ", router" if " router" in out else "")


def nmap_ports(c, *args):
    out = c.run("nmap", "-n", "-Pn", "-T4", *args, timeout=120)
    ports = re.findall(r"^(\d+)/tcp\s+(\S+)", out, re.M)
    return ", ".join("%s %s" % p for p in ports) or out.strip()[-60:]


def nmap_sv(c, ip, ports):
    out = c.run("nmap", "-n", "-Pn", "-T4", "-sV", "-p", ",".join(map(str, ports)), ip,
                timeout=240)
    res = {}
    for m in re.finditer(r"^(\d+)/tcp\s+(\S+)\s+(\S+)\s*(.*)$", out, re.M):
        res[int(m.group(1))] = ("%s %s" % (m.group(3), m.group(4))).strip()
    return res


def os_guess(c, ip, ports):
    out = c.run("nmap", "-n", "-Pn", "-O", "--osscan-guess", "-p", "%s,1" % ",".join(map(str, ports)), ip,
                timeout=240)
    for key in ("OS details:", "Aggressive OS guesses:", "Running:", "No exact OS matches"):
        m = re.search(re.escape(key) + r"\s*(.*)", out)
        if m:
            first = m.group(1).split(", ")[0] if key != "No exact OS matches" else ""
            return (key.rstrip(":") + " " + first).strip()[:90]
    return "no guess"


def https(c, ip):
    out = c.run("curl", "-k", "-s", "-m", "10", "-o", "/dev/null", "-D", "-",
                "https://%s/" % ip, timeout=20)
    status = re.search(r"^HTTP/\S+ (\d+)", out, re.M)
    server = re.search(r"^server: (.*?)\r?$", out, re.M | re.I)
    return "%s, Server: %s" % (status.group(1) if status else "no answer",
                               server.group(1) if server else "-")


def tls_cert(c, ip, port=443):
    out = c.run("sh", "-c", "openssl s_client -connect %s:%d -servername x </dev/null 2>&1 |"
                " head -c 20000" % (ip, port), timeout=20)
    subj = re.search(r"^subject=(.*)$", out, re.M)
    issuer = re.search(r"^issuer=(.*)$", out, re.M)
    verify = re.search(r"Verify return code: \d+ \(([^)]*)\)", out)
    if not subj:
        return ("no certificate", "-")
    selfsigned = "self-signed" if issuer and issuer.group(1) == subj.group(1) else "CA-issued"
    return (subj.group(1).strip(), "%s (%s)" % (selfsigned, verify.group(1) if verify else "?"))


def redis(c, ip):
    ping_ = c.run("redis-cli", "-h", ip, "PING", timeout=10).strip()
    info = c.run("redis-cli", "-h", ip, "INFO", "server", timeout=10)
    ver = re.search(r"^redis_version:(\S+)", info, re.M)
    os_ = re.search(r"^os:(.*?)\r?$", info, re.M)
    return ping_[:40], ("redis_version:%s, os:%s" % (ver.group(1), os_.group(1).strip())
                        if ver else info.strip()[:60])


def ssh_keys(c, ip):
    out = c.run("ssh-keyscan", "-T", "5", ip, timeout=30)
    banner = re.search(r"SSH-2\.0-(\S+)", out)
    kinds = sorted(set(re.findall(r"^\S+ (ssh-\w+|ecdsa-[\w-]+)", out, re.M)))
    return banner.group(1) if banner else "no banner", ", ".join(kinds) or "none"


def fetch536(c, ip):
    d = c.wire("fetch", "s0", ip, "80", "536")
    segs = [s for s in d.get("segments", []) if s["data_len"] > 0]
    if not segs:
        return "no data (%s)" % str(d)[:60]
    ts = all("tsval" in s["opts"] for s in segs)
    return "%d bytes (%s) in %d segments, largest %d, timestamps on all: %s" % (
        d["body_len"], d["head"].split("\r\n")[0], len(segs),
        max(s["data_len"] for s in segs), "yes" if ts else "no")


def tls536(c, ip):
    d = c.probe("tls536", "s0", ip)
    if not isinstance(d, dict):
        return d
    return "%s, %d bytes in %d segments, largest %d, timestamps on all: %s" % (
        "handshake done" if d["ok"] else "handshake failed", d["bytes"], d["n"], d["max"],
        "yes" if d["ts"] else "no")


def http_get(c, ip):
    out = c.run("curl", "-s", "-m", "10", "-o", "/dev/null", "-D", "-", "-w",
                "body %{size_download} bytes", "http://%s/" % ip, timeout=20)
    status = re.search(r"^HTTP/\S+ (\d+)", out, re.M)
    hdrs = [h.split(":")[0] for h in re.findall(r"^([A-Za-z-]+):", out, re.M)]
    body = re.search(r"body (\d+) bytes", out)
    return "%s, body %s bytes, headers: %s" % (status.group(1) if status else "no answer",
                                               body.group(1) if body else "?", " ".join(hdrs))


def segmentation_same(r, d):
    """Same rule on the wire: no segment over 536 - 12 bytes, timestamps on all."""
    def ok(x):
        m = re.search(r"largest (\d+), timestamps on all: yes", x)
        return bool(m) and int(m.group(1)) <= 524
    return "yes (at most 524 bytes a segment, timestamps)" if ok(r) and ok(d) else "no"


def zerowin(c, ip, mac):
    d = c.wire("zerowin", "s0", SPOOFED, "4", "%s@%s@80" % (ip, mac), timeout=30)
    ev, opened = d.get("events", []), d.get("opened")
    synack = [e for e in ev if e["flags"] & 0x12 == 0x12]
    if not synack or not opened:
        return "no handshake"
    before = [e for e in ev if e["t"] < opened and not e["flags"] & 0x02]
    data_before = sum(1 for e in before if e["data_len"] > 0)
    probes = sum(1 for e in before if e["seq"] == synack[0]["seq"])
    after = [e for e in ev if e["t"] >= opened and e["data_len"] > 0]
    return "data while closed: %d, window probes: %d, data after opening: %s" % (
        data_before, probes, "yes" if after else "no")


def icmp_ts(c, ip):
    d = c.wire("icmpts", ip, "2")
    return "answered" if d and "rx" in d else "no answer"


def quiet_traffic(c, macs, seconds):
    """Frames each MAC sends unprompted in `seconds`, by kind."""
    out = c.run("timeout", str(seconds), "tcpdump", "-l", "-e", "-n", "-i", "s0",
                timeout=seconds + 10)
    counts = {m: {} for m in macs}
    for line in out.splitlines():
        m = re.match(r"\S+ (\S+) > (\S+), ethertype (\S+)", line)
        if not m or m.group(1) not in counts:
            continue
        if "ARP" in line and "Request who-has" in line:
            kind = "GARP" if re.search(r"who-has (\S+) tell \1\b", line) else "ARP req"
        elif "ARP" in line:
            kind = "ARP other"
        elif "ICMP6" in line:
            kind = "ICMPv6"
        elif "NBT" in line or ".137 " in line or ".138 " in line:
            kind = "NetBIOS"
        elif ".5353 " in line:
            kind = "mDNS"
        elif ".1900 " in line:
            kind = "SSDP"
        else:
            kind = "other"
        counts[m.group(1)][kind] = counts[m.group(1)].get(kind, 0) + 1
    return {m: (", ".join("%s %d" % kv for kv in sorted(k.items())) or "nothing")
            for m, k in counts.items()}


def mac_of(c, ip):
    m = c.wire("arp", "s0", SCAN, ip)
    return m if isinstance(m, str) else None


# ---- setup ----

def write(dirpath, name, text):
    p = os.path.join(dirpath, name)
    with open(p, "w") as f:
        f.write(text)
    return p


def start_real(topo, real, tmp):
    """The real host's programs, each on its own temporary config."""
    sub = lambda *a: subprocess.run(list(a), check=True, capture_output=True)  # noqa: E731
    started = []
    # TLS: a self-signed certificate as Debian's ssl-cert makes (CN = host name).
    key, crt = os.path.join(tmp, "tls.key"), os.path.join(tmp, "tls.crt")
    sub("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3650",
        "-subj", "/CN=debian", "-keyout", key, "-out", crt)
    ngx = write(tmp, "nginx.conf", """
user root; worker_processes 1; pid %(t)s/nginx.pid; error_log %(t)s/nginx.err;
events { worker_connections 64; }
http {
  access_log off; client_body_temp_path %(t)s; proxy_temp_path %(t)s;
  fastcgi_temp_path %(t)s; uwsgi_temp_path %(t)s; scgi_temp_path %(t)s;
  include /etc/nginx/mime.types;
  server { listen 80; listen [::]:80; listen 443 ssl; listen [::]:443 ssl;
    ssl_certificate %(c)s; ssl_certificate_key %(k)s; root /var/www/html;
    index index.html index.htm index.nginx-debian.html; }
}
""" % {"t": tmp, "c": crt, "k": key})
    if shutil.which("nginx"):
        topo.spawn(real, "nginx", "-c", ngx, "-g", "daemon off;")
        started.append("nginx")
    if shutil.which("redis-server"):
        topo.spawn(real, "redis-server", "--port", "6379", "--bind", "0.0.0.0", "::",
                   "--protected-mode", "no", "--save", "", "--appendonly", "no",
                   "--dir", tmp, "--daemonize", "no")
        started.append("redis-server")
    # Python's smtpd (deprecated, still in 3.11): Debian has no MTA installed here.
    topo.spawn(real, "/usr/bin/python3", "-W", "ignore", "-m", "smtpd", "-n", "-c",
               "DebuggingServer", "0.0.0.0:25")
    started.append("python3 -m smtpd")
    if os.path.exists("/usr/sbin/sshd"):
        keys = []
        for kind in ("rsa", "ecdsa", "ed25519"):
            p = os.path.join(tmp, "ssh_host_%s_key" % kind)
            sub("ssh-keygen", "-q", "-t", kind, "-N", "", "-f", p)
            keys.append("HostKey " + p)
        conf = write(tmp, "sshd_config", "\n".join(keys + [
            "ListenAddress 0.0.0.0", "ListenAddress ::", "PidFile %s/sshd.pid" % tmp,
            "UsePAM no", "PasswordAuthentication no", "KbdInteractiveAuthentication no"]) + "\n")
        topo.spawn(real, "/usr/sbin/sshd", "-D", "-e", "-f", conf)
        started.append("sshd")
    return started


def chaff_conf(tmp, claim=""):
    return write(tmp, "chaff%s.yaml" % ("-claim" if claim else ""), """interface: chaff0
seed: 7
vlans: [20]
decoys:
  - ranges: [%s/32]
    personality: linux-5.4
    tcp: [%s]
    ipv6: {prefix: "%s/64", iid: auto}
  - ranges: [%s/32]
    personality: windows-10
    tcp: [%s]
    udp: [137]
    ipv6: {prefix: "%s/64", iid: auto}
%salarms:
  file: "%s/alarms.jsonl"
  window: 5s
alive:
  interval: 10s
  start: 2s
""" % (LINUX, ", ".join(map(str, LPORTS)), PREFIX, WINDOWS, ", ".join(map(str, WPORTS)),
       PREFIX, claim, tmp))


CLAIM = """claim:
  ranges: [198.51.100.8/29]
  reserved: [198.51.100.8]
  after: 3
  within: 5s
  personality: linux-5.4
  tcp: [22]
"""


def main():
    if len(sys.argv) != 2:
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        return 2
    chaff_bin = os.path.join(sys.argv[1], "src", "chaff", "moat-chaff")
    if not os.access(chaff_bin, os.X_OK):
        print("compare.py: no %s (build first)" % chaff_bin, file=sys.stderr)
        return 2
    # SIGTERM unwinds like ^C: the finally below removes everything.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    topo = Topology()
    tmp = tempfile.mkdtemp(prefix="chaffcmp-")
    os.chmod(tmp, 0o755)
    made_run_sshd = False
    try:
        if not os.path.isdir("/run/sshd"):      # sshd's privilege separation directory
            os.mkdir("/run/sshd", 0o755)
            made_run_sshd = True
        sw, scan = topo.ns("sw"), topo.ns("scan")
        chaff, real = topo.ns("chaff"), topo.ns("real")
        topo.run(sw, "ip", "link", "add", "br0", "type", "bridge", "stp_state", "0",
                 "mcast_snooping", "0")
        topo.run(sw, "ip", "link", "set", "br0", "up")
        for ns, ifn, addrs in ((scan, "s0", [SCAN + "/24", SCAN6 + "/64"]),
                               (chaff, "chaff0", None),
                               (real, "real0", [REAL + "/24", REAL6 + "/64"])):
            _, port = topo.veth(ns, addrs, sw, None, name_a=ifn)
            topo.run(sw, "ip", "link", "set", port, "master", "br0")
        topo.run(chaff, "ip", "link", "set", "chaff0", "promisc", "on")
        # veth hands GSO super-segments to its peer unsplit; on a real wire the
        # NIC's TSO cuts them at the MSS: make the kernel cut them itself.
        topo.run(real, "ip", "link", "set", "real0", "gso_max_segs", "1")
        started = start_real(topo, real, tmp)
        log = open(os.path.join(tmp, "chaff.log"), "w")
        proc = topo.spawn(chaff, chaff_bin, "-c", chaff_conf(tmp), stdout=log,
                          stderr=subprocess.STDOUT)
        time.sleep(3)
        if proc.poll() is not None:
            print(open(log.name).read(), file=sys.stderr)
            return 1
        text = open(log.name).read()
        m = re.search(r"decoy %s: IPv6 (\S+)" % re.escape(LINUX), text)
        decoy6 = m.group(1).rstrip(",") if m else None
        m = re.search(r"decoy %s: IPv6 \S+ (fe80\S+)" % re.escape(LINUX), text)
        print("real host runs: %s; decoy IPv6 %s" % (", ".join(started), decoy6), flush=True)
        c = Cmp(topo, scan)
        rmac, dmac, wmac = mac_of(c, REAL), mac_of(c, LINUX), mac_of(c, WINDOWS)
        if not decoy6:
            decoy6 = "(not logged)"

        c.row("`ping -c 3`", ping(c, "-c", "3", "-i", "0.2", "-W", "1", REAL),
              ping(c, "-c", "3", "-i", "0.2", "-W", "1", LINUX))
        c.row("`ping -s 3000` (fragmented both ways)",
              ping(c, "-c", "2", "-i", "0.2", "-W", "1", "-s", "3000", REAL),
              ping(c, "-c", "2", "-i", "0.2", "-W", "1", "-s", "3000", LINUX))
        c.row("`ping -6 -c 3` global address",
              ping(c, "-6", "-c", "3", "-i", "0.2", "-W", "1", REAL6),
              ping(c, "-6", "-c", "3", "-i", "0.2", "-W", "1", decoy6))
        resp = all_nodes_responders(c)
        rll, dll = resp.get(rmac), resp.get(dmac)
        c.row("`ping -6 -I s0 ff02::1`: answers (from a link-local)",
              "answers" if rll else "no answer", "answers" if dll else "no answer")
        c.row("link-local interface identifier", iid_kind(rll, rmac or "0:0:0:0:0:0"),
              iid_kind(dll, dmac or "0:0:0:0:0:0"), "— (by personality)")
        c.row("`ip -6 neigh` entry after the ping", neigh(c, REAL6), neigh(c, decoy6))
        c.row("`nmap -6 -sS -p 22,25,80,443,6379` (the real host's smtpd is IPv4 only)",
              nmap_ports(c, "-6", "-sS", "-p", ",".join(map(str, LPORTS)), REAL6),
              nmap_ports(c, "-6", "-sS", "-p", ",".join(map(str, LPORTS)), decoy6))
        sv_r, sv_d = nmap_sv(c, REAL, LPORTS), nmap_sv(c, LINUX, LPORTS)
        for p in LPORTS:
            same = "yes" if sv_r.get(p, "-").split(" ")[0] == sv_d.get(p, "-").split(" ")[0] \
                else "no"
            c.row("`nmap -sV` port %d" % p, sv_r.get(p, "-"), sv_d.get(p, "-"),
                  same + " (service)")
        c.row("`curl http://`: status, body, header order", http_get(c, REAL),
              http_get(c, LINUX), "— (versions differ by design)")
        c.row("`curl -k https://`: status, Server", https(c, REAL), https(c, LINUX),
              "— (versions differ by design)")
        (rs, rv), (ds, dv) = tls_cert(c, REAL), tls_cert(c, LINUX)
        c.row("`openssl s_client :443`: subject", rs, ds, "— (per host)")
        c.row("`openssl s_client :443`: self-signed?", rv, dv)
        (rp, ri), (dp, di) = redis(c, REAL), redis(c, LINUX)
        c.row("`redis-cli PING`", rp, dp)
        c.row("`redis-cli INFO server`", ri, di, "— (versions differ by design)")
        rsm, dsm = c.probe("smtp", REAL), c.probe("smtp", LINUX)
        rsm, dsm = [x if isinstance(x, dict) else {"banner": x} for x in (rsm, dsm)]
        c.row("SMTP banner", rsm.get("banner"), dsm.get("banner"), "— (Python smtpd vs Postfix)")
        c.row("SMTP EHLO keywords", " ".join(rsm.get("ehlo") or ["-"]),
              " ".join(dsm.get("ehlo") or ["-"]), "— (Python smtpd vs Postfix)")
        (rb, rk), (db, dk) = ssh_keys(c, REAL), ssh_keys(c, LINUX)
        c.row("`ssh-keyscan` banner", rb, db, "— (9.2 here, 8.2 for linux-5.4)")
        c.row("`ssh-keyscan` host key types", rk, dk)
        c.row("`nmap -O` top guess", os_guess(c, REAL, [22, 80]), os_guess(c, LINUX, [22, 80]),
              "— (this kernel vs a 5.4 fingerprint)")
        for name, fn in (("TCP download (`GET /`), client MSS 536", fetch536),
                         ("TLS handshake on 443, client MSS 536", tls536)):
            r, d = fn(c, REAL), fn(c, LINUX)
            c.row(name, r, d, segmentation_same(r, d))
        c.row("TCP zero-window client (4 s, opened at 2 s)", zerowin(c, REAL, rmac),
              zerowin(c, LINUX, dmac))
        c.row("ICMP timestamp request", icmp_ts(c, REAL), icmp_ts(c, LINUX))
        r20, d20 = c.probe("vlan", "s0", REAL, "20"), c.probe("vlan", "s0", LINUX, "20")
        c.row("ARP tagged VLAN 20 (chaff `vlans: [20]`; the host has no VLAN 20: this "
              "kernel has no 802.1Q module)", r20, d20, "—")
        r30, d30 = c.probe("vlan", "s0", REAL, "30"), c.probe("vlan", "s0", LINUX, "30")
        c.row("ARP tagged VLAN 30 (configured on neither)", r30, d30)
        pr = c.probe("arpall", "s0", "0.0.0.0", REAL, "1")
        pd = c.probe("arpall", "s0", "0.0.0.0", LINUX, "1")
        c.row("RFC 5227 ARP probe (sender 0.0.0.0) for its own address",
              "answered" if pr else "no answer", "answered" if pd else "no answer")
        # Windows: no real Windows or Samba here.
        out = c.run("smbclient", "-N", "-L", "//%s" % WINDOWS, "-m", "SMB3", timeout=30)
        line = (re.findall(r"(NT_STATUS_\w+|Sharename)", out) or [out.strip()[-50:]])[0]
        c.row("windows-10 decoy `smbclient -N -L`", "not run: no real SMB server here", line,
              "—")
        c.row("windows-10 decoy RDP X.224 request", "not run: no real RDP server here",
              c.probe("rdp", WINDOWS), "—")
        nb = c.run("nmblookup", "-A", WINDOWS, timeout=20)
        nbn = re.findall(r"^\s+(\S+)\s+<00>", nb, re.M)
        c.row("windows-10 decoy `nmblookup -A`", "not run: no real nmbd here",
              "names: %s" % ", ".join(sorted(set(nbn))) if nbn else "no answer", "—")
        # Unprompted traffic: nothing else is sent meanwhile.
        q = quiet_traffic(c, [rmac, dmac, wmac], 20)
        c.row("frames sent unprompted in 20 s (tcpdump; chaff `alive.interval: 10s`)",
              q.get(rmac), "linux-5.4: %s; windows-10: %s" % (q.get(dmac), q.get(wmac)), "—")
        for ns, dev in ((real, "real0"), (chaff, "chaff0")):
            topo.run(ns, "ip", "link", "set", dev, "down")
        time.sleep(1)
        for ns, dev in ((real, "real0"), (chaff, "chaff0")):
            topo.run(ns, "ip", "link", "set", dev, "up")
        time.sleep(2)
        c.row("interface down 1 s then up: `ping -c 3` after",
              ping(c, "-c", "3", "-i", "0.3", "-W", "2", REAL),
              ping(c, "-c", "3", "-i", "0.3", "-W", "2", LINUX) +
              ("" if proc.poll() is None else " (moat-chaff exited)"))
        # The real host answers each request by unicast: through the bridge,
        # moat-chaff (promiscuous on its own port) sees the requests only.
        proc.terminate()
        proc.wait(10)
        proc = topo.spawn(chaff, chaff_bin, "-c", chaff_conf(tmp, CLAIM), stdout=log,
                          stderr=subprocess.STDOUT)
        time.sleep(3)
        who = c.probe("arpall", "s0", SCAN, REAL, "4")
        other = [m for m in who if m != rmac]
        c.row("4 ARP requests, 1 s apart, for the real host's %s (inside chaff's `claim:` "
              "range; `after: 3`, `within: 5s`): MACs answering" % REAL,
              "real host's MAC" + ("" if rmac in who else " MISSING"),
              "decoy MAC %s too (claimed)" % ", ".join(other) if other else "none",
              "NO" if other else "yes (decoy silent)")
        v30 = c.probe("vlan", "s0", REAL, "30")
        c.row("then an ARP tagged VLAN 30 (configured nowhere) for %s" % REAL, "no answer",
              v30 if other else "(not claimed)",
              "yes" if v30 == "no answer" else "NO")
        # The real host speaks: a broadcast ARP request from its address.
        topo.run(real, "ip", "neigh", "flush", "all")
        topo.run(real, "ping", "-c", "1", "-W", "1", SCAN, check=False)
        time.sleep(0.5)
        who2 = c.probe("arpall", "s0", SCAN, REAL, "2")
        other2 = [m for m in who2 if m != rmac]
        c.row("then the real host ARPs once (ping from it); 2 more requests for %s" % REAL,
              "real host's MAC" + ("" if rmac in who2 else " MISSING"),
              "decoy MAC %s still" % ", ".join(other2) if other2 else "none (released)",
              "NO" if other2 else "yes")
        print()
        print("moat-chaff next to a real Debian host, %s, `bench/chaff/compare.py BUILD`:"
              % time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))
        print()
        print(c.table())
        return 0
    finally:
        topo.teardown()
        shutil.rmtree(tmp, ignore_errors=True)
        if made_run_sshd:
            shutil.rmtree("/run/sshd", ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
