"""Foundation end-to-end: POs added through the CLI survive a restart.

Add POs with `moat po add` (flags and --file), stop moatd with SIGTERM,
start it again on the same state dir: every PO is still there, unchanged,
and `moat po list --json` parses. `po rm` removes one for good.
"""
import json
import signal

from test_foundation_moatd import moatd  # noqa: F401  (fixture)


def test_pos_survive_restart(moatd, tmp_path):
    moatd.moat("po", "add", "web", "--prefix", "192.0.2.0/24", "--prefix",
               "2001:db8:1::/48", "--port", "80", "--port", "443",
               "--driver", "nft", "--threshold", "tcp.syn_pps=20k")
    moatd.moat("po", "add", "dns", "--prefix", "198.51.100.0/25", "--port", "53")
    po_file = tmp_path / "mail.json"
    po_file.write_text(json.dumps({"name": "mail", "prefixes": ["203.0.113.0/28"],
                                   "ports": [25]}))
    moatd.moat("po", "add", "--file", str(po_file))

    listed = json.loads(moatd.moat("po", "list", "--json").stdout)["pos"]
    assert [p["name"] for p in listed] == ["dns", "mail", "web"]
    web = json.loads(moatd.moat("--json", "po", "show", "web").stdout)
    assert web["prefixes"] == ["192.0.2.0/24", "2001:db8:1::/48"]
    assert web["ports"] == [80, 443]
    assert web["source"] == "api"
    assert web["thresholds"]["tcp"]["syn_pps"] == 20000
    human = moatd.moat("po", "list").stdout
    assert "web" in human and "192.0.2.0/24" in human

    assert moatd.stop(signal.SIGTERM) == 0
    moatd.start()

    after = json.loads(moatd.moat("po", "list", "--json").stdout)["pos"]
    assert after == listed

    moatd.moat("po", "rm", "dns")
    assert moatd.stop(signal.SIGTERM) == 0
    moatd.start()
    assert moatd.po_names() == ["mail", "web"]
