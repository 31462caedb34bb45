"""`make demo`'s story in its short mode (DEMO_SHORT=1): every phase behaves
and nothing is left behind.

scripts/demo BUILD builds its own namespaces (router with moatd and
moat-chaff, LAN bridge, server with nginx under moat-ins, client, attacker),
runs the attacks in turn and exits 0 only if each phase had the outcome it
should (decoy alarms and the scanner blocked, slow clients shed, floods
declared and dropped, every attack ended and every rule withdrawn, the
client served in every phase). This checks its exit status, the outcome
of each phase in its summary, and independently that no namespace,
process or state dir of the demo is left.
"""
import glob
import os
import re
import subprocess

from conftest import BUILD, ROOT, need


def test_demo_short():
    need("nginx", "nmap", "slowhttptest", "hping3", "nft")
    before_tmp = set(glob.glob("/tmp/moat-demo.*"))
    env = dict(os.environ, DEMO_SHORT="1", DEMO_PORT="0")
    env.pop("DEMO_HOLD", None)
    p = subprocess.run([os.path.join(ROOT, "scripts", "demo"), BUILD], capture_output=True,
                       text=True, timeout=420, env=env)
    out = p.stdout
    print(out[-6000:])
    assert p.returncode == 0, out[-6000:] + p.stderr[-3000:]
    for phase in ("baseline", "scan", "slowloris", "slowread", "udp-flood", "syn-flood", "after"):
        assert re.search(r"^%s\s+ok\s" % phase, out, re.M), (phase, out[-3000:])
    assert "Dashboard: " in out
    assert "left behind: nothing" in out
    assert "demo: every phase behaved" in out
    assert set(glob.glob("/tmp/moat-demo.*")) == before_tmp, "demo left its state dir"
    # the demo names its namespaces' prefix; none of them is left
    tag = re.search(r"namespaces (\S+)-\*:", out).group(1)
    after_ns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert not [n for n in after_ns.split() if n.startswith(tag + "-")], after_ns
    assert subprocess.run(["pgrep", "-f", "moat-demo\\."], capture_output=True).returncode == 1, \
        "a process of the demo is still running"
