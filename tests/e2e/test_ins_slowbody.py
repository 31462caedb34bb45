"""Slow body (slowhttptest -B, R-U-D-Y) and slow read (-X) against nginx under
moat-ins: requests pass the header hold, so these are caught after handoff by
the sock_diag observer (rate below 64 B/s one way over a 2 s window after a
2 s grace), destroyed with SOCK_DESTROY, and their source capped (32 open
connections) and then denied. A legitimate client in another namespace keeps
a >= 99 % success rate; the attack is detected within 10 s. Each attack is
4,096 connections at 1,024/s (the catalogue scale, 16,384 at 256/s, is
bench/ins/bench_ins_slow.py)."""
import re
import shutil
import time

import pytest

from conftest import need
from inslib import SRV_ADDR, moat_ins, port_open, proc_output
from test_ins_nginx import nginx_argv, nginx_dir
from test_ins_slowloris import LEGIT, three_namespaces

ATTACK_SECONDS = 14

MODES = {
    # slow body: POST with a 8 KiB Content-Length, 1-10 bytes every 1 s
    "body": ["-B", "-c", "4096", "-r", "1024", "-i", "1", "-x", "10", "-s", "8192",
             "-u", "http://198.51.100.1/1k.bin"],
    # slow read: 1 MiB answers read through a 1..16-byte window, 4 bytes every 2 s
    "read": ["-X", "-c", "4096", "-r", "1024", "-w", "1", "-y", "16", "-n", "2", "-z", "4",
             "-k", "2", "-u", "http://198.51.100.1/1m.bin"],
}
VERDICT = {"body": "slow-body", "read": "slow-read"}


@pytest.mark.parametrize("mode", sorted(MODES))
def test_slow_attack_is_shed(topo, mode):
    need("nginx", "slowhttptest")
    srv, cli, atk = three_namespaces(topo)
    d = nginx_dir()
    conf = d + "/nginx.conf"
    with open(conf) as f:
        text = f.read().replace("worker_processes 2;", "worker_processes 1;")
    with open(conf, "w") as f:
        f.write(text.replace("worker_connections 1024;", "worker_connections 512;"))
    with open(d + "/policy.yaml", "w") as f:
        f.write("hold:\n  mode: http\n  timeout_ms: 3000\n  max_per_source: 32\n"
                "  max_conns_per_source: 32\n"
                "shed:\n  grace_ms: 2000\n  window_ms: 2000\n  min_rate: 64\n"
                "  observe_ms: 500\n  deny_after_drops: 16\n  deny_for: 60s\n")
    try:
        p = topo.spawn(srv, *moat_ins("-v", "--policy", d + "/policy.yaml", "--isolate", "--",
                                      *nginx_argv(d)))
        port_open(topo, cli, SRV_ADDR, 80)
        t0 = time.time()
        atk_p = topo.spawn(atk, "slowhttptest", *MODES[mode], "-l", str(ATTACK_SECONDS),
                           "-p", "2")
        r = topo.run(cli, "/usr/bin/python3", "-c", LEGIT, SRV_ADDR, str(ATTACK_SECONDS),
                     timeout=ATTACK_SECONDS + 30)
        ok, fail, _ = r.stdout.split()
        proc_output(atk_p, timeout=10)
        out = proc_output(p)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    ok, fail = int(ok), int(fail)
    shed = len(re.findall("destroyed %s connection" % VERDICT[mode], out))
    print("%s: legit %d ok %d failed; %d destroyed lines; %s" %
          (mode, ok, fail, shed, "denied" if "source denied" in out else "not denied"))
    assert shed > 0, out[-3000:]
    assert ok / max(1, ok + fail) >= 0.99, "legit %d/%d\n%s" % (ok, ok + fail, out[-3000:])
