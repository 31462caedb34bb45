"""Helpers shared by the moat-chaff end-to-end tests: a scanner namespace
joined by veth to a chaff namespace, a config writer, and the daemon."""
import json
import os
import tempfile
import time

from conftest import binpath
from nslib import wait_for

SCANNER_ADDR = "198.51.100.1"


def write_config(groups, alarms=None, extra=""):
    """Write a moat-chaff YAML config; groups are dicts with ranges,
    personality/fingerprint, tcp, udp, exclude. Returns the path."""
    lines = ["interface: chaff0", "seed: 7", "decoys:"]
    for g in groups:
        lines.append("  - ranges: [%s]" % ", ".join(g["ranges"]))
        for key in ("personality", "fingerprint"):
            if key in g:
                lines.append('    %s: "%s"' % (key, g[key]))
        for key in ("tcp", "udp", "exclude"):
            if key in g:
                lines.append("    %s: [%s]" % (key, ", ".join(str(x) for x in g[key])))
        if "ipv6" in g:
            lines.append("    ipv6: {%s}" % ", ".join("%s: %s" % kv for kv in g["ipv6"].items()))
    al = alarms or {}
    fd, alarm_path = tempfile.mkstemp(prefix="chaff-alarms-", suffix=".jsonl")
    os.close(fd)
    lines.append("alarms:")
    lines.append('  file: "%s"' % al.get("file", alarm_path))
    lines.append("  window: %s" % al.get("window", "2s"))
    if "allow" in al:
        lines.append("  allow: [%s]" % ", ".join(al["allow"]))
    for key in ("syslog", "moatd_url", "moatd_token_file"):
        if key in al:
            lines.append('  %s: "%s"' % (key, al[key]))
    lines.append("alive:")
    lines.append("  pps: 1000")
    lines.append("  interval: 1h")
    lines.append("  start: 1s")   # start-up announcements spread over 1 s (bg.c)
    if extra:
        lines.append(extra)
    fd, path = tempfile.mkstemp(prefix="chaff-", suffix=".yaml")
    with os.fdopen(fd, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path, alarm_path


def setup(topo, groups, alarms=None, extra=""):
    """Scanner and chaff namespaces on one veth; start moat-chaff.
    Returns (scanner_ns, chaff_ns, proc, alarm_path)."""
    scan = topo.ns("scan")
    chaff = topo.ns("chaff")
    topo.veth(scan, SCANNER_ADDR + "/16", chaff, None, name_b="chaff0")
    topo.run(chaff, "ip", "link", "set", "chaff0", "promisc", "on")
    conf, alarm_path = write_config(groups, alarms, extra)
    proc = topo.spawn(chaff, binpath("moat-chaff"), "-c", conf)
    time.sleep(0.3)
    assert proc.poll() is None, proc.stdout.read()
    return scan, chaff, proc, alarm_path


def read_alarms(path):
    out = []
    try:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line:
                    out.append(json.loads(line))
    except FileNotFoundError:
        pass
    return out


def wait_alarm(path, pred, timeout=10.0, what="alarm"):
    return wait_for(lambda: [a for a in read_alarms(path) if pred(a)], timeout=timeout,
                    what=what)
