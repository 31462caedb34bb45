"""Network-namespace helpers for moat's end-to-end tests.

Every test builds its own namespaces and veth links through a Topology and
tears them down afterwards, even on failure (use the `topo` fixture). Names
carry the pid and a counter so parallel runs never collide. Addresses come
from the documentation ranges only, and namespaces get no route out.
"""
import itertools
import os
import signal
import subprocess
import time

_seq = itertools.count()


def sh(*args, check=True, **kw):
    """Run a command (argv list), return CompletedProcess with text output."""
    return subprocess.run(list(args), check=check, text=True,
                          capture_output=True, **kw)


class Topology:
    """A set of namespaces, links and processes owned by one test."""

    def __init__(self):
        self.tag = "m%d%d" % (os.getpid() % 100000, next(_seq))
        self.namespaces = []
        self.procs = []

    def ns(self, name):
        """Create a namespace with loopback up; returns its full name."""
        full = "%s-%s" % (self.tag, name)
        sh("ip", "netns", "add", full)
        self.namespaces.append(full)
        sh("ip", "-n", full, "link", "set", "lo", "up")
        return full

    def veth(self, ns_a, addr_a, ns_b, addr_b, name_a=None, name_b=None):
        """Join two namespaces with a veth pair; addresses are CIDR strings
        (or lists of them). Returns the two interface names."""
        n = next(_seq)
        a = name_a or "va%s%d" % (self.tag[-4:], n)
        b = name_b or "vb%s%d" % (self.tag[-4:], n)
        sh("ip", "link", "add", a, "netns", ns_a, "type", "veth",
           "peer", "name", b, "netns", ns_b)
        for ns, ifname, addrs in ((ns_a, a, addr_a), (ns_b, b, addr_b)):
            if isinstance(addrs, str):
                addrs = [addrs]
            for addr in addrs or []:
                extra = ["nodad"] if ":" in addr else []
                sh("ip", "-n", ns, "addr", "add", addr, "dev", ifname, *extra)
            sh("ip", "-n", ns, "link", "set", ifname, "up")
        return a, b

    def run(self, ns, *argv, **kw):
        """Run a command inside a namespace (or on the host if ns is None)."""
        prefix = ["ip", "netns", "exec", ns] if ns else []
        return sh(*prefix, *argv, **kw)

    def spawn(self, ns, *argv, **kw):
        """Start a background process (killed at teardown)."""
        prefix = ["ip", "netns", "exec", ns] if ns else []
        kw.setdefault("stdout", subprocess.PIPE)
        kw.setdefault("stderr", subprocess.STDOUT)
        p = subprocess.Popen(prefix + list(argv), text=True,
                             start_new_session=True, **kw)
        self.procs.append(p)
        return p

    def teardown(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.time() + 5
        for p in self.procs:
            try:
                p.wait(max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait()
        for ns in reversed(self.namespaces):
            # Kill anything left inside, then remove the namespace (its veth
            # ends go with it).
            pids = sh("ip", "netns", "pids", ns, check=False).stdout.split()
            for pid in pids:
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (ProcessLookupError, ValueError):
                    pass
            sh("ip", "netns", "del", ns, check=False)


def wait_for(pred, timeout=10.0, interval=0.05, what="condition"):
    """Poll pred() until it returns a true value; raise on timeout."""
    deadline = time.time() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.time() > deadline:
            raise AssertionError("timed out after %.1fs waiting for %s" % (timeout, what))
        time.sleep(interval)
