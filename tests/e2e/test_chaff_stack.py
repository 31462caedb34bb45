"""moat-chaff's stack behaves like the kernel it claims, seen on the wire
from a scanner namespace (raw frames through tests/e2e/chaffwire.py):
an unanswered SYN/ACK is retransmitted with the OS's timeout and backoff; a
decoy resolves a peer it does not know (ARP) before answering and answers
the MAC the reply names; a connection carries timestamps on every segment,
segments of the peer's MSS and Linux's per-socket IP IDs; ICMP timestamp
requests are answered by Linux and not by Windows 10; nmap -f's fragmented
SYNs are reassembled and answered."""
import json
import os
import re
import sys
import time

from conftest import need
import chaffutil

WIRE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "chaffwire.py")
LINUX = "198.51.100.20"
WINDOWS = "198.51.100.30"
GROUPS = [
    {"ranges": [LINUX + "/32"], "personality": "linux-5.4", "tcp": [22, 80]},
    {"ranges": [WINDOWS + "/32"], "personality": "windows-10", "tcp": [445]},
]
SPOOFED = "198.51.100.77"          # held by nobody: the scanner's kernel never resets
FAKE_MAC = "02:00:00:00:00:77"     # the SYNs' Ethernet source; the ARP reply names another


def iface(topo, ns):
    return [x for x in topo.run(ns, "ls", "/sys/class/net").stdout.split() if x != "lo"][0]


def decoy_macs(topo, scan):
    """Learn the decoys' MACs from the scanner's own address (the decoys
    learn that address, not SPOOFED)."""
    dev = iface(topo, scan)
    macs = {}
    for ip in (LINUX, WINDOWS):
        macs[ip] = wire(topo, scan, "arp", dev, chaffutil.SCANNER_ADDR, ip)
        assert macs[ip], ip
    return macs


def wire(topo, ns, *args, timeout=30):
    r = topo.run(ns, sys.executable, WIRE, *args, timeout=timeout)
    return json.loads(r.stdout)


def test_synack_retransmitted_after_arp(topo):
    scan, _, proc, _ = chaffutil.setup(topo, GROUPS)
    macs = decoy_macs(topo, scan)
    dev = iface(topo, scan)
    out = wire(topo, scan, "syn", dev, SPOOFED, FAKE_MAC, "8",
               "%s@%s@22" % (LINUX, macs[LINUX]), "%s@%s@445" % (WINDOWS, macs[WINDOWS]))
    ev = out["events"]
    for ip in (LINUX, WINDOWS):
        arps = [e for e in ev if e["kind"] == "arp" and e["spa"] == ip]
        synacks = [e for e in ev if e["kind"] == "tcp" and e["src"] == ip]
        # The decoy asked who has the unknown peer before answering it...
        assert arps, (ip, ev)
        assert synacks, (ip, ev)
        assert arps[0]["t"] <= synacks[0]["t"], (ip, ev)
        assert arps[0]["dst_mac"] == "ff:ff:ff:ff:ff:ff"
        # ... and answered the MAC the ARP reply named, not the frame's source.
        assert all(e["dst_mac"] == out["my_mac"] for e in synacks), synacks
        # The same SYN/ACK again (one ISN), as an unanswered one is.
        assert len({e["seq"] for e in synacks}) == 1, synacks
        gaps = [round(b["t"] - a["t"], 2) for a, b in zip(synacks, synacks[1:])]
        print(ip, "SYN/ACKs at intervals", gaps)
        if ip == LINUX:
            # 1 s, 2 s, 4 s: at 0, 1, 3, 7 s within the 8 s watched.
            assert 3 <= len(synacks) <= 5, gaps
        else:
            # Windows: 3 s, then 6 s: at 0 and 3 s within 8 s.
            assert 2 <= len(synacks) <= 3, gaps
    assert proc.poll() is None


def test_connection_timestamps_mss_and_ipid(topo):
    scan, _, proc, _ = chaffutil.setup(topo, GROUPS)
    dev = iface(topo, scan)
    out = wire(topo, scan, "fetch", dev, LINUX, "80", "200")
    assert out["head"].startswith("HTTP/1.1 200") or out["head"].startswith("HTTP/1.0 200"), out
    segs = out["segments"]
    synack = [s for s in segs if s["flags"] & 0x12 == 0x12]
    rest = [s for s in segs if not s["flags"] & 0x02]
    data = [s for s in rest if s["data_len"] > 0]
    assert synack and synack[0]["opts"].get("mss") == 200, synack    # capped by the peer's
    assert synack[0]["ipid"] == 0                    # Linux: TI=Z
    assert len(data) >= 2, segs                      # the page did not fit one 188-byte segment
    for s in rest:
        assert "tsval" in s["opts"] and s["opts"]["tsecr"] != 0, s    # timestamps everywhere
        assert s["data_len"] <= 200 - 12, s                          # MSS less the option
    tsv = [s["opts"]["tsval"] for s in rest]
    assert tsv == sorted(tsv), tsv
    ids = [s["ipid"] for s in rest]
    # The socket's own counter: +1 per segment from a nonzero start.
    assert all((b - a) & 0xffff == 1 for a, b in zip(ids, ids[1:])), ids
    assert proc.poll() is None


def test_icmp_timestamp_by_os(topo):
    scan, _, proc, alarms = chaffutil.setup(topo, GROUPS)
    got = wire(topo, scan, "icmpts", LINUX, "2")
    assert got is not None
    assert got["id"] == 0x4242 and got["csum_ok"]
    assert got["orig"] == got["sent_ms"]
    assert got["rx"] == got["tx"]
    # The decoy's time of day, in ms since midnight UT (its clock skew is
    # tens of ppm: far inside a minute of ours).
    diff = (got["rx"] - got["sent_ms"]) % 86400000
    assert min(diff, 86400000 - diff) < 60000, got
    assert wire(topo, scan, "icmpts", WINDOWS, "2") is None
    chaffutil.wait_alarm(alarms, lambda a: a["kind"] == "ping" and WINDOWS in a.get("decoys", []),
                         what="ping alarm for the unanswered timestamp request")
    assert proc.poll() is None


def test_fragmented_syn_scan_is_reassembled(topo):
    """nmap -f splits its SYNs into 8-byte IP fragments: a real stack
    reassembles them and answers (open / closed), a responder that drops
    fragments shows every port as filtered."""
    need("nmap")
    scan, _, proc, _ = chaffutil.setup(topo, GROUPS)
    out = topo.run(scan, "nmap", "-n", "-Pn", "-sS", "-f", "-p", "22,23", LINUX,
                   timeout=120).stdout
    assert re.search(r"22/tcp\s+open", out), out
    assert re.search(r"23/tcp\s+closed", out), out
    assert proc.poll() is None


def test_os_detection_exact_across_decoys_of_a_preset(topo):
    """Decoys of one preset have ISN lines of their own (ISR and SP moved
    within the fingerprint's range); nmap -O still names each one exactly."""
    need("nmap")
    presets = {"linux-5.4": "Linux 5.0 - 5.4", "windows-10": "Microsoft Windows 10 1607",
               "freebsd-12": "FreeBSD 12.1-RELEASE", "linux-3": "Linux 3.2 - 4.9"}
    groups, want = [], {}
    for i, (p, name) in enumerate(presets.items()):
        hosts = ["198.51.100.%d" % (140 + 4 * i + k) for k in range(3)]
        groups.append({"ranges": hosts, "personality": p, "tcp": [22, 80]})
        want.update({h: name for h in hosts})
    scan, _, proc, _ = chaffutil.setup(topo, groups)
    out = topo.run(scan, "nmap", "-O", "-n", "-p", "22,80,443", "--max-os-tries", "1",
                   *sorted(want), timeout=300).stdout
    details = {}
    for block in out.split("Nmap scan report for ")[1:]:
        m = re.search(r"OS details: (.*)", block)
        details[block.split()[0]] = m.group(1) if m else None
    wrong = {h: details.get(h) for h, name in want.items()
             if name not in (details.get(h) or "").split(", ")}
    assert not wrong, "not named exactly: %r\n%s" % (wrong, out)
    assert proc.poll() is None


def test_unacked_data_is_retransmitted(topo):
    """The decoy's answer, never acknowledged, goes again from the same
    sequence number with growing gaps (Linux: from about 200 ms, doubling),
    each copy carrying timestamps that echo ours."""
    scan, _, proc, _ = chaffutil.setup(topo, GROUPS)
    macs = decoy_macs(topo, scan)
    out = wire(topo, scan, "norack", iface(topo, scan), SPOOFED, "4",
               "%s@%s@80" % (LINUX, macs[LINUX]))
    ev = out["events"]
    data = [e for e in ev if e["data_len"] > 0]
    assert data, ev
    first = [e for e in data if e["seq"] == data[0]["seq"]]
    gaps = [round(b["t"] - a["t"], 2) for a, b in zip(first, first[1:])]
    print("data segment sent at intervals", gaps)
    # 0.2-0.4 s, then doubling: at least 3 copies in 4 s, at most 6.
    assert 3 <= len(first) <= 6, gaps
    assert all(b >= a for a, b in zip(gaps, gaps[1:])), gaps
    for e in first:
        assert e["opts"].get("tsecr") == 1001, e
    tsv = [e["opts"]["tsval"] for e in first]
    assert tsv == sorted(tsv) and tsv[0] != tsv[-1], tsv
    assert proc.poll() is None


def test_jumbo_ping_is_reassembled_and_answered_in_fragments(topo):
    """`ping -s 3000`: the request arrives in fragments, the decoy answers
    the whole datagram, in fragments the scanner's kernel puts together."""
    scan, _, proc, _ = chaffutil.setup(topo, GROUPS)
    got = wire(topo, scan, "bigping", LINUX, "3000", "3")
    assert got == {"len": 3000, "same": True, "csum_ok": True}, got
    assert proc.poll() is None


def test_zero_window_is_honoured_and_probed(topo):
    """A client that asks with a zero window gets no data, only window
    probes (an ACK one below the next sequence number, as Linux sends);
    once it opens the window the answer comes, within its MSS."""
    scan, _, proc, _ = chaffutil.setup(topo, GROUPS)
    macs = decoy_macs(topo, scan)
    out = wire(topo, scan, "zerowin", iface(topo, scan), SPOOFED, "4",
               "%s@%s@80" % (LINUX, macs[LINUX]))
    ev, opened = out["events"], out["opened"]
    assert opened, out
    synack = [e for e in ev if e["flags"] & 0x12 == 0x12][0]
    before = [e for e in ev if e["t"] < opened and not e["flags"] & 0x02]
    after = [e for e in ev if e["t"] >= opened and e["data_len"] > 0]
    assert all(e["data_len"] == 0 for e in before), before
    probes = [e for e in before if e["seq"] == synack["seq"]]    # snd_una - 1
    assert probes, ev
    assert after, ev
    assert after[0]["seq"] == synack["seq"] + 1
    assert all(e["data_len"] <= 536 - 12 for e in after), after
    assert proc.poll() is None
