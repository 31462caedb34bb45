"""moat-chaff under hostile input: malformed and random frames from the
scanner side never crash the daemon, malformed ARP gets no answer (as from a
real stack), and the decoys keep answering afterwards. A SYN flood against
an open port is answered without growing memory past the connection table."""
import re
import subprocess
import time

from conftest import need
import chaffutil

DECOY = "198.51.100.80"

SENDER = r"""
import random, sys
from scapy.all import ARP, ICMP, IP, TCP, UDP, Ether, Raw, sendp, srp, conf, get_if_hwaddr
conf.verb = 0
iface, decoy, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
random.seed(1)
me = get_if_hwaddr(iface)
# Find the decoy's MAC the normal way first.
ans, _ = srp(Ether(dst="ff:ff:ff:ff:ff:ff") / ARP(pdst=decoy), iface=iface, timeout=2)
mac = ans[0][1].hwsrc
bad = []
# Malformed ARP: wrong lengths, wrong protocol, an opcode of 7, truncated.
good = bytearray(bytes(Ether(dst="ff:ff:ff:ff:ff:ff", src=me) / ARP(pdst=decoy, hwsrc=me)))
for off, val in ((18, 8), (19, 16), (16, 0x86), (21, 7)):
    b = bytearray(good)
    b[off] = val
    bad.append(Ether(bytes(b)))
bad.append(Ether(dst="ff:ff:ff:ff:ff:ff", type=0x0806) / Raw(b"\x00\x01\x08\x00\x06"))
e = Ether(dst=mac)
# IPv4 lies: header length, total length, bad checksums, fragments, options.
bad.append(e / IP(dst=decoy, ihl=2) / TCP(dport=22))
bad.append(e / IP(dst=decoy, len=9000) / TCP(dport=22))
bad.append(e / IP(dst=decoy, chksum=0x1234) / TCP(dport=22, flags="S"))
bad.append(e / IP(dst=decoy) / TCP(dport=22, flags="S", chksum=0x1234))
bad.append(e / IP(dst=decoy, flags="MF") / TCP(dport=22, flags="S"))
bad.append(e / IP(dst=decoy, ihl=15, options=b"\x44" * 40) / TCP(dport=22, flags="S"))
bad.append(e / IP(dst=decoy) / TCP(dport=22, flags="S", dataofs=15) / Raw(b"\x02\x09" * 10))
bad.append(e / IP(dst=decoy) / TCP(dport=22, dataofs=2))
bad.append(e / IP(dst=decoy) / UDP(dport=53, len=4000) / Raw(b"x"))
bad.append(e / IP(dst=decoy) / ICMP(type=8) / Raw(b"\xff" * 1400))
bad.append(e / IP(dst=decoy, proto=47) / Raw(b"gre"))
for _ in range(n):
    bad.append(Ether(dst=mac, src=me, type=random.choice([0x0800, 0x0806, 0x8100])) /
               Raw(bytes(random.getrandbits(8) for _ in range(random.randint(0, 200)))))
sendp(bad, iface=iface)
# Malformed ARP must stay unanswered.
b = bytearray(good)
b[18] = 8
ans, _ = srp(Ether(bytes(b)), iface=iface, timeout=1)
print("malformed-arp-answers", len(ans))
# Bounded SYN floods (2 x 5000 SYNs, distinct ports) to the open port; the
# test reads the daemon's memory between them.
flood = [e / IP(src="198.51.100.%d" % (2 + i % 200), dst=decoy) /
         TCP(sport=1024 + i, dport=22, flags="S", seq=i) for i in range(5000)]
sendp(flood, iface=iface)
print("flood-1-done", flush=True)
sys.stdin.readline()
sendp([p.copy() for p in flood], iface=iface)
for p in flood:
    p[TCP].sport += 10000
sendp(flood, iface=iface)
ans, _ = srp(Ether(dst="ff:ff:ff:ff:ff:ff") / ARP(pdst=decoy), iface=iface, timeout=2)
print("arp-after", len(ans))
"""


def _rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def test_hostile_frames_and_flood(topo):
    scan, _, proc, alarms = chaffutil.setup(
        topo, [{"ranges": [DECOY], "personality": "freebsd-12", "tcp": [22]}])
    ifname = [x for x in topo.run(scan, "ls", "/sys/class/net").stdout.split() if x != "lo"][0]
    # moat-chaff runs under `ip netns exec`: find the daemon's own pid.
    pid = int(topo.run(None, "pgrep", "-n", "-f", "moat-chaff -c").stdout.split()[0])
    sender = topo.spawn(scan, "/usr/bin/python3", "-c", SENDER, ifname, DECOY, "2000",
                        stdin=subprocess.PIPE)
    lines = []
    while True:
        line = sender.stdout.readline()
        assert line, "".join(lines)
        lines.append(line)
        if line.startswith("flood-1-done"):
            break
    time.sleep(0.5)
    rss1 = _rss_kib(pid)
    sender.stdin.write("\n")
    sender.stdin.flush()
    out = "".join(lines) + sender.communicate(timeout=240)[0]
    assert "malformed-arp-answers 0" in out, out
    assert "arp-after 1" in out, out
    assert proc.poll() is None
    # Tables are fixed at start (touched lazily): a second, larger flood of
    # new connections does not grow the daemon's memory.
    assert _rss_kib(pid) - rss1 < 512, (rss1, _rss_kib(pid))
    time.sleep(2.5)
    kinds = {a["kind"] for a in chaffutil.read_alarms(alarms)}
    assert "syn_scan" in kinds
    # A clean stop inside the sandbox, with its statistics line.
    proc.terminate()
    out = proc.communicate(timeout=10)[0]
    assert proc.returncode == 0, out
    m = re.search(r"stopping: (\d+) frames, \d+ sent, (\d+) malformed, (\d+) bad checksums", out)
    assert m and int(m.group(2)) > 0 and int(m.group(3)) > 0, out
