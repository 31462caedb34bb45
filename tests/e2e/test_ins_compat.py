"""moat-ins compatibility: unmodified programs that tripped the shim before
(an interposed call before the shim's constructor, an environment wiped after
load, privileges dropped, resolver corners) work under moat-ins. Each test is
a row of the compatibility table in docs/ins.md (test_compat_table_rows)."""
import os
import re
import textwrap

from inslib import CLI_ADDR, SRV_ADDR, moat_ins, port_open, proc_output, two_namespaces

PY = "/usr/bin/python3"
HERE = os.path.dirname(os.path.abspath(__file__))


def test_setpriv_runuser_su_early_close(topo):
    """setpriv, runuser and su call close() from a library constructor that runs
    before the shim's own: the real close must already work (was SIGSEGV)."""
    srv, _ = two_namespaces(topo)
    for argv in (["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "true"],
                 ["runuser", "-u", "nobody", "--", "true"],
                 ["su", "-s", "/bin/sh", "nobody", "-c", "true"]):
        r = topo.run(srv, *moat_ins("--", *argv), check=False)
        assert r.returncode == 0, (argv, r.returncode, r.stderr)


ENV_WIPE_CLIENT = textwrap.dedent("""
    import os, socket, sys
    os.environ.clear()              # as nginx does for its workers
    for k in list(os.environ):
        os.unsetenv(k)
    s = socket.create_connection((sys.argv[1], 8000), timeout=5)
    s.sendall(b"GET / HTTP/1.0\\r\\n\\r\\n")
    print(s.recv(100).split(b"\\r\\n")[0].decode())
""")


def test_environment_wiped_after_load(topo):
    """The control socket path is read once at load: a program that clears its
    environment before its first socket still reaches the broker."""
    srv, cli = two_namespaces(topo)
    server = topo.spawn(cli, PY, "-m", "http.server", "--bind", CLI_ADDR, "8000")
    port_open(topo, srv, CLI_ADDR, 8000)
    r = topo.run(srv, *moat_ins("--isolate", "--", PY, "-c", ENV_WIPE_CLIENT, CLI_ADDR),
                 check=False)
    proc_output(server)
    assert r.returncode == 0 and "200" in r.stdout, (r.stdout, r.stderr)


def test_compat_table_rows():
    """Every row of docs/ins.md's compatibility table names a test that exists."""
    doc = open(os.path.join(HERE, "..", "..", "docs", "ins.md")).read()
    section = doc.split("### Compatibility", 1)[1].split("\n#", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|") and "---" not in line][1:]
    assert rows
    source = "".join(open(os.path.join(HERE, f)).read()
                     for f in os.listdir(HERE) if f.startswith("test_ins_"))
    for row in rows:
        tests = re.findall(r"`(test_\w+)`", row)
        assert tests, row
        for t in tests:
            assert "def %s(" % t in source, (row, t)


NGINX_PROXY_CONF = """
daemon off;
master_process on;
worker_processes 2;
user www-data;
pid {d}/nginx.pid;
error_log stderr warn;
events {{ worker_connections 256; use epoll; }}
http {{
    access_log off;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    server {{
        listen 80 default_server;
        location / {{ proxy_pass http://{upstream}:8080; }}
    }}
}}
"""


def test_nginx_reverse_proxy(topo):
    """nginx as a reverse proxy: its workers (user www-data, environment cleared)
    connect to an upstream in another namespace through the broker."""
    import shutil
    import tempfile
    from inslib import curl
    srv, cli = two_namespaces(topo)
    with tempfile.TemporaryDirectory() as up:
        with open(os.path.join(up, "up.txt"), "w") as f:
            f.write("from upstream\n")
        upstream = topo.spawn(cli, PY, "-m", "http.server", "--bind", CLI_ADDR, "--directory",
                              up, "8080")
        port_open(topo, cli, CLI_ADDR, 8080)
        d = tempfile.mkdtemp(prefix="moat-nginx-")
        try:
            os.chmod(d, 0o755)
            conf = os.path.join(d, "nginx.conf")
            with open(conf, "w") as f:
                f.write(NGINX_PROXY_CONF.format(d=d, upstream=CLI_ADDR))
            p = topo.spawn(srv, *moat_ins("--isolate", "--", "nginx", "-e", "stderr", "-p", d,
                                          "-c", conf))
            port_open(topo, cli, SRV_ADDR, 80)
            codes = [curl(topo, cli, "http://%s/up.txt" % SRV_ADDR) for _ in range(10)]
            body = topo.run(cli, "curl", "-s", "-m", "5", "http://%s/up.txt" % SRV_ADDR).stdout
            out = proc_output(p)
        finally:
            shutil.rmtree(d, ignore_errors=True)
        proc_output(upstream)
    assert codes == ["200"] * 10, out
    assert body == "from upstream\n"


DNS_QUERY = textwrap.dedent("""
    import socket, struct, sys
    server, name, proto = sys.argv[1], sys.argv[2], sys.argv[3]
    q = struct.pack("!HHHHHH", 0x4d49, 0x0100, 1, 0, 0, 0)
    q += b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\\0"
    q += struct.pack("!HH", 1, 1)
    if proto == "udp":
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(3)
        s.sendto(q, (server, 53))
        r = s.recv(4096)
    else:
        s = socket.create_connection((server, 53), timeout=3)
        s.sendall(struct.pack("!H", len(q)) + q)
        n = struct.unpack("!H", s.recv(2))[0]
        r = b""
        while len(r) < n:
            r += s.recv(n - len(r))
    print(socket.inet_ntoa(r[-4:]))
""")


def test_dnsmasq_udp_tcp(topo):
    """dnsmasq (wildcard, and --bind-dynamic, which enumerates interfaces over
    netlink) answers over UDP and TCP from another namespace."""
    srv, cli = two_namespaces(topo)
    for extra in ([], ["--bind-dynamic"]):
        p = topo.spawn(srv, *moat_ins("--isolate", "--", "dnsmasq", "--no-daemon",
                                      "--no-resolv", "--no-hosts", "--conf-file=/dev/null",
                                      "--log-facility=-", "--pid-file=",
                                      "--address=/moat.test/203.0.113.77", *extra))
        try:
            port_open(topo, cli, SRV_ADDR, 53)
            got = [topo.run(cli, PY, "-c", DNS_QUERY, SRV_ADDR, "www.moat.test", proto,
                            check=False).stdout.strip() for proto in ("udp", "tcp")]
        finally:
            out = proc_output(p)
        assert got == ["203.0.113.77"] * 2, (extra, got, out)



NETLINK_PROBE = textwrap.dedent("""
    import errno, json, socket, struct, sys
    RTM_NEWLINK, RTM_GETLINK, RTM_NEWADDR = 16, 18, 20
    NLMSG_ERROR, NLMSG_DONE = 2, 3
    REQ, ACK, DUMP, EXCL, CREATE = 1, 4, 0x300, 0x200, 0x400
    addr, how = sys.argv[1], sys.argv[2]

    def msgs(s):
        while True:
            data = s.recv(65536)
            off = 0
            while off + 16 <= len(data):
                ln, typ, _, _, _ = struct.unpack_from("=IHHII", data, off)
                yield typ, data[off + 16:off + ln]
                off += (ln + 3) & ~3

    def links(s):
        s.send(struct.pack("=IHHII", 32, RTM_GETLINK, REQ | DUMP, 1, 0) + bytes(16))
        names = {}
        for typ, body in msgs(s):
            if typ == NLMSG_DONE:
                return names
            if typ != RTM_NEWLINK:
                continue
            index = struct.unpack_from("=i", body, 4)[0]
            off = 16
            while off + 4 <= len(body):
                alen, atype = struct.unpack_from("=HH", body, off)
                if atype == 3:              # IFLA_IFNAME
                    names[body[off + 4:off + alen].rstrip(b"\\0").decode()] = index
                off += (alen + 3) & ~3

    def add_addr(s, index):
        a = socket.inet_aton(addr)
        body = struct.pack("=BBBBi", socket.AF_INET, 32, 0, 0, index)
        body += struct.pack("=HH", 8, 2) + a + struct.pack("=HH", 8, 1) + a
        msg = struct.pack("=IHHII", 16 + len(body), RTM_NEWADDR,
                          REQ | ACK | EXCL | CREATE, 2, 0) + body
        if how == "sendto":             # explicit address: as ip(8), libnl, dnsmasq
            s.sendto(msg, (0, 0))
        else:                           # no address: the opener's credentials count too
            s.send(msg)
        for typ, body in msgs(s):
            if typ == NLMSG_ERROR:
                return -struct.unpack_from("=i", body)[0]

    cap_eff = int([l for l in open("/proc/self/status") if l.startswith("CapEff")][0].split()[1], 16)
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
    s.bind((0, 0))
    names = links(s)
    print(json.dumps({"net_admin": bool(cap_eff & (1 << 12)), "links": names,
                      "add": errno.errorcode.get(add_addr(s, names["lo"]), "0")}))
""")


def test_netlink_route_read_only(topo):
    """A NETLINK_ROUTE socket from the broker shows the broker's namespace (its
    veth, though --isolate leaves the program only a loopback) and changes
    nothing: RTM_NEWADDR from a root program inside --isolate is refused
    (EPERM) with and without an explicit address, and by ip(8); the namespace
    is unchanged. Without --isolate a root program holds CAP_NET_ADMIN, so the
    broker refuses it its socket and the program gets its own (same namespace,
    as without moat-ins): a send() without address succeeds, which it could not
    on the broker's socket (opened without CAP_NET_ADMIN)."""
    import json
    from conftest import binpath
    srv, _ = two_namespaces(topo)
    moat = binpath("moat")
    veth = topo.run(srv, "ip", "-o", "-4", "addr", "show", "to", SRV_ADDR).stdout.split()[1]
    for how in ("send", "sendto"):
        r = topo.run(srv, moat, "run", "--isolate", "--", PY, "-c", NETLINK_PROBE,
                     "203.0.113.99", how, check=False, timeout=20)
        assert r.returncode == 0, (how, r.stdout, r.stderr)
        got = json.loads(r.stdout)
        assert veth in got["links"] and "lo" in got["links"], (how, got)
        assert got == dict(got, net_admin=False, add="EPERM"), (how, got)
    r = topo.run(srv, moat, "run", "--isolate", "--", "ip", "addr", "add", "203.0.113.99/32",
                 "dev", "lo", check=False, timeout=20)
    assert r.returncode != 0 and "not permitted" in r.stderr, (r.stdout, r.stderr)
    assert "203.0.113.99" not in topo.run(srv, "ip", "-o", "addr").stdout
    r = topo.run(srv, moat, "run", "--", PY, "-c", NETLINK_PROBE, "203.0.113.98", "send",
                 check=False, timeout=20)
    assert r.returncode == 0, (r.stdout, r.stderr)
    got = json.loads(r.stdout)
    assert veth in got["links"] and got["net_admin"] and got["add"] == "0", got
    assert "203.0.113.98" in topo.run(srv, "ip", "-o", "addr").stdout


HOSTS_BROKER = ("127.0.0.1 localhost\n::1 localhost\n"
                "192.0.2.55 gotest.example gotest-alias\n2001:db8::55 gotest.example\n")
HOSTS_PROGRAM = "127.0.0.1 localhost\n::1 localhost\n198.51.100.9 gotest.example gotest-alias\n"


def test_resolver_matches_glibc(topo, tmp_path):
    """getaddrinfo with AI_CANONNAME, socktype 0 (STREAM, DGRAM, RAW per
    address), SOCK_RAW and protocol hints, gethostbyname_r (Python's
    gethostbyname_ex), gethostbyname and gethostbyname2 through the shim give
    exactly glibc's answers for names in the broker's /etc/hosts. The program
    sees another /etc/hosts (a mount namespace of its own), so an answer that
    did not come from the broker would differ."""
    srv, _ = two_namespaces(topo)
    (tmp_path / "broker").write_text(HOSTS_BROKER)
    (tmp_path / "program").write_text(HOSTS_PROGRAM)
    probe = "%s %s gotest.example gotest-alias localhost nonexistent.invalid" % (
        PY, os.path.join(HERE, "ins_resolve_probe.py"))
    ref = topo.run(srv, "unshare", "-m", "sh", "-c", "mount --bind %s /etc/hosts && exec %s"
                   % (tmp_path / "broker", probe), check=False, timeout=30)
    inner = "mount --bind %s /etc/hosts && exec %s" % (tmp_path / "program", probe)
    outer = "mount --bind %s /etc/hosts && exec %s -- unshare -m sh -c '%s'" % (
        tmp_path / "broker", " ".join(moat_ins()), inner)
    got = topo.run(srv, "unshare", "-m", "sh", "-c", outer, check=False, timeout=30)
    assert ref.returncode == 0 and got.returncode == 0, ref.stderr + got.stderr
    assert "192.0.2.55" in ref.stdout and "'gotest.example'" in ref.stdout, ref.stdout
    assert "SOCK_RAW" in ref.stdout, ref.stdout
    lines = [line for line in got.stdout.splitlines() if not line.startswith("moat-ins:")]
    assert lines == ref.stdout.splitlines(), got.stdout + got.stderr


IFNAMES = "import socket; print(sorted(n for _, n in socket.if_nameindex()))"


def test_if_nameindex_past_the_shim(topo):
    """glibc's if_nameindex (and getifaddrs) open their NETLINK_ROUTE socket
    inside the C library, past the shim: under --isolate the seccomp
    notification filter hands them one in the broker's namespace, so they list
    the interfaces a native run there sees (without it: only lo)."""
    srv, _ = two_namespaces(topo)
    native = topo.run(srv, PY, "-c", IFNAMES, check=False, timeout=20)
    r = topo.run(srv, *moat_ins("--isolate", "--", PY, "-c", IFNAMES), check=False, timeout=20)
    assert native.returncode == 0 and r.returncode == 0, native.stderr + r.stderr
    assert len(eval(native.stdout)) >= 2, native.stdout     # lo and the veth
    assert r.stdout.splitlines()[-1] == native.stdout.strip(), r.stdout + r.stderr
