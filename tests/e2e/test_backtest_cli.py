"""`moat backtest`: the CLI runs moatd's backtest offline (no server, no
namespaces). A small CSV counter series with one UDP flood is replayed
through the real moatd found the way an operator's moat finds it: from the
build tree, from an installed layout (moat in bin/, moatd in sbin/), or
$MOATD. The report must name one attack with the flood's start and an end
one quiet period after its last reading; a bad line exits 1 naming the
line; a moatd that cannot be found exits 127 with a message saying so.
"""
import json
import os
import re
import shutil
import subprocess

from conftest import binpath

T0 = 1700000000
FLOOD = range(100, 120)        # seconds after T0 carrying the flood
QUIET_S = 30                   # the default quiet period (docs/detection.md)
PARAMS = ["--set", "rate.learn=60", "--set", "rate.warmup=10"]


def write_series(path, seconds=200):
    """One PO's inbound UDP, 100 pps of 500 bytes, 10000 pps during FLOOD."""
    lines = ["time,po,protocol,direction,bytes,packets"]
    for s in range(1, seconds + 1):
        pps = 10000 if s in FLOOD else 100
        lines.append("%d,web,udp,in,%d,%d" % (T0 + s, pps * 500, pps))
    path.write_text("\n".join(lines) + "\n")


def moat(args, env=None, prog=None, stdin=None):
    e = dict(os.environ)
    e.pop("MOATD", None)
    e.update(env or {})
    return subprocess.run([prog or binpath("moat")] + args, capture_output=True, text=True,
                          timeout=60, env=e, stdin=stdin)


def check_flood(report):
    attacks = report["attacks"]
    assert len(attacks) == 1, attacks
    a = attacks[0]
    assert (a["po"], a["protocol"], a["direction"], a["type"]) == \
        ("web", "udp", "in", "udp-flood")
    assert a["start"] == T0 + FLOOD[0]
    assert 0 <= a["declared"] - a["start"] <= 2
    assert a["state"] == "ended" and a["end"] is not None
    last = T0 + FLOOD[-1]
    assert last + QUIET_S <= a["end"] <= last + QUIET_S + 2, a
    assert report["stats"]["readings"] == 200


def test_json_report_from_build_tree(tmp_path):
    f = tmp_path / "flood.csv"
    write_series(f)
    p = moat(["backtest", "--json"] + PARAMS + [str(f)])
    assert p.returncode == 0, p.stderr
    check_flood(json.loads(p.stdout))
    # --json may also come before the command (moat's global option)
    p = moat(["--json", "backtest"] + PARAMS + [str(f)])
    assert p.returncode == 0, p.stderr
    check_flood(json.loads(p.stdout))


def test_text_report_and_stdin(tmp_path):
    f = tmp_path / "flood.csv"
    write_series(f)
    with open(f) as fd:
        p = moat(["backtest"] + PARAMS + ["-"], stdin=fd)
    assert p.returncode == 0, p.stderr
    assert "udp-flood" in p.stdout and "1 attack(s) declared" in p.stdout


def test_no_flood_no_attack(tmp_path):
    f = tmp_path / "calm.csv"
    write_series(f, seconds=99)          # stops before the flood
    p = moat(["backtest", "--json"] + PARAMS + [str(f)])
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["attacks"] == []


def test_bad_line(tmp_path):
    f = tmp_path / "bad.csv"
    f.write_text("time,po,protocol,direction,bytes,packets\n"
                 "%d,web,udp,in,500,1\n%d,web,udp,in,500,1\n%d,web,udp,sideways,500,1\n"
                 % (T0 + 1, T0 + 2, T0 + 3))
    p = moat(["backtest", "--json", str(f)])
    assert p.returncode == 1
    assert "line 4" in p.stderr and "direction" in p.stderr, p.stderr
    assert p.stdout == ""


def test_usage(tmp_path):
    p = moat(["backtest"])
    assert p.returncode == 2 and "missing FILE" in p.stderr
    p = moat(["backtest", "--set", "rate.nope=1", str(tmp_path / "x.csv")])
    assert p.returncode == 2 and "unknown parameter" in p.stderr
    p = moat(["help", "backtest"])
    assert p.returncode == 0 and "MOATD" in p.stdout
    p = moat(["--help"])
    assert "backtest" in p.stdout


def test_moatd_env_missing(tmp_path):
    f = tmp_path / "flood.csv"
    write_series(f)
    missing = str(tmp_path / "no" / "moatd")
    p = moat(["backtest", str(f)], env={"MOATD": missing})
    assert p.returncode == 127
    assert "cannot start %s" % missing in p.stderr and "MOATD" in p.stderr, p.stderr


def test_moatd_env_used(tmp_path):
    f = tmp_path / "flood.csv"
    write_series(f)
    p = moat(["backtest", "--json"] + PARAMS + [str(f)], env={"MOATD": binpath("moatd")})
    assert p.returncode == 0, p.stderr
    check_flood(json.loads(p.stdout))


def test_installed_layout(tmp_path):
    """A copy of moat in PREFIX/bin finds PREFIX/sbin/moatd without $PATH;
    alone, with no moatd anywhere it looks, it exits 127."""
    f = tmp_path / "flood.csv"
    write_series(f)
    (tmp_path / "bin").mkdir()
    (tmp_path / "sbin").mkdir()
    prog = str(tmp_path / "bin" / "moat")
    shutil.copy(binpath("moat"), prog)
    os.symlink(binpath("moatd"), tmp_path / "sbin" / "moatd")
    p = moat(["backtest", "--json"] + PARAMS + [str(f)], prog=prog,
             env={"PATH": str(tmp_path / "empty")})
    assert p.returncode == 0, p.stderr
    check_flood(json.loads(p.stdout))

    os.unlink(tmp_path / "sbin" / "moatd")
    p = moat(["help", "backtest"], prog=prog)
    sbindir = re.search(r"\((/[^)]*)\), then \$PATH", p.stdout)
    assert sbindir, p.stdout
    if os.path.exists(os.path.join(sbindir.group(1), "moatd")):
        return                                   # an installed moatd would be found
    p = moat(["backtest", str(f)], prog=prog, env={"PATH": str(tmp_path / "empty")})
    assert p.returncode == 127, p.stderr
    assert "cannot start moatd" in p.stderr and "MOATD" in p.stderr, p.stderr
