"""moat-chaff decoys look like installed hosts to key collectors: ssh-keyscan
gets host keys of the kinds the banner's OpenSSH release had, distinct per
decoy and the same after a restart; HTTPS answers with a TLS handshake, a
self-signed certificate of the decoy's own, then the decoy's HTTP."""
import re
import time

from conftest import need
import chaffutil

# linux-2.6: OpenSSH_5.3 (RSA; its DSA key is not served: Debian's libssh is
# built without DSA); linux-5.4: OpenSSH_8.2p1 (RSA, ECDSA, Ed25519)
OLD = ["198.51.100.20", "198.51.100.21"]
NEW = ["198.51.100.30", "198.51.100.31"]
GROUPS = [
    {"ranges": ["198.51.100.20/31"], "personality": "linux-2.6", "tcp": [22, 443]},
    {"ranges": ["198.51.100.30/31"], "personality": "linux-5.4", "tcp": [22, 443]},
]
KEYTYPES = "rsa,ecdsa,ed25519"


def keyscan(topo, ns, addrs):
    """{(host, type): key} from one ssh-keyscan over every address (one
    connection per host and key type, all at once)."""
    keys = {}
    out = topo.run(ns, "ssh-keyscan", "-T", "10", "-t", KEYTYPES, *addrs, check=False,
                   timeout=60).stdout
    for line in out.splitlines():
        if line and not line.startswith("#"):
            host, ktype, key = line.split(" ", 2)
            keys[(host, ktype)] = key
    return keys


def types_of(keys, addr):
    return {t for (h, t) in keys if h == addr}


def restart(topo, chaff, proc, extra):
    proc.terminate()
    proc.wait(10)
    conf, _ = chaffutil.write_config(GROUPS, extra=extra)
    proc = topo.spawn(chaff, chaffutil.binpath("moat-chaff"), "-c", conf)
    time.sleep(0.3)
    assert proc.poll() is None
    return proc


def cert_of(topo, ns, addr):
    """The PEM certificate openssl s_client gets from addr:443, and its text."""
    r = topo.run(ns, "sh", "-c", "openssl s_client -connect %s:443 -servername %s "
                 "</dev/null 2>/dev/null | openssl x509 -noout -text -fingerprint -sha256"
                 % (addr, addr), check=False, timeout=30)
    return r.stdout


def test_ssh_host_keys_by_era(topo, tmp_path):
    """5.3 offers RSA only (never ECDSA or Ed25519); 8.2 RSA (3072 bits),
    ECDSA and Ed25519; every key differs between decoys and survives a
    restart."""
    need("ssh-keyscan")
    state = tmp_path / "chaff-state"
    extra = "state_dir: %s" % state
    scan, chaff, proc, _ = chaffutil.setup(topo, GROUPS, extra=extra)
    first = keyscan(topo, scan, OLD + NEW)
    for a in OLD:
        assert types_of(first, a) == {"ssh-rsa"}, (a, sorted(first))
    for a in NEW:
        assert types_of(first, a) == {"ssh-rsa", "ecdsa-sha2-nistp256", "ssh-ed25519"}, \
            (a, sorted(first))
    values = list(first.values())
    assert len(set(values)) == len(values), "a key is shared between decoys"
    # The RSA key's size is the release's ssh-keygen default.
    rsa_new = first[(NEW[0], "ssh-rsa")]
    r = topo.run(scan, "ssh-keygen", "-l", "-f", "/dev/stdin", input="x ssh-rsa " + rsa_new,
                 check=False)
    assert r.stdout.startswith("3072 "), r.stdout
    proc = restart(topo, chaff, proc, extra)
    again = keyscan(topo, scan, OLD + NEW)
    assert again == first
    proc.terminate()
    proc.wait(10)


def test_https_certificates_per_decoy(topo, tmp_path):
    """curl -k gets the decoy's HTTP over TLS; s_client sees a self-signed
    certificate per decoy, with a hostname-like subject, valid now, the
    same after a restart."""
    need("curl", "openssl")
    state = tmp_path / "chaff-state"
    extra = "state_dir: %s" % state
    scan, chaff, proc, alarms = chaffutil.setup(topo, GROUPS, extra=extra)
    r = topo.run(scan, "curl", "-k", "-s", "-i", "-m", "10", "https://%s/" % NEW[0],
                 check=False, timeout=30)
    assert r.returncode == 0, (r.returncode, r.stderr)
    assert "Server: nginx/1.18.0 (Ubuntu)" in r.stdout, r.stdout
    assert "Welcome to nginx!" in r.stdout, r.stdout
    r = topo.run(scan, "curl", "-k", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-m", "10",
                 "https://%s/nothing-here" % OLD[0], check=False, timeout=30)
    assert r.stdout == "404", r.stdout
    certs = {a: cert_of(topo, scan, a) for a in OLD + NEW}
    fps = {}
    for a, text in certs.items():
        m = re.search(r"sha256 Fingerprint=([0-9A-F:]+)", text)
        assert m, (a, text)
        fps[a] = m.group(1)
        subj = re.search(r"Subject: (.*)", text).group(1)
        issuer = re.search(r"Issuer: (.*)", text).group(1)
        assert subj == issuer, text            # self-signed
        assert re.search(r"CN ?= ?[A-Za-z0-9.-]+", subj), subj
        assert "Public-Key: (2048 bit)" in text, text
    assert len(set(fps.values())) == len(fps), fps
    # The handshake was seen, and the request inside it.
    chaffutil.wait_alarm(alarms, lambda a: a.get("dport") == 443, what="an alarm for 443")
    proc = restart(topo, chaff, proc, extra)
    again = {a: re.search(r"sha256 Fingerprint=([0-9A-F:]+)", cert_of(topo, scan, a)).group(1)
             for a in OLD + NEW}
    assert again == fps
    proc.terminate()
    proc.wait(10)


def test_nmap_names_https(topo):
    """nmap -sV calls 443 ssl/http (or https), never tcpwrapped."""
    need("nmap")
    scan, _, proc, _ = chaffutil.setup(topo, GROUPS[1:])
    r = topo.run(scan, "nmap", "-n", "-Pn", "-sV", "-p", "443", NEW[0], check=False,
                 timeout=180)
    line = [l for l in r.stdout.splitlines() if l.startswith("443/")]
    assert line, r.stdout
    assert "tcpwrapped" not in line[0], r.stdout
    assert re.search(r"ssl/https?|https", line[0]), r.stdout
    assert proc.poll() is None


def hostkey_offer(topo, ns, addr):
    """The server's host key algorithms from its KEXINIT, as ssh -vv prints them."""
    r = topo.run(ns, "ssh", "-vv", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
                 "-o", "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=10",
                 "-o", "HostKeyAlgorithms=+ssh-rsa", "nobody@" + addr, "true",
                 check=False, timeout=40)
    i = r.stderr.find("peer server KEXINIT proposal")
    assert i >= 0, r.stderr
    m = re.search(r"debug2: host key algorithms: (.*)", r.stderr[i:])
    assert m, r.stderr
    return m.group(1).split(",")


def test_ssh_hostkey_algorithms_in_order(topo):
    """The KEXINIT's host key list is the release's, in OpenSSH's order."""
    need("ssh")
    scan, _, proc, _ = chaffutil.setup(topo, GROUPS)
    assert hostkey_offer(topo, scan, OLD[0]) == ["ssh-rsa"]
    assert hostkey_offer(topo, scan, NEW[0]) == [
        "rsa-sha2-512", "rsa-sha2-256", "ssh-rsa", "ecdsa-sha2-nistp256", "ssh-ed25519"]
    assert proc.poll() is None
