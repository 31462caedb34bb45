"""The `ins` mitigation driver: moatd tells moat-ins to deny an attack's source.

The server namespace runs `python3 -m http.server` under moat-ins (isolated)
and moatd, whose PO "web" covers the segment with the driver order [ins].
A decoy-contact report (what moat-chaff posts) names 192.0.2.3 as a scanner:
the scan attack's mitigation makes moat-ins refuse 192.0.2.3 while 192.0.2.2
is still served, and `moat unmitigate` lifts the deny.
"""
import json
import os
import time

from conftest import binpath, need
from inslib import ATK_ADDR, CLI_ADDR, SRV_ADDR, curl, moat_ins, port_open
from nslib import wait_for
from test_foundation_moatd import free_port

PY = "/usr/bin/python3"


def test_ins_driver_denies_and_lifts(topo, tmp_path):
    need("curl")
    srv, cli = topo.ns("srv"), topo.ns("cli")
    topo.veth(srv, SRV_ADDR + "/24", cli, [CLI_ADDR + "/24", ATK_ADDR + "/24"])
    www = tmp_path / "www"
    www.mkdir()
    (www / "index.html").write_text("hello\n")
    sock = str(tmp_path / "ins.sock")
    topo.spawn(srv, *moat_ins("--socket", sock, "--isolate", "--", PY, "-m", "http.server",
                              "8000", "--directory", str(www)))
    port_open(topo, cli, SRV_ADDR, 8000)

    state = str(tmp_path / "state")
    os.makedirs(state)
    port = free_port()
    conf = str(tmp_path / "moatd.yaml")
    with open(conf, "w") as f:
        f.write('api:\n  listen: "127.0.0.1:%d"\nmitigate:\n  drivers:\n'
                '    ins: { socket: "%s", deny: 5m }\n' % (port, sock))
    log = open(str(tmp_path / "moatd.log"), "w")
    topo.spawn(srv, binpath("moatd"), "-c", conf, "--state", state, stdout=log, stderr=log)
    log.close()
    moat = [binpath("moat"), "--state", state]
    wait_for(lambda: topo.run(srv, *moat, "status", check=False).returncode == 0,
             timeout=10, what="moatd")
    topo.run(srv, *moat, "po", "add", "web", "--prefix", "192.0.2.0/24", "--driver", "ins")

    url = "http://%s:8000/index.html" % SRV_ADDR
    assert curl(topo, cli, url, "--interface", ATK_ADDR) == "200"
    assert curl(topo, cli, url, "--interface", CLI_ADDR) == "200"

    with open(os.path.join(state, "api.token")) as f:
        token = f.read().strip()
    alarm = {"type": "chaff.alarm", "kind": "syn_scan", "src": ATK_ADDR, "decoy": "192.0.2.99",
             "n_decoys": 12, "count": 40, "scan": True, "proto": "tcp", "proven": True}
    r = topo.run(srv, "curl", "-s", "-H", "Authorization: Bearer " + token,
                 "-H", "Content-Type: application/json", "-d", json.dumps(alarm),
                 "http://127.0.0.1:%d/api/v1/alarms" % port)
    assert json.loads(r.stdout) == {"accepted": True, "po": "web", "detection": True,
                                    "detect_only": False}

    def denied():
        ms = json.loads(topo.run(srv, *moat, "--json", "mitigations").stdout)["mitigations"]
        live = [m for m in ms if m["status"] == "mitigating"]
        return live[0] if live else None
    m = wait_for(denied, timeout=10, interval=0.3, what="the ins mitigation")
    assert m["driver"] == "ins" and m["request"]["sources"] == [ATK_ADDR]

    assert wait_for(lambda: curl(topo, cli, url, "--interface", ATK_ADDR, timeout=2) != "200",
                    timeout=5, what="moat-ins to refuse the scanner")
    assert curl(topo, cli, url, "--interface", CLI_ADDR) == "200"

    topo.run(srv, *moat, "unmitigate", str(m["id"]))
    time.sleep(0.2)
    assert curl(topo, cli, url, "--interface", ATK_ADDR) == "200"
