"""Helpers shared by the moat-ins end-to-end tests (tests/e2e/test_ins_*.py)."""
import os
import socket
import subprocess
import textwrap
import time

from conftest import binpath
from nslib import wait_for

SRV_ADDR = "192.0.2.1"
CLI_ADDR = "192.0.2.2"
ATK_ADDR = "192.0.2.3"
SRV_ADDR6 = "2001:db8::1"
CLI_ADDR6 = "2001:db8::2"


def two_namespaces(topo):
    """A server namespace (where moat-ins runs) and a client namespace on one link."""
    srv = topo.ns("srv")
    cli = topo.ns("cli")
    topo.veth(srv, [SRV_ADDR + "/24", SRV_ADDR6 + "/64"], cli, [CLI_ADDR + "/24", CLI_ADDR6 + "/64"])
    return srv, cli


def moat_ins(*args):
    """argv for moat-ins."""
    return [binpath("moat-ins")] + list(args)


def port_open(topo, ns, host, port, timeout=10.0):
    """Wait until host:port accepts TCP connections as seen from namespace ns."""
    probe = ("import socket,sys\n"
             "s=socket.socket(socket.AF_INET6 if ':' in sys.argv[1] else socket.AF_INET)\n"
             "s.settimeout(0.5)\n"
             "sys.exit(s.connect_ex((sys.argv[1], int(sys.argv[2]))))\n")
    wait_for(lambda: topo.run(ns, "/usr/bin/python3", "-c", probe, host, str(port),
                              check=False).returncode == 0,
             timeout=timeout, what="%s:%d listening" % (host, port))


def curl(topo, ns, url, *extra, timeout=5):
    """HTTP status code of one GET from namespace ns ("000" when it failed)."""
    r = topo.run(ns, "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                 "-m", str(timeout), *extra, url, check=False)
    return r.stdout.strip() or "000"


def proc_output(p, timeout=5):
    """Stop a spawned process and return what it printed."""
    if p.poll() is None:
        p.terminate()
    try:
        out, _ = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, _ = p.communicate()
    return out or ""


def http_server_script(body, port=8000, backlog=256):
    """python3 -c source of a threaded HTTP/1.0 server on 0.0.0.0:port: it
    reads a request's headers, answers 200 with body, then drains the
    connection until the client closes (so byte counts are the client's)."""
    return textwrap.dedent("""
        import socket, threading
        BODY = %r
        def serve(c):
            data = b""
            while b"\\r\\n\\r\\n" not in data:
                chunk = c.recv(4096)
                if not chunk:
                    return c.close()
                data += chunk
            c.sendall(b"HTTP/1.0 200 OK\\r\\nContent-Length: %%d\\r\\n\\r\\n" %% len(BODY) + BODY)
            while c.recv(4096):
                pass
            c.close()
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("0.0.0.0", %d))
        s.listen(%d)
        while True:
            c, _ = s.accept()
            threading.Thread(target=serve, args=(c,), daemon=True).start()
    """) % (body, port, backlog)
