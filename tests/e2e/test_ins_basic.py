"""moat-ins end to end: python3 -m http.server and a UDP pair run unmodified
under `moat-ins --isolate` (what `moat run --isolate` execs) in one namespace
and serve clients in another; code that bypasses the shim has no network."""
import os
import tempfile
import textwrap

from inslib import (CLI_ADDR, SRV_ADDR, SRV_ADDR6, curl, moat_ins, port_open, proc_output,
                    two_namespaces)

PY = "/usr/bin/python3"


def test_http_server_ipv4_and_ipv6(topo):
    srv, cli = two_namespaces(topo)
    with tempfile.TemporaryDirectory() as www:
        with open(os.path.join(www, "hello.txt"), "w") as f:
            f.write("hello from an isolated app\n")
        # --bind ::, dual stack: without it http.server takes getaddrinfo's first
        # passive address, 0.0.0.0 in this namespace (as natively; glibc's sorting
        # socket is brokered now, so it sees the namespace as a native run would).
        p = topo.spawn(srv, *moat_ins("-v", "--isolate", "--", PY, "-m", "http.server",
                                      "--bind", "::", "8000", "--directory", www))
        port_open(topo, cli, SRV_ADDR, 8000)
        codes = [curl(topo, cli, "http://%s:8000/hello.txt" % SRV_ADDR) for _ in range(20)]
        codes += [curl(topo, cli, "http://[%s]:8000/hello.txt" % SRV_ADDR6) for _ in range(5)]
        body = topo.run(cli, "curl", "-s", "-m", "5", "http://%s:8000/hello.txt" % SRV_ADDR).stdout
        out = proc_output(p)
    assert codes == ["200"] * 25, out
    assert body == "hello from an isolated app\n"
    assert "listening on port 8000" in out


UDP_ECHO = textwrap.dedent("""
    import socket, sys
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", 9999))
    for _ in range(int(sys.argv[1])):
        data, peer = s.recvfrom(2048)
        s.sendto(b"echo:" + data, peer)
""")

UDP_CLIENT = textwrap.dedent("""
    import socket, sys
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(0.5)
    got = 0
    for i in range(40):
        s.sendto(b"ping%d" % i, (sys.argv[1], 9999))
        try:
            data, _ = s.recvfrom(2048)
            got += data.startswith(b"echo:ping")
        except socket.timeout:
            pass
        if got >= 10:
            break
    print(got)
""")


def test_udp_pair(topo):
    """UDP server under moat-ins in one namespace, UDP client under moat-ins in another."""
    srv, cli = two_namespaces(topo)
    p = topo.spawn(srv, *moat_ins("--isolate", "--", PY, "-c", UDP_ECHO, "40"))
    r = topo.run(cli, *moat_ins("--isolate", "--", PY, "-c", UDP_CLIENT, SRV_ADDR),
                 check=False, timeout=30)
    out = proc_output(p)
    assert r.returncode == 0, r.stderr + out
    assert int(r.stdout.strip().splitlines()[-1]) >= 10, r.stdout + out


BYPASS = textwrap.dedent("""
    import ctypes, errno, socket, struct, sys
    libc = ctypes.CDLL(None, use_errno=True)
    SYS_socket, SYS_connect = 41, 42
    fd = libc.syscall(SYS_socket, socket.AF_INET, socket.SOCK_STREAM, 0)
    sin = struct.pack("!HH4s8x", socket.AF_INET, 80, socket.inet_aton(sys.argv[1]))
    sin = struct.pack("=H", socket.AF_INET) + sin[2:]
    r = libc.syscall(SYS_connect, fd, ctypes.c_char_p(sin), len(sin))
    print("raw", r, errno.errorcode.get(ctypes.get_errno(), "0"))
    s = socket.socket()
    s.settimeout(3)
    print("shim", s.connect_ex((sys.argv[1], 80)))
""")


def test_isolation_raw_syscalls_brokered(topo):
    """A raw socket(2) syscall (no shim) in the isolated app is brokered through
    moat-ins's seccomp notification filter (src/ins/notif.c): its connect
    reaches the peer's port 80, as the same connect through the shim does.
    (What cannot be brokered stays in the empty namespace: test_ins_go.py.)"""
    srv, cli = two_namespaces(topo)
    topo.spawn(cli, PY, "-c", "import socket;s=socket.socket();"
               "s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1);"
               "s.bind(('0.0.0.0',80));s.listen();import time;time.sleep(30)")
    port_open(topo, srv, CLI_ADDR, 80)
    r = topo.run(srv, *moat_ins("--isolate", "--", PY, "-c", BYPASS, CLI_ADDR), check=False,
                 timeout=20)
    lines = r.stdout.split("\n")
    assert lines[0] == "raw 0 0", r.stdout + r.stderr
    assert "seccomp notification: brokered 1 " in r.stdout + r.stderr, r.stdout + r.stderr
    assert lines[1] == "shim 0", r.stdout + r.stderr


def test_connect_policy_and_hostile_client(topo):
    """connect() outside the policy's allow list fails with ENETUNREACH; a
    client sending garbage on the control socket is dropped, the broker lives."""
    srv, cli = two_namespaces(topo)
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as pol:
        pol.write("connect:\n  allow: [\"198.51.100.0/24\"]\n")
    script = textwrap.dedent("""
        import os, socket, sys
        s = socket.socket(); s.settimeout(2)
        print("denied", s.connect_ex((sys.argv[1], 80)))
        c = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        c.connect(os.environ["MOAT_INS_SOCK"])
        c.send(b"\\x4d\\x49\\x01\\x01garbage")
        print("dropped", c.recv(100))
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        print("alive", u.fileno() >= 0)
    """)
    try:
        r = topo.run(srv, *moat_ins("--policy", pol.name, "--isolate", "--", PY, "-c", script,
                                    CLI_ADDR), check=False, timeout=20)
    finally:
        os.unlink(pol.name)
    import errno
    assert "denied %d" % errno.ENETUNREACH in r.stdout, r.stdout + r.stderr
    assert "dropped b''" in r.stdout, r.stdout + r.stderr
    assert "alive True" in r.stdout, r.stdout + r.stderr


def test_moat_run_cli(topo):
    """`moat run --isolate` (the CLI) execs moat-ins: the command's exit status
    comes back, and its namespace has only a loopback that is down (seen in
    /proc/self/net, which is the reader's namespace: any NETLINK_ROUTE socket,
    through the shim or the seccomp notification filter, reads the broker's)."""
    import pytest
    from conftest import binpath
    try:
        moat = binpath("moat")
    except FileNotFoundError:
        pytest.skip("moat (the CLI) not built")
    srv, _ = two_namespaces(topo)
    r = topo.run(srv, moat, "run", "--isolate", "--", "sh", "-c",
                 "cat /proc/self/net/dev; echo v6; cat /proc/self/net/if_inet6",
                 check=False, timeout=20)
    assert r.returncode == 0, r.stderr
    dev, v6 = r.stdout.split("v6\n")
    links = [ln.split(":")[0].strip() for ln in dev.splitlines()[2:] if ln.strip()]
    assert links == ["lo"], r.stdout
    assert v6.strip() == "", r.stdout       # lo down: not even ::1
    r = topo.run(srv, moat, "run", "--", PY, "-c", "import sys; sys.exit(7)", check=False,
                 timeout=20)
    assert r.returncode == 7
    r = topo.run(srv, moat, "run", "--hold", "sometimes", "--", "true", check=False)
    assert r.returncode == 2


FORK_EXEC = textwrap.dedent("""
    import os, socket, sys
    def use_network(tag):
        s = socket.socket()
        s.settimeout(3)
        r = s.connect_ex((sys.argv[1], 80))
        print(tag, r, flush=True)
        s.close()
    use_network("parent")
    pid = os.fork()
    if pid == 0:
        use_network("child")             # its own control connection
        os.closerange(3, 65536)          # close-everything code
        use_network("after-closerange")
        os.execv(sys.executable, [sys.executable, "-c",
                 "import socket,sys;s=socket.socket();s.settimeout(3);"
                 "print('after-exec', s.connect_ex((sys.argv[1], 80)), flush=True)", sys.argv[1]])
    os.waitpid(pid, 0)
    use_network("parent-again")
""")


def test_fork_closerange_exec(topo):
    """The shim keeps working in a forked child, after the child closes every
    descriptor, and in a new image after exec (re-connecting from the environment)."""
    srv, cli = two_namespaces(topo)
    topo.spawn(cli, PY, "-c", "import socket;s=socket.socket();"
               "s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1);"
               "s.bind(('0.0.0.0',80));s.listen(64);import time;time.sleep(30)")
    port_open(topo, srv, CLI_ADDR, 80)
    r = topo.run(srv, *moat_ins("--isolate", "--", PY, "-c", FORK_EXEC, CLI_ADDR), check=False,
                 timeout=30)
    lines = sorted(r.stdout.split())
    assert r.stdout.count(" 0\n") == 5, r.stdout + r.stderr
    for tag in ("parent", "child", "after-closerange", "after-exec", "parent-again"):
        assert "%s 0" % tag in r.stdout, r.stdout + r.stderr


def test_check_mode(tmp_path):
    """moat-ins --check validates a policy file: 0 and a summary, or 1 and file:line:col."""
    import subprocess
    good = tmp_path / "good.yaml"
    good.write_text("hold:\n  mode: http\n  timeout_ms: 3000\n")
    bad = tmp_path / "bad.yaml"
    bad.write_text("hold:\n  mode: http\n  timeout_ms: 1\n")
    r = subprocess.run(moat_ins("--check", "--policy", str(good)), capture_output=True, text=True)
    assert r.returncode == 0 and "hold http (3000 ms" in r.stdout, r.stdout + r.stderr
    r = subprocess.run(moat_ins("--check", "--policy", str(bad)), capture_output=True, text=True)
    assert r.returncode == 1 and "bad.yaml:3:" in r.stderr, r.stderr


LISTEN_FDS = textwrap.dedent("""
    import os, socket, sys
    if len(sys.argv) > 2:                       # the new image: systemd-style LISTEN_FDS
        fd = int(os.environ["LISTEN_FDS_START"])
        s = socket.socket(fileno=fd)             # asks SO_DOMAIN/SO_TYPE of the doorbell
        print("inherited", s.family.name, s.type.name, s.getsockname()[1], flush=True)
        while True:                             # the readiness probe connects first
            c, peer = s.accept()
            data = c.recv(10)
            if data:
                print("accepted", data.decode(), flush=True)
                sys.exit(0)
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", 8080))
    s.listen(8)
    os.set_inheritable(s.fileno(), True)
    os.environ["LISTEN_FDS_START"] = str(s.fileno())
    os.execv(sys.executable, [sys.executable, "-c", SRC, sys.argv[1], "child"])
""")


def test_listener_survives_exec(topo):
    """A listener handed across exec (nginx binary upgrade, systemd LISTEN_FDS):
    the new image recognises the doorbell, describes it as a TCP listener on
    its port, and accepts from it."""
    srv, cli = two_namespaces(topo)
    script = "SRC = %r\n" % LISTEN_FDS + LISTEN_FDS
    p = topo.spawn(srv, *moat_ins("--isolate", "--", PY, "-c", script, "x"))
    port_open(topo, cli, SRV_ADDR, 8080)
    topo.run(cli, PY, "-c", "import socket;s=socket.create_connection(('%s',8080));"
             "s.send(b'hello');import time;time.sleep(1)" % SRV_ADDR, check=False)
    out = proc_output(p)
    assert "inherited AF_INET SOCK_STREAM 8080" in out, out
    assert "accepted hello" in out, out
