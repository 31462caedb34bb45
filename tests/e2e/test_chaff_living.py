"""moat-chaff: living decoys and vendor inference, as a passive listener and
a scanner on the segment see them.

A capture in the scanner's namespace for a bounded time (tcpdump, ~20 s)
from before moat-chaff starts: the start-up gratuitous ARPs are spread over
the start window, not one burst; Windows decoys register their NetBIOS
names (UDP 137) three times; macOS decoys and printers announce themselves
over mDNS (the printer with _ipp._tcp); Linux decoys send nothing but ARP;
every IPv4 and UDP checksum is valid (checked here on the raw bytes, and
tshark, when installed, finds nothing malformed). A `fingerprint:` Cisco
decoy has a Cisco OUI in the scanner's `ip neigh` and Cisco's SSH banner on
the ports inferred for it (no tcp: given)."""
import os
import socket
import struct
import tempfile
import time

from conftest import binpath, need
from nslib import wait_for

SCANNER = "198.51.100.1"
WINDOWS = ["198.51.100.%d" % i for i in range(17, 31)]     # 198.51.100.16/28
MACOS = ["198.51.100.41", "198.51.100.42"]                  # /30
PRINTER = ["198.51.100.45", "198.51.100.46"]                # /30
LINUX = ["198.51.100.49", "198.51.100.50"]                  # /30
CISCO = "198.51.100.60"
START_WINDOW = 8
CAPTURE_S = 20

CONFIG = """interface: chaff0
seed: 11
decoys:
  - ranges: [198.51.100.16/28]
    personality: windows-10
    tcp: [135, 445]
  - ranges: [198.51.100.40/30]
    personality: macos
  - ranges: [198.51.100.44/30]
    personality: hp-printer
    tcp: [80, 9100]
  - ranges: [198.51.100.48/30]
    personality: linux-5.4
    tcp: [22]
  - ranges: [198.51.100.60/32]
    fingerprint: "Cisco 1921 router (IOS 15.1)"
alarms:
  file: "%s"
  window: 2s
alive:
  interval: 1h
  pps: 1000
  start: %ds
"""


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return s


def read_pcap(path):
    """(time, frame) pairs of a classic pcap file (tcpdump -w)."""
    out = []
    with open(path, "rb") as f:
        hdr = f.read(24)
        assert len(hdr) == 24, "empty capture"
        magic = struct.unpack("<I", hdr[:4])[0]
        end = "<" if magic in (0xa1b2c3d4, 0xa1b23c4d) else ">"
        nano = magic in (0xa1b23c4d, 0x4d3cb2a1)
        while True:
            rec = f.read(16)
            if len(rec) < 16:
                break
            sec, frac, incl, _ = struct.unpack(end + "IIII", rec)
            data = f.read(incl)
            out.append((sec + frac / (1e9 if nano else 1e6), data))
    return out


def parse(frame):
    """A dict for ARP and IPv4/UDP frames, with checksum verdicts."""
    eth_type = struct.unpack("!H", frame[12:14])[0]
    if eth_type == 0x0806:
        spa = socket.inet_ntoa(frame[28:32])
        tpa = socket.inet_ntoa(frame[38:42])
        return {"kind": "arp", "src": spa, "gratuitous": spa == tpa,
                "op": struct.unpack("!H", frame[20:22])[0]}
    if eth_type != 0x0800:
        return None
    ihl = (frame[14] & 15) * 4
    ip = frame[14:14 + ihl]
    total = struct.unpack("!H", frame[16:18])[0]
    src = socket.inet_ntoa(ip[12:16])
    d = {"kind": "ip", "src": src, "proto": ip[9], "ttl": ip[8],
         "ip_ok": csum(ip) == 0xffff}
    if ip[9] != 17:
        return d
    udp = frame[14 + ihl:14 + total]
    pseudo = ip[12:20] + struct.pack("!BBH", 0, 17, len(udp))
    d.update(sport=struct.unpack("!H", udp[0:2])[0], dport=struct.unpack("!H", udp[2:4])[0],
             udp_ok=struct.unpack("!H", udp[6:8])[0] != 0 and csum(pseudo + udp) == 0xffff,
             payload=bytes(udp[8:]))
    return d


def nbns_name(payload):
    """The first-level-decoded name of an NBNS message's question."""
    enc = payload[13:13 + 32]
    raw = bytes(((enc[2 * i] - 65) << 4) | (enc[2 * i + 1] - 65) for i in range(16))
    return raw[:15].decode("ascii").rstrip(), raw[15]


def test_background_traffic_spread_and_per_os(topo):
    need("tcpdump")
    scan = topo.ns("scan")
    chaff = topo.ns("chaff")
    a, _ = topo.veth(scan, SCANNER + "/16", chaff, None, name_b="chaff0")
    topo.run(chaff, "ip", "link", "set", "chaff0", "promisc", "on")
    fd, pcap = tempfile.mkstemp(prefix="chaff-living-", suffix=".pcap")
    os.close(fd)
    fd, alarms = tempfile.mkstemp(prefix="chaff-alarms-", suffix=".jsonl")
    os.close(fd)
    fd, conf = tempfile.mkstemp(prefix="chaff-", suffix=".yaml")
    with os.fdopen(fd, "w") as f:
        f.write(CONFIG % (alarms, START_WINDOW))
    dump = topo.spawn(scan, "tcpdump", "-U", "-n", "-i", a, "-w", pcap, "arp or udp")
    time.sleep(1.0)
    proc = topo.spawn(chaff, binpath("moat-chaff"), "-c", conf)
    try:
        time.sleep(CAPTURE_S)
        assert proc.poll() is None, proc.stdout.read()
    finally:
        dump.terminate()
        dump.communicate(timeout=10)
    frames = [(t, parse(f)) for t, f in read_pcap(pcap)]
    frames = [(t, p) for t, p in frames if p]

    # Gratuitous ARPs: every decoy announced itself, spread over the start
    # window rather than in one burst.
    first = {}
    for t, p in frames:
        if p["kind"] == "arp" and p["gratuitous"] and p["src"] not in first:
            first[p["src"]] = t
    everyone = WINDOWS + MACOS + PRINTER + LINUX + [CISCO]
    assert set(everyone) <= set(first), sorted(set(everyone) - set(first))
    times = sorted(first[x] for x in everyone)
    span = times[-1] - times[0]
    print("start-up ARPs: %d decoys over %.2f s" % (len(times), span))
    assert span > 2.0, times
    densest = max(sum(1 for u in times if t <= u < t + 1.0) for t in times)
    assert densest < len(times) * 0.6, (densest, len(times))
    # Windows and macOS follow RFC 5227: a second announcement 2 s later.
    arps = {}
    for t, p in frames:
        if p["kind"] == "arp" and p["gratuitous"]:
            arps.setdefault(p["src"], []).append(t)
    for x in WINDOWS + MACOS:
        assert len(arps[x]) >= 2, (x, arps[x])
    for x in LINUX:
        assert len(arps[x]) == 1, (x, arps[x])

    udp = [p for _, p in frames if p["kind"] == "ip" and p["proto"] == 17]
    for p in udp:
        assert p["ip_ok"] and p["udp_ok"], p
    # Windows: three NBNS registrations each, of a DESKTOP-XXXXXXX name.
    nbns = [p for p in udp if p["dport"] == 137 and p["src"] in WINDOWS]
    names = {}
    for p in nbns:
        name, suffix = nbns_name(p["payload"])
        assert suffix == 0 and name.startswith("DESKTOP-") and len(name) == 15, name
        assert struct.unpack("!H", p["payload"][2:4])[0] == 0x2910
        names.setdefault(p["src"], []).append(name)
        assert p["ttl"] == 128
    assert set(names) == set(WINDOWS), sorted(set(WINDOWS) - set(names))
    for src, v in names.items():
        assert len(v) == 3 and len(set(v)) == 1, (src, v)
    assert len({v[0] for v in names.values()}) == len(WINDOWS)  # one name per decoy
    # macOS and the printers: mDNS (TTL 255) with their records.
    mdns = [p for p in udp if p["dport"] == 5353]
    for p in mdns:
        assert p["ttl"] == 255
    for x in MACOS:
        mine = [p for p in mdns if p["src"] == x]
        assert len(mine) >= 2, x
        assert b"\x0c_device-info\x04_tcp\x05local" in mine[0]["payload"]
        assert b"MacBook-Pro\x05local" in mine[0]["payload"]
    for x in PRINTER:
        mine = [p for p in mdns if p["src"] == x]
        assert len(mine) >= 2, x
        assert b"\x04_ipp\x04_tcp\x05local" in mine[0]["payload"]
        assert b"\x08_printer\x04_tcp\x05local" in mine[0]["payload"]
        assert b"HP LaserJet 2420 [" in mine[0]["payload"]
    # Linux and the Cisco router: ARP only.
    assert not [p for p in udp if p["src"] in LINUX + [CISCO]]
    print("background frames: %d ARP, %d NBNS, %d mDNS" % (
        sum(len(v) for v in arps.values()), len(nbns), len(mdns)))
    if os.path.exists("/usr/bin/tshark"):
        r = topo.run(None, "tshark", "-n", "-r", pcap, "-o", "udp.check_checksum:TRUE",
                     "-o", "ip.check_checksum:TRUE", "-Y",
                     "_ws.malformed || _ws.expert.severity == error", check=False,
                     timeout=60)
        assert r.returncode == 0 and r.stdout.strip() == "", r.stdout
        r = topo.run(None, "tshark", "-n", "-r", pcap, "-Y", "browser || nbns || mdns",
                     check=False, timeout=60)
        assert "Registration NB DESKTOP-" in r.stdout, r.stdout[:2000]
    proc.terminate()
    assert proc.wait(timeout=10) == 0
    for path in (pcap, alarms, conf):
        os.unlink(path)


def ssh_banner(topo, ns, addr):
    code = ("import socket\ns=socket.create_connection((%r, 22), timeout=5)\n"
            "print(s.recv(256).decode(errors='replace').strip())\n") % addr
    return topo.run(ns, "python3", "-c", code, timeout=30).stdout.strip()


def test_fingerprint_cisco_has_cisco_oui_and_banner(topo):
    scan = topo.ns("scan")
    chaff = topo.ns("chaff")
    topo.veth(scan, SCANNER + "/16", chaff, None, name_b="chaff0")
    topo.run(chaff, "ip", "link", "set", "chaff0", "promisc", "on")
    fd, alarms = tempfile.mkstemp(prefix="chaff-alarms-", suffix=".jsonl")
    os.close(fd)
    fd, conf = tempfile.mkstemp(prefix="chaff-", suffix=".yaml")
    with os.fdopen(fd, "w") as f:
        f.write(CONFIG % (alarms, 1))
    proc = topo.spawn(chaff, binpath("moat-chaff"), "-c", conf)
    time.sleep(0.5)
    assert proc.poll() is None, proc.stdout.read()
    topo.run(scan, "ping", "-c", "1", "-W", "2", CISCO, check=False, timeout=10)
    neigh = wait_for(lambda: [ln for ln in topo.run(scan, "ip", "neigh", "show", CISCO)
                              .stdout.splitlines() if "lladdr" in ln],
                     timeout=10, what="neighbour entry for the Cisco decoy")
    mac = neigh[0].split("lladdr")[1].split()[0]
    assert mac.lower().startswith("00:1b:54"), neigh     # Cisco Systems
    assert ssh_banner(topo, scan, CISCO) == "SSH-2.0-Cisco-1.25"
    # The Windows preset decoy, by contrast, keeps Dell's OUI.
    topo.run(scan, "ping", "-c", "1", "-W", "2", WINDOWS[0], check=False, timeout=10)
    out = topo.run(scan, "ip", "neigh", "show", WINDOWS[0]).stdout
    assert "d4:be:d9" in out.lower(), out
    proc.terminate()
    assert proc.wait(timeout=10) == 0
    for path in (alarms, conf):
        os.unlink(path)
