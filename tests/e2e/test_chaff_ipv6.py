"""moat-chaff's IPv6 decoys, seen from a scanner namespace on the same
segment (2001:db8:1::/64): ping -6, the all-nodes ping, neighbour
discovery (ip -6 neigh), nmap -6 -sS, a TCP connect with the service's
banner, an alarm with the IPv6 source, and a DAD probe from a returning
owner that makes the decoy give its address up."""
import re
import socket
import struct
import time

from conftest import binpath, need
from nslib import wait_for
import chaffutil

PREFIX = "2001:db8:1::"
SCANNER6 = PREFIX + "1"

GROUPS = [
    {"ranges": ["198.51.100.16/32"], "personality": "linux-5.4", "tcp": [22, 80],
     "ipv6": {"prefix": '"2001:db8:1::/64"'}},
    {"ranges": ["198.51.100.20/32"], "personality": "windows-10", "tcp": [445],
     "ipv6": {"prefix": '"2001:db8:1::/64"'}},
    {"ranges": ["198.51.100.24/32"], "personality": "linux-2.6", "tcp": [80],
     "ipv6": {"prefix": '"2001:db8:1::/64"'}},
]

# Answers one Neighbor Solicitation (printing the advertised MAC or "-"),
# then sends a DAD probe (source ::) for the same address, then asks again.
DAD = r"""
import sys
from scapy.all import (Ether, IPv6, ICMPv6ND_NS, ICMPv6ND_NA, ICMPv6NDOptSrcLLAddr, srp1,
                       sendp, in6_getnsma, in6_getnsmac, inet_pton, inet_ntop, conf, get_if_hwaddr)
import socket
conf.verb = 0
iface, me, target = sys.argv[1:4]
mac = get_if_hwaddr(iface)
sn = inet_ntop(socket.AF_INET6, in6_getnsma(inet_pton(socket.AF_INET6, target)))
dmac = in6_getnsmac(inet_pton(socket.AF_INET6, sn))
def ask():
    p = (Ether(src=mac, dst=dmac) / IPv6(src=me, dst=sn, hlim=255) /
         ICMPv6ND_NS(tgt=target) / ICMPv6NDOptSrcLLAddr(lladdr=mac))
    a = srp1(p, iface=iface, timeout=1.5)
    return a[Ether].src if a is not None and ICMPv6ND_NA in a else "-"
print("before", ask())
sendp(Ether(src="02:00:00:00:00:77", dst=dmac) / IPv6(src="::", dst=sn, hlim=255) /
      ICMPv6ND_NS(tgt=target), iface=iface)
print("after", ask())
"""


def _setup(topo):
    need("ping", "nmap")
    groups = GROUPS
    conf, alarm_path = chaffutil.write_config(groups)
    out = topo.run(None, binpath("moat-chaff"), "-n", "-c", conf, check=False)
    addrs = {}
    for m in re.finditer(r"decoy (\S+): IPv6 (\S+)", out.stdout + out.stderr):
        addrs.setdefault(m.group(1), []).append(m.group(2))
    assert len(addrs) == 3, out.stdout + out.stderr
    scan = topo.ns("scan")
    chaff = topo.ns("chaff")
    for ns in (scan, chaff):
        topo.run(ns, "sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0",
                 "net.ipv6.conf.default.accept_dad=0")
    sif, _ = topo.veth(scan, [chaffutil.SCANNER_ADDR + "/16", SCANNER6 + "/64"], chaff, None,
                       name_b="chaff0")
    # moat-chaff speaks for the decoys; the chaff namespace's own kernel stays off IPv6.
    topo.run(chaff, "sysctl", "-qw", "net.ipv6.conf.chaff0.disable_ipv6=1")
    topo.run(chaff, "ip", "link", "set", "chaff0", "promisc", "on")
    proc = topo.spawn(chaff, binpath("moat-chaff"), "-c", conf)
    time.sleep(0.3)
    assert proc.poll() is None, proc.stdout.read()
    wait_for(lambda: "tentative" not in topo.run(scan, "ip", "-6", "addr", "show", "dev", sif)
             .stdout, timeout=10, what="scanner's IPv6 addresses usable")

    def of(v4, link_local):
        return [a for a in addrs[v4] if a.startswith("fe80:") == link_local][0]
    return scan, sif, proc, alarm_path, of


def test_ipv6_decoys(topo):
    scan, sif, proc, alarm_path, of = _setup(topo)
    lin, win, old = "198.51.100.16", "198.51.100.20", "198.51.100.24"

    # ping -6 a decoy's global address.
    r = topo.run(scan, "ping", "-6", "-c", "2", "-W", "2", of(lin, False), check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "ttl=64" in r.stdout or "hlim=64" in r.stdout, r.stdout

    # The neighbour cache holds the decoy's MAC (a Linux 5.4 decoy's Intel-ish OUI).
    neigh = topo.run(scan, "ip", "-6", "neigh", "show", "dev", sif).stdout
    line = [l for l in neigh.splitlines() if l.startswith(of(lin, False) + " ")]
    assert line and "lladdr f8:bc:12:" in line[0], neigh

    # The EUI-64 personality's address is its MAC's.
    r = topo.run(scan, "ping", "-6", "-c", "1", "-W", "2", of(old, False), check=False)
    assert r.returncode == 0, r.stdout
    neigh = topo.run(scan, "ip", "-6", "neigh", "show", "dev", sif).stdout
    m = re.search(re.escape(of(old, False)) + r" .*lladdr (\S+)", neigh)
    assert m, neigh
    mac = [int(x, 16) for x in m.group(1).split(":")]
    iid = "%x:%xff:fe%x:%x" % ((mac[0] ^ 2) << 8 | mac[1], mac[2], mac[3], mac[4] << 8 | mac[5])
    assert of(old, False).endswith(iid), (of(old, False), iid)

    # All nodes: the Linux decoys answer from their link-local addresses,
    # Windows (which ignores multicast echoes) does not.
    r = topo.run(scan, "ping", "-6", "-c", "2", "-w", "4", "ff02::1%" + sif, check=False)
    assert of(lin, True) in r.stdout, r.stdout
    assert of(old, True) in r.stdout, r.stdout
    assert of(win, True) not in r.stdout, r.stdout

    # nmap -6 -sS finds the configured ports open (and others closed).
    r = topo.run(scan, "nmap", "-6", "-n", "-Pn", "-sS", "-p", "22,23,80,445",
                 of(lin, False), of(win, False), timeout=120)
    out = r.stdout
    blocks = out.split("Nmap scan report for ")
    lb = [b for b in blocks if b.startswith(of(lin, False))][0]
    wb = [b for b in blocks if b.startswith(of(win, False))][0]
    assert re.search(r"22/tcp\s+open", lb) and re.search(r"80/tcp\s+open", lb), out
    assert re.search(r"23/tcp\s+closed", lb) and re.search(r"445/tcp\s+closed", lb), out
    assert re.search(r"445/tcp\s+open", wb), out

    # A TCP connect over IPv6 gets the service's banner.
    script = ("import socket,sys\ns=socket.create_connection((sys.argv[1],22),timeout=5)\n"
              "print(s.recv(200).decode(errors='replace'))")
    r = topo.run(scan, "/usr/bin/python3", "-c", script, of(lin, False), timeout=30)
    assert r.stdout.startswith("SSH-2.0-OpenSSH_8.2p1"), r.stdout
    r = topo.run(scan, "/usr/bin/python3", "-c",
                 "import socket,sys\ns=socket.create_connection((sys.argv[1],80),timeout=5)\n"
                 "s.sendall(b'GET / HTTP/1.0\\r\\n\\r\\n')\nprint(s.recv(400).decode())",
                 of(lin, False), timeout=30)
    assert r.stdout.startswith("HTTP/1.1 200"), r.stdout

    # Alarms carry the IPv6 source and the decoy's IPv6 address.
    a = chaffutil.wait_alarm(alarm_path, lambda a: a["src"] == SCANNER6 and
                             a["kind"] == "connect", what="IPv6 connect alarm")
    assert a[0]["decoy"] == of(lin, False), a[0]
    assert a[0]["proven"] is True and a[0]["decoy_v4"] == lin, a[0]
    p = chaffutil.wait_alarm(alarm_path, lambda a: a["src"] == SCANNER6 and
                             a["kind"] == "ping", what="IPv6 ping alarm")
    # A service's alarm (reported by the HTTP service, keyed by its
    # connection) carries the IPv6 source too.
    sv = chaffutil.wait_alarm(alarm_path, lambda a: a["kind"] == "service" and
                              a.get("dport") == 80, what="IPv6 service alarm")
    assert sv[0]["src"] == SCANNER6 and sv[0]["decoy"] == of(lin, False), sv[0]
    assert p[0]["proto"] == "icmp6", p[0]
    assert proc.poll() is None


def test_ipv6_dad_releases(topo):
    """A returning owner's DAD probe for a decoy's address: the decoy stops
    answering for it (as a claimed IPv4 address is released)."""
    need("python3")
    scan, sif, proc, alarm_path, of = _setup(topo)
    target = of("198.51.100.20", False)
    r = topo.run(scan, "/usr/bin/python3", "-c", DAD, sif, SCANNER6, target, timeout=60)
    lines = dict(l.split(" ", 1) for l in r.stdout.strip().splitlines())
    assert lines["before"].startswith("d4:be:d9"), r.stdout   # the Windows decoy answered
    assert lines["after"] == "-", r.stdout                      # then gave it up
    # Its link-local address stays, and other decoys are untouched.
    r = topo.run(scan, "ping", "-6", "-c", "1", "-W", "2", of("198.51.100.16", False),
                 check=False)
    assert r.returncode == 0
    r = topo.run(scan, "/usr/bin/python3", "-c", DAD.split("sendp(")[0],
                 sif, SCANNER6, of("198.51.100.20", True), timeout=60)
    assert "before d4:be:d9" in r.stdout, r.stdout
    assert proc.poll() is None
    proc.terminate()
    log = proc.communicate(timeout=10)[0]
    assert "released IPv6 address %s of decoy 198.51.100.20: duplicate address detection" % target \
        in log, log


def _icmp6_sum(src, dst, body):
    data = src + dst + struct.pack("!I3xB", len(body), 58) + body
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return s


def _pcap_frames(path):
    out = []
    with open(path, "rb") as f:
        hdr = f.read(24)
        assert len(hdr) == 24, "empty capture"
        end = "<" if struct.unpack("<I", hdr[:4])[0] in (0xa1b2c3d4, 0xa1b23c4d) else ">"
        while True:
            rec = f.read(16)
            if len(rec) < 16:
                break
            sec, usec, incl, _ = struct.unpack(end + "IIII", rec)
            out.append((sec + usec / 1e6, f.read(incl)))
    return out


def test_ipv6_startup_dad(topo, tmp_path):
    """At its start-up moment each IPv6 decoy sends what a booting host
    sends: a DAD neighbour solicitation from :: for its link-local address,
    then one for its global address, each to the solicited-node group with
    a valid ICMPv6 checksum; the decoys' probes are spread over alive.start,
    and none of them makes moat-chaff give its own addresses up."""
    need("tcpdump")
    groups = GROUPS + [{"ranges": ["198.51.100.32/29"], "personality": "linux-5.4",
                        "tcp": [22], "ipv6": {"prefix": '"2001:db8:1::/64"'}}]
    conf, _alarms = chaffutil.write_config(groups)
    with open(conf) as f:
        text = f.read().replace("start: 1s", "start: 4s")
    with open(conf, "w") as f:
        f.write(text)
    out = topo.run(None, binpath("moat-chaff"), "-n", "-c", conf, check=False)
    addrs = {}
    for m in re.finditer(r"decoy (\S+): IPv6 (\S+)", out.stdout + out.stderr):
        addrs.setdefault(m.group(1), []).append(m.group(2))
    assert len(addrs) >= 6, out.stdout + out.stderr
    scan = topo.ns("scan")
    chaff = topo.ns("chaff")
    for ns in (scan, chaff):
        topo.run(ns, "sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0",
                 "net.ipv6.conf.default.accept_dad=0")
    sif, _ = topo.veth(scan, [chaffutil.SCANNER_ADDR + "/16", SCANNER6 + "/64"], chaff, None,
                       name_b="chaff0")
    topo.run(chaff, "sysctl", "-qw", "net.ipv6.conf.chaff0.disable_ipv6=1")
    topo.run(chaff, "ip", "link", "set", "chaff0", "promisc", "on")
    pcap = str(tmp_path / "dad.pcap")
    dump = topo.spawn(scan, "tcpdump", "-U", "-n", "-i", sif, "-w", pcap, "icmp6")
    time.sleep(1.0)
    proc = topo.spawn(chaff, binpath("moat-chaff"), "-c", conf)
    try:
        time.sleep(8)
        assert proc.poll() is None, proc.stdout.read()
    finally:
        dump.terminate()
        dump.communicate(timeout=10)
    probes = {}
    for t, fr in _pcap_frames(pcap):
        if len(fr) < 14 + 40 + 24 or fr[12:14] != b"\x86\xdd" or fr[20] != 58:
            continue
        ip6, icmp = fr[14:54], fr[54:]
        if icmp[0] != 135 or ip6[8:24] != bytes(16):
            continue
        target = socket.inet_ntop(socket.AF_INET6, icmp[8:24])
        # To the target's solicited-node group, hop limit 255, no options.
        assert ip6[24:37] == bytes.fromhex("ff0200000000000000000001ff") and \
            ip6[37:40] == icmp[21:24], fr.hex()
        assert fr[0:3] == b"\x33\x33\xff" and fr[3:6] == icmp[21:24], fr.hex()
        assert ip6[7] == 255 and len(icmp) == 24, fr.hex()
        assert _icmp6_sum(ip6[8:24], ip6[24:40], icmp) == 0xffff, fr.hex()
        probes.setdefault(target, []).append(t)
    firsts = []
    for v4, mine in addrs.items():
        ll = [a for a in mine if a.startswith("fe80:")][0]
        glob = [a for a in mine if not a.startswith("fe80:")][0]
        assert len(probes.get(ll, [])) == 1, (v4, ll, probes)
        assert len(probes.get(glob, [])) == 1, (v4, glob, probes)
        assert probes[ll][0] < probes[glob][0], (v4, probes[ll], probes[glob])
        firsts.append(probes[ll][0])
    firsts.sort()
    print("DAD probes: %d decoys, first over %.2f s" % (len(firsts), firsts[-1] - firsts[0]))
    assert len(set(round(t, 2) for t in firsts)) > len(firsts) // 2, firsts
    # The decoys still answer for the addresses they probed.
    any_global = [a for a in addrs["198.51.100.16"] if not a.startswith("fe80:")][0]
    r = topo.run(scan, "ping", "-6", "-c", "1", "-W", "2", any_global, check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    assert proc.poll() is None
