"""moat-chaff → moatd: a scan of the decoys becomes an attack, and the PO's
driver blocks the scanner.

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

    topo.run(scan, "nmap", "-sn", "-n", "--max-retries", "1", "198.51.100.48/29", timeout=60)

    def scan_attack():
        attacks = json.loads(topo.run(chaff, *moat, "--json", "attacks").stdout)["attacks"]
        live = [a for a in attacks if a["type"] == "scan" and a["state"] == "declared"]
        return live[0] if live else None
    a = wait_for(scan_attack, timeout=15, interval=0.3, what="a scan attack")
    assert a["po"] == "decoys"
    one = json.loads(topo.run(chaff, *moat, "--json", "attack", str(a["id"])).stdout)
    assert one["top_sources"][0]["address"] == SCANNER, one["top_sources"]

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
