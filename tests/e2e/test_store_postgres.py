"""Store end-to-end: moatd on the PostgreSQL backend.

A private PostgreSQL server (initdb + pg_ctl as the postgres user in a temp
dir, a Unix socket there, no TCP port) is started by the test and stopped at
teardown even on failure. moatd runs with `store: {backend: postgres}`: a PO
added with `moat po add` survives a moatd restart; a backup taken from it is
the SQLite backup format and restores into a SQLite moatd; a conninfo holding
a password is refused by `moatd --check`. If the server binaries are missing
the test fails (scripts/deps installs postgresql): it never skips.
"""
import glob
import json
import os
import pwd
import shutil
import signal
import sqlite3
import subprocess
import tempfile

import pytest

from conftest import binpath
from test_foundation_moatd import Moatd


def pg_bin():
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    assert found, "PostgreSQL server binaries missing: apt-get install postgresql"
    return os.path.dirname(found[-1])


class PgServer:
    def __init__(self):
        self.bin = pg_bin()
        # Not under pytest's tmp_path: its parents are root-only and the
        # server runs as postgres. 0755 so a moatd of any user reaches the socket.
        self.dir = tempfile.mkdtemp(prefix="moat-e2e-pg-")
        os.chmod(self.dir, 0o755)
        pw = pwd.getpwnam("postgres")
        os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        self.data = os.path.join(self.dir, "data")
        self.started = False

    def as_pg(self, *args, **kw):
        return subprocess.run(["runuser", "-u", "postgres", "--"] + list(args),
                              check=True, capture_output=True, text=True, timeout=120, **kw)

    def start(self):
        self.as_pg(os.path.join(self.bin, "initdb"), "-D", self.data, "-A", "trust",
                   "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync")
        self.started = True
        self.as_pg(os.path.join(self.bin, "pg_ctl"), "-D", self.data, "-l",
                   os.path.join(self.dir, "server.log"), "-w", "-t", "60", "-o",
                   "-k %s -c listen_addresses='' -F" % self.dir, "start")
        self.as_pg(os.path.join(self.bin, "createdb"), "-h", self.dir, "-U", "postgres", "moat")

    def stop(self):
        if self.started:
            subprocess.run(["runuser", "-u", "postgres", "--",
                            os.path.join(self.bin, "pg_ctl"), "-D", self.data, "-m",
                            "immediate", "-w", "stop"], capture_output=True, timeout=60)
        shutil.rmtree(self.dir, ignore_errors=True)

    def conninfo(self, dbname="moat"):
        return "host=%s dbname=%s user=postgres" % (self.dir, dbname)

    def psql(self, sql, dbname="moat"):
        return self.as_pg(os.path.join(self.bin, "psql"), "-h", self.dir, "-U", "postgres",
                          "-d", dbname, "-At", "-c", sql).stdout


@pytest.fixture
def pgserver():
    pg = PgServer()
    try:
        pg.start()
        yield pg
    finally:
        pg.stop()


def test_moatd_on_postgres(topo, tmp_path, pgserver):
    store = 'store:\n  backend: postgres\n  conninfo: "%s"\n' % pgserver.conninfo()
    m = Moatd(topo, tmp_path, config_extra=store).start()
    h = json.loads(m.moat("status", "--json").stdout)
    assert h["status"] in ("ok", "degraded"), h

    m.moat("po", "add", "web", "--prefix", "192.0.2.0/24", "--port", "443")
    listed = json.loads(m.moat("po", "list", "--json").stdout)["pos"]
    assert [p["name"] for p in listed] == ["web"]
    # The row is in PostgreSQL, and no SQLite store was made in the state dir.
    assert pgserver.psql("SELECT name FROM po").split() == ["web"]
    assert not os.path.exists(os.path.join(m.state, "moat.db"))

    assert m.stop(signal.SIGTERM) == 0
    m.start()
    assert json.loads(m.moat("po", "list", "--json").stdout)["pos"] == listed

    # A backup is the SQLite backup format and restores into a SQLite moatd.
    backup = str(tmp_path / "moat.backup")
    m.moat("backup", backup)
    with open(backup, "rb") as f:
        assert f.read(16) == b"SQLite format 3\0"
    db = sqlite3.connect(backup)
    try:
        assert [r[0] for r in db.execute("SELECT name FROM po")] == ["web"]
    finally:
        db.close()
    assert m.stop(signal.SIGTERM) == 0

    lite_dir = tmp_path / "lite"
    lite_dir.mkdir()
    lite = Moatd(topo, lite_dir).start()
    r = json.loads(lite.moat("--json", "restore", backup).stdout)
    assert r["restored"] is True and r["pos"] == 1
    assert lite.po_names() == ["web"]
    assert lite.stop(signal.SIGTERM) == 0


def test_password_from_passfile(topo, tmp_path, pgserver):
    """A role that needs a password: moatd gets in only with store.passfile."""
    pgserver.psql("CREATE ROLE moat LOGIN PASSWORD 'e2e-only-Secr3t'")
    pgserver.psql("ALTER DATABASE moat OWNER TO moat")
    hba = os.path.join(pgserver.data, "pg_hba.conf")
    with open(hba) as f:
        rules = f.read()
    with open(hba, "w") as f:
        f.write("local all moat scram-sha-256\n" + rules)
    pgserver.psql("SELECT pg_reload_conf()")
    conninfo = "host=%s dbname=moat user=moat" % pgserver.dir

    # No password anywhere: moatd refuses to start, saying why.
    nopass = tmp_path / "nopass"
    nopass.mkdir()
    m = Moatd(topo, nopass, config_extra='store:\n  backend: postgres\n'
              '  conninfo: "%s"\n  passfile: %s\n' % (conninfo, nopass / "missing"))
    with pytest.raises(AssertionError) as e:
        m.start()
    assert "Permission denied" in str(e.value)

    passfile = tmp_path / "pgpass"
    passfile.write_text("*:*:moat:moat:e2e-only-Secr3t\n")
    os.chmod(passfile, 0o600)
    m = Moatd(topo, tmp_path, config_extra='store:\n  backend: postgres\n'
              '  conninfo: "%s"\n  passfile: %s\n' % (conninfo, passfile)).start()
    m.moat("po", "add", "web", "--prefix", "192.0.2.0/24")
    assert m.stop(signal.SIGTERM) == 0
    m.start()
    assert m.po_names() == ["web"]
    assert m.stop(signal.SIGTERM) == 0
    # The tables belong to the role moatd logs in as.
    assert pgserver.psql("SELECT tableowner FROM pg_tables WHERE tablename = 'po'").strip() \
        == "moat"
    assert "Secr3t" not in m.log()


def test_conninfo_password_refused(tmp_path):
    cfg = tmp_path / "moatd.yaml"
    cfg.write_text('store:\n  backend: postgres\n'
                   '  conninfo: "host=/nonexistent dbname=moat password=hunter2"\n')
    p = subprocess.run([binpath("moatd"), "-c", str(cfg), "--check"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 2, p.stderr
    assert "password" in p.stderr and "hunter2" not in p.stderr
    cfg.write_text('store:\n  backend: postgres\n  conninfo: "dbname=moat"\n'
                   '  passfile: /etc/moat/pgpass\n')
    p = subprocess.run([binpath("moatd"), "-c", str(cfg), "--check"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    cfg.write_text('store:\n  backend: sqlite\n  conninfo: "dbname=moat"\n')
    p = subprocess.run([binpath("moatd"), "-c", str(cfg), "--check"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 2 and "only for backend postgres" in p.stderr, p.stderr
