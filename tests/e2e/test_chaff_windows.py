"""moat-chaff Windows and application services: SMB2 with NTLMSSP on
445/139 (Debian's smbclient gets NT_STATUS_LOGON_FAILURE and the NTLMv2
response is an alarm with the user name, crackable to the password), RDP's
X.224 connection confirm on 3389, RPC on 135, the NetBIOS name service on
UDP 137, and what nmap -sV names them; telnet negotiation per OS family and
MySQL/Redis/SMTP versions per the decoy's system, with their logins."""
import hashlib
import hmac
import inspect
import re
import struct
import subprocess

from conftest import need
import chaffutil

WIN10 = "198.51.100.70"
WIN7 = "198.51.100.71"


def _md4(data):
    """MD4 (RFC 1320): OpenSSL 3 no longer gives it to hashlib."""
    def f(x, y, z): return (x & y) | (~x & z)
    def g(x, y, z): return (x & y) | (x & z) | (y & z)
    def h(x, y, z): return x ^ y ^ z
    def rol(v, n): return ((v << n) | (v >> (32 - n))) & 0xffffffff
    msg = data + b"\x80" + b"\0" * ((55 - len(data)) % 64) + struct.pack("<Q", len(data) * 8)
    st = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476]
    for off in range(0, len(msg), 64):
        x = struct.unpack("<16I", msg[off:off + 64])
        a, b, c, d = st
        for i in range(16):
            k, s = i, (3, 7, 11, 19)[i % 4]
            a, b, c, d = d, rol((a + f(b, c, d) + x[k]) & 0xffffffff, s), b, c
        for i in range(16):
            k, s = (i % 4) * 4 + i // 4, (3, 5, 9, 13)[i % 4]
            a, b, c, d = d, rol((a + g(b, c, d) + x[k] + 0x5a827999) & 0xffffffff, s), b, c
        for i in range(16):
            k = (0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15)[i]
            s = (3, 9, 11, 15)[i % 4]
            a, b, c, d = d, rol((a + h(b, c, d) + x[k] + 0x6ed9eba1) & 0xffffffff, s), b, c
        st = [(v + w) & 0xffffffff for v, w in zip(st, (a, b, c, d))]
    return struct.pack("<4I", *st)


def _ntlmv2_matches(line, password):
    """Whether a captured hashcat-5600 line is the NTLMv2 response of password
    (what an attacker's cracker would check): the capture is exact."""
    user, _, domain, chal, proof, blob = line.split(":")
    nt = _md4(password.encode("utf-16-le"))
    key = hmac.new(nt, (user.upper() + domain).encode("utf-16-le"), hashlib.md5).digest()
    calc = hmac.new(key, bytes.fromhex(chal) + bytes.fromhex(blob), hashlib.md5).hexdigest()
    return calc == proof


def _groups():
    return [{"ranges": [WIN10], "personality": "windows-10", "tcp": [135, 139, 445, 3389]},
            {"ranges": [WIN7], "personality": "windows-7", "tcp": [135, 139, 445, 3389]}]


def test_smbclient_logon_failure_is_captured(topo):
    need("smbclient")
    scan, _chaff, proc, alarms = chaffutil.setup(topo, _groups())
    r = topo.run(scan, "smbclient", "-L", "//%s" % WIN10, "-U", "alice%Secret123",
                 "-W", "CORP", check=False, timeout=30)
    out = r.stdout + r.stderr
    assert "NT_STATUS_LOGON_FAILURE" in out, out
    login = chaffutil.wait_alarm(alarms, lambda a: a["kind"] == "login" and a["dport"] == 445,
                                 what="smb login alarm")
    a = login[0]
    assert a["username"] == "CORP\\alice", a
    assert a["decoy"] == WIN10 and a["personality"] == "windows-10"
    assert a["detail"].startswith("smb ntlmv2 workstation="), a
    # hashcat 5600: user::domain:challenge:NTProofStr:blob
    assert re.match(r"^alice::CORP:[0-9a-f]{16}:[0-9a-f]{32}:[0-9a-f]+$", a["password"]), a
    assert "Secret123" not in a["password"]
    assert _ntlmv2_matches(a["password"], "Secret123")
    assert not _ntlmv2_matches(a["password"], "Secret124")

    # Port 139 after a NetBIOS session request, to the Windows 7 decoy (SMB 2.1 at most).
    r = topo.run(scan, "smbclient", "-L", "//%s" % WIN7, "-p", "139", "-U", "bob%pw",
                 check=False, timeout=30)
    out = r.stdout + r.stderr
    assert "NT_STATUS_LOGON_FAILURE" in out, out
    chaffutil.wait_alarm(alarms, lambda a: a["kind"] == "login" and a["dport"] == 139 and
                         a["username"].endswith("bob"), what="smb 139 login alarm")
    # The dialect negotiated: Windows 7's SMB 2.1 (0x0210), not the client's 3.1.1.
    svc = chaffutil.wait_alarm(alarms, lambda a: a["kind"] == "service" and a["dport"] == 139,
                               what="smb 139 service alarm")
    assert svc[0]["detail"] == "smb2 negotiate 0x0210", svc
    assert proc.poll() is None


def _x224(neg):
    body = b"Cookie: mstshash=eve\r\n"
    if neg is not None:
        body += struct.pack("<BBHI", 1, 0, 8, neg)
    x224 = bytes([6 + len(body), 0xe0, 0, 0, 0, 0, 0]) + body
    return struct.pack(">BBH", 3, 0, 4 + len(x224)) + x224


def test_rdp_connection_confirm(topo):
    scan, _chaff, proc, alarms = chaffutil.setup(topo, _groups())
    script = ("import socket,sys\n"
              "s=socket.create_connection((sys.argv[1],3389),5)\n"
              "s.sendall(bytes.fromhex(sys.argv[2]))\n"
              "print(s.recv(100).hex())\n")
    out = topo.run(scan, "/usr/bin/python3", "-c", script, WIN10, _x224(3).hex(),
                   timeout=20).stdout.strip()
    # CC, src-ref 0x1234, RDP_NEG_RSP flags 0x1f selecting CredSSP (Windows 10).
    assert out == "030000130ed00000123400021f080002000000", out
    # A client without CredSSP: Windows 10 requires NLA.
    out = topo.run(scan, "/usr/bin/python3", "-c", script, WIN10, _x224(0).hex(),
                   timeout=20).stdout.strip()
    assert out == "030000130ed000001234000300080005000000", out
    chaffutil.wait_alarm(alarms, lambda a: a["kind"] == "service" and a["dport"] == 3389 and
                         "mstshash=eve" in a.get("detail", ""), what="rdp alarm")
    assert proc.poll() is None


def test_nmap_names_windows_services(topo):
    need("nmap")
    groups = _groups()
    groups[0]["udp"] = [137]
    scan, _chaff, proc, _alarms = chaffutil.setup(topo, groups)
    out = topo.run(scan, "nmap", "-Pn", "-n", "-sV", "-p", "135,139,445,3389", WIN7, WIN10,
                   timeout=300).stdout
    assert "tcpwrapped" not in out and "unrecognized" not in out, out
    for addr in (WIN7, WIN10):
        part = out.split("Nmap scan report for %s" % addr)[1].split("Nmap scan report")[0]
        assert re.search(r"135/tcp\s+open\s+msrpc\s+Microsoft Windows RPC", part), out
        assert re.search(r"139/tcp\s+open\s+netbios-ssn\s+Microsoft Windows netbios-ssn",
                         part), out
        assert re.search(r"445/tcp\s+open\s+microsoft-ds\s", part), out
        # nmap matches Windows 10's confirm; Windows 7's is unknown to it, so
        # its TLSSessionReq probe finds the TLS handshake RDP runs on a bare
        # ClientHello: "ssl/ms-wbt-server?", as nmap calls a real Windows 7.
        assert re.search(r"3389/tcp\s+open\s+(ssl/)?ms-wbt-server", part), out
    assert re.search(r"3389/tcp\s+open\s+ms-wbt-server\s+Microsoft Terminal Services",
                     out.split("Nmap scan report for %s" % WIN10)[1]), out
    assert "Microsoft Windows 7 - 10 microsoft-ds" in out, out
    # SMB1 null session (basic, then extended): what smb-os-discovery reads.
    out = topo.run(scan, "nmap", "-Pn", "-n", "-p", "445", "--script", "smb-os-discovery",
                   WIN7, WIN10, timeout=300).stdout
    assert "OS: Windows 7 Professional 7601 Service Pack 1 (Windows 7 Professional 6.1)" \
        in out, out
    assert "OS: Windows 10 Pro 14393 (Windows 10 Pro 6.3)" in out, out
    assert re.search(r"Computer name: DESKTOP-[A-Z0-9]{7}\n", out), out
    assert re.search(r"Workgroup: WORKGROUP", out), out
    # NetBIOS name service: nmap reads the name table like a Windows host's.
    out = topo.run(scan, "nmap", "-Pn", "-n", "-sU", "-sV", "-p", "137", WIN10,
                   timeout=300).stdout
    assert re.search(r"137/udp\s+open\s+netbios-ns\s+Microsoft Windows netbios-ssn "
                     r"\(workgroup: WORKGROUP\)", out), out
    assert re.search(r"Host: DESKTOP-[A-Z0-9]{7}", out), out
    assert proc.poll() is None


def test_netbios_node_status(topo):
    need("nmblookup")
    groups = [{"ranges": [WIN10], "personality": "windows-10", "tcp": [445], "udp": [137]},
              {"ranges": [WIN7], "personality": "windows-7", "tcp": [445]}]
    scan, _chaff, proc, alarms = chaffutil.setup(topo, groups)
    out = topo.run(scan, "nmblookup", "-A", WIN10, check=False, timeout=30).stdout
    m = re.search(r"^\s+(DESKTOP-[A-Z0-9]{7})\s+<00> -\s+[BMH] <ACTIVE>", out, re.M)
    assert m, out
    name = m.group(1)
    assert re.search(r"^\s+WORKGROUP\s+<00> - <GROUP> [BMH] <ACTIVE>", out, re.M), out
    assert re.search(r"^\s+%s\s+<20> -" % name, out, re.M), out
    # The MAC is the decoy's own (the one its ARP replies carry).
    neigh = topo.run(scan, "ip", "neigh", "show", WIN10).stdout
    mac = re.search(r"lladdr ([0-9a-f:]{17})", neigh).group(1)
    assert "MAC Address = %s" % mac.upper().replace(":", "-") in out, out
    # A name query for that name, unicast: the decoy's address.
    r = topo.run(scan, "nmblookup", "-U", WIN10, "--recursion", name, check=False, timeout=30)
    assert "%s %s<00>" % (WIN10, name) in r.stdout, r.stdout + r.stderr
    # UDP 137 closed on the other decoy: no answer.
    out = topo.run(scan, "nmblookup", "-A", WIN7, check=False, timeout=30).stdout
    assert "No reply from" in out, out
    assert proc.poll() is None


MYSQL_LOGIN = r"""
import hashlib, socket, struct, sys
s = socket.create_connection((sys.argv[1], 3306), 5)
g = s.recv(4096)
body = g[4:]
ver = body[1:body.index(b"\0", 1)]
rest = body[body.index(b"\0", 1) + 1:]
scramble = rest[4:12] + rest[31:43]
pw = sys.argv[2].encode()
h1 = hashlib.sha1(pw).digest()
tok = bytes(a ^ b for a, b in zip(h1, hashlib.sha1(scramble + hashlib.sha1(h1).digest()).digest()))
caps = 0x0200 | 0x8000 | 0x80000 | 0x1
p = struct.pack("<IIB23x", caps, 1 << 24, 33) + b"root\0" + bytes([20]) + tok + b"mysql_native_password\0"
s.sendall(struct.pack("<I", len(p))[:3] + b"\x01" + p)
e = s.recv(4096)
print(ver.decode())
print(e[4 + 9:].decode(errors="replace"))
"""


def _mysqlna_matches(line, password):
    """Whether a captured $mysqlna$SCRAMBLE*RESPONSE is password's answer."""
    scramble, resp = line[len("$mysqlna$"):].split("*")
    h1 = hashlib.sha1(password.encode()).digest()
    mask = hashlib.sha1(bytes.fromhex(scramble) + hashlib.sha1(h1).digest()).digest()
    return bytes(a ^ b for a, b in zip(h1, mask)).hex() == resp


def test_versions_follow_the_system(topo):
    """MySQL, Redis and SMTP name the versions the decoy's system would run,
    telnet negotiates as its OS family does, and every login is recorded."""
    need("nmap", "redis-cli")
    ubuntu, debian, win, cisco = ("198.51.100.80", "198.51.100.81", "198.51.100.82",
                                  "198.51.100.83")
    groups = [{"ranges": [ubuntu], "personality": "linux-5.4", "tcp": [23, 25, 3306, 6379]},
              {"ranges": [debian], "personality": "linux-3", "tcp": [23, 25, 3306, 6379]},
              {"ranges": [win], "personality": "windows-2016", "tcp": [25, 3306]},
              {"ranges": [cisco], "personality": "cisco-ios", "tcp": [23]}]
    scan, _chaff, proc, alarms = chaffutil.setup(topo, groups)
    out = topo.run(scan, "nmap", "-Pn", "-n", "-sV", "-p", "23,25,3306,6379",
                   "198.51.100.80-83", timeout=300).stdout

    def part(addr):
        return out.split("Nmap scan report for %s\n" % addr)[1].split("Nmap scan report")[0]

    assert "tcpwrapped" not in out and "unrecognized" not in out, out
    assert re.search(r"3306/tcp\s+open\s+mysql\s+MySQL 8\.0\.35-0ubuntu0\.20\.04\.1", part(ubuntu))
    assert re.search(r"6379/tcp\s+open\s+redis\s+Redis key-value store 5\.0\.7", part(ubuntu))
    assert re.search(r"25/tcp\s+open\s+smtp\s+Postfix smtpd", part(ubuntu))
    assert re.search(r"23/tcp\s+open\s+telnet\s+Linux telnetd", part(ubuntu))
    assert re.search(r"3306/tcp\s+open\s+mysql\s+MySQL 5\.5\.5-10\.1\.48-MariaDB", part(debian))
    assert re.search(r"6379/tcp\s+open\s+redis\s+Redis key-value store 3\.2\.6", part(debian))
    assert re.search(r"25/tcp\s+open\s+smtp\s+Exim smtpd 4\.89", part(debian))
    assert re.search(r"25/tcp\s+open\s+smtp\s+Microsoft ESMTP 10\.0\.14393", part(win))
    assert re.search(r"3306/tcp\s+open\s+mysql\s+MySQL 8\.0\.34", part(win))
    assert re.search(r"23/tcp\s+open\s+telnet\s+Cisco IOS telnetd", part(cisco))

    # Redis: open, as a forgotten one is; AUTH is a login with its password.
    r = topo.run(scan, "redis-cli", "-h", ubuntu, "PING", timeout=30)
    assert r.stdout.strip() == "PONG"
    r = topo.run(scan, "redis-cli", "-h", debian, "INFO", "server", timeout=30)
    assert "redis_version:3.2.6" in r.stdout and "os:Linux 4.9.0" in r.stdout, r.stdout
    topo.run(scan, "redis-cli", "-h", ubuntu, "--no-auth-warning", "-a", "hunter2", "PING",
             check=False, timeout=30)
    chaffutil.wait_alarm(alarms, lambda a: a["kind"] == "login" and a["dport"] == 6379 and
                         a.get("password") == "hunter2", what="redis AUTH alarm")

    # MySQL: the native-password answer is recorded in a crackable form.
    r = topo.run(scan, "/usr/bin/python3", "-c", MYSQL_LOGIN, debian, "toor", timeout=30)
    assert r.stdout.splitlines()[0] == "5.5.5-10.1.48-MariaDB-0+deb9u2", r.stdout
    assert "Access denied for user 'root'@'%s' (using password: YES)" % chaffutil.SCANNER_ADDR \
        in r.stdout, r.stdout
    login = chaffutil.wait_alarm(alarms, lambda a: a["kind"] == "login" and a["dport"] == 3306,
                                 what="mysql login alarm")
    assert login[0]["username"] == "root"
    assert _mysqlna_matches(login[0]["password"], "toor")
    assert not _mysqlna_matches(login[0]["password"], "toor2")

    # SMTP AUTH PLAIN through Python's smtplib: decoded, refused as Postfix does
    # (Exim offers AUTH only inside TLS: test_smtp_starttls).
    script = ("import smtplib,sys\n"
              "s=smtplib.SMTP(sys.argv[1],25,timeout=10)\n"
              "s.ehlo('x')\n"
              "try:\n s.login('mailer','s3cret')\n"
              "except smtplib.SMTPAuthenticationError as e: print(e.smtp_code, e.smtp_error)\n")
    r = topo.run(scan, "/usr/bin/python3", "-c", script, ubuntu, timeout=30)
    assert "535 b'5.7.8 Error: authentication failed: authentication failure'" in r.stdout, \
        r.stdout
    chaffutil.wait_alarm(alarms, lambda a: a["kind"] == "login" and a["dport"] == 25 and
                         a.get("username") == "mailer" and a.get("password") == "s3cret",
                         what="smtp login alarm")
    assert proc.poll() is None


SMTP_STARTTLS = r"""
import smtplib, ssl, sys
s = smtplib.SMTP(sys.argv[1], 25, timeout=10)
code, text = s.ehlo("x")
print("plain-auth", "auth" in s.esmtp_features)
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
print("starttls", s.starttls(context=ctx)[0])
s.ehlo("x")
print("tls-features", sorted(s.esmtp_features))
try:
    s.login("mailer", "tlspass")
except smtplib.SMTPAuthenticationError as e:
    print(e.smtp_code, e.smtp_error)
"""


def test_smtp_starttls(topo):
    """STARTTLS goes on in TLS with the decoy's certificate (the one its HTTPS
    shows); EHLO inside it offers what the product does there (Exim: AUTH
    only inside TLS), and AUTH's credentials are recorded."""
    need("openssl")
    ubuntu, debian = "198.51.100.80", "198.51.100.81"
    groups = [{"ranges": [ubuntu], "personality": "linux-5.4", "tcp": [25, 443]},
              {"ranges": [debian], "personality": "linux-3", "tcp": [25]}]
    scan, _chaff, proc, alarms = chaffutil.setup(topo, groups)
    cmd = ("(printf 'EHLO kali\\r\\n'; sleep 2; printf 'QUIT\\r\\n') | "
           "openssl s_client -starttls smtp -connect %s:25 -ign_eof 2>&1")
    out = topo.run(scan, "sh", "-c", cmd % ubuntu, check=False, timeout=30).stdout
    assert "-----BEGIN CERTIFICATE-----" in out, out
    assert "250-PIPELINING" in out and "250-AUTH PLAIN LOGIN" in out, out
    assert "250-STARTTLS" not in out, out	# not offered again inside TLS
    smtp_cert = re.search(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", out,
                          re.S).group(0)
    r = topo.run(scan, "sh", "-c", "openssl s_client -connect %s:443 </dev/null 2>&1" % ubuntu,
                 check=False, timeout=30)
    assert smtp_cert in r.stdout, "one host, one certificate"
    r = topo.run(scan, "/usr/bin/python3", "-c", SMTP_STARTTLS, debian, timeout=30)
    assert "plain-auth False" in r.stdout and "starttls 220" in r.stdout, r.stdout
    assert "'auth'" in r.stdout and "'starttls'" not in r.stdout, r.stdout
    assert "535 b'Incorrect authentication data'" in r.stdout, r.stdout
    chaffutil.wait_alarm(alarms, lambda a: a["kind"] == "login" and a["dport"] == 25 and
                         a.get("username") == "mailer" and a.get("password") == "tlspass",
                         what="smtp login alarm inside TLS")
    assert proc.poll() is None


RDP_TLS = r"""
import hashlib, hmac, os, socket, ssl, struct, sys, time

def der(tag, body):
    n = len(body)
    if n < 128:
        return bytes([tag, n]) + body
    if n < 256:
        return bytes([tag, 0x81, n]) + body
    return bytes([tag, 0x82, n >> 8, n & 255]) + body

def tsrequest(token):
    nego = der(0xa1, der(0x30, der(0x30, der(0xa0, der(0x04, token)))))
    return der(0x30, der(0xa0, b"\x02\x01\x06") + nego)

def authenticate(chal, user, domain, password):
    server_chal = chal[24:32]
    ti_len, _, ti_off = struct.unpack("<HHI", chal[40:48])
    ti = chal[ti_off:ti_off + ti_len]
    key = hmac.new(_md4(password.encode("utf-16-le")),
                   (user.upper() + domain).encode("utf-16-le"), hashlib.md5).digest()
    ft = int((time.time() + 11644473600) * 10000000)
    blob = b"\x01\x01\0\0\0\0\0\0" + struct.pack("<Q", ft) + os.urandom(8) + b"\0" * 4 + ti + b"\0" * 4
    nt = hmac.new(key, server_chal + blob, hashlib.md5).digest() + blob
    fields = [b"\0" * 24, nt, domain.encode("utf-16-le"), user.encode("utf-16-le"),
              "KALI".encode("utf-16-le"), b""]
    off, hdr, payload = 64, b"", b""
    for f in fields:
        hdr += struct.pack("<HHI", len(f), len(f), off + len(payload))
        payload += f
    return b"NTLMSSP\0" + struct.pack("<I", 3) + hdr + struct.pack("<I", 0x60088215) + payload

s = socket.create_connection((sys.argv[1], 3389), 5)
s.sendall(bytes.fromhex(sys.argv[2]))
cc = s.recv(100)
print("cc", cc.hex())
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
t = ctx.wrap_socket(s)
print("version", t.version())
open(sys.argv[3], "wb").write(t.getpeercert(True))
neg = bytes.fromhex("4e544c4d5353500001000000b78208e2000000000000000000000000000000000a00614a0000000f")
t.sendall(tsrequest(neg))
resp = t.recv(4096)
i = resp.find(b"NTLMSSP\0\x02\0\0\0")
print("challenge", i >= 0)
chal = resp[i:]
ti_len, _, ti_off = struct.unpack("<HHI", chal[40:48])
print("target", chal[ti_off:ti_off + ti_len].decode("utf-16-le", "replace").replace("\0", ""))
t.sendall(tsrequest(authenticate(chal, "rdpuser", "", "Winter2024!")))
try:
    r = t.recv(100)
    print("after", r.hex())
    print("after2", t.recv(100))
except (ssl.SSLError, OSError) as e:
    print("after", type(e).__name__)
"""


def test_rdp_tls_certificate(topo, tmp_path):
    """After a confirm selecting CredSSP the TLS handshake runs with the
    certificate Windows' Remote Desktop service makes: CN=the computer name
    (the NetBIOS name the decoy's SMB and name service give), six months;
    the first CredSSP message is recorded and the connection ends."""
    need("openssl", "nmblookup", "nmap")
    groups = [{"ranges": [WIN10], "personality": "windows-10", "tcp": [3389], "udp": [137]}]
    scan, _chaff, proc, alarms = chaffutil.setup(topo, groups)
    der = tmp_path / "rdp.der"
    # The client carries this file's MD4 (OpenSSL 3 gives hashlib none).
    script = "import struct\n" + inspect.getsource(_md4) + RDP_TLS
    r = topo.run(scan, "/usr/bin/python3", "-c", script, WIN10, _x224(3).hex(), str(der),
                 timeout=30)
    assert "cc 030000130ed00000123400021f080002000000" in r.stdout, r.stdout
    assert "version TLSv1.2" in r.stdout and "challenge True" in r.stdout, r.stdout
    # TSRequest v6 with errorCode STATUS_LOGON_FAILURE, then the end.
    assert "a0030201" in r.stdout and "a406020400c00000" not in r.stdout and \
        "a4060204c000006d" in r.stdout, r.stdout
    text = subprocess.run(["openssl", "x509", "-inform", "der", "-in", str(der), "-noout",
                           "-subject", "-issuer", "-dates", "-ext", "extendedKeyUsage"],
                          capture_output=True, text=True, check=True).stdout
    m = re.search(r"subject=CN ?= ?(DESKTOP-[A-Z0-9]{7})\n", text)
    assert m, text
    name = m.group(1)
    assert "issuer=CN = %s" % name in text.replace("CN=", "CN = "), text
    assert "TLS Web Server Authentication" in text, text
    out = topo.run(scan, "nmblookup", "-A", WIN10, check=False, timeout=30).stdout
    assert re.search(r"^\s+%s\s+<00> -" % name, out, re.M), out
    # The NTLM exchange inside CredSSP is captured: crackable to the password.
    login = chaffutil.wait_alarm(alarms, lambda a: a["kind"] == "login" and
                                 a["dport"] == 3389, what="rdp credssp login alarm")
    assert login[0]["username"] == "rdpuser", login[0]
    assert "rdp ntlmv2 workstation=KALI" in login[0]["detail"], login[0]
    assert _ntlmv2_matches(login[0]["password"], "Winter2024!"), login[0]
    assert not _ntlmv2_matches(login[0]["password"], "Winter2025!")
    assert "target" in r.stdout and name in r.stdout, r.stdout   # its CHALLENGE's names
    # nmap's own RDP preamble (ssl-cert) gets the same certificate.
    out = topo.run(scan, "nmap", "-n", "-Pn", "-p", "3389", "--script",
                   "ssl-cert,rdp-enum-encryption", WIN10, check=False, timeout=120).stdout
    assert "Subject: commonName=%s" % name in out, out
    assert "CredSSP (NLA): SUCCESS" in out, out
    # A ClientHello with no X.224 request before it: Windows runs the
    # handshake all the same (nmap's ssl-cert above relies on it), and so does
    # the decoy.
    r = topo.run(scan, "sh", "-c", "openssl s_client -connect %s:3389 </dev/null 2>&1" % WIN10,
                 check=False, timeout=30)
    assert "BEGIN CERTIFICATE" in r.stdout and "CN = %s" % name in r.stdout, r.stdout
    assert proc.poll() is None
