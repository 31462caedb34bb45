#!/usr/bin/python3
"""bench_mitigate.py BUILD_DIR: what each mitigation driver buys, measured in one run.

For each mode — no mitigation, the nft driver, the XDP driver — a fresh
topology gen → rtr → vic (veth pairs in namespaces of our own) carries a
trafgen UDP flood spread over 20 victim hosts, each its own PO. moatd runs
in rtr, captures on the generator side, declares 20 attacks and mitigates
them with the mode's driver. Once every mitigation is active it measures,
over a 3 s window:
  - packets per second reaching the victims (the victims' own nft counter)
    and sent by the generator (its interface counter);
  - softirq CPU time on the machine (forwarding, nft and XDP all run
    there), per million packets sent;
and from the flight record, for each attack, the time from "declared" to
"mitigation started" (rule active), as p50/p99.
Ratios are printed against the no-mitigation run of the same invocation.
Every flood is bounded in count and time; everything is torn down.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "e2e"))
from nslib import Topology, wait_for  # noqa: E402

VICTIMS = ["203.0.113.%d" % (10 + i) for i in range(20)]
WINDOW = 3.0


def prog(build, name):
    for sub in ("src/engine", "src/cli"):
        p = os.path.join(build, sub, name)
        if os.path.exists(p):
            return p
    sys.exit("bench_mitigate: %s not built in %s" % (name, build))


def softirq_jiffies():
    with open("/proc/stat") as f:
        return int(f.readline().split()[7])


def link_stats(topo, ns, ifname):
    out = json.loads(topo.run(ns, "ip", "-s", "-j", "link", "show", "dev", ifname).stdout)
    return out[0]["stats64"]


def victim_packets(topo, ns):
    out = json.loads(topo.run(ns, "nft", "-j", "list", "table", "inet", "cnt").stdout)
    for item in out["nftables"]:
        for e in item.get("rule", {}).get("expr", []):
            if "counter" in e:
                return e["counter"]["packets"]
    return 0


def trafgen_conf(src_mac, dst_mac):
    """UDP 198.51.100.2:4000 -> 203.0.113.10..29:9, 64-byte frames."""
    mac = lambda m: ", ".join("0x" + b for b in m.split(":"))   # noqa: E731
    return """{
  %s, %s, 0x08, 0x00,
  0x45, 0x00, const16(50), drnd(2), 0x40, 0x00, 0x40, 17, csumip(14, 33),
  198, 51, 100, 2,   203, 0, 113, dinc(10, 29),
  const16(4000), const16(9), const16(30), const16(0),
  fill(0x41, 22)
}
""" % (mac(dst_mac), mac(src_mac))


def percentile(xs, p):
    xs = sorted(xs)
    if not xs:
        return float("nan")
    k = min(len(xs) - 1, max(0, int(round(p / 100.0 * (len(xs) - 1)))))
    return xs[k]


def run_mode(build, mode, workdir):
    topo = Topology()
    try:
        gen, rtr, vic = topo.ns("gen"), topo.ns("rtr"), topo.ns("vic")
        t = topo.tag[-5:]
        r_in, g_out = "ri" + t, "go" + t
        topo.veth(rtr, "198.51.100.1/24", gen, "198.51.100.2/24", r_in, g_out)
        topo.veth(rtr, "203.0.113.1/24", vic, [v + "/24" for v in VICTIMS], "ro" + t, "vi" + t)
        topo.run(rtr, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        topo.run(vic, "ip", "route", "add", "198.51.100.0/24", "via", "203.0.113.1")
        topo.run(vic, "nft", "-f", "-", input="table inet cnt {\n chain c {\n"
                 "  type filter hook input priority 0;\n  udp dport 9 counter\n }\n}\n")
        state = os.path.join(workdir, mode)
        os.makedirs(state)
        conf = os.path.join(state, "moatd.yaml")
        with open(conf, "w") as f:
            f.write('api:\n  listen: "127.0.0.1:8080"\ncollect:\n  udp: []\n'
                    "  capture:\n    - { interface: %s }\nmitigate:\n  scope: proto\n" % r_in)
            if mode == "xdp":
                f.write("  drivers:\n    xdp: { interfaces: [%s] }\n" % r_in)
        log = open(os.path.join(state, "moatd.log"), "w")
        topo.spawn(rtr, prog(build, "moatd"), "-c", conf, "--state", state, stdout=log, stderr=log)
        moat = [prog(build, "moat"), "--state", state]
        wait_for(lambda: topo.run(rtr, *moat, "status", check=False).returncode == 0,
                 timeout=10, what="moatd")
        for i, v in enumerate(VICTIMS):
            args = ["po", "add", "v%d" % i, "--prefix", v + "/32", "--threshold", "udp.pps=2000"]
            if mode != "none":
                args += ["--driver", mode]
            topo.run(rtr, *moat, *args)
        time.sleep(1.5)

        macs = {n: json.loads(topo.run(ns, "ip", "-j", "link", "show", "dev", n).stdout)[0]["address"]
                for ns, n in ((gen, g_out), (rtr, r_in))}
        cfg = os.path.join(state, "flood.cfg")
        with open(cfg, "w") as f:
            f.write(trafgen_conf(macs[g_out], macs[r_in]))
        # bounded: 20 M frames at most, 25 s at most
        flood = topo.spawn(gen, "timeout", "25", "trafgen", "-q", "-o", g_out, "-i", cfg,
                           "-n", "20000000", "--cpp", stdout=subprocess.DEVNULL)

        def all_live():
            ms = json.loads(topo.run(rtr, *moat, "--json", "mitigations").stdout)["mitigations"]
            return len([m for m in ms if m["status"] == "mitigating"]) >= len(VICTIMS)
        if mode == "none":
            time.sleep(4)
        else:
            try:
                wait_for(all_live, timeout=40, interval=0.25, what="%s: all mitigations" % mode)
            except AssertionError:
                print(topo.run(rtr, *moat, "mitigations").stdout, file=sys.stderr)
                print(topo.run(rtr, *moat, "attacks").stdout, file=sys.stderr)
                raise
        time.sleep(0.5)
        g0, v0, s0 = link_stats(topo, gen, g_out)["tx"]["packets"], victim_packets(topo, vic), softirq_jiffies()
        time.sleep(WINDOW)
        g1, v1, s1 = link_stats(topo, gen, g_out)["tx"]["packets"], victim_packets(topo, vic), softirq_jiffies()
        flood.wait(timeout=40)

        lat = []
        entries = json.loads(topo.run(rtr, *moat, "--json", "flight", "--limit", "1000").stdout)["entries"]
        declared = {e["detail"]["id"]: e["time"] for e in entries
                    if e["event"] == "attack.declared" and isinstance(e.get("detail"), dict)}
        for e in entries:
            if e["event"] == "mitigation.start" and e["detail"]["status"] == "mitigating":
                aid = e["detail"]["request"]["attack_id"]
                if aid in declared:
                    lat.append((e["time"] - declared[aid]) * 1000.0)
        hz = os.sysconf("SC_CLK_TCK")
        sent = g1 - g0
        return {
            "sent_pps": sent / WINDOW,
            "victim_pps": (v1 - v0) / WINDOW,
            "softirq_s_per_mpkt": ((s1 - s0) / hz) / max(sent / 1e6, 1e-9),
            "lat_ms": lat,
        }
    finally:
        topo.teardown()


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    build = os.path.abspath(sys.argv[1])
    for tool in ("trafgen", "nft"):
        if shutil.which(tool) is None:
            sys.exit("bench_mitigate: %s not installed (scripts/deps)" % tool)
    workdir = tempfile.mkdtemp(prefix="moat-bench-mit-")
    try:
        res = {m: run_mode(build, m, workdir) for m in ("none", "nft", "xdp")}
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    base = res["none"]
    print("%-6s %12s %12s %9s %16s %10s %10s" % ("mode", "sent pps", "victim pps", "victim %",
                                                  "softirq s/Mpkt", "decl->rule", "p99"))
    for m, r in res.items():
        lat50 = "%.0f ms" % percentile(r["lat_ms"], 50) if r["lat_ms"] else "-"
        lat99 = "%.0f ms" % percentile(r["lat_ms"], 99) if r["lat_ms"] else "-"
        print("%-6s %12.0f %12.0f %8.2f%% %16.3f %10s %10s" % (
            m, r["sent_pps"], r["victim_pps"], 100.0 * r["victim_pps"] / max(r["sent_pps"], 1),
            r["softirq_s_per_mpkt"], lat50, lat99))
    for m in ("nft", "xdp"):
        r = res[m]
        print("%s vs none: victim pps ratio %.4f, softirq per packet ratio %.2f, "
              "%d declared->active samples" % (
                  m, r["victim_pps"] / max(base["victim_pps"], 1),
                  r["softirq_s_per_mpkt"] / max(base["softirq_s_per_mpkt"], 1e-9), len(r["lat_ms"])))
    print("xdp vs nft: softirq per packet ratio %.2f" % (
        res["xdp"]["softirq_s_per_mpkt"] / max(res["nft"]["softirq_s_per_mpkt"], 1e-9)))


if __name__ == "__main__":
    main()
