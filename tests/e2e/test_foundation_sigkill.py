"""Foundation end-to-end: SIGKILL during a burst of writes.

A thread adds 200 POs through the API as fast as moatd answers; moatd is
SIGKILLed in the middle. After a restart the SQLite store passes
`PRAGMA integrity_check` and every PO the API acknowledged with 201 exists.
"""
import signal
import subprocess
import threading
import time

from test_foundation_moatd import moatd  # noqa: F401  (fixture)

N = 200


def test_sigkill_during_writes(moatd):
    acked = []
    token = moatd.token

    def writer():
        for i in range(N):
            body = {"name": "po%03d" % i, "prefixes": ["2001:db8:%x::/48" % i]}
            try:
                status, _ = moatd.request("POST", "/api/v1/pos", body, token=token,
                                          timeout=5)
            except OSError:
                return  # moatd is gone
            if status == 201:
                acked.append(body["name"])

    t = threading.Thread(target=writer)
    t.start()
    # Let some writes land, then kill without warning.
    deadline = time.time() + 10
    while len(acked) < 60 and time.time() < deadline and t.is_alive():
        time.sleep(0.005)
    moatd.stop(signal.SIGKILL)
    t.join(20)
    assert not t.is_alive()
    assert len(acked) >= 60, "too few writes acknowledged before the kill"
    assert len(acked) < N, "the burst ended before the kill"
    print("acknowledged before SIGKILL: %d of %d" % (len(acked), N))

    db = moatd.db_path()
    # As the kill left it (SQLite replays the WAL on open), and as moatd
    # sees it after its own restart.
    for phase in ("after SIGKILL", "after restart"):
        if phase == "after restart":
            moatd.start()
        out = subprocess.run(["sqlite3", db, "PRAGMA integrity_check"],
                             capture_output=True, text=True, timeout=30)
        assert out.stdout.strip() == "ok", (phase, out.stdout + out.stderr)
    names = set(moatd.po_names())
    missing = [n for n in acked if n not in names]
    assert not missing, "acknowledged but lost: %s" % missing[:10]
    # The store still takes writes.
    moatd.moat("po", "add", "after", "--prefix", "192.0.2.0/24")
