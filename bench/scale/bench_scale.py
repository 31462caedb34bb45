#!/usr/bin/python3
"""bench_scale.py BUILD_DIR: the cost of the cluster roles, measured in one run.

1. Per-record cost of a collector that publishes its deltas to JetStream
   (role collect) versus one that counts for its local detection (role
   all): the same 50 POs, the same bounded NetFlow v5 load on loopback
   (30 records per datagram, paced), moatd's CPU time (utime + stime) per
   record it counted; printed as a ratio collect/all.
2. Deltas one engine consumes: one engine owning all 8 shards of 1,000
   POs; bench_deltas_pub (built in BUILD_DIR/bench) publishes, every
   second for 5 s, one message per synthetic collector and shard (each PO
   with 4 readings and a busy host), for 2 to 512 collectors (x4, and 256);
   the engine's /api/v1/cluster counters before and after give the messages
   and readings it consumed per second, its CPU share, and what it dropped
   or fed late. The reference, in the same run: the same messages decoded
   and merged in one process (bench_deltas_pub local: codec + merge only).
   MOAT_BENCH_RATES=0 skips it.
3. Failover time over N kills (MOAT_BENCH_KILLS, default 20): a nats-server
   with JetStream and two engines (8 shards, lease_ttl 3 s); each round
   SIGKILLs the owner of shard 0, times until the other engine owns it,
   restarts the killed one and waits for the shards to split again;
   printed as p50 and max. MOAT_BENCH_KILLS=0 skips it.
Everything runs on loopback with free ports in temp dirs and is stopped
and removed at the end, even on failure.
"""
import os
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "e2e"))
from nslib import Topology, wait_for  # noqa: E402

SHARDS = 8
NPOS = 50


def free_port(kind=socket.SOCK_STREAM):
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pos_yaml():
    out = ["pos:", "  - {name: web, prefixes: [198.51.100.0/24]}"]
    for i in range(NPOS - 1):
        out.append("  - {name: po-%d, prefixes: [203.0.113.%d/30]}" % (i, 4 * i))
    return "\n".join(out) + "\n"


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        parts = f.read().rsplit(")", 1)[1].split()
    return int(parts[11]) + int(parts[12])


def nf5(seq, nrec=30):
    hdr = struct.pack("!HHIIIIBBH", 5, nrec, 1000, int(time.time()), 0, seq, 0, 0, 0)
    recs = b""
    for i in range(nrec):
        dst = bytes([203, 0, 113, (7 * i + seq) % 196]) if i % 3 else bytes([198, 51, 100, i])
        recs += struct.pack("!4s4s4sHHIIIIHHBBBBHHBBH", bytes([192, 0, 2, 100 + i % 50]), dst,
                            b"\0" * 4, 0, 0, 10, 4000, 900, 1000, 1234, 443, 0, 0x12, 6, 0,
                            0, 0, 0, 0, 0)
    return hdr + recs


def consume(topo, work, nats, build, Tmp, Moatd, cluster, npos=1000, seconds=5):
    pub = os.path.join(build, "bench", "bench_deltas_pub")
    if not os.access(pub, os.X_OK):
        print("deltas per second: skipped (no %s: a build without libnats)" % pub)
        return
    ref = subprocess.run([pub, "local", str(SHARDS), str(npos), "2", "3"], check=True,
                         capture_output=True, text=True).stdout.split()
    ref_rps = float(ref[ref.index("readings_per_s") + 1])
    print("reference: codec + merge in one process, %d POs, 2 collectors: %.0f readings/s, "
          "%.0f messages/s" % (npos, ref_rps, float(ref[ref.index("msgs_per_s") + 1])))
    d = Tmp(os.path.join(work, "eng-rate"))
    d.mkdir()
    pos = "pos:\n" + "".join("  - {name: po-%d, prefixes: [\"2001:db8:%x::/48\"]}\n" % (i, i + 1)
                             for i in range(npos))
    eng = Moatd(topo, d, cluster("engine", "eng-rate") + pos).start(timeout=60)

    def cl():
        return eng.request("GET", "/api/v1/cluster", token=None)[1]
    wait_for(lambda: len(cl()["owned"]) == SHARDS, timeout=30, interval=0.5,
             what="the engine to own every shard")
    best = None
    for ncol in (2, 8, 32, 128, 256, 512):
        a, t0, c0 = cl(), time.time(), cpu_ticks(eng.proc.pid)
        out = subprocess.run([pub, "pub", nats.url, str(SHARDS), str(npos), str(ncol),
                              str(seconds)], check=True, capture_output=True, text=True,
                             timeout=seconds * 20).stdout.split()
        time.sleep(3)                       # the last second is merged and fed
        b, el, cpu = cl(), time.time() - t0, (cpu_ticks(eng.proc.pid) - c0) / os.sysconf(
            "SC_CLK_TCK")
        sent_m, sent_r = int(out[out.index("msgs") + 1]), int(out[out.index("readings") + 1])
        got_m = b["received"] - a["received"]
        fed = b["readings"] - a["readings"]
        drop = b["dropped_in"] - a["dropped_in"]
        late = b["merge"]["late"] - a["merge"]["late"]
        summed = b["merge"]["summed"] - a["merge"]["summed"]
        if os.environ.get("MOAT_BENCH_DEBUG"):
            print(a, b, out)
        ok = got_m == sent_m and drop == 0 and late == 0 and fed + summed == sent_r
        print("%4d collectors: offered %6d msg/s %8d readings/s; engine consumed %6.0f msg/s, "
              "%8.0f readings/s in (%d fed after summing), CPU %3.0f%%, dropped %d, late %d%s"
              % (ncol, sent_m / seconds, sent_r / seconds, got_m / seconds, (fed + summed) / seconds,
                 fed, 100 * cpu / el, drop, late, "" if ok else "  <- fell behind"))
        if ok:
            best = (ncol, sent_m / seconds, sent_r / seconds)
        else:
            break
    if best:
        print("one engine keeps up with %d collectors x %d shards: %.0f messages/s, %.0f "
              "readings/s (%.2f of the in-process reference)"
              % (best[0], SHARDS, best[1], best[2], best[2] / ref_rps))
    eng.stop()


def main(build):
    os.environ["MOAT_BUILD"] = build
    from test_foundation_moatd import Moatd  # noqa: E402
    from test_scale import NatsServer  # noqa: E402

    class Tmp:
        def __init__(self, p):
            self.p = p

        def __truediv__(self, other):
            return Tmp(os.path.join(self.p, other))

        def __str__(self):
            return self.p

        def mkdir(self):
            os.makedirs(self.p, exist_ok=True)

    topo = Topology()
    work = tempfile.mkdtemp(prefix="moat-bench-scale-")
    nats = NatsServer(topo)
    try:
        nats.start()
        cluster = lambda role, name: ("cluster:\n  role: %s\n  instance: %s\n  shards: %d\n"
                                      "  lease_ttl: 3s\n  nats:\n    urls: [\"%s\"]\n"
                                      % (role, name, SHARDS, nats.url))
        # 1. publish versus count locally
        cost = {}
        rounds = 0 if os.environ.get("MOAT_BENCH_RECORDS", "1") == "0" else 2
        for role in ("all", "collect") * rounds:    # interleaved: the best of each
            d = Tmp(os.path.join(work, "rec-%s-%d" % (role, len(cost))))
            d.mkdir()
            udp = free_port(socket.SOCK_DGRAM)
            extra = (cluster(role, "col-" + role) if role != "all" else "") + \
                "collect:\n  udp: [\"127.0.0.1:%d\"]\n" % udp + pos_yaml()
            m = Moatd(topo, d, extra).start()
            time.sleep(2)
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            n, pace = 60000, 10000          # datagrams, per second: bounded in count and time
            t0 = cpu_ticks(m.proc.pid)
            start = time.time()
            for i in range(n):
                s.sendto(nf5(i * 30), ("127.0.0.1", udp))
                if i % 100 == 99:
                    lag = start + (i + 1) / pace - time.time()
                    if lag > 0:
                        time.sleep(lag)
            s.close()
            time.sleep(3)                   # the last seconds are ticked (and published)
            ticks = cpu_ticks(m.proc.pid) - t0
            st, body = m.request("GET", "/api/v1/exporters", token=None)
            records = sum(x["records"] for x in body["exporters"])
            if role == "collect":
                _, c = m.request("GET", "/api/v1/cluster", token=None)
                print("collect: %d messages published, %d dropped" % (c["published"], c["dropped"]))
            m.stop()
            us = ticks / os.sysconf("SC_CLK_TCK") / max(records, 1) * 1e6
            cost[role] = min(cost.get(role, us), us)
            print("%-7s %d records, %.3f us CPU per record (over the whole run, ticks included)"
                  % (role, records, us))
        if cost:
            print("per-record cost publish/local: %.2f" % (cost["collect"] / cost["all"]))

        # 2. deltas one engine consumes
        if os.environ.get("MOAT_BENCH_RATES", "1") != "0":
            consume(topo, work, nats, build, Tmp, Moatd, cluster)

        # 3. failover over N kills
        kills = int(os.environ.get("MOAT_BENCH_KILLS", "20"))
        engines = {}
        for name in ("eng-a", "eng-b"):
            d = Tmp(os.path.join(work, name))
            d.mkdir()
            engines[name] = Moatd(topo, d, cluster("engine", name) + pos_yaml()).start()

        def owned(m):
            return set(m.request("GET", "/api/v1/cluster", token=None)[1]["owned"])

        def split():
            a, b = owned(engines["eng-a"]), owned(engines["eng-b"])
            return len(a) == len(b) == SHARDS // 2 and not a & b
        times = []
        if kills == 0:
            return
        for k in range(kills):
            wait_for(split, timeout=30, interval=0.2, what="the shards to split")
            owner = [n for n, m in engines.items() if 0 in owned(m)][0]
            other = [n for n in engines if n != owner][0]
            engines[owner].stop(signal.SIGKILL)
            t = time.time()
            wait_for(lambda: 0 in owned(engines[other]), timeout=30, interval=0.05,
                     what="the take-over")
            times.append(time.time() - t)
            engines[owner].start()
        print("failover over %d kills (lease_ttl 3 s): p50 %.2f s, max %.2f s, min %.2f s"
              % (kills, statistics.median(times), max(times), min(times)))
        for m in engines.values():
            m.stop()
    finally:
        topo.teardown()
        nats.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: bench_scale.py BUILD_DIR")
    main(os.path.abspath(sys.argv[1]))
