"""Foundation end-to-end: POs declared in the config file, and finding moatd.

Config POs show up with source "config", cannot be changed or removed
through the API/CLI (409), keep their prefixes to themselves, and survive a
factory reset and a restore. The CLI finds a moatd listening on IPv6
loopback through <state>/api.url, and a state dir given by MOAT_STATE.
"""
import json

from test_foundation_moatd import Moatd

CONFIG_POS = """pos:
  - name: core
    prefixes: [203.0.113.0/24, "2001:db8:ff::/48"]
    ports: [22]
    thresholds:
      tcp: {pps: 100000, syn_pps: 20000}
"""


def test_config_pos(topo, tmp_path):
    m = Moatd(topo, tmp_path, config_extra=CONFIG_POS).start()
    core = json.loads(m.moat("--json", "po", "show", "core").stdout)
    assert core["source"] == "config"
    assert core["prefixes"] == ["203.0.113.0/24", "2001:db8:ff::/48"]
    assert core["thresholds"]["tcp"]["syn_pps"] == 20000
    shown = m.moat("po", "show", "core").stdout
    assert "config" in shown and "20k" in shown

    p = m.moat("po", "rm", "core", rc=1)
    assert "409" in p.stderr
    m.moat("po", "add", "core", "--prefix", "198.51.100.0/24", "--replace", rc=1)
    m.moat("po", "add", "core", "--prefix", "198.51.100.0/24", rc=1)
    p = m.moat("po", "add", "steal", "--prefix", "203.0.113.0/24", rc=1)
    assert "409" in p.stderr and "prefixes" in p.stderr
    m.moat("po", "add", "web", "--prefix", "192.0.2.0/24")
    assert m.po_names() == ["core", "web"]

    backup = str(tmp_path / "b.db")
    m.moat("backup", backup)
    m.moat("reset", "--yes")
    assert m.po_names() == ["core"]
    m.moat("restore", backup)
    assert m.po_names() == ["core", "web"]
    assert json.loads(m.moat("--json", "po", "show", "core").stdout)["source"] == "config"


def test_ipv6_api_and_env_state(topo, tmp_path):
    m = Moatd(topo, tmp_path, host="::1").start()
    with open(tmp_path / "state" / "api.url") as f:
        assert f.read().strip() == m.url
    # No --state: MOAT_STATE finds the dir, api.url finds [::1]:port.
    env = {"MOAT_STATE": m.state}
    h = json.loads(m.moat("--json", "status", env=env, state_opt=False).stdout)
    assert h["status"] in ("ok", "degraded")
    m.moat("po", "add", "v6", "--prefix", "2001:db8:3::/48", env=env, state_opt=False)
    assert m.po_names() == ["v6"]
    # MOAT_API beats api.url; a wrong one is "unreachable".
    m.moat("status", env={"MOAT_API": "http://127.0.0.1:1"}, rc=3)
    m.moat("status", env={"MOAT_API": m.url + "/"})
