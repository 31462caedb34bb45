"""A benign mix: 1,000 concurrent clients (one request each, all open at the
same time, from one client address) against nginx under moat-ins holding for
complete HTTP headers with the default policy. Every request is answered and
moat-ins drops nothing (its exit statistics say so)."""
import re
import shutil
import textwrap

from conftest import need
from inslib import SRV_ADDR, moat_ins, port_open, proc_output, two_namespaces
from test_ins_nginx import nginx_argv, nginx_dir

CLIENTS = textwrap.dedent("""
    import resource, selectors, socket, sys, time
    n, host = int(sys.argv[1]), sys.argv[2]
    resource.setrlimit(resource.RLIMIT_NOFILE, (n + 100, n + 100))
    sel = selectors.DefaultSelector()
    req = b"GET /1k.bin HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n"
    conns = {}
    for i in range(n):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex((host, 80))
        conns[s] = b""
        sel.register(s, selectors.EVENT_WRITE)
    ok = failed = 0
    deadline = time.time() + 30
    while conns and time.time() < deadline:
        for key, ev in sel.select(1):
            s = key.fileobj
            try:
                if ev & selectors.EVENT_WRITE:
                    s.send(req)
                    sel.modify(s, selectors.EVENT_READ)
                    continue
                chunk = s.recv(65536)
            except OSError:
                chunk, failed = b"", failed + 1
                conns[s] = b"x"
            if chunk:
                conns[s] += chunk
                continue
            ok += conns[s].startswith(b"HTTP/1.1 200")
            sel.unregister(s)
            s.close()
            del conns[s]
    print(ok, failed + len(conns))
""")


def test_thousand_benign_clients(topo):
    need("nginx")
    srv, cli = two_namespaces(topo)
    d = nginx_dir()
    try:
        p = topo.spawn(srv, *moat_ins("--isolate", "--hold", "http", "--", *nginx_argv(d)))
        port_open(topo, cli, SRV_ADDR, 80)
        r = topo.run(cli, "/usr/bin/python3", "-c", CLIENTS, "1000", SRV_ADDR, timeout=60)
        out = proc_output(p, timeout=10)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    ok, bad = map(int, r.stdout.split())
    stats = re.search(r"held_dropped (\d+) capped (\d+) denied (\d+) pending_drops (\d+)", out)
    assert stats, out
    assert ok == 1000 and bad == 0, (r.stdout, out)
    assert stats.groups() == ("0", "0", "0", "0"), out
