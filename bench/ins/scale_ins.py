#!/usr/bin/python3
"""bench/ins/scale_ins.py BUILD_DIR [N]: one moat-ins process with N (default
20,000) concurrent connections handed to an application that keeps them
open, observed every second through sock_diag. Prints how long the N
connects took, and moat-ins's own statistics: connections handed over, the
largest observer round (connections tracked) and its duration. Needs root."""
import os
import re
import subprocess
import sys
import textwrap
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "e2e"))
from inslib import port_open  # noqa: E402
from nslib import Topology  # noqa: E402

SRV, CLI = "192.0.2.1", "192.0.2.2"

# Two worker processes share the listener (the prefork model, through the
# doorbell) so that together they hold more than one process's descriptor limit.
APP = textwrap.dedent("""
    import os, resource, socket, sys
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    l = socket.socket()
    l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l.bind(("0.0.0.0", 80))
    l.listen(4096)
    if os.fork() == 0:
        pass
    kept = []
    while True:
        c, _ = l.accept()
        kept.append(c)
""")

CLIENT = textwrap.dedent("""
    import os, resource, socket, sys, time
    n, host, hold = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    n //= 2
    os.fork()    # two client processes, n/2 connections each
    t0 = time.time()
    socks = []
    for i in range(n):
        s = socket.socket()
        s.settimeout(5)
        s.connect((host, 80))
        socks.append(s)
    print("connected %d in %.2f s" % (n, time.time() - t0), flush=True)
    time.sleep(hold)
    for s in socks:
        s.close()
""")


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    build = os.path.abspath(sys.argv[1])
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 20000
    ins = os.path.join(build, "src", "ins", "moat-ins")
    topo = Topology()
    try:
        srv, cli = topo.ns("srv"), topo.ns("cli")
        topo.veth(srv, SRV + "/24", cli, CLI + "/24")
        topo.run(srv, "sysctl", "-qw", "net.core.somaxconn=4096")
        p = topo.spawn(srv, ins, "--isolate", "--", "/usr/bin/python3", "-c", APP)
        port_open(topo, cli, SRV, 80)
        r = topo.run(cli, "/usr/bin/python3", "-c", CLIENT, str(n), SRV, "4", timeout=300)
        time.sleep(0.5)
        print(r.stdout.strip())
        time.sleep(1)
        p.terminate()
        out, _ = p.communicate(timeout=20)
    finally:
        topo.teardown()
    for line in out.splitlines():
        if "stats:" in line or "observer:" in line or "destroyed" in line:
            print(line)
    m = re.search(r"max_tracked (\d+) \(in (\d+) us\)", out)
    if m:
        print("observed %s connections in one sock_diag round of %.1f ms" %
              (m.group(1), int(m.group(2)) / 1000))
    return 0


if __name__ == "__main__":
    sys.exit(main())
