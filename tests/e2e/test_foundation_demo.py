"""Foundation end-to-end: `make demo`'s script runs clean and leaves nothing.

scripts/demo BUILD_DIR starts moatd in a temporary state dir, drives the CLI
and stops moatd with SIGTERM; this checks its output and that the state dir
and the daemon are gone afterwards.
"""
import glob
import os
import subprocess

from conftest import BUILD, ROOT


def test_demo_script():
    before = set(glob.glob("/tmp/moat-demo.*"))
    p = subprocess.run([os.path.join(ROOT, "scripts", "demo"), BUILD],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    out = p.stdout
    for want in ("status:", "PO web added", "192.0.2.0/24", "2001:db8:1::/48",
                 "po.add", "moatd exited with status 0"):
        assert want in out, (want, out)
    assert set(glob.glob("/tmp/moat-demo.*")) == before, "demo left its state dir"
