"""moat-chaff keeps working where it used to break: a fingerprint whose T1
says A=O|S+ (hp-printer) still completes real TCP connections; an interface
flap is survived with the decoys' state kept; VLAN-tagged frames are answered
only on configured VLANs, tagged as they came; a claimed address is given
back when its real owner answers for it."""
import re
import subprocess
import time

from conftest import need
from nslib import wait_for
import chaffutil


def test_hp_printer_completes_a_connection(topo):
    """A=O|S+ is what the printer answered to nmap's probes; a client's SYN
    must still be acked, or no connection completes."""
    need("curl")
    scan, _, proc, alarms = chaffutil.setup(
        topo, [{"ranges": ["198.51.100.20/32"], "personality": "hp-printer", "tcp": [80]}])
    r = topo.run(scan, "curl", "-s", "-i", "-m", "5", "http://198.51.100.20/", check=False,
                 timeout=20)
    assert r.returncode == 0, (r.returncode, r.stderr)
    assert "HP-ChaiSOE" in r.stdout, r.stdout
    chaffutil.wait_alarm(alarms, lambda a: a["kind"] == "connect" and a["proven"],
                         what="a proven connect alarm")
    assert proc.poll() is None


def test_interface_flap_is_survived(topo):
    scan, chaff, proc, alarms = chaffutil.setup(
        topo, [{"ranges": ["198.51.100.20/32"], "personality": "linux-5.4", "tcp": [80]}])
    need("curl")
    topo.run(scan, "curl", "-s", "-o", "/dev/null", "-m", "5", "http://198.51.100.20/", timeout=20)
    for _ in range(2):
        topo.run(chaff, "ip", "link", "set", "chaff0", "down")
        time.sleep(0.5)
        assert proc.poll() is None, proc.stdout.read()
        topo.run(chaff, "ip", "link", "set", "chaff0", "up")
        time.sleep(0.5)
        assert proc.poll() is None, proc.stdout.read()
    # Answers again, with the same MAC (state kept, nothing re-made).
    wait_for(lambda: topo.run(scan, "curl", "-s", "-o", "/dev/null", "-m", "2",
                              "http://198.51.100.20/", check=False, timeout=10).returncode == 0,
             timeout=20, interval=0.5, what="the decoy to answer after the flap")
    proc.terminate()
    out = proc.communicate(timeout=10)[0]
    assert "interface down" in out, out
    assert "receiving again" in out, out


VLAN = r"""
import sys, time
from scapy.all import ARP, Dot1Q, Ether, AsyncSniffer, sendp, conf, get_if_hwaddr
conf.verb = 0
iface, decoy = sys.argv[1:3]
me = get_if_hwaddr(iface)
sn = AsyncSniffer(iface=iface, filter="arp or vlan", store=True)
sn.start()
time.sleep(0.5)
for vid in (10, 20):
    sendp(Ether(dst="ff:ff:ff:ff:ff:ff", src=me) / Dot1Q(vlan=vid) /
          ARP(op=1, hwsrc=me, psrc="198.51.100.%d" % (100 + vid), pdst=decoy), iface=iface)
    time.sleep(0.5)
time.sleep(0.5)
sn.stop()
for p in sn.results:
    if ARP in p and p[ARP].op == 2 and p[ARP].psrc == decoy:
        print("reply", p[Dot1Q].vlan if Dot1Q in p else 0, p[ARP].pdst)
print("done")
"""


def test_vlans(topo):
    """vlans: [20]. A request tagged 20 is answered tagged 20; one tagged
    10 (not configured) gets no answer at all, tagged or not, and no alarm."""
    scan, _, proc, alarms = chaffutil.setup(
        topo, [{"ranges": ["198.51.100.20/32"], "personality": "linux-5.4"}],
        extra="vlans: [20]")
    ifname = [x for x in topo.run(scan, "ls", "/sys/class/net").stdout.split() if x != "lo"][0]
    out = topo.run(scan, "/usr/bin/python3", "-c", VLAN, ifname, "198.51.100.20",
                   timeout=60).stdout
    replies = [l.split()[1:] for l in out.splitlines() if l.startswith("reply")]
    assert replies == [["20", "198.51.100.120"]], out
    chaffutil.wait_alarm(alarms, lambda a: a["src"] == "198.51.100.120", what="VLAN 20 alarm")
    time.sleep(0.5)
    assert not [a for a in chaffutil.read_alarms(alarms) if a["src"] == "198.51.100.110"]
    assert proc.poll() is None


OWNER = r"""
import sys, time
from scapy.all import ARP, Ether, srp, sendp, conf
conf.verb = 0
iface = sys.argv[1]
ip = "198.51.100.150"
def ask():
    ans, _ = srp(Ether(dst="ff:ff:ff:ff:ff:ff") / ARP(psrc="198.51.100.1", pdst=ip),
                 iface=iface, timeout=0.5)
    return ans[0][1].hwsrc if ans else "-"
print("before", [ask() for _ in range(5)])
# The real owner comes back and announces itself.
owner = "02:00:00:00:01:50"
sendp(Ether(dst="ff:ff:ff:ff:ff:ff", src=owner) /
      ARP(op=2, hwsrc=owner, psrc=ip, hwdst="ff:ff:ff:ff:ff:ff", pdst=ip), iface=iface)
time.sleep(0.3)
print("after", [ask() for _ in range(2)])
"""


def test_claimed_address_is_released_to_its_owner(topo):
    extra = ("claim:\n  ranges: [198.51.100.128/25]\n  after: 3\n  within: 10s\n  max: 8\n"
             "  personality: windows-10\n  tcp: [445]")
    scan, _, proc, alarms = chaffutil.setup(
        topo, [{"ranges": ["198.51.100.16/30"], "personality": "linux-5.4"}], extra=extra)
    ifname = [x for x in topo.run(scan, "ls", "/sys/class/net").stdout.split() if x != "lo"][0]
    out = topo.run(scan, "/usr/bin/python3", "-c", OWNER, ifname, timeout=60).stdout
    lines = dict(l.split(" ", 1) for l in out.strip().splitlines())
    before, after = eval(lines["before"]), eval(lines["after"])
    assert before[-1].lower().startswith("d4:be:d9"), before   # claimed by a decoy
    assert not [m for m in after if m.lower().startswith("d4:be:d9")], after   # released
    chaffutil.wait_alarm(alarms, lambda a: a["kind"] == "arp_conflict" and
                         a["src"] == "198.51.100.150", what="the conflict alarm")
    proc.terminate()
    log = proc.communicate(timeout=10)[0]
    assert re.search(r"released claimed address 198\.51\.100\.150", log), log


def keyscan(topo, ns, addrs):
    out = topo.run(ns, "ssh-keyscan", "-T", "5", "-t", "ed25519", *addrs, check=False,
                   timeout=30).stdout
    keys = {}
    for line in out.splitlines():
        if line and not line.startswith("#"):
            host, _, key = line.split(" ", 2)
            keys[host] = key
    return keys


def test_ssh_host_keys_per_decoy_and_kept(topo, tmp_path):
    """Each decoy has its own host key, and keeps it across a restart
    (the secret it derives from lives in state_dir)."""
    need("ssh-keyscan")
    state = tmp_path / "chaff-state"
    groups = [{"ranges": ["198.51.100.20/31"], "personality": "linux-5.4", "tcp": [22]}]
    scan, chaff, proc, _ = chaffutil.setup(topo, groups, extra="state_dir: %s" % state)
    addrs = ["198.51.100.20", "198.51.100.21"]
    first = keyscan(topo, scan, addrs)
    assert set(first) == set(addrs), first
    assert first[addrs[0]] != first[addrs[1]], first
    assert (state / "ssh-hostkeys.secret").stat().st_mode & 0o077 == 0
    proc.terminate()
    proc.wait(10)
    conf, _ = chaffutil.write_config(groups, extra="state_dir: %s" % state)
    proc = topo.spawn(chaff, chaffutil.binpath("moat-chaff"), "-c", conf)
    time.sleep(0.3)
    assert proc.poll() is None
    again = keyscan(topo, scan, addrs)
    assert again == first, (first, again)


def server_proposal(topo, ns, addr):
    """The server's KEXINIT lists as ssh -vv prints them. One retry: the
    user-space stack does not retransmit yet (a segment of ours lost on a
    loaded machine stalls that handshake; docs/chaff.md)."""
    for _ in range(2):
        # +ssh-rsa: an OpenSSH 5.3 server signs with SHA-1 RSA only, which
        # a current client no longer accepts by default (as with a real one).
        r = topo.run(ns, "ssh", "-vv", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
                     "-o", "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=5",
                     "-o", "HostKeyAlgorithms=+ssh-rsa",
                     "-p", "22", "nobody@" + addr, "true", check=False, timeout=40)
        text = r.stderr
        if "Permission denied" in text:
            break
    i = text.find("peer server KEXINIT proposal")
    assert i >= 0, text
    lists = {}
    for line in text[i:].splitlines()[1:8]:
        m = re.search(r"debug2: (KEX algorithms|host key algorithms|ciphers stoc|MACs stoc): (.*)",
                      line)
        if m:
            lists[m.group(1)] = m.group(2).split(",")
    assert "Permission denied" in text or "Authentications that can continue" in text, text
    return lists


def test_ssh_algorithms_follow_the_banner(topo):
    """OpenSSH 5.3 offered neither curve25519 nor chacha20 nor SHA-2 MACs;
    8.2 offers curve25519-sha256 first. The handshake completes under both."""
    need("ssh")
    scan, _, proc, _ = chaffutil.setup(
        topo, [{"ranges": ["198.51.100.20/32"], "personality": "linux-2.6", "tcp": [22]},
               {"ranges": ["198.51.100.21/32"], "personality": "linux-5.4", "tcp": [22]}])
    old = server_proposal(topo, scan, "198.51.100.20")
    assert not [k for k in old["KEX algorithms"] if "curve25519" in k or "ecdh" in k], old
    assert "chacha20-poly1305@openssh.com" not in old["ciphers stoc"], old
    assert old["MACs stoc"] == ["hmac-sha1"], old
    new = server_proposal(topo, scan, "198.51.100.21")
    assert new["KEX algorithms"][0] == "curve25519-sha256", new
    assert "chacha20-poly1305@openssh.com" in new["ciphers stoc"], new
    assert proc.poll() is None
