"""Privilege separation end to end: `moatd --user moat` in a namespace.

The engine (parsers, detection, API, store) runs as moat with no capability,
no_new_privs and a seccomp filter; the privileged part runs the nftables
driver on its requests. A scan alarm with a proven source mitigates through
the privileged part (a real rule in the namespace's kernel). Then:
- the engine is killed with SIGKILL: the rule stays in the kernel, a new
  engine comes up and still shows the same mitigation (reconciled), and
  `moat unmitigate` withdraws it through the new engine;
- a request that a compromised engine could send, taken from the engine's
  own end of the channel (pidfd_getfd), is malformed: the privileged part
  refuses it, logs it, and goes on serving.
"""
import ctypes
import json
import os
import shutil
import signal
import socket
import struct
import tempfile
import time

import pytest

from conftest import binpath, need
from nslib import sh, wait_for
from test_foundation_moatd import free_port

ATK = "198.51.100.7"
SYS_PIDFD_GETFD = 438
EPROTO = 71


def status_field(pid, name):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(name + ":"):
                return line.split(":", 1)[1].strip()
    return None


def children(pid):
    with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
        return [int(x) for x in f.read().split()]


def nft_rules(topo, ns):
    """The moat:<id> comments of the rules in the namespace's inet moat table."""
    r = topo.run(ns, "nft", "-j", "list", "table", "inet", "moat", check=False)
    if r.returncode != 0:
        return []
    ids = []
    for item in json.loads(r.stdout)["nftables"]:
        c = item.get("rule", {}).get("comment", "")
        if c.startswith("moat:"):
            ids.append(int(c[5:]))
    return ids


def channel_fd(topo, ns, engine, parent):
    """The engine's end of its socketpair with the privileged part."""
    out = topo.run(ns, "ss", "-xpH").stdout
    mine = {}
    peers = {}
    for line in out.splitlines():
        f = line.split()
        if not f or f[0] != "u_seq":
            continue
        # u_seq ESTAB 0 0 * INODE * PEER users:(("moatd",pid=P,fd=N))
        inode, peer = f[5], f[7]
        users = line[line.find("users:"):]
        if "pid=%d," % engine in users:
            fd = int(users.split("pid=%d,fd=" % engine)[1].split(")")[0])
            mine[inode] = (peer, fd)
        if "pid=%d," % parent in users:
            peers[inode] = True
    for inode, (peer, fd) in mine.items():
        if peer in peers:
            return fd
    raise AssertionError("no channel between %d and %d in:\n%s" % (engine, parent, out))


def steal_fd(pid, fd):
    libc = ctypes.CDLL(None, use_errno=True)
    pidfd = os.pidfd_open(pid)
    try:
        got = libc.syscall(SYS_PIDFD_GETFD, pidfd, fd, 0)
        if got < 0:
            raise OSError(ctypes.get_errno(), "pidfd_getfd")
        return got
    finally:
        os.close(pidfd)


@pytest.fixture
def reachable_dir():
    """A state directory's parent the moat user may search (pytest's are 0700)."""
    d = tempfile.mkdtemp(prefix="moat-privsep-", dir="/tmp")
    os.chmod(d, 0o755)
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_privsep_engine_unprivileged_rules_survive(topo, reachable_dir):
    need("nft", "ss")
    sh("getent", "passwd", "moat")       # scripts/deps creates the user
    rtr = topo.ns("rtr")
    state = os.path.join(reachable_dir, "state")
    port = free_port()
    conf = os.path.join(reachable_dir, "moatd.yaml")
    with open(conf, "w") as f:
        f.write('api:\n  listen: "127.0.0.1:%d"\nmitigate:\n  drivers:\n    nft: {}\n' % port)
    logpath = os.path.join(reachable_dir, "moatd.log")
    log = open(logpath, "w")
    p = topo.spawn(rtr, binpath("moatd"), "-c", conf, "--state", state, "--user", "moat",
                   stdout=log, stderr=log)
    log.close()
    moat = [binpath("moat"), "--state", state]
    wait_for(lambda: topo.run(rtr, *moat, "status", check=False).returncode == 0,
             timeout=10, what="moatd")

    # ip netns exec execs moatd itself: p.pid is the privileged part
    parent = p.pid
    [engine] = children(parent)
    assert status_field(parent, "Uid").split()[0] == "0"
    uid = int(sh("id", "-u", "moat").stdout)
    assert int(status_field(engine, "Uid").split()[0]) == uid
    assert status_field(engine, "CapEff") == "0000000000000000"
    assert status_field(engine, "CapPrm") == "0000000000000000"
    assert status_field(engine, "NoNewPrivs") == "1"
    assert status_field(engine, "Seccomp") == "2"
    assert os.stat(state).st_uid == uid and os.stat(os.path.join(state, "moat.db")).st_uid == uid

    topo.run(rtr, *moat, "po", "add", "web", "--prefix", "192.0.2.0/24", "--driver", "nft")
    with open(os.path.join(state, "api.token")) as f:
        token = f.read().strip()
    alarm = {"type": "chaff.alarm", "kind": "syn_scan", "src": ATK, "decoy": "192.0.2.99",
             "n_decoys": 12, "count": 40, "scan": True, "proto": "tcp", "proven": True}
    topo.run(rtr, "curl", "-sf", "-H", "Authorization: Bearer " + token,
             "-H", "Content-Type: application/json", "-d", json.dumps(alarm),
             "http://127.0.0.1:%d/api/v1/alarms" % port)

    def live():
        ms = json.loads(topo.run(rtr, *moat, "--json", "mitigations").stdout)["mitigations"]
        ms = [m for m in ms if m["status"] == "mitigating"]
        return ms[0] if ms else None
    m = wait_for(live, timeout=10, interval=0.3, what="the nft mitigation")
    rule_ids = wait_for(lambda: nft_rules(topo, rtr), timeout=5, what="the rule in the kernel")

    # A compromised engine's garbage: refused by the privileged part, logged.
    fd = steal_fd(engine, channel_fd(topo, rtr, engine, parent))
    s = socket.socket(fileno=fd)
    try:
        s.settimeout(5)
        # version 1, APPLY, seq, handle 0 and a body far too short for a rule
        s.send(struct.pack("=HHIii", 1, 3, 0x7fff0001, 0, 0) + b"\x00" * 10)
        reply = s.recv(65536)
        version, rtype, seq, handle, result = struct.unpack("=HHIii", reply[:16])
        assert seq == 0x7fff0001 and result == -EPROTO, (seq, result)
    finally:
        s.detach()
        os.close(fd)
    with open(logpath) as f:
        assert "refused a request from the engine" in f.read()

    # The engine dies: the rule stays in force, a new engine takes over.
    os.kill(engine, signal.SIGKILL)
    assert nft_rules(topo, rtr) == rule_ids
    wait_for(lambda: children(parent) and children(parent)[0] != engine, timeout=10,
             what="a new engine")
    wait_for(lambda: topo.run(rtr, *moat, "status", check=False).returncode == 0,
             timeout=10, what="the new engine's API")
    again = wait_for(live, timeout=10, interval=0.3, what="the mitigation after the restart")
    assert again["id"] == m["id"]
    assert nft_rules(topo, rtr) == rule_ids
    topo.run(rtr, *moat, "unmitigate", str(m["id"]))
    wait_for(lambda: not nft_rules(topo, rtr), timeout=5, what="the rule withdrawn")

    os.kill(parent, signal.SIGTERM)
    assert p.wait(10) == 0
    assert not children_alive(engine)


def children_alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
