"""Helpers shared by the moat-ins end-to-end tests (tests/e2e/test_ins_*.py)."""
import os
import socket
import subprocess
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
