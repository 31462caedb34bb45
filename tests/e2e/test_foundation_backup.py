"""Foundation end-to-end: backup, factory reset and restore through the CLI.

State after restore equals state before reset; a restore of a file that is
not a moat backup fails with exit 1 and changes nothing.
"""
import json
import os
import sqlite3

from test_foundation_moatd import moatd  # noqa: F401  (fixture)


def test_backup_reset_restore(moatd, tmp_path):
    moatd.moat("po", "add", "web", "--prefix", "192.0.2.0/24", "--port", "443")
    moatd.moat("po", "add", "v6", "--prefix", "2001:db8:2::/48")
    before = moatd.pos()

    backup = str(tmp_path / "moat.backup")
    moatd.moat("backup", backup)
    assert os.stat(backup).st_mode & 0o077 == 0
    with open(backup, "rb") as f:
        assert f.read(16) == b"SQLite format 3\0"
    # The backup says what it is.
    db = sqlite3.connect(backup)
    try:
        assert db.execute("SELECT count(*) FROM moat_meta").fetchone()[0] >= 1
    finally:
        db.close()

    moatd.moat("reset", rc=2)  # refuses without --yes
    assert moatd.pos() == before
    moatd.moat("reset", "--yes")
    assert moatd.pos() == []

    r = json.loads(moatd.moat("--json", "restore", backup).stdout)
    assert r["restored"] is True and r["pos"] == 2
    assert moatd.pos() == before

    # Not a backup: refused, nothing changes.
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a moat backup\n" * 100)
    p = moatd.moat("restore", str(junk), rc=1)
    assert "400" in p.stderr
    other = tmp_path / "plain.sqlite"
    db = sqlite3.connect(str(other))
    db.execute("CREATE TABLE t (x)")
    db.commit()
    db.close()
    moatd.moat("restore", str(other), rc=1)
    assert moatd.pos() == before
    # Nor is a missing file (local error, no request).
    moatd.moat("restore", str(tmp_path / "missing"), rc=1)
    assert moatd.pos() == before
