"""moat-ins runs as an unprivileged user after set-up (the system user `moat`, or
--broker-user), keeping only CAP_NET_ADMIN, CAP_NET_BIND_SERVICE and CAP_KILL,
with no_new_privs, its seccomp filter and read-only file access (Landlock); and
every feature still works: a privileged port bound for a non-root program,
traffic end to end, a SIGHUP reload, the command killed on stop, its private
directory removed."""
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

from inslib import CLI_ADDR, SRV_ADDR, curl, moat_ins, port_open, proc_output, two_namespaces
from nslib import wait_for

PY = "/usr/bin/python3"
# CAP_KILL (5), CAP_NET_BIND_SERVICE (10), CAP_NET_ADMIN (12).
BROKER_CAPS = (1 << 5) | (1 << 10) | (1 << 12)
CAP_DAC_READ_SEARCH = 1 << 2
# SIGHUP is passed on to the command in run mode: this one ignores it.
HTTP = ("import signal, sys; signal.signal(signal.SIGHUP, signal.SIG_IGN); sys.argv=['http.server','80','--directory',sys.argv[1]]; "
        "import runpy; runpy.run_module('http.server', run_name='__main__')")


def status(pid):
    """/proc/PID/status as a dict of its fields."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


def children(pid):
    with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
        return [int(x) for x in f.read().split()]


def gdb_open(pid, path):
    """Make process pid call open(path, O_WRONLY|O_CREAT, 0644); (return value, errno)."""
    r = subprocess.run(["gdb", "-p", str(pid), "-batch", "-nx",
                        "-ex", 'call (int)open("%s", 65, 420)' % path,
                        "-ex", "call (int)*(int*)__errno_location()"],
                       capture_output=True, text=True, timeout=60)
    vals = [line.split("=", 1)[1].strip() for line in r.stdout.splitlines()
            if line.startswith("$")]
    assert len(vals) == 2, (r.stdout, r.stderr)
    return int(vals[0]), int(vals[1])


@pytest.fixture
def site():
    with tempfile.TemporaryDirectory() as www:
        os.chmod(www, 0o755)
        with open(os.path.join(www, "index.html"), "w") as f:
            f.write("served\n")
        os.chmod(os.path.join(www, "index.html"), 0o644)
        yield www


def policy_file(text, mode):
    f = tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False)
    f.write(text)
    f.close()
    os.chmod(f.name, mode)
    return f.name


def test_broker_unprivileged_read_only_and_serving(topo, site):
    """uid moat, CapEff exactly net_admin+net_bind_service+kill, NoNewPrivs 1; port 80
    bound for a `--user nobody` program; the broker cannot create a file in /tmp while
    serving (a --no-sandbox broker can); reload and stop still work."""
    moat = pwd.getpwnam("moat")
    srv, cli = two_namespaces(topo)
    pol = policy_file("bind:\n  privileged_users: [nobody]\n", 0o644)
    probe = "/tmp/moat-ins-e2e-probe-%d" % os.getpid()
    try:
        p = topo.spawn(srv, *moat_ins("-v", "--isolate", "--policy", pol, "--user", "nobody",
                                      "--", PY, "-c", HTTP, site))
        port_open(topo, cli, SRV_ADDR, 80)
        st = status(p.pid)
        assert st["Uid"].split() == [str(moat.pw_uid)] * 4, st["Uid"]
        assert st["Gid"].split() == [str(moat.pw_gid)] * 4, st["Gid"]
        for k in ("CapEff", "CapPrm", "CapBnd"):
            assert int(st[k], 16) == BROKER_CAPS, (k, st[k])
        assert int(st["CapInh"], 16) == 0 and int(st["CapAmb"], 16) == 0, st
        assert st["NoNewPrivs"] == "1" and st["Seccomp"] == "2", st
        # Threads started after the drop (resolver) have the same.
        for tid in os.listdir("/proc/%d/task" % p.pid):
            with open("/proc/%d/task/%s/status" % (p.pid, tid)) as f:
                t = f.read()
            assert "CapEff:\t%016x" % BROKER_CAPS in t, (tid, t)
        assert [curl(topo, cli, "http://%s/" % SRV_ADDR) for _ in range(3)] == ["200"] * 3
        if shutil.which("gdb"):
            ret, err = gdb_open(p.pid, probe)
            assert (ret, err) == (-1, 13), (ret, err)	# EACCES, from Landlock
            assert not os.path.exists(probe)
        # Still serving after being stopped and resumed by the debugger, then a reload.
        assert [curl(topo, cli, "http://%s/" % SRV_ADDR) for _ in range(3)] == ["200"] * 3
        child = children(p.pid)[0]
        with open("/proc/%d/environ" % child, "rb") as f:
            env = dict(kv.split(b"=", 1) for kv in f.read().split(b"\0") if b"=" in kv)
        ctl_dir = os.path.dirname(env[b"MOAT_INS_SOCK"].decode())
        assert status(child)["Uid"].split()[0] == str(pwd.getpwnam("nobody").pw_uid)
        os.kill(p.pid, signal.SIGHUP)
        time.sleep(0.5)
        assert curl(topo, cli, "http://%s/" % SRV_ADDR) == "200"
        # Stop: SIGTERM passed on to the program (CAP_KILL: it runs as nobody).
        p.terminate()
        p.wait(timeout=10)
        out = proc_output(p)
        assert not os.path.exists("/proc/%d" % child)
        assert not os.path.exists(ctl_dir), ctl_dir
        assert "confined: uid %d" % moat.pw_uid in out, out
        assert "(moat), capabilities net_admin net_bind_service kill, no_new_privs" in out, out
        assert "file access read-only (Landlock ABI" in out, out
        assert "policy reloaded" in out, out
    finally:
        os.unlink(pol)
        if os.path.exists(probe):
            os.unlink(probe)


def test_no_sandbox_broker_could_write(topo):
    """The same probe against a --no-sandbox broker creates the file: the refusal
    above is the confinement's, not the probe's."""
    if not shutil.which("gdb"):
        pytest.skip("gdb not installed")
    srv, _ = two_namespaces(topo)
    probe = "/tmp/moat-ins-e2e-probe-ns-%d" % os.getpid()
    try:
        p = topo.spawn(srv, *moat_ins("--no-sandbox", "--isolate", "--", "sleep", "30"))
        wait_for(lambda: len(children(p.pid)) == 1, timeout=10, what="command started")
        time.sleep(0.5)
        ret, _ = gdb_open(p.pid, probe)
        assert ret >= 0 and os.path.exists(probe)
        assert status(p.pid)["Uid"].split()[0] == "0"
    finally:
        if os.path.exists(probe):
            os.unlink(probe)


def test_root_only_policy_keeps_reader_and_reloads(topo, site):
    """A policy file only root can read: the broker keeps CAP_DAC_READ_SEARCH, says so
    by name, and a SIGHUP reload still reads it."""
    srv, cli = two_namespaces(topo)
    pol = policy_file("bind:\n  privileged_users: [nobody]\n", 0o600)
    try:
        p = topo.spawn(srv, *moat_ins("--isolate", "--policy", pol, "--user", "nobody",
                                      "--", PY, "-c", HTTP, site))
        port_open(topo, cli, SRV_ADDR, 80)
        assert int(status(p.pid)["CapEff"], 16) == BROKER_CAPS | CAP_DAC_READ_SEARCH
        os.kill(p.pid, signal.SIGHUP)
        time.sleep(0.5)
        assert curl(topo, cli, "http://%s/" % SRV_ADDR) == "200"
        out = proc_output(p)
        assert "keeping CAP_DAC_READ_SEARCH" in out, out
        assert "policy reloaded" in out, out
    finally:
        os.unlink(pol)


def test_broker_user_root_and_unknown(topo):
    """--broker-user root keeps uid 0 (said); an unknown --broker-user is refused."""
    srv, _ = two_namespaces(topo)
    r = topo.run(srv, *moat_ins("--broker-user", "root", "--isolate", "--", "true"),
                 check=False)
    assert r.returncode == 0 and "keeps uid 0" in r.stderr, r.stderr
    r = topo.run(srv, *moat_ins("--broker-user", "no-such-user-moat", "--isolate", "--",
                                "true"), check=False)
    assert r.returncode != 0 and "no such user" in r.stderr, r.stderr
