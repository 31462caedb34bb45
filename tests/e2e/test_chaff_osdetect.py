"""moat-chaff: `nmap -O` against one decoy per shipped preset prints that
preset's exact nmap "OS details". One nmap run covers all presets in
parallel (about 5-20 s on 2 cores); `nmap -sV` names the configured
products; p0f on the scanner's side names the family from the SYN+ACKs."""
import re
import shutil
import subprocess
import time

import pytest

from conftest import need
import chaffutil

# preset -> the nmap-os-db fingerprint name it impersonates (persona.c).
PRESETS = {
    "linux-2.6": "Linux 2.6.32 - 3.10",
    "linux-3": "Linux 3.2 - 4.9",
    "linux-4.15": "Linux 4.15 - 5.6",
    "linux-5.4": "Linux 5.0 - 5.4",
    "windows-7": "Microsoft Windows 7 SP1",
    "windows-10": "Microsoft Windows 10 1607",
    "windows-2016": "Microsoft Windows Server 2016 build 10586 - 14393",
    "macos": "Apple macOS 10.14 (Mojave) (Darwin 18.2.0 - 18.6.0)",
    "freebsd-12": "FreeBSD 12.1-RELEASE",
    "openbsd-6": "OpenBSD 6.3",
    "cisco-ios": "Cisco 1921 router (IOS 15.1)",
    "hp-printer": "HP LaserJet 2420 printer",
    "axis-camera": "Axis M3006-V network camera",
}


def addr(i):
    return "198.51.100.%d" % (100 + i)


def groups():
    return [{"ranges": [addr(i)], "personality": p, "tcp": [22, 80]}
            for i, p in enumerate(PRESETS)]


def test_nmap_os_detection_names_every_preset(topo):
    need("nmap")
    scan, _, proc, alarms = chaffutil.setup(topo, groups())
    t0 = time.time()
    out = topo.run(scan, "nmap", "-O", "-n", "-p", "22,80,443", "--max-os-tries", "1",
                   *[addr(i) for i in range(len(PRESETS))], timeout=300).stdout
    elapsed = time.time() - t0
    details = {}
    for block in out.split("Nmap scan report for ")[1:]:
        m = re.search(r"OS details: (.*)", block)
        details[block.split()[0]] = m.group(1) if m else None
    wrong = {p: details.get(addr(i)) for i, p in enumerate(PRESETS)
             if PRESETS[p] not in (details.get(addr(i)) or "").split(", ")}
    print("nmap -O over %d presets took %.1f s" % (len(PRESETS), elapsed))
    assert not wrong, "presets not named exactly: %r\n%s" % (wrong, out)
    # Every OS probe set raised an os_probe alarm per decoy; never a crash.
    probes = chaffutil.wait_alarm(alarms, lambda a: a["kind"] == "os_probe", what="os_probe")
    assert probes[0]["src"] == chaffutil.SCANNER_ADDR
    assert proc.poll() is None


def test_nmap_version_scan_reports_configured_products(topo):
    need("nmap")
    g = [{"ranges": ["198.51.100.120"], "personality": "linux-5.4", "tcp": [21, 22, 80]},
         {"ranges": ["198.51.100.121"], "personality": "windows-2016", "tcp": [80]}]
    scan, _, proc, alarms = chaffutil.setup(topo, g)
    out = topo.run(scan, "nmap", "-sV", "-n", "-p", "21,22,80", "--version-light",
                   "198.51.100.120", "198.51.100.121", timeout=300).stdout
    linux, windows = out.split("Nmap scan report for 198.51.100.121")
    assert re.search(r"22/tcp\s+open\s+ssh\s+OpenSSH 8.2p1 Ubuntu 4ubuntu0.5", linux), out
    assert re.search(r"80/tcp\s+open\s+http\s+nginx 1.18.0 \(Ubuntu\)", linux), out
    assert re.search(r"21/tcp\s+open\s+ftp\s+vsftpd 3.0.3", linux), out
    assert re.search(r"80/tcp\s+open\s+http\s+Microsoft IIS httpd 10.0", windows), out
    assert "honeypot" not in out.lower()
    # Service interaction is an alarm carrying the request line.
    svc = chaffutil.wait_alarm(alarms, lambda a: a["kind"] == "service", what="service alarm")
    assert any("HTTP/1" in a.get("detail", "") or "GET" in a.get("detail", "") for a in svc)


def test_p0f_names_the_family_from_syn_acks(topo):
    # p0f's database (2016) has SYN+ACK signatures for Linux up to 3.x and for
    # Windows, not for newer kernels: the Linux decoy here runs linux-2.6.
    need("p0f", "nmap")
    g = [{"ranges": ["198.51.100.130"], "personality": "linux-2.6", "tcp": [80]},
         {"ranges": ["198.51.100.131"], "personality": "windows-10", "tcp": [80]}]
    scan, _, proc, alarms = chaffutil.setup(topo, g)
    ifname = [x for x in topo.run(scan, "ls", "/sys/class/net").stdout.split() if x != "lo"][0]
    p0f = topo.spawn(scan, "p0f", "-i", ifname, "-p")
    time.sleep(1.0)
    # Ordinary connect()s, as a client would make them (not nmap's probes).
    for host in ("198.51.100.130", "198.51.100.131"):
        topo.run(scan, "nmap", "-sT", "-n", "-Pn", "-p", "80", host, timeout=60)
    time.sleep(1.0)
    p0f.terminate()
    text = p0f.communicate(timeout=10)[0]
    seen = {}
    for m in re.finditer(r"\(syn\+ack\) \]-\n\|\n\| server\s+= (\S+)/80\n\| os\s+= (.*)\n",
                         text):
        seen[m.group(1)] = m.group(2)
    assert "Linux" in seen.get("198.51.100.130", ""), text
    assert "Windows" in seen.get("198.51.100.131", ""), text
