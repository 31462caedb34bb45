"""Foundation end-to-end: every bad input gets its answer, and changes nothing.

Malformed config: exit 2 naming file:line:column (also with -n). REST:
malformed JSON -> 400; unknown field -> 400 naming it; oversized body ->
413; unknown route -> 404; wrong method -> 405; missing or wrong token ->
401; a prefix with host bits set -> 400 naming the prefix. After each the
store is unchanged and moatd still answers.
"""
import re
import subprocess

import pytest

from conftest import binpath
from test_foundation_moatd import moatd  # noqa: F401  (fixture)

BAD_CONFIGS = {
    # unknown key, two levels down
    "unknown_key": 'api:\n  listen: "127.0.0.1:1"\n  bogus: 1\n',
    # wrong type
    "wrong_type": 'api:\n  listen: [1, 2]\n',
    # not YAML at all
    "syntax": 'api:\n  listen: "127.0.0.1:1\n  x: {\n',
}


@pytest.mark.parametrize("case", sorted(BAD_CONFIGS))
def test_bad_config(tmp_path, case):
    cfg = tmp_path / ("moatd-%s.yaml" % case)
    cfg.write_text(BAD_CONFIGS[case])
    state = tmp_path / "state"
    state.mkdir()
    for extra in (["-n"], []):
        p = subprocess.run([binpath("moatd"), "-c", str(cfg), "--state", str(state)]
                           + extra, capture_output=True, text=True, timeout=10)
        assert p.returncode == 2, (extra, p.returncode, p.stderr)
        assert re.search(re.escape(str(cfg)) + r":\d+:\d+", p.stderr), p.stderr


def test_good_config_check(tmp_path):
    cfg = tmp_path / "moatd.yaml"
    cfg.write_text('api:\n  listen: "127.0.0.1:1"\n')
    p = subprocess.run([binpath("moatd"), "-c", str(cfg), "-n"], capture_output=True,
                       text=True, timeout=10)
    assert p.returncode == 0, p.stderr


def _assert_error(status, body, want_status, field=None, mentions=None):
    assert status == want_status, (status, body)
    assert isinstance(body, dict) and isinstance(body.get("error"), str), body
    if field is not None:
        assert body.get("field") == field, body
    if mentions is not None:
        assert mentions in body["error"] or mentions == body.get("field"), body


def test_bad_requests(moatd):
    ok = {"name": "web", "prefixes": ["192.0.2.0/24"], "ports": [80]}
    s, _ = moatd.request("POST", "/api/v1/pos", ok)
    assert s == 201
    before = moatd.pos()

    cases = [
        # malformed JSON
        (("POST", "/api/v1/pos", '{"name": "x", "prefixes": ['), 400, None, None),
        (("POST", "/api/v1/pos", "not json"), 400, None, None),
        # unknown field, named
        (("POST", "/api/v1/pos", {"name": "x", "prefixes": ["198.51.100.0/24"],
                                  "colour": "red"}), 400, "colour", None),
        # host bits set, prefix named
        (("POST", "/api/v1/pos", {"name": "x", "prefixes": ["198.51.100.1/24"]}),
         400, None, "198.51.100.1/24"),
        (("PUT", "/api/v1/pos/web", {"prefixes": ["2001:db8::1/32"]}),
         400, None, "2001:db8::1/32"),
        # bad values
        (("POST", "/api/v1/pos", {"name": "x", "prefixes": ["198.51.100.0/24"],
                                  "ports": [0]}), 400, "ports", None),
        (("POST", "/api/v1/pos", {"name": "a/b", "prefixes": ["198.51.100.0/24"]}),
         400, "name", None),
        # a prefix another PO holds
        (("POST", "/api/v1/pos", {"name": "x", "prefixes": ["192.0.2.0/24"]}),
         409, "prefixes", None),
        # unknown routes and methods
        (("GET", "/api/v1/nope", None), 404, None, None),
        (("GET", "/api/v2/pos", None), 404, None, None),
        (("GET", "/api/v1/pos/nope", None), 404, None, None),
        (("DELETE", "/api/v1/pos", None), 405, None, None),
        (("PUT", "/api/v1/health", {}), 405, None, None),
    ]
    for (method, path, body), want, field, mentions in cases:
        s, b = moatd.request(method, path, body)
        _assert_error(s, b, want, field, mentions)
        assert moatd.pos() == before, (method, path, body)

    # oversized body: just over LIMIT_API_BODY (1 MiB)
    big = b'{"name":"big","prefixes":["' + b"a" * (1 << 20) + b'"]}'
    s, b = moatd.request("POST", "/api/v1/pos", big, ctype="application/json")
    _assert_error(s, b, 413)
    assert moatd.pos() == before

    # missing and wrong token on every mutating route
    for method, path, body in [("POST", "/api/v1/pos", ok),
                               ("PUT", "/api/v1/pos/web", ok),
                               ("DELETE", "/api/v1/pos/web", None),
                               ("POST", "/api/v1/reset", {"confirm": True}),
                               ("POST", "/api/v1/backup", None),
                               ("POST", "/api/v1/restore", b"x")]:
        for token in (None, "0" * 64, "nonsense"):
            s, b = moatd.request(method, path, body, token=token)
            _assert_error(s, b, 401)
    assert moatd.pos() == before

    # and moatd is still fine
    s, h = moatd.request("GET", "/api/v1/health", token=None)
    assert s == 200 and h["pos"] == 1
