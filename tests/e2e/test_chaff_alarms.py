"""moat-chaff alarms: curl to a decoy web server is a service alarm with the
request line; a telnet/FTP login attempt carries the credentials; alarms
reach a moatd stand-in by HTTP POST and a syslog socket in RFC 5424 form;
an allow-listed source never alarms."""
import json
import re
import os
import socket
import tempfile
import time

from conftest import need
from nslib import wait_for
import chaffutil

DECOY = "198.51.100.60"

FAKE_MOATD = r"""
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with open(sys.argv[1], "ab") as f:
            f.write(self.headers.get("Authorization", "").encode() + b" " + body + b"\n")
        self.send_response(201); self.send_header("Content-Length", "0"); self.end_headers()
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", 18080), H).serve_forever()
"""


def _syslog_socket():
    d = tempfile.mkdtemp(prefix="chaff-syslog-")
    path = os.path.join(d, "log.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    s.settimeout(5)
    return s, path


def test_service_login_post_and_syslog(topo):
    need("curl")
    posted = tempfile.mktemp(prefix="chaff-posted-")
    token = tempfile.mktemp(prefix="chaff-token-")
    with open(token, "w") as f:
        f.write("abc123\n")
    os.chmod(token, 0o600)
    sl, sl_path = _syslog_socket()
    scan = topo.ns("scan")
    chaff = topo.ns("chaff")
    topo.veth(scan, chaffutil.SCANNER_ADDR + "/16", chaff, None, name_b="chaff0")
    topo.spawn(chaff, "/usr/bin/python3", "-c", FAKE_MOATD, posted)
    time.sleep(0.5)
    conf, alarms = chaffutil.write_config(
        [{"ranges": [DECOY], "personality": "linux-5.4", "tcp": [21, 23, 80]}],
        alarms={"syslog": "unix:" + sl_path,
                "moatd_url": "http://127.0.0.1:18080/api/v1/alarms",
                "moatd_token_file": token})
    proc = topo.spawn(chaff, chaffutil.binpath("moat-chaff"), "-c", conf)
    time.sleep(0.4)
    assert proc.poll() is None, proc.stdout.read()

    out = topo.run(scan, "curl", "-s", "-m", "5", "-i", "http://%s/wp-login.php" % DECOY).stdout
    assert out.startswith("HTTP/1.1 404 Not Found"), out   # nginx has no wp-login.php
    assert "Server: nginx/1.18.0 (Ubuntu)" in out
    svc = chaffutil.wait_alarm(alarms, lambda a: a["kind"] == "service", what="http alarm")
    assert svc[0]["detail"] == "GET /wp-login.php HTTP/1.1"
    assert svc[0]["decoy"] == DECOY and svc[0]["src"] == chaffutil.SCANNER_ADDR
    assert svc[0]["personality"] == "linux-5.4"

    # An FTP login attempt, by hand over a TCP socket from the scanner.
    script = ("import socket,time\n"
              "s=socket.create_connection(('%s',21),5)\n"
              "print(s.recv(200).decode())\n"
              "s.sendall(b'USER admin\\r\\n'); print(s.recv(200).decode())\n"
              "s.sendall(b'PASS hunter2\\r\\n'); print(s.recv(200).decode())\n" % DECOY)
    ftp = topo.run(scan, "/usr/bin/python3", "-c", script, timeout=20).stdout
    assert "220 (vsFTPd 3.0.3)" in ftp and "530 Login incorrect." in ftp, ftp
    login = chaffutil.wait_alarm(alarms, lambda a: a["kind"] == "login", what="login alarm")
    assert login[0]["username"] == "admin" and login[0]["password"] == "hunter2"

    # The same alarms reached moatd's stand-in with the bearer token ...
    def posted_kinds():
        try:
            lines = open(posted).read().splitlines()
        except FileNotFoundError:
            return None
        return [l for l in lines if l.startswith("Bearer abc123 ")]
    lines = wait_for(lambda: (lambda p: p if p and any('"login"' in l for l in p) else None)(
        posted_kinds()), timeout=10, what="POST to moatd")
    kinds = {json.loads(l.split(" ", 2)[2])["kind"] for l in lines}
    assert {"service", "login"} <= kinds
    # ... and syslog, RFC 5424 with structured data.
    msg = sl.recv(8192).decode()
    assert msg.startswith("<132>1 ") and " moat-chaff " in msg and "[moat@32473 src=" in msg, msg
    assert proc.poll() is None


def test_allow_listed_source_never_alarms(topo):
    need("nmap")
    scan, _, proc, alarms = chaffutil.setup(
        topo, [{"ranges": ["198.51.100.68/30"], "personality": "windows-10", "tcp": [445]}],
        alarms={"allow": [chaffutil.SCANNER_ADDR + "/32"]})
    out = topo.run(scan, "nmap", "-sS", "-n", "-p", "445,3389", "198.51.100.68/30",
                   timeout=120).stdout
    assert re.search(r"445/tcp\s+open", out), out
    time.sleep(3)   # past the 2 s window
    assert chaffutil.read_alarms(alarms) == []
    assert proc.poll() is None


def test_ssh_login_attempt_carries_credentials(topo):
    need("sshpass", "ssh")
    scan, _, proc, alarms = chaffutil.setup(
        topo, [{"ranges": ["198.51.100.90"], "personality": "linux-5.4", "tcp": [22]}])
    r = topo.run(scan, "sshpass", "-p", "s3cret pass", "ssh", "-o", "StrictHostKeyChecking=no",
                 "-o", "UserKnownHostsFile=/dev/null", "-o", "PubkeyAuthentication=no",
                 "-o", "ConnectTimeout=10", "-o", "NumberOfPasswordPrompts=1",
                 "-o", "LogLevel=ERROR", "root@198.51.100.90", "true", check=False, timeout=60)
    assert r.returncode != 0    # always denied
    assert "Permission denied" in r.stderr, r.stderr
    login = chaffutil.wait_alarm(alarms, lambda a: a["kind"] == "login", what="ssh login alarm")
    assert login[0]["username"] == "root" and login[0]["password"] == "s3cret pass"
    assert login[0]["detail"].startswith("SSH-2.0-OpenSSH")   # the client's identification
    # The server's identification is the impersonated OpenSSH's.
    banner = topo.run(scan, "/usr/bin/python3", "-c",
                      "import socket; s=socket.create_connection(('198.51.100.90',22),5);"
                      "print(s.recv(100).decode().strip())", timeout=20).stdout.strip()
    assert banner == "SSH-2.0-OpenSSH_8.2p1 Ubuntu-4ubuntu0.5"
    # A normal close is not mistaken for a scan.
    time.sleep(0.5)
    assert not [a for a in chaffutil.read_alarms(alarms)
                if a["kind"] in ("ack_scan", "fin_scan")]
    assert proc.poll() is None
