"""redis-server runs unmodified under `moat-ins --isolate`; redis-cli and
redis-benchmark in another namespace use it (epoll, accept, pipelining)."""
import re
import tempfile

from conftest import need
from inslib import SRV_ADDR, moat_ins, port_open, proc_output, two_namespaces


def test_redis_under_isolation(topo):
    need("redis-server", "redis-cli", "redis-benchmark")
    srv, cli = two_namespaces(topo)
    with tempfile.TemporaryDirectory() as d:
        p = topo.spawn(srv, *moat_ins("--isolate", "--hold", "data", "--", "redis-server",
                                      "--port", "6379", "--bind", "0.0.0.0", "::",
                                      "--protected-mode", "no", "--save", "",
                                      "--appendonly", "no", "--dir", d))
        port_open(topo, cli, SRV_ADDR, 6379)
        pong = topo.run(cli, "redis-cli", "-h", SRV_ADDR, "ping").stdout.strip()
        topo.run(cli, "redis-cli", "-h", SRV_ADDR, "set", "moat", "ins")
        got = topo.run(cli, "redis-cli", "-h", SRV_ADDR, "get", "moat").stdout.strip()
        bench = topo.run(cli, "redis-benchmark", "-h", SRV_ADDR, "-n", "20000", "-c", "50",
                         "-t", "set,get", "-q", timeout=120).stdout
        out = proc_output(p)
    assert pong == "PONG", out
    assert got == "ins", out
    rates = re.findall(r"(SET|GET): ([\d.]+) requests per second", bench)
    assert len(rates) == 2 and all(float(r) > 1000 for _, r in rates), bench + out
