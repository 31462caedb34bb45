"""moat-chaff claims unused addresses LaBrea-style: after three unanswered
ARP requests within the window it probes the address, and only when the
probe goes unanswered too does the address become a decoy (and answer); a
reserved address never does, and neither does a live host whose replies
to the requests moat-chaff cannot see (a switched segment)."""
from conftest import need
import chaffutil

SENDER = r"""
import sys, time
from scapy.all import ARP, Ether, srp, conf
conf.verb = 0
iface = sys.argv[1]
def ask(ip):
    ans, _ = srp(Ether(dst="ff:ff:ff:ff:ff:ff") / ARP(psrc="198.51.100.1", pdst=ip),
                 iface=iface, timeout=0.5)
    return ans[0][1].hwsrc if ans else "-"
for ip in ("198.51.100.150", "198.51.100.151", "198.51.100.152"):
    print(ip, [ask(ip) for _ in range(6)])
"""


def test_unused_address_is_claimed(topo):
    extra = ("claim:\n  ranges: [198.51.100.128/25]\n  reserved: [198.51.100.151]\n"
             "  after: 3\n  within: 10s\n  max: 8\n  personality: windows-10\n  tcp: [445]")
    scan, _, proc, alarms = chaffutil.setup(
        topo, [{"ranges": ["198.51.100.16/30"], "personality": "linux-5.4"}], extra=extra)
    ifname = [x for x in topo.run(scan, "ls", "/sys/class/net").stdout.split() if x != "lo"][0]
    # A live host moat-chaff hears only through its probe: the scanner's own
    # kernel holds .152 and never sees the requests scapy sends from it, as
    # on a switch the requests are broadcast and the replies unicast.
    topo.run(scan, "ip", "addr", "add", "198.51.100.152/32", "dev", ifname)
    out = topo.run(scan, "/usr/bin/python3", "-c", SENDER, ifname, timeout=60).stdout
    lines = dict(l.split(" ", 1) for l in out.strip().splitlines())
    claimed = eval(lines["198.51.100.150"])     # list printed by the sender
    reserved = eval(lines["198.51.100.151"])
    live = eval(lines["198.51.100.152"])
    assert claimed[:2] == ["-", "-"], claimed   # first requests: nobody answers
    assert claimed[-1].lower().startswith("d4:be:d9"), claimed   # then a Windows decoy (Dell)
    assert reserved == ["-"] * 6, reserved
    # Answers for .152, if any, come from its owner (the kernel answering the
    # probe), never from a decoy.
    assert not any(m.lower().startswith("d4:be:d9") for m in live), live
    assert proc.poll() is None
