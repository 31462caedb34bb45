"""Detection end-to-end: the backtest path of moatd against the goals.

The seeded generator (bench_detect_eval --quick --csv) writes a small
scenario as a CSV counter series: two POs, six hours of benign traffic with
noise and a daily shape to learn from, then six hours with 48 injected
attacks (SYN, TCP, UDP, ICMP floods, fragments, DNS amplification at 1.5x,
2x, 5x and 100x the hour's baseline, 10 s and 60 s long). `moatd --backtest
--json` replays it on the replay clock; the test matches declared attacks
to the injected ones and checks the goals: no false positive, every attack
of 2x or more detected, within 3 readings at 5x and above, ended within the
quiet period + 2 readings. The Defense4All preset runs on the same file for
comparison (it is slower, and its attacks end only after 300 s). Hostile
CSV input is refused with the line at fault, and moatd exits cleanly.
"""
import json
import os
import subprocess

import pytest

from conftest import BUILD, binpath

QUIET_S = 30
LEARN = "rate.learn=6h"


def eval_bin():
    p = os.path.join(BUILD, "bench", "bench_detect_eval")
    if not os.path.exists(p):
        pytest.skip("bench_detect_eval not built under %s" % BUILD)
    return p


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    d = tmp_path_factory.mktemp("detect")
    csv = d / "scenario.csv"
    subprocess.run([eval_bin(), "--quick", "--seed", "3", "--csv", str(csv)], check=True,
                   capture_output=True, timeout=120)
    attacks = []
    for line in (d / "scenario.csv.attacks").read_text().splitlines():
        po, proto, size, first, last, kind = line.split()
        attacks.append({"po": po, "protocol": proto, "size": float(size),
                        "first": int(first), "last": int(last), "kind": kind})
    return csv, attacks


def backtest(csv, *extra):
    p = subprocess.run([binpath("moatd"), "--backtest", "--json", "--set", LEARN] +
                       list(extra) + [str(csv)], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def match(report, injected):
    """Pair each declared attack with the injected one it belongs to."""
    fps = []
    for a in report["attacks"]:
        hit = None
        for inj in injected:
            if (inj["po"], inj["protocol"]) == (a["po"], a["protocol"]) and \
                    inj["first"] <= a["declared"] <= inj["last"] + 60 and "found" not in inj:
                hit = inj
                break
        if hit is None:
            fps.append(a)
        else:
            hit["found"] = a
    return fps


def test_goals_moat_preset(scenario):
    csv, injected = scenario
    injected = [dict(i) for i in injected]
    report = backtest(csv)
    fps = match(report, injected)
    assert fps == [], "false positives: %s" % fps
    for inj in injected:
        a = inj.get("found")
        if inj["size"] >= 2:
            assert a is not None, "missed %s" % inj
        if a is None:
            continue
        latency = a["declared"] - inj["first"] + 1      # readings, the first counts
        if inj["size"] >= 5:
            assert latency <= 3, "slow: %s after %d readings" % (inj, latency)
        assert a["end"] is not None
        assert a["end"] - inj["last"] <= QUIET_S + 2, "late end: %s %s" % (inj, a)
    assert report["stats"]["readings"] == 12 * 3600 * 2 * 4


def test_defense4all_side_by_side(scenario):
    csv, injected = scenario
    injected = [dict(i) for i in injected]
    report = backtest(csv, "--preset", "defense4all", "--set", LEARN)
    match(report, injected)
    found = [i for i in injected if "found" in i]
    assert found, "the Defense4All preset should detect the large attacks"
    for inj in found:
        a = inj["found"]
        assert a["declared"] - inj["first"] + 1 >= 4     # count must exceed 3
        assert a["end"] is None or a["end"] - inj["last"] >= 300 - 2   # 300 s detections


def test_text_report(scenario):
    csv, _ = scenario
    p = subprocess.run([binpath("moatd"), "--backtest", "--set", LEARN, str(csv)],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    assert "DECLARED (UTC)" in p.stdout and "attack(s) declared" in p.stdout
    assert "syn-flood" in p.stdout


@pytest.mark.parametrize("text,msg", [
    ("time,po,protocol,direction,bytes\n", "line 1: missing column: packets"),
    ("time,po,protocol,direction,bytes,packets\n1,web,tcp,in,1\n", "line 2: wrong number"),
    ("time,po,protocol,direction,bytes,packets\n2,web,tcp,in,1,1\n1,web,udp,in,1,1\n",
     "line 3: time goes backwards"),
    ("time,po,protocol,direction,bytes,packets\n1,web,tcp,in,99999999999999999999,1\n",
     "not a count: bytes"),
    ("x" * 5000 + "\n", "line 1: line too long"),
    ("\x00\x01\x02garbage", "line 1"),
    ("", "no header row"),
])
def test_hostile_csv(tmp_path, text, msg):
    f = tmp_path / "bad.csv"
    f.write_text(text)
    p = subprocess.run([binpath("moatd"), "--backtest", str(f)], capture_output=True, text=True,
                       timeout=30)
    assert p.returncode == 1
    assert msg in p.stderr


def test_usage(tmp_path):
    p = subprocess.run([binpath("moatd"), "--backtest", "--set", "rate.nope=1", "x.csv"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 2 and "unknown parameter" in p.stderr
    p = subprocess.run([binpath("moatd"), "--backtest", "--preset", "nope", "x.csv"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 2
    p = subprocess.run([binpath("moatd"), "--backtest", str(tmp_path / "missing.csv")],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 1


def test_pcap_amplification(tmp_path):
    """Packets through the collectors' own path: a DNS reflection flood in a
    pcap is declared and typed amplification/53 from its source ports."""
    from scapy.all import Ether, IP, UDP, Raw, wrpcap
    import random
    rnd = random.Random(5)
    e = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
    pkts = []
    t0 = 1700000000.0
    for s in range(120):
        for i in range(20):                         # benign: 20 pps to web
            p = e / IP(src="203.0.113.%d" % rnd.randrange(1, 250), dst="192.0.2.10") / \
                UDP(sport=rnd.randrange(1024, 65535), dport=443) / Raw(b"x" * 200)
            p.time = t0 + s + i / 20.0
            pkts.append(p)
        if 100 <= s < 110:                          # reflected DNS answers, 400 pps
            for i in range(400):
                p = e / IP(src="198.51.100.%d" % rnd.randrange(1, 120), dst="192.0.2.10") / \
                    UDP(sport=53, dport=rnd.randrange(1024, 65535)) / Raw(b"a" * 1200)
                p.time = t0 + s + i / 400.0
                pkts.append(p)
    pkts.sort(key=lambda p: p.time)
    path = tmp_path / "amp.pcap"
    wrpcap(str(path), pkts)
    p = subprocess.run([binpath("moatd"), "--backtest", "--json", "--pcap",
                        "--po", "web=192.0.2.0/24,2001:db8:1::/48", "--po", "dns=198.51.100.0/25",
                        "--set", "rate.learn=60", "--set", "rate.warmup=10", str(path)],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    rep = json.loads(p.stdout)
    by_po = {a["po"]: a for a in rep["attacks"]}
    assert sorted(by_po) == ["dns", "web"], rep
    a = by_po["web"]
    assert (a["protocol"], a["direction"], a["type"]) == ("udp", "in", "amplification/53")
    assert a["declared"] - (t0 + 101) <= 2          # first flood reading at t0 + 101
    # the reflectors sit in our own "dns" PO: its outbound burst is an attack too
    assert (by_po["dns"]["protocol"], by_po["dns"]["direction"]) == ("udp", "out")
    # usage: --pcap needs a PO, a bad prefix is refused
    p = subprocess.run([binpath("moatd"), "--backtest", "--pcap", str(path)],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 2
    p = subprocess.run([binpath("moatd"), "--backtest", "--pcap", "--po", "web=192.0.2.1/24",
                        str(path)], capture_output=True, text=True, timeout=30)
    assert p.returncode == 2 and "bad or too many prefixes" in p.stderr
    p = subprocess.run([binpath("moatd"), "--backtest", "--pcap", "--po", "web=192.0.2.0/24",
                        str(tmp_path / "none.pcap")], capture_output=True, text=True, timeout=30)
    assert p.returncode == 1


def test_pcap_host_limit(tmp_path):
    """A host limit in the pcap backtest, as live: one host of web takes
    300 pps on port 53 for 5 s (host limit 100 pps) while the PO's whole UDP
    traffic stays under the PO limit (1000 pps). The backtest declares it
    on (web, udp, any) by the threshold detector, naming the host in the
    reason (text and JSON) and as the top target; without the host limit
    nothing is declared."""
    from scapy.all import IP, UDP, Raw, wrpcap
    pkts = []
    t0 = 1700000000.0
    for s in range(20):
        for i in range(50):                         # benign: 50 pps to .8:443
            p = IP(src="203.0.113.9", dst="192.0.2.8") / UDP(sport=40000, dport=443) / \
                Raw(b"x" * 100)
            p.time = t0 + s + i / 50.0
            pkts.append(p)
        if 10 <= s < 15:                            # 300 pps to .7:53
            for i in range(300):
                p = IP(src="198.51.100.%d" % (1 + i % 100), dst="192.0.2.7") / \
                    UDP(sport=1024 + i, dport=53) / Raw(b"q" * 40)
                p.time = t0 + s + i / 300.0
                pkts.append(p)
    pkts.sort(key=lambda p: p.time)
    path = tmp_path / "host.pcap"
    wrpcap(str(path), pkts)

    def run(*extra):
        p = subprocess.run([binpath("moatd"), "--backtest", "--pcap",
                            "--po", "web=192.0.2.0/24@53,80", "--set", "limits.udp.pps=1000"] +
                           list(extra) + [str(path)], capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, p.stderr
        return p.stdout

    rep = json.loads(run("--json", "--set", "host_limits.udp.pps=100"))
    assert len(rep["attacks"]) == 1, rep
    a = rep["attacks"][0]
    assert (a["po"], a["protocol"], a["direction"], a["port"]) == ("web", "udp", "in", 0)
    assert a["detectors"] == ["threshold"]
    assert a["reason"].startswith("host 192.0.2.7: pps 300 over the host limit 100"), a
    assert a["targets"][0]["address"] == "192.0.2.7"
    assert a["declared"] - (t0 + 11) <= 1          # first full second of the flood ends at t0 + 11
    assert rep["stats"]["host_intervals"] >= 19 and rep["stats"]["hosts_dropped"] == 0
    text = run("--set", "host_limits.udp.pps=100")
    assert "host 192.0.2.7: pps 300 over the host limit 100" in text
    assert "1 attack(s) declared" in text
    assert json.loads(run("--json"))["attacks"] == []
