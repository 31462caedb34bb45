"""Detection end-to-end: the attacks API and CLI of a running moatd.

A fresh moatd has no attacks: GET /api/v1/attacks answers an empty list,
unknown ids are 404 (with JSON errors), a bad filter is 400, and `moat
attacks` / `moat attack ID` print and exit as the CLI contract says. The
detection module starts with moatd (flight entry) and saves its learned
state in the store across a restart.
"""
import json
import signal

from test_foundation_moatd import moatd  # noqa: F401  (fixture)


def test_attacks_api_empty(moatd):
    st, body = moatd.request("GET", "/api/v1/attacks", token=None)
    assert st == 200 and body == {"attacks": []}
    for state in ("live", "ended", "all"):
        st, body = moatd.request("GET", "/api/v1/attacks?state=" + state, token=None)
        assert st == 200 and body["attacks"] == []
    st, body = moatd.request("GET", "/api/v1/attacks?state=bogus", token=None)
    assert st == 400 and body["field"] == "state"
    st, body = moatd.request("GET", "/api/v1/attacks/1", token=None)
    assert st == 404 and "error" in body
    st, body = moatd.request("GET", "/api/v1/attacks/abc", token=None)
    assert st == 404
    st, body = moatd.request("POST", "/api/v1/attacks", body={})
    assert st == 405


def test_attacks_cli(moatd):
    p = moatd.moat("attacks")
    assert "no attacks" in p.stdout
    assert json.loads(moatd.moat("--json", "attacks", "--state", "live").stdout) == {"attacks": []}
    moatd.moat("attacks", "--state", "sideways", rc=2)
    moatd.moat("attack", rc=2)
    moatd.moat("attack", "x", rc=2)
    p = moatd.moat("attack", "7", rc=1)
    assert "404" in p.stderr
    assert "attack" in moatd.moat("help", "attacks").stdout


def test_detection_starts_and_persists(moatd):
    st, body = moatd.request("GET", "/api/v1/flight?category=learning", token=None)
    assert st == 200
    assert any(e["event"] == "detection.start" for e in body["entries"])
    assert moatd.stop(signal.SIGTERM) == 0
    moatd.start()
    st, body = moatd.request("GET", "/api/v1/attacks", token=None)
    assert st == 200 and body == {"attacks": []}
    st, body = moatd.request("GET", "/api/v1/flight?category=learning", token=None)
    assert sum(e["event"] == "detection.start" for e in body["entries"]) == 2
