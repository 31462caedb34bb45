#!/usr/bin/python3
"""bench_detect_pcap.py BUILD_DIR [--verbose] [--keep FILE] [--capture NAME]:
the detection evaluation on real benign captures mixed with floods.

Three families, one per capture (or only --capture NAME, e.g. benign2.pcap):
bench/detect/benign.pcap is a real capture of a local workload (HTTP and
DNS clients and servers in namespaces; capture_benign.py says how it was
made), the one the detector was tuned on; bench/detect/benign2.pcap is the
hold-out (capture_benign.py --workload 2: more clients, larger files, a
key-value TCP service on long-lived connections, on/off pacing), not tuned
on; bench/detect/benign3.pcap is a second hold-out made after benign2.pcap
had been looked at (capture_benign.py --workload 3: wget, scp both ways,
ssh sessions, rsync, iperf3 both ways, ping; per-client rates on a mild
ramp), not tuned on either. Each is replayed back to back (each copy shifted by its length) to one
hour of benign traffic to PO web (203.0.113.0/24), and floods are mixed in
at fixed times: one during the learning period (rate.learn = 10 minutes
here, the only parameter changed) and eight after it, of 2x to 20x the
flooded protocol's own mean inbound packet rate (a rate below the noise
floor of 10 pps counts as 10 pps; amplification's packets are 1200 bytes).
The mixed file goes through `moatd --backtest --pcap` (the collectors'
decoder and counters and the same detectors and decision point as live)
with the moat preset and with the Defense4All preset, and each declared
attack is matched to a flood of its protocol and type (a SYN flood must be
typed syn-flood: a benign burst during it is not its detection) declared
between the flood's start and 60 s after its end. Reported, per preset: goal floods found
(>= 2x after learning, >= 3x during), all found, false attacks during /
after learning (any direction; "out" says how many of them were outbound:
never mitigated, but still false), detection delay mean/max (s = readings), and the longest an
attack outlived its flood (s). Exits 0 when both runs completed (the
figures are the result; the goals are printed, not enforced: the capture is
one small workload, not a benchmark of record).
"""
import heapq
import json
import os
import random
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
CAPTURES = ["benign.pcap", "benign2.pcap", "benign3.pcap"]
TOTAL_S = 3600
LEARN_S = 600
PO_NET = (203 << 24) | (0 << 16) | (113 << 8)      # 203.0.113.0/24
TARGET = "203.0.113.10"
FLOOR_PPS = 10.0

# (start s, duration s, kind, size x the protocol's mean)
FLOODS = [
    (300, 60, "udp", 10),       # during learning
    (900, 120, "syn", 2),
    (1260, 60, "udp", 3),
    (1560, 60, "syn", 10),
    (1860, 90, "amp53", 5),
    (2160, 120, "ack", 3),
    (2520, 60, "udp", 20),
    (2820, 120, "udp", 2),
    (3180, 60, "syn", 3),
]
KIND_PROTO = {"udp": "udp", "amp53": "udp", "syn": "tcp", "ack": "tcp"}
KIND_TYPE = {"udp": "udp-flood", "amp53": "amplification/53", "syn": "syn-flood",
             "ack": "tcp-other"}


def read_pcap(path):
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    if magic == 0xa1b2c3d4:
        endian, nano = "<", False
    elif magic == 0xa1b23c4d:
        endian, nano = "<", True
    else:
        raise SystemExit("bench_detect_pcap: %s: not a little-endian pcap" % path)
    linktype = struct.unpack(endian + "I", data[20:24])[0]
    if linktype != 1:
        raise SystemExit("bench_detect_pcap: %s: link type %d, want Ethernet" % (path, linktype))
    off, recs = 24, []
    while off + 16 <= len(data):
        sec, frac, caplen, origlen = struct.unpack(endian + "IIII", data[off:off + 16])
        ts = sec + frac / (1e9 if nano else 1e6)
        recs.append((ts, origlen, data[off + 16:off + 16 + caplen]))
        off += 16 + caplen
    return recs


def ip_of(s):
    a, b, c, d = (int(x) for x in s.split("."))
    return bytes((a, b, c, d))


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff


def frame(src, dst, proto, l4, total_len):
    """An Ethernet + IPv4 frame (the L4 header given, payload implied by
    total_len: the record keeps the headers, its original length is the
    wire's)."""
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total_len, 0, 0x4000, 64, proto, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    eth = b"\x02\0\0\0\0\x02" + b"\x02\0\0\0\0\x01" + b"\x08\x00"
    return eth + ip + l4, 14 + total_len


def flood_packets(kind, start, dur, pps, base_ts, rng):
    dst = ip_of(TARGET)
    reflectors = [ip_of("198.51.100.%d" % (200 + i)) for i in range(8)]
    n = int(pps)
    for sec in range(dur):
        for i in range(n):
            ts = base_ts + start + sec + (i + rng.random()) / n
            sport = rng.randrange(1024, 65536)
            if kind == "amp53":
                src = rng.choice(reflectors)
                l4 = struct.pack("!HHHH", 53, rng.randrange(1024, 65536), 1180, 0)
                yield (ts,) + frame(src, dst, 17, l4, 1200)
                continue
            src = ip_of("198.51.100.%d" % rng.randrange(1, 200))
            if kind == "udp":
                l4 = struct.pack("!HHHH", sport, rng.randrange(1, 65536), 26, 0)
                yield (ts,) + frame(src, dst, 17, l4, 46)
            else:
                flags = 0x02 if kind == "syn" else 0x10
                l4 = struct.pack("!HHIIBBHHH", sport, 80, rng.getrandbits(32),
                                 0 if kind == "syn" else rng.getrandbits(32), 0x50, flags,
                                 1024, 0, 0)
                yield (ts,) + frame(src, dst, 6, l4, 40)


def inbound_rates(recs, dur):
    """Mean inbound packets/s per protocol and inbound UDP bytes/s."""
    pk = {"tcp": 0, "udp": 0}
    udp_bytes = 0
    for _, origlen, data in recs:
        if len(data) < 34 or data[12:14] != b"\x08\x00":
            continue
        dst = struct.unpack("!I", data[30:34])[0]
        if dst & 0xffffff00 != PO_NET:
            continue
        proto = {6: "tcp", 17: "udp"}.get(data[23])
        if proto:
            pk[proto] += 1
            if proto == "udp":
                udp_bytes += origlen
    return {k: v / dur for k, v in pk.items()}, udp_bytes / dur


def mix(recs, out_path):
    t0 = recs[0][0]
    dur = recs[-1][0] - t0 + 1.0
    rates, udp_bps = inbound_rates(recs, dur)
    base_ts = float(int(t0))
    rng = random.Random(7)

    def benign():
        k = 0
        while True:
            off = k * dur
            if off >= TOTAL_S:
                return
            for ts, origlen, data in recs:
                rel = ts - t0 + off
                if rel >= TOTAL_S:
                    return
                yield (base_ts + rel, data, origlen)
            k += 1

    streams = [benign()]
    plan = []
    for start, fdur, kind, size in FLOODS:
        pps = (size - 1) * max(rates[KIND_PROTO[kind]], FLOOR_PPS)
        plan.append(dict(start=start, dur=fdur, kind=kind, size=size, pps=pps,
                         proto=KIND_PROTO[kind], learning=start < LEARN_S))
        streams.append(flood_packets(kind, start, fdur, pps, base_ts, rng))
    n = 0
    with open(out_path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 262144, 1))
        for ts, data, origlen in heapq.merge(*streams, key=lambda r: r[0]):
            data = data[:96]
            sec = int(ts)
            f.write(struct.pack("<IIII", sec, int((ts - sec) * 1e6), len(data), origlen))
            f.write(data)
            n += 1
    return dict(dur=dur, rates=rates, udp_bps=udp_bps, base=base_ts, packets=n, plan=plan)


def run(moatd, path, preset):
    out = subprocess.run([moatd, "--backtest", "--pcap", "--po", "web=203.0.113.0/24", "--json",
                          "--preset", preset, "--set", "rate.learn=%ds" % LEARN_S, path],
                         capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        raise SystemExit("bench_detect_pcap: moatd --backtest (%s) exited %d: %s" %
                         (preset, out.returncode, out.stderr[-2000:]))
    return json.loads(out.stdout)


def score(report, m, verbose, name):
    base, plan = m["base"], [dict(p, found=False) for p in m["plan"]]
    res = dict(found=0, goal=0, found_all=0, false_learning=0, false_after=0, false_out=0,
               delays=[], outlive=0.0)
    for a in sorted(report["attacks"], key=lambda a: a["start"]):
        if a["declared"] is None:
            continue
        decl = a["declared"] - base
        end = (a["end"] if a["end"] is not None else report["stats"]["last"]) - base
        hit = None
        for p in plan:
            if p["proto"] == a["protocol"] and KIND_TYPE[p["kind"]] == a["type"] and \
                    a.get("direction", "in") == "in" and \
                    p["start"] <= decl <= p["start"] + p["dur"] + 60:
                hit = p
                break
        if hit is None:
            res["false_learning" if decl < LEARN_S else "false_after"] += 1
            res["false_out"] += a.get("direction") == "out"
            if verbose:
                print("    %s false: %s %s %s at %.0f s, ended %s: %s" % (
                    name, a.get("direction", "?"), a["protocol"], a["type"], decl,
                    "%.0f s" % end if a["end"] else "never", a["reason"]))
            continue
        if hit["found"]:
            continue
        hit["found"] = True
        hit["delay"] = decl - hit["start"]
        hit["outlive"] = end - (hit["start"] + hit["dur"])
    for p in plan:
        goal = p["size"] >= (3 if p["learning"] else 2)
        res["goal"] += goal
        res["found_all"] += p["found"]
        if p["found"] and verbose:
            print("    %s found: %s %gx at %d s: declared after %.0f s, ended %.0f s after"
                  " the flood" % (name, p["kind"], p["size"], p["start"], p["delay"],
                                   p["outlive"]))
        if p["found"]:
            res["found"] += goal
            res["delays"].append(p["delay"])
            res["outlive"] = max(res["outlive"], p["outlive"])
        elif verbose:
            print("    %s missed: %s %gx at %d s for %d s%s" % (
                name, p["kind"], p["size"], p["start"], p["dur"],
                " (learning)" if p["learning"] else ""))
    return res


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    verbose = "--verbose" in sys.argv
    if not args:
        print(__doc__)
        return 2
    moatd = os.path.join(args[0], "src", "engine", "moatd")
    if not os.access(moatd, os.X_OK):
        print("bench_detect_pcap: no moatd in %s" % args[0], file=sys.stderr)
        return 2
    names = CAPTURES
    if "--capture" in sys.argv:
        names = [sys.argv[sys.argv.index("--capture") + 1]]
        args = [a for a in args if a not in names]
    ok_all = True
    for name in names:
        ok_all &= family(moatd, os.path.join(HERE, name), verbose,
                         sys.argv[sys.argv.index("--keep") + 1] if "--keep" in sys.argv else None)
    print("\ngoals (moat) on every capture -> %s" % ("PASS" if ok_all else "FAIL"))
    return 0


def family(moatd, capture, verbose, keep):
    recs = read_pcap(capture)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "mixed.pcap")
        m = mix(recs, path)
        print("\nbench_detect_pcap: %s: %d packets over %.0f s, inbound tcp %.1f pps, udp %.1f pps"
              " (%.0f B/s); replayed to %d s (%d packets) with %d floods, rate.learn %d s" % (
                  os.path.basename(capture), len(recs), m["dur"], m["rates"]["tcp"],
                  m["rates"]["udp"], m["udp_bps"], TOTAL_S, m["packets"], len(FLOODS), LEARN_S))
        for p in m["plan"]:
            print("  flood %-5s %4.0fx at %4d s for %3d s: %7.1f pps%s" % (
                p["kind"], p["size"], p["start"], p["dur"], p["pps"],
                " (learning)" if p["learning"] else ""))
        results = {}
        for preset in ("moat", "defense4all"):
            results[preset] = score(run(moatd, path, preset), m, verbose, preset)
        if keep:
            os.replace(path, keep)
    print("\n%-12s %-9s %-6s %-11s %-5s %-12s %s" % ("preset", "goal", "all", "false l/a", "out",
                                                      "delay mean/max", "outlived max (s)"))
    for preset, r in results.items():
        d = r["delays"]
        print("%-12s %3d/%-5d %2d/%-3d %3d/%-7d %-5d %5.1f/%-8.0f %.0f" % (
            preset, r["found"], r["goal"], r["found_all"], len(FLOODS), r["false_learning"],
            r["false_after"], r["false_out"], sum(d) / len(d) if d else 0, max(d) if d else 0,
            r["outlive"]))
    r = results["moat"]
    ok = r["false_after"] == 0 and r["found"] == r["goal"] and r["outlive"] <= 300
    print("goals (moat, %s): 0 false after learning, every goal flood found, none outliving"
          " its flood by > 5 min -> %s" % (os.path.basename(capture), "PASS" if ok else "FAIL"))
    return ok

if __name__ == "__main__":
    sys.exit(main())
