"""moat-ins end to end: the connect policy is enforced by the kernel. A
program under `moat-ins --isolate` that skips the shim and calls connect(2)
and sendto(2) with raw syscalls on a brokered socket still reaches only the
policy's destinations: moat-ins marks every socket it hands out and its
nftables table (inet moat_ins_<mark>) drops marked packets to anything else. A
SIGHUP reloads the policy into the kernel; the table is gone after exit. Two
moat-ins in one network namespace each get a mark and a table of their own
and never judge, replace or remove each other's."""
import json
import os
import select
import signal
import tempfile
import textwrap
import time

from inslib import CLI_ADDR, SRV_ADDR, moat_ins, proc_output

PY = "/usr/bin/python3"
DENIED_ADDR = "192.0.2.4"      # a second address of the peer, outside the policy
TCP_PORT, UDP_PORT = 8080, 9090
MARK_BASE = 0x4d490000          # POLICY_MARK_BASE: the first moat-ins of a namespace gets it


def table_of(mark):
    return "moat_ins_%08x" % mark

# In the peer's namespace: a TCP listener and a UDP socket on each of its
# addresses; every connection or datagram that arrives is printed.
PEER = textwrap.dedent("""
    import select, socket, sys
    socks = []
    for a in sys.argv[1:]:
        t = socket.socket(); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        t.bind((a, %d)); t.listen(16)
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind((a, %d))
        socks += [t, u]
    print("ready", flush=True)
    while True:
        for s in select.select(socks, [], [], 60)[0]:
            if s.type == socket.SOCK_STREAM:
                c, _ = s.accept(); print("tcp", c.getsockname()[0], flush=True); c.close()
            else:
                data, _ = s.recvfrom(100)
                print("udp", s.getsockname()[0], data.decode(), flush=True)
""" % (TCP_PORT, UDP_PORT))

# Under moat-ins: sockets come from the broker (through the shim), connect and
# sendto go straight to the kernel. Round 1 at start, round 2 after SIGHUP
# (which moat-ins passes on after reloading its policy).
APP = textwrap.dedent("""
    import ctypes, errno, signal, socket, struct, sys, time
    libc = ctypes.CDLL(None, use_errno=True)
    SYS_connect, SYS_sendto = 42, 44
    def sin(addr, port):
        return struct.pack("<H", socket.AF_INET) + struct.pack(">H", port) + \\
            socket.inet_aton(addr) + bytes(8)
    def raw_connect(addr):
        s = socket.socket(); s.settimeout(None)
        sa = sin(addr, %d)
        r = libc.syscall(SYS_connect, s.fileno(), sa, len(sa))
        e = ctypes.get_errno(); s.close()
        return "0" if r == 0 else errno.errorcode.get(e, str(e))
    def raw_sendto(addr, tag):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sa, msg = sin(addr, %d), tag.encode()
        r = libc.syscall(SYS_sendto, u.fileno(), msg, len(msg), 0, sa, len(sa))
        e = ctypes.get_errno(); u.close()
        return "0" if r == len(msg) else errno.errorcode.get(e, str(e))
    def round(n):
        for a in sys.argv[1:]:
            print("round%%d connect %%s %%s" %% (n, a, raw_connect(a)), flush=True)
            print("round%%d sendto %%s %%s" %% (n, a, raw_sendto(a, "r%%d" %% n)), flush=True)
        print("round%%d done" %% n, flush=True)
    hup = []
    signal.signal(signal.SIGHUP, lambda *_: hup.append(1))
    round(1)
    while not hup:
        time.sleep(0.05)
    round(2)
    time.sleep(60)
""" % (TCP_PORT, UDP_PORT))


def read_until(p, marker, timeout=15):
    """Lines p prints until one equals marker (raw reads: select and a
    buffered reader do not mix)."""
    buf, deadline = b"", time.time() + timeout
    while time.time() < deadline:
        lines = buf.decode(errors="replace").splitlines()
        if marker in lines:
            return lines
        if select.select([p.stdout], [], [], 0.5)[0]:
            chunk = os.read(p.stdout.fileno(), 4096)
            if not chunk:
                break
            buf += chunk
    raise AssertionError("no %r in %r" % (marker, buf.decode(errors="replace")))


def denied_counter(topo, ns, table=table_of(MARK_BASE)):
    out = topo.run(ns, "nft", "-j", "list", "counter", "inet", table, "denied").stdout
    for item in json.loads(out)["nftables"]:
        if "counter" in item:
            return item["counter"]["packets"]
    raise AssertionError(out)


def moat_ins_tables(topo, ns):
    """The moat_ins tables' names, sorted."""
    return sorted(line.split()[-1] for line in
                  topo.run(ns, "nft", "list", "tables").stdout.splitlines()
                  if "moat_ins" in line)


def write_policy(path, allow):
    with open(path, "w") as f:
        f.write("connect:\n  allow: [%s]\n" % ", ".join('"%s"' % a for a in allow))


def test_raw_connect_and_sendto_follow_the_policy(topo):
    srv, cli = topo.ns("srv"), topo.ns("cli")
    topo.veth(srv, SRV_ADDR + "/24", cli, [CLI_ADDR + "/24", DENIED_ADDR + "/24"])
    peer = topo.spawn(cli, PY, "-c", PEER, CLI_ADDR, DENIED_ADDR)
    read_until(peer, "ready")
    # A stale table from a crashed run (its mark is free: its owner is dead)
    # is replaced, not added to.
    stale = table_of(MARK_BASE)
    topo.run(srv, "nft", "add table inet %s; add chain inet %s stale" % (stale, stale))
    fd, pol = tempfile.mkstemp(suffix=".yaml")
    os.close(fd)
    try:
        write_policy(pol, [CLI_ADDR])
        app = topo.spawn(srv, *moat_ins("--policy", pol, "--isolate", "--", PY, "-c", APP,
                                        CLI_ADDR, DENIED_ADDR))
        r1 = read_until(app, "round1 done")
        assert "round1 connect %s 0" % CLI_ADDR in r1, r1
        assert "round1 sendto %s 0" % CLI_ADDR in r1, r1
        assert "round1 connect %s ECONNREFUSED" % DENIED_ADDR in r1, r1
        assert "round1 sendto %s EPERM" % DENIED_ADDR in r1, r1
        listing = topo.run(srv, "nft", "list", "table", "inet", stale).stdout
        assert "stale" not in listing, listing
        assert denied_counter(topo, srv) >= 2
        # Reload: the second address is allowed too, in the kernel as well.
        write_policy(pol, [CLI_ADDR, DENIED_ADDR])
        app.send_signal(signal.SIGHUP)
        r2 = read_until(app, "round2 done")
        assert "round2 connect %s 0" % DENIED_ADDR in r2, r2
        assert "round2 sendto %s 0" % DENIED_ADDR in r2, r2
        app.send_signal(signal.SIGTERM)
        out = proc_output(app)
    finally:
        os.unlink(pol)
    assert app.returncode is not None
    assert moat_ins_tables(topo, srv) == [], out
    # What arrived: round 1 only at the allowed address, round 2 at both.
    time.sleep(0.5)     # let the peer print what it got
    got = proc_output(peer).splitlines()
    assert "udp %s r1" % CLI_ADDR in got, got
    assert "udp %s r1" % DENIED_ADDR not in got, got
    assert "udp %s r2" % DENIED_ADDR in got, got
    assert got.count("tcp %s" % CLI_ADDR) == 2, got
    assert got.count("tcp %s" % DENIED_ADDR) == 1, got


def test_policy_without_mark_leaves_no_table(topo):
    """connect.mark: 0 turns kernel enforcement off: no table, the shim's check only."""
    srv = topo.ns("srv")
    fd, pol = tempfile.mkstemp(suffix=".yaml")
    os.write(fd, b"connect:\n  mark: 0\n  allow: [\"198.51.100.0/24\"]\n")
    os.close(fd)
    try:
        # (the --isolate program has no CAP_NET_ADMIN: it could not even list tables)
        r = topo.run(srv, *moat_ins("--policy", pol, "--isolate", "--", "/bin/true"),
                     check=False, timeout=20)
    finally:
        os.unlink(pol)
    assert r.returncode == 0, r.stderr
    assert "shim only" in r.stderr, r.stderr
    assert moat_ins_tables(topo, srv) == []


def test_two_instances_in_one_namespace(topo):
    """Two moat-ins (each --isolate, each with its own policy) in one network
    namespace: the first takes the first default mark, the second the next;
    each raw connect and sendto is judged by its own instance's policy only;
    an explicit mark already held is refused by name; stopping one leaves the
    other's table and enforcement whole; nothing is left after both exit."""
    srv, cli = topo.ns("srv"), topo.ns("cli")
    topo.veth(srv, SRV_ADDR + "/24", cli, [CLI_ADDR + "/24", DENIED_ADDR + "/24"])
    peer = topo.spawn(cli, PY, "-c", PEER, CLI_ADDR, DENIED_ADDR)
    read_until(peer, "ready")
    pols = []
    for allow in ([CLI_ADDR], [DENIED_ADDR]):
        fd, pol = tempfile.mkstemp(suffix=".yaml")
        os.close(fd)
        write_policy(pol, allow)
        pols.append(pol)
    fd, taken = tempfile.mkstemp(suffix=".yaml")
    os.write(fd, b"connect:\n  mark: %d\n" % (MARK_BASE + 1))
    os.close(fd)
    try:
        # A may reach only CLI_ADDR, B only DENIED_ADDR.
        a = topo.spawn(srv, *moat_ins("--policy", pols[0], "--isolate", "--", PY, "-c", APP,
                                      CLI_ADDR, DENIED_ADDR))
        ra = read_until(a, "round1 done")
        b = topo.spawn(srv, *moat_ins("--policy", pols[1], "--isolate", "--", PY, "-c", APP,
                                      CLI_ADDR, DENIED_ADDR))
        rb = read_until(b, "round1 done")
        assert "round1 connect %s 0" % CLI_ADDR in ra, ra
        assert "round1 sendto %s 0" % CLI_ADDR in ra, ra
        assert "round1 connect %s ECONNREFUSED" % DENIED_ADDR in ra, ra
        assert "round1 sendto %s EPERM" % DENIED_ADDR in ra, ra
        assert "round1 connect %s ECONNREFUSED" % CLI_ADDR in rb, rb
        assert "round1 sendto %s EPERM" % CLI_ADDR in rb, rb
        assert "round1 connect %s 0" % DENIED_ADDR in rb, rb
        assert "round1 sendto %s 0" % DENIED_ADDR in rb, rb
        assert moat_ins_tables(topo, srv) == [table_of(MARK_BASE), table_of(MARK_BASE + 1)]
        assert denied_counter(topo, srv, table_of(MARK_BASE)) == 2
        assert denied_counter(topo, srv, table_of(MARK_BASE + 1)) == 2
        # B's mark asked for explicitly while B runs: refused, naming it.
        r = topo.run(srv, *moat_ins("--policy", taken, "--isolate", "--", "/bin/true"),
                     check=False, timeout=20)
        assert r.returncode != 0, r.stderr
        assert "0x%08x" % (MARK_BASE + 1) in r.stderr and "held" in r.stderr, r.stderr
        assert moat_ins_tables(topo, srv) == [table_of(MARK_BASE), table_of(MARK_BASE + 1)]
        # Stop A: B's table and its enforcement stay (round 2 after a reload).
        a.send_signal(signal.SIGTERM)
        out_a = proc_output(a)
        assert a.returncode is not None, out_a
        assert moat_ins_tables(topo, srv) == [table_of(MARK_BASE + 1)], out_a
        b.send_signal(signal.SIGHUP)
        rb2 = read_until(b, "round2 done")
        assert "round2 connect %s ECONNREFUSED" % CLI_ADDR in rb2, rb2
        assert "round2 sendto %s EPERM" % CLI_ADDR in rb2, rb2
        assert "round2 connect %s 0" % DENIED_ADDR in rb2, rb2
        assert "round2 sendto %s 0" % DENIED_ADDR in rb2, rb2
        assert denied_counter(topo, srv, table_of(MARK_BASE + 1)) == 4
        b.send_signal(signal.SIGTERM)
        out_b = proc_output(b)
    finally:
        for pol in pols + [taken]:
            os.unlink(pol)
    assert b.returncode is not None
    assert moat_ins_tables(topo, srv) == [], out_b
    # What arrived: A's round 1 at CLI_ADDR only, B's rounds at DENIED_ADDR only.
    time.sleep(0.5)     # let the peer print what it got
    got = proc_output(peer).splitlines()
    assert got.count("udp %s r1" % CLI_ADDR) == 1, got
    assert got.count("udp %s r1" % DENIED_ADDR) == 1, got
    assert "udp %s r2" % DENIED_ADDR in got, got
    assert "udp %s r2" % CLI_ADDR not in got, got
    assert got.count("tcp %s" % CLI_ADDR) == 1, got
    assert got.count("tcp %s" % DENIED_ADDR) == 2, got
