"""moat-ins telemetry into moatd (issue #6, gaps 1 and 5).

The server namespace runs moatd (collecting IPFIX on 127.0.0.1, PO "web" =
the server's addresses, port 8000) and moat-ins (`--ipfix` to moatd,
holding connections until their HTTP headers are complete, 1 s deadline)
with a small HTTP server under `--isolate`. Normal clients that keep their
connection 2.5 s after the response are listed by `moat connections` and
GET /api/v1/connections with their endpoints and exactly the bytes they
sent and received; a short connection (curl) ends as closed too. Then a
bounded slowloris (slowhttptest -H, 150 connections) from an attacker
namespace: its connections are dropped before handoff, and moatd declares
an attack of type slow-connection on the PO whose top sources hold the
attacker's address.
"""
import json
import os
import subprocess
import textwrap
import time

from conftest import binpath, need
from inslib import (ATK_ADDR, CLI_ADDR, SRV_ADDR, curl, http_server_script, moat_ins,
                    port_open, proc_output)
from nslib import wait_for
from test_foundation_moatd import free_port

PY = "/usr/bin/python3"
SRV_ATK_ADDR = "198.51.100.1"

SERVER = http_server_script(b"x" * 1000)

# One request, the whole response, 2.5 s more with the connection open (so an
# observer round sees its final figures), then close; prints what it moved.
CLIENT = textwrap.dedent("""
    import socket, sys, time
    s = socket.create_connection((sys.argv[1], 8000), timeout=5)
    req = b"GET /%s HTTP/1.0\\r\\nHost: web\\r\\n\\r\\n" % (b"a" * int(sys.argv[2]))
    s.sendall(req)
    got = b""
    while len(got) < 1038 or b"\\r\\n\\r\\n" not in got:
        chunk = s.recv(65536)
        if not chunk:
            break
        got += chunk
    port = s.getsockname()[1]
    time.sleep(2.5)
    s.close()
    print(port, len(req), len(got))
""")


def moatd_in(topo, ns, tmp_path):
    """moatd in namespace ns: API and IPFIX on its loopback.
    Returns (proc, moat argv, API port, IPFIX port)."""
    state = str(tmp_path / "state")
    os.makedirs(state)
    api, ipfix = free_port(), free_port()
    conf = str(tmp_path / "moatd.yaml")
    with open(conf, "w") as f:
        f.write('api:\n  listen: "127.0.0.1:%d"\ncollect:\n  udp: ["127.0.0.1:%d"]\n'
                'connections:\n  retention: 10m\n' % (api, ipfix))
    log = open(str(tmp_path / "moatd.log"), "w")
    proc = topo.spawn(ns, binpath("moatd"), "-c", conf, "--state", state, stdout=log,
                      stderr=subprocess.STDOUT)
    log.close()
    moat = [binpath("moat"), "--state", state]
    wait_for(lambda: topo.run(ns, *moat, "status", check=False).returncode == 0,
             timeout=10, what="moatd")
    return proc, moat, api, ipfix


def connections(topo, ns, moat, *args):
    return json.loads(topo.run(ns, *moat, "--json", "connections", *args).stdout)


def test_ins_connections_and_slowloris_in_moatd(topo, tmp_path):
    need("slowhttptest")
    srv, cli, atk = topo.ns("srv"), topo.ns("cli"), topo.ns("atk")
    topo.veth(srv, SRV_ADDR + "/24", cli, CLI_ADDR + "/24")
    topo.veth(srv, SRV_ATK_ADDR + "/24", atk, ATK_ADDR.replace("192.0.2.", "198.51.100.") + "/24")
    attacker = ATK_ADDR.replace("192.0.2.", "198.51.100.")
    moatd, moat, api, ipfix = moatd_in(topo, srv, tmp_path)
    topo.run(srv, *moat, "po", "add", "web", "--prefix", "192.0.2.0/24", "--prefix",
             "198.51.100.0/24", "--port", "8000")
    ins = topo.spawn(srv, *moat_ins("--ipfix", "127.0.0.1:%d" % ipfix, "--hold", "http",
                                    "--hold-timeout", "1000", "--isolate", "--", PY, "-c", SERVER))
    port_open(topo, cli, SRV_ADDR, 8000)

    # normal clients: endpoints and bytes as the clients saw them
    clients = [topo.spawn(cli, PY, "-c", CLIENT, SRV_ADDR, str(n)) for n in (10, 200, 1500)]
    assert curl(topo, cli, "http://%s:8000/short" % SRV_ADDR) == "200"
    moved = {}
    for c in clients:
        out, _ = c.communicate(timeout=20)
        port, sent, got = (int(x) for x in out.split())
        moved[port] = (sent, got)

    def listed():
        conns = connections(topo, srv, moat, "--po", "web", "--source", CLI_ADDR)["connections"]
        ours = {c["source_port"]: c for c in conns if c["source_port"] in moved}
        done = len(ours) == len(moved) and all(c["state"] == "closed" for c in ours.values())
        return ours if done else None
    ours = wait_for(listed, timeout=15, interval=0.5, what="the clients' connections closed")
    for port, (sent, got) in moved.items():
        c = ours[port]
        assert c["local"] == SRV_ADDR and c["local_port"] == 8000, c
        assert c["po"] == "web" and c["last_event"] == "close", c
        assert c["bytes_in"] == sent, (c, sent)
        assert c["bytes_out"] == got, (c, got)
        assert c["end"] >= c["start"] > 1600000000, c
        assert c["first_byte_ms"] is not None and c["headers_ms"] is not None, c
    # the short connection (closed before any observer round) ends closed as well
    conns = connections(topo, srv, moat, "--source", CLI_ADDR, "--state", "closed")
    assert len(conns["connections"]) >= len(moved) + 1, conns
    table = topo.run(srv, *moat, "connections", "--po", "web").stdout
    assert CLI_ADDR in table and "closed" in table, table

    # a bounded slowloris: dropped while held, and an attack in moatd
    atk_p = topo.spawn(atk, "slowhttptest", "-H", "-c", "150", "-r", "75", "-i", "2", "-l", "8",
                       "-x", "10", "-p", "2", "-u", "http://%s:8000/" % SRV_ATK_ADDR)

    def slow_attack():
        attacks = json.loads(topo.run(srv, *moat, "--json", "attacks").stdout)["attacks"]
        live = [a for a in attacks if a["type"] == "slow-connection" and a["po"] == "web"]
        return live[0] if live else None
    a = wait_for(slow_attack, timeout=20, interval=0.5, what="a slow-connection attack")
    assert a["protocol"] == "tcp" and a["port"] == 8000, a

    def attacker_on_top():
        one = json.loads(topo.run(srv, *moat, "--json", "attack", str(a["id"])).stdout)
        return one if any(s["address"] == attacker for s in one["top_sources"]) else None
    wait_for(attacker_on_top, timeout=10, interval=0.5, what="the attacker in the top sources")
    proc_output(atk_p, timeout=15)
    dropped = connections(topo, srv, moat, "--state", "dropped", "--source", attacker)
    assert dropped["total"] > 0, dropped
    assert all(c["last_event"] in ("hold_timeout", "denied", "capped")
               for c in dropped["connections"]), dropped
    flight = json.loads(topo.run(srv, *moat, "--json", "flight", "--category", "ins").stdout)
    assert any(e["event"] == "ins.slow" for e in flight["entries"]), flight
    metrics = topo.run(srv, "curl", "-s", "http://127.0.0.1:%d/metrics" % api).stdout
    held = [l for l in metrics.splitlines()
            if l.startswith('moat_ins_connection_events_total{kind="hold_timeout"}')]
    assert held and int(held[0].split()[-1]) > 0, metrics
    assert "moat_ins_connections_open " in metrics, metrics
    proc_output(ins)
    moatd.terminate()
    assert moatd.wait(10) == 0
