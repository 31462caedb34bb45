"""Shared fixtures for moat's end-to-end tests."""
import os
import shutil
import pytest

from nslib import Topology

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("MOAT_BUILD", os.path.join(ROOT, "build"))


def binpath(name):
    """Path of a built program: moatd, moat, moat-ins, moat-chaff, libmoat-shim.so."""
    for sub in ("src/engine", "src/cli", "src/ins", "src/chaff", "src/collect"):
        p = os.path.join(BUILD, sub, name)
        if os.path.exists(p):
            return p
    raise FileNotFoundError("%s not built under %s" % (name, BUILD))


@pytest.fixture
def topo():
    """A Topology torn down after the test, pass or fail."""
    t = Topology()
    try:
        yield t
    finally:
        t.teardown()


def need(*programs):
    """Skip unless every named program is installed (scripts/deps installs them)."""
    missing = [p for p in programs if shutil.which(p) is None]
    if missing:
        pytest.skip("not installed: " + ", ".join(missing))
