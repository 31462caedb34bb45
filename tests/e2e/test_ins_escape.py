"""--isolate holds against the program: a root program inside it cannot setns
into moat-ins's network namespace, unshare, or clear its socket's SO_MARK, and
nothing it sends reaches a destination the policy denies."""
import tempfile
import textwrap

from inslib import CLI_ADDR, moat_ins, port_open, proc_output, two_namespaces

PY = "/usr/bin/python3"

# A counting TCP listener: prints one line per connection it accepts.
COUNTER = textwrap.dedent("""
    import socket, sys
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((sys.argv[1], 9000))
    s.listen(16)
    while True:
        c, peer = s.accept()
        print("conn", peer[0], flush=True)
        c.close()
""")

# The escape attempts, as root inside moat-ins --isolate.
ESCAPE = textwrap.dedent("""
    import ctypes, errno, os, socket, struct, sys
    libc = ctypes.CDLL(None, use_errno=True)
    dst = (sys.argv[1], 9000)
    SYS_socket, SYS_connect, SYS_setns, SYS_setsockopt = 41, 42, 308, 54
    SO_MARK = 36
    res = {}

    def raw_connect():
        fd = libc.syscall(SYS_socket, socket.AF_INET, socket.SOCK_STREAM, 0)
        sa = struct.pack("!HH4s8x", socket.AF_INET, 9000, socket.inet_aton(dst[0]))
        sa = struct.pack("=H", socket.AF_INET) + sa[2:]
        r = libc.syscall(SYS_connect, fd, sa, len(sa))
        return r, ctypes.get_errno()

    # 1. setns into moat-ins's network namespace: through our parent's /proc
    #    entry, then through the name ip netns gave it (which root can open).
    try:
        nsfd = os.open("/proc/%d/ns/net" % os.getppid(), os.O_RDONLY)
        r = libc.syscall(SYS_setns, nsfd, 0x40000000)
        res["setns_proc"] = "ok" if r == 0 else errno.errorcode[ctypes.get_errno()]
    except OSError as e:
        res["setns_proc"] = errno.errorcode[e.errno]
    nsfd = os.open("/run/netns/" + sys.argv[2], os.O_RDONLY)
    r = libc.syscall(SYS_setns, nsfd, 0x40000000)
    res["setns"] = "ok" if r == 0 else errno.errorcode[ctypes.get_errno()]
    if r == 0:
        res["setns_connect"] = raw_connect()
    # 2. unshare a user namespace (to gain capabilities over a new one).
    r = libc.unshare(0x10000000 | 0x40000000)   # CLONE_NEWUSER | CLONE_NEWNET
    res["unshare"] = "ok" if r == 0 else errno.errorcode[ctypes.get_errno()]
    # 3. clear SO_MARK on a brokered socket, then connect with raw syscalls.
    s = socket.socket()
    try:
        s.setsockopt(socket.SOL_SOCKET, SO_MARK, 0)
        res["so_mark"] = "ok"
    except OSError as e:
        res["so_mark"] = errno.errorcode[e.errno]
    sa = struct.pack("=H", socket.AF_INET) + struct.pack("!H4s8x", 9000,
                                                          socket.inet_aton(dst[0]))
    r = libc.syscall(SYS_connect, s.fileno(), sa, len(sa))
    res["marked_connect"] = "ok" if r == 0 else errno.errorcode[ctypes.get_errno()]
    print(sorted(res.items()))
""")


def test_root_program_cannot_escape(topo):
    srv, cli = two_namespaces(topo)
    counter = topo.spawn(cli, PY, "-c", COUNTER, CLI_ADDR)
    port_open(topo, cli, CLI_ADDR, 9000)
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as pol:
        pol.write('connect:\n  allow: ["203.0.113.0/24"]\n')
        pol.flush()
        r = topo.run(srv, *moat_ins("--isolate", "--policy", pol.name, "--", PY, "-c", ESCAPE,
                                    CLI_ADDR, srv), check=False)
    seen = proc_output(counter)
    # port_open's probe comes from the client's own address; nothing may come from moat-ins's.
    arrived = [line for line in seen.splitlines() if line.startswith("conn 192.0.2.1")]
    assert "('setns', 'EPERM')" in r.stdout, (r.stdout, r.stderr)
    assert "('setns_proc', 'ok')" not in r.stdout, (r.stdout, r.stderr)
    assert "('unshare', 'EPERM')" in r.stdout, (r.stdout, r.stderr)
    assert "('so_mark', 'EPERM')" in r.stdout, (r.stdout, r.stderr)
    assert "('marked_connect', 'ECONNREFUSED')" in r.stdout, (r.stdout, r.stderr)
    assert arrived == [], seen
