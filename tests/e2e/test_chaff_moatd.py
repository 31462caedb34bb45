"""moat-chaff → moatd: a scan of the decoys becomes an attack, and the PO's
driver blocks the scanner — but only on evidence that proves the scanner's
address (a completed TCP handshake). A forged ARP frame or a ping sweep
declares a detect-only attack: an alarm, no rule.

The chaff namespace runs moat-chaff (decoys 198.51.100.48/29) and moatd,
which protects the decoy segment as PO "decoys" with the nft driver;
moat-chaff posts its alarms to moatd's /api/v1/alarms with moatd's token.
An `nmap -sn` sweep from the scanner namespace touches several decoys: the
reports are flight entries (category decoy), the detection declares a scan
attack whose top source is the scanner, and the mitigation drops everything
from the scanner to the PO in the chaff namespace's nftables.
"""
import json
import os
import time

from conftest import binpath, need
from nslib import wait_for
from test_foundation_moatd import free_port
import chaffutil

SCANNER = chaffutil.SCANNER_ADDR
SPOOFED = "198.51.100.254"     # a host the attacker wants blocked (a gateway, a DNS server)

SPOOF = r"""
import sys
from scapy.all import ARP, Ether, sendp, conf
conf.verb = 0
iface, spoofed, decoy = sys.argv[1:4]
sendp(Ether(dst="ff:ff:ff:ff:ff:ff", src="02:00:00:00:00:fe") /
      ARP(op=1, hwsrc="02:00:00:00:00:fe", psrc=spoofed, pdst=decoy), iface=iface)
"""


def test_scan_becomes_attack_and_is_blocked(topo, tmp_path):
    need("nmap", "nft")
    scan = topo.ns("scan")
    chaff = topo.ns("chaff")
    topo.veth(scan, SCANNER + "/24", chaff, None, name_b="chaff0")
    topo.run(chaff, "ip", "link", "set", "chaff0", "promisc", "on")

    state = str(tmp_path / "state")
    os.makedirs(state)
    port = free_port()
    conf = str(tmp_path / "moatd.yaml")
    with open(conf, "w") as f:
        f.write('api:\n  listen: "127.0.0.1:%d"\nmitigate:\n  scope: proto\n' % port)
    log = open(str(tmp_path / "moatd.log"), "w")
    moatd = topo.spawn(chaff, binpath("moatd"), "-c", conf, "--state", state,
                       stdout=log, stderr=log)
    log.close()
    moat = [binpath("moat"), "--state", state]
    wait_for(lambda: topo.run(chaff, *moat, "status", check=False).returncode == 0,
             timeout=10, what="moatd")
    topo.run(chaff, *moat, "po", "add", "decoys", "--prefix", "198.51.100.0/24",
             "--driver", "nft")

    chaff_conf, alarms = chaffutil.write_config(
        [{"ranges": ["198.51.100.48/29"], "personality": "linux-5.4", "tcp": [22, 80]}],
        alarms={"moatd_url": "http://127.0.0.1:%d/api/v1/alarms" % port,
                "moatd_token_file": os.path.join(state, "api.token")})
    proc = topo.spawn(chaff, chaffutil.binpath("moat-chaff"), "-c", chaff_conf)
    time.sleep(0.5)
    assert proc.poll() is None, proc.stdout.read()

    # A forged ARP request whose sender is another host (the "gateway"),
    # then a ping sweep: spoofable evidence, so an alarm and a detect-only
    # attack, never a rule.
    ifname = [x for x in topo.run(scan, "ls", "/sys/class/net").stdout.split() if x != "lo"][0]
    topo.run(scan, "/usr/bin/python3", "-c", SPOOF, ifname, SPOOFED, "198.51.100.49", timeout=30)
    topo.run(scan, "nmap", "-sn", "-n", "--max-retries", "1", "198.51.100.48/29", timeout=60)

    def scan_attack():
        attacks = json.loads(topo.run(chaff, *moat, "--json", "attacks").stdout)["attacks"]
        live = [a for a in attacks if a["type"] == "scan" and a["state"] == "declared"]
        return live[0] if live else None
    a = wait_for(scan_attack, timeout=15, interval=0.3, what="a scan attack")
    assert a["po"] == "decoys"
    assert a.get("detect_only") is True, a

    def spoof_alarm():
        fl = json.loads(topo.run(chaff, *moat, "--json", "flight", "--category", "decoy").stdout)
        return [e for e in fl["entries"] if e["detail"]["src"] == SPOOFED]
    hit = wait_for(spoof_alarm, timeout=10, interval=0.3, what="the spoofed ARP's alarm")
    assert hit[0]["detail"]["kind"] == "arp" and hit[0]["detail"]["proven"] is False
    time.sleep(3)     # more than a reading interval: a mitigation would have started
    ms = json.loads(topo.run(chaff, *moat, "--json", "mitigations").stdout)["mitigations"]
    assert not [m for m in ms if m["status"] == "mitigating"], ms
    rules = topo.run(chaff, "nft", "list", "ruleset").stdout
    assert SPOOFED not in rules and SCANNER not in rules, rules

    # A connect scan completes TCP handshakes: the source is proven.
    topo.run(scan, "nmap", "-sT", "-n", "-Pn", "--max-retries", "1", "-p", "22,80",
             "198.51.100.49-50", timeout=60)
    def proven_source():
        one = json.loads(topo.run(chaff, *moat, "--json", "attack", str(a["id"])).stdout)
        return one if one.get("top_sources") else None
    one = wait_for(proven_source, timeout=15, interval=0.3, what="the proven source")
    assert one["top_sources"][0]["address"] == SCANNER, one["top_sources"]
    assert not one.get("detect_only"), one
    assert SPOOFED not in [t["address"] for t in one["top_sources"]], one["top_sources"]

    def blocked():
        ms = json.loads(topo.run(chaff, *moat, "--json", "mitigations").stdout)["mitigations"]
        live = [m for m in ms if m["status"] == "mitigating"]
        return live[0] if live else None
    m = wait_for(blocked, timeout=10, interval=0.3, what="the scanner to be blocked")
    assert m["driver"] == "nft" and m["request"]["sources"] == [SCANNER]
    assert m["request"]["targets"] == ["198.51.100.0/24"] and m["request"]["proto"] == 0
    rules = topo.run(chaff, "nft", "list", "table", "inet", "moat").stdout
    assert "ip saddr 198.51.100.1" in rules or SCANNER in rules, rules

    flight = json.loads(topo.run(chaff, *moat, "--json", "flight", "--category", "decoy").stdout)
    assert any(e["event"] in ("decoy.scan", "decoy.contact") and
               e["detail"]["src"] == SCANNER for e in flight["entries"])
    proc.terminate()
    moatd.terminate()
    assert moatd.wait(10) == 0
