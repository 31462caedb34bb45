"""The dashboard end to end, in a real browser.

moatd runs in a router namespace (test_mitigate_router's Router: attacker,
router, victim, client), capturing on the attacker side and mitigating with
nftables. A bounded UDP flood against PO "web" makes an attack that is
declared and mitigated; a moat-chaff-shaped alarm (POSTed like moat-chaff
does) gives the decoys view something to show. Then web/test/browser.cjs
(Playwright from web/'s lockfile, Debian's chromium, headless) runs inside
the router namespace against moatd's loopback address and checks every view
(see that file); its screenshots go to <build>/dashboard-screenshots.
"""
import json
import os
import shutil
import subprocess
import time
import urllib.request

import pytest

from conftest import BUILD, ROOT, need
from nslib import wait_for
from test_mitigate_router import UDP_FLOOD, Router, mitigating

SHOTS = os.path.join(BUILD, "dashboard-screenshots")
SCRIPT = os.path.join(ROOT, "web", "test", "browser.cjs")

ALARM = {
    "time": "2026-01-01T00:00:00Z", "type": "chaff.alarm", "kind": "ssh-login",
    "src": "198.51.100.2", "src_mac": "02:00:00:00:00:02", "decoy": "192.0.2.77",
    "decoys": ["192.0.2.77"], "n_decoys": 1, "count": 3, "first": "2026-01-01T00:00:00Z",
    "last": "2026-01-01T00:00:00Z", "scan": False, "proto": "tcp", "dport": 22,
    "personality": "ssh", "username": "root", "password": "hunter2",
}


def test_dashboard_in_chromium(topo, tmp_path):
    need("node", "nft")
    if not os.path.exists("/usr/bin/chromium"):
        pytest.skip("not installed: chromium")
    if not os.path.isdir(os.path.join(ROOT, "web", "node_modules", "playwright-core")):
        pytest.skip("web/node_modules missing: run scripts/deps (npm ci in web/)")
    r = Router(topo, tmp_path)
    r.start_moatd("mitigate:\n  scope: proto\n")
    r.moat("po", "add", "web", "--prefix", "203.0.113.10/32", "--port", "8080",
           "--driver", "nft", "--threshold", "udp.pps=1000")
    url = open(os.path.join(r.state, "api.url")).read().strip()
    token_file = os.path.join(r.state, "api.token")
    token = open(token_file).read().strip()
    # the same request moat-chaff sends (rtr's loopback: through the namespace)
    topo.run(r.rtr, "curl", "-sf", "-X", "POST", "-H", "Authorization: Bearer " + token,
             "-d", json.dumps(ALARM), url + "/api/v1/alarms")

    # bounded: 5000 pps for at most 60 s, enough for the browser's whole run
    flood = topo.spawn(r.atk, "/usr/bin/python3", "-c",
                       UDP_FLOOD % {"n": 300000, "pps": 5000, "port": 9, "secs": 60})
    try:
        wait_for(lambda: mitigating(r, 1), timeout=15, interval=0.2, what="the flood mitigated")
    except AssertionError:
        raise AssertionError(r.log())

    # the charts' history: the flood's seconds are there, in wall time
    def get(path):
        q = topo.run(r.rtr, "curl", "-s", "-w", "\\n%{http_code}", url + path, check=False)
        body, _, code = q.stdout.rpartition("\n")
        return int(code), json.loads(body)
    code, h = get("/api/v1/pos/web/history?seconds=60")
    assert code == 200, h
    assert 1 <= len(h["t"]) <= 60 and len(h["udp"]["pps"]) == len(h["t"]), h
    assert abs(h["t"][-1] - time.time()) < 30, h["t"][-1]
    assert max(h["udp"]["pps"]) > 1000, h["udp"]
    assert get("/api/v1/pos/web/history?seconds=0")[1].get("field") == "seconds"
    assert get("/api/v1/pos/web/history?seconds=301")[0] == 400
    assert get("/api/v1/pos/nope/history")[0] == 404

    shutil.rmtree(SHOTS, ignore_errors=True)
    p = topo.run(r.rtr, "node", SCRIPT, url, SHOTS, "web", token_file, check=False,
                 timeout=150)
    print(p.stdout[-4000:], p.stderr[-2000:])
    lines = [x for x in p.stdout.splitlines() if x.startswith("{")]
    assert lines, p.stdout + p.stderr
    verdict = json.loads(lines[-1])
    for c in verdict["checks"]:
        print("%s %s %s" % ("ok  " if c["ok"] else "FAIL", c["name"],
                            json.dumps(c["detail"]) if c["detail"] is not None else ""))
    assert verdict["ok"], json.dumps(verdict, indent=1)
    assert not verdict["errors"], verdict["errors"]
    for name in ("overview", "po", "attacks", "attack", "attack-refused", "attack-withdrawn",
                 "mitigations", "decoys", "connections", "flight"):
        assert os.path.getsize(os.path.join(SHOTS, name + ".png")) > 5000, name
    print("screenshots in", SHOTS)

    flood.kill()
    flood.wait(10)
    r.proc.terminate()
    assert r.proc.wait(10) == 0


def test_static_files_are_safe(topo, tmp_path):
    """The file server answers only its allow-list, from memory, with its headers."""
    r = Router(topo, tmp_path)
    r.start_moatd("")
    url = open(os.path.join(r.state, "api.url")).read().strip()

    def curl(*args):
        return topo.run(r.rtr, "curl", "-s", "-o", "/dev/null", "-D", "-", *args,
                        check=False).stdout

    head = curl(url + "/")
    assert head.startswith("HTTP/1.1 200"), head
    low = head.lower()
    for h in ("content-security-policy: default-src 'self'", "x-content-type-options: nosniff",
              "content-type: text/html", "cache-control:"):
        assert h in low, (h, head)
    assert "text/javascript" in curl(url + "/app.js").lower()
    assert "text/css" in curl(url + "/style.css").lower()
    for bad in ("/etc/passwd", "/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/web/app.js",
                "/meson.build", "/app.js/", "//app.js", "/node_modules/preact/package.json"):
        got = curl("--path-as-is", url + bad)
        # 404 from the file server; "//x" is a URI with an authority and no path: 400
        assert got.startswith(("HTTP/1.1 404", "HTTP/1.1 400")), (bad, got)
    assert curl("-X", "POST", url + "/").startswith("HTTP/1.1 405")
    assert curl("-X", "PUT", url + "/app.js").startswith("HTTP/1.1 405")
    assert curl("-I", url + "/app.js").startswith("HTTP/1.1 200")
    # a body is refused from its head, before it is read
    assert curl("-X", "POST", "-d", "x" * 100, url + "/").startswith("HTTP/1.1 413")
    # small files one after another on one kept-alive connection (the reply
    # must leave through the connection filter at once)
    both = topo.run(r.rtr, "curl", "-s", "-m", "10", "-o", "/dev/null", "-o", "/dev/null",
                    "-w", "%{http_code} %{num_connects},", url + "/", url + "/favicon.svg",
                    check=False).stdout
    assert both == "200 1,200 0,", both
    # the REST API keeps answering in JSON, unknown API paths too
    assert "application/json" in curl(url + "/api/v1/health").lower()
    assert curl(url + "/api/v1/nope").startswith("HTTP/1.1 404")
    assert "application/json" in curl(url + "/api/v1/nope").lower()
    r.proc.terminate()
    assert r.proc.wait(10) == 0
