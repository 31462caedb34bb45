"""moat-ins serves programs that run as other users: `moat run --user`, and
programs that drop privileges themselves (memcached -u memcache, PostgreSQL
as postgres). The broker authorises each client by SO_PEERCRED against the
policy, not by file permissions, and logs refusals by user name."""
import os
import tempfile
import textwrap
import time

from conftest import binpath
from inslib import CLI_ADDR, SRV_ADDR, curl, moat_ins, port_open, proc_output, two_namespaces
from nslib import wait_for

PY = "/usr/bin/python3"


def test_user_nobody_serves(topo):
    """`moat run --user nobody`: the program's sockets are brokered (was ENETDOWN)."""
    srv, cli = two_namespaces(topo)
    with tempfile.TemporaryDirectory() as www:
        os.chmod(www, 0o755)
        with open(os.path.join(www, "who.txt"), "w") as f:
            f.write("nobody's page\n")
        os.chmod(os.path.join(www, "who.txt"), 0o644)
        p = topo.spawn(srv, binpath("moat"), "run", "--isolate", "--user", "nobody", "--",
                       PY, "-c", "import os,sys; assert os.getuid() != 0; "
                       "sys.argv=['http.server','8000','--directory',sys.argv[1]]; "
                       "import runpy; runpy.run_module('http.server', run_name='__main__')",
                       www, env=dict(os.environ, MOAT_INS=binpath("moat-ins")))
        port_open(topo, cli, SRV_ADDR, 8000)
        codes = [curl(topo, cli, "http://%s:8000/who.txt" % SRV_ADDR) for _ in range(5)]
        out = proc_output(p)
    assert codes == ["200"] * 5, out


def test_user_privileged_port_refused_by_name(topo):
    """A non-root program may not bind a port below 1024 unless the policy lists it;
    the refusal is logged with the user's name."""
    srv, _ = two_namespaces(topo)
    code = ("import socket\n"
            "s = socket.socket()\n"
            "try:\n"
            "    s.bind(('0.0.0.0', 80)); print('bound')\n"
            "except OSError as e:\n"
            "    print('refused', e.errno)\n")
    r = topo.run(srv, *moat_ins("--isolate", "--user", "nobody", "--", PY, "-c", code),
                 check=False)
    assert "refused 13" in r.stdout, (r.stdout, r.stderr)
    assert "nobody" in r.stderr and "port 80" in r.stderr, r.stderr
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as pol:
        pol.write("bind:\n  privileged_users: [nobody]\n")
        pol.flush()
        r = topo.run(srv, *moat_ins("--isolate", "--policy", pol.name, "--user", "nobody", "--",
                                    PY, "-c", code), check=False)
    assert "bound" in r.stdout, (r.stdout, r.stderr)


def test_clients_policy_refuses_unlisted_user(topo):
    """clients.users lists who may use the broker; anyone else is refused by name."""
    srv, _ = two_namespaces(topo)
    code = ("import socket\n"
            "try:\n"
            "    socket.socket(); print('socket')\n"
            "except OSError as e:\n"
            "    print('refused', e.errno)\n")
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as pol:
        pol.write("clients:\n  users: [root]\n")
        pol.flush()
        r = topo.run(srv, *moat_ins("--isolate", "--policy", pol.name, "--user", "nobody", "--",
                                    PY, "-c", code), check=False)
    assert "refused" in r.stdout, (r.stdout, r.stderr)
    assert "control client nobody" in r.stderr, r.stderr


MEMCACHE_CLIENT = textwrap.dedent("""
    import socket, sys
    s = socket.create_connection((sys.argv[1], 11211), timeout=5)
    s.sendall(b"set k 0 0 5\\r\\nhello\\r\\nget k\\r\\n")
    data = b""
    while b"END" not in data:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    print(data.decode())
""")


def test_memcached_default_user(topo):
    """memcached started as root drops to its default user (-u memcache) itself."""
    srv, cli = two_namespaces(topo)
    p = topo.spawn(srv, *moat_ins("--isolate", "--", "memcached", "-u", "memcache",
                                  "-l", "0.0.0.0", "-p", "11211", "-U", "0"))
    port_open(topo, cli, SRV_ADDR, 11211)
    r = topo.run(cli, PY, "-c", MEMCACHE_CLIENT, SRV_ADDR, check=False)
    out = proc_output(p)
    assert "VALUE k 0 5\nhello" in r.stdout, (r.stdout, r.stderr, out)


def test_postgresql(topo):
    """PostgreSQL 15 (initdb, pg_ctl as postgres) under moat-ins; psql from another namespace."""
    srv, cli = two_namespaces(topo)
    bindir = "/usr/lib/postgresql/15/bin"
    with tempfile.TemporaryDirectory() as tmp:
        os.chmod(tmp, 0o755)
        data = os.path.join(tmp, "data")
        sockdir = os.path.join(tmp, "sock")
        os.mkdir(sockdir)
        os.mkdir(data, 0o700)
        for d in (sockdir, data):
            topo.run(None, "chown", "postgres:postgres", d)
        r = topo.run(None, "runuser", "-u", "postgres", "--", bindir + "/initdb", "-D", data,
                     "-A", "trust", "-U", "postgres", check=False)
        assert r.returncode == 0, r.stderr
        with open(os.path.join(data, "pg_hba.conf"), "a") as f:
            f.write("host all all 192.0.2.0/24 trust\n")
        p = topo.spawn(srv, *moat_ins("--isolate", "--user", "postgres", "--",
                                      bindir + "/postgres", "-D", data, "-k", sockdir,
                                      "-c", "listen_addresses=*", "-p", "5432"))
        try:
            port_open(topo, cli, SRV_ADDR, 5432, timeout=30)
            r = topo.run(cli, "psql", "-h", SRV_ADDR, "-U", "postgres", "-Atc",
                         "select 40 + 2", check=False)
        finally:
            if p.poll() is None:
                p.terminate()
            out = proc_output(p, timeout=20)
    assert r.stdout.strip() == "42", (r.stdout, r.stderr, out)
