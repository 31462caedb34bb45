"""moat-chaff: a scanner finds every decoy, with its personality's vendor,
through `nmap -sn` and `arp-scan`; the sweep becomes aggregated alarms."""
import ipaddress
import re
import subprocess
import time

from conftest import need
import chaffutil

GROUPS = [
    {"ranges": ["198.51.100.16/28"], "exclude": ["198.51.100.20"], "personality": "linux-5.4",
     "tcp": [22, 80]},
    {"ranges": ["198.51.100.40/30", "198.51.100.50/32"], "personality": "macos", "tcp": [22]},
]
# linux-5.4 uses Dell's OUI (F8:BC:12), macos Apple's (3C:07:54).
EXPECTED = {}
for a in ipaddress.ip_network("198.51.100.16/28").hosts():
    if str(a) != "198.51.100.20":
        EXPECTED[str(a)] = ("Dell", "F8:BC:12")
for a in ("198.51.100.41", "198.51.100.42", "198.51.100.50"):
    EXPECTED[a] = ("Apple", "3C:07:54")


def test_nmap_ping_scan_finds_every_decoy(topo):
    need("nmap")
    scan, _, proc, alarms = chaffutil.setup(topo, GROUPS)
    out = topo.run(scan, "nmap", "-sn", "-n", "198.51.100.16/28", "198.51.100.40/29",
                   "198.51.100.50", timeout=120).stdout
    rows = re.findall(r"Nmap scan report for (\S+)\nHost is up.*\nMAC Address: (\S+) \((.*)\)", out)
    found = {h: mac for h, mac, _ in rows}
    vendors = {h: v for h, _, v in rows}
    assert set(found) == set(EXPECTED), out
    for host, (vendor, oui) in EXPECTED.items():
        assert found[host].upper().startswith(oui), (host, found[host])
        assert vendors[host] == vendor, (host, vendors[host])
    # The excluded real host and the range's network/broadcast never answer.
    assert "198.51.100.20\n" not in out
    assert proc.poll() is None


def test_arp_scan_lists_vendors_and_alarms_aggregate(topo):
    need("arp-scan")
    scan, _, proc, alarms = chaffutil.setup(topo, GROUPS)
    ifname = [x for x in topo.run(scan, "ls", "/sys/class/net").stdout.split() if x != "lo"][0]
    out = topo.run(scan, "arp-scan", "-I", ifname, "198.51.100.0/26", timeout=60).stdout
    rows = {}
    for line in out.splitlines():
        parts = line.split("\t")
        if len(parts) >= 3 and parts[0].startswith("198.51.100."):
            rows[parts[0]] = (parts[1], parts[2])
    assert set(rows) == set(EXPECTED), out
    for host, (vendor, oui) in EXPECTED.items():
        assert rows[host][0].upper().startswith(oui.lower().upper())
        assert rows[host][1].startswith(vendor), rows[host]
    # The sweep is one immediate alarm plus an aggregate with counts (two when
    # the sweep straddles an aggregation window on a loaded machine): a few
    # alarms that together name every decoy, not one line per decoy.
    agg = chaffutil.wait_alarm(alarms, lambda a: a["kind"] == "arp" and a["count"] > 1,
                               timeout=8, what="aggregated arp alarm")

    # n_decoys is exact up to 8 decoys, then a linear-counting estimate over
    # a bitmap with a per-process random key (a collision or two among 16 is
    # likely): allow it 2 short.
    def arp_alarms():
        return [a for a in chaffutil.read_alarms(alarms) if a["kind"] == "arp"]
    chaffutil.wait_for(lambda: sum(a["n_decoys"] for a in arp_alarms()) >= len(EXPECTED) - 2,
                       timeout=8, what="arp alarms naming every decoy")
    arp_alarms = arp_alarms()
    assert len(arp_alarms) <= 4, arp_alarms
    assert max(a["n_decoys"] for a in arp_alarms) >= len(EXPECTED) // 2, arp_alarms
    assert agg[0]["scan"] is True
    assert agg[0]["src"] == chaffutil.SCANNER_ADDR


def run(argv):
    return subprocess.run(argv, capture_output=True, text=True, timeout=30)


def test_check_mode_and_config_errors(topo):
    """-n validates the config, the personalities and that the interface
    exists, and exits; errors name file:line:col."""
    scan = topo.ns("scan")
    chaff = topo.ns("chaff")
    topo.veth(scan, chaffutil.SCANNER_ADDR + "/16", chaff, None, name_b="chaff0")
    good, _ = chaffutil.write_config(GROUPS)
    r = topo.run(chaff, chaffutil.binpath("moat-chaff"), "-c", good, "-n", check=False)
    assert r.returncode == 0 and "ok: 16 decoys, 2 personalities" in r.stdout, r
    r = topo.run(scan, chaffutil.binpath("moat-chaff"), "-c", good, "-n", check=False)
    assert r.returncode == 1 and "chaff0: no such interface" in r.stderr, r
    bad, _ = chaffutil.write_config([{"ranges": ["198.51.100.16/28"], "personality": "beos"}])
    r = run([chaffutil.binpath("moat-chaff"), "-c", bad, "-n"])
    assert r.returncode == 1
    assert re.search(r"chaff-\w+\.yaml:5:18: personality: unknown preset \"beos\"", r.stderr), r


def test_gratuitous_arp_announces_every_decoy_at_start(topo):
    need("tcpdump")
    scan = topo.ns("scan")
    chaff = topo.ns("chaff")
    a, _ = topo.veth(scan, chaffutil.SCANNER_ADDR + "/16", chaff, None, name_b="chaff0")
    dump = topo.spawn(scan, "tcpdump", "-l", "-n", "-i", a, "arp")
    time.sleep(1.0)
    conf, _ = chaffutil.write_config(GROUPS)
    proc = topo.spawn(chaff, chaffutil.binpath("moat-chaff"), "-c", conf)
    time.sleep(1.5)     # 16 decoys at the test config's 1000 pps budget
    dump.terminate()
    out = dump.communicate(timeout=10)[0]
    announced = set(re.findall(r"Request who-has (\S+) tell \1", out))
    assert announced == set(EXPECTED), out
    assert proc.poll() is None
