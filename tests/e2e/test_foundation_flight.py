"""Foundation end-to-end: the flight record through the CLI.

Every config change (PO add, replace, remove) is an entry; `moat flight`
filters by category and by time range; --json parses.
"""
import json
import time

from test_foundation_moatd import moatd  # noqa: F401  (fixture)


def entries(moatd, *args):
    return json.loads(moatd.moat("--json", "flight", *args).stdout)["entries"]


def test_flight_record(moatd, tmp_path):
    t0 = time.time()
    moatd.moat("po", "add", "web", "--prefix", "192.0.2.0/24")
    moatd.moat("po", "add", "dns", "--prefix", "198.51.100.0/24")
    moatd.moat("po", "add", "web", "--prefix", "192.0.2.0/25", "--replace")
    moatd.moat("po", "rm", "dns")

    config = entries(moatd, "--category", "config")
    assert config, "no config entries"
    assert all(e["category"] == "config" for e in config)
    # one entry per change, newest first, each naming its PO
    assert len(config) >= 4
    times = [e["time"] for e in config]
    assert times == sorted(times, reverse=True)
    text = json.dumps(config[:4])
    assert "web" in text and "dns" in text

    # other categories exist (start-up) and are filtered out above
    everything = entries(moatd, "--limit", "1000")
    assert len(everything) >= len(config)
    life = entries(moatd, "--category", "lifecycle")
    assert all(e["category"] == "lifecycle" for e in life)
    both = entries(moatd, "--category", "config,lifecycle")
    assert len(both) == len(config) + len(life)

    # time ranges: absolute and relative
    assert len(entries(moatd, "--category", "config", "--since", "1h")) == len(config)
    assert entries(moatd, "--until", "%d" % int(t0 - 3600)) == []
    assert entries(moatd, "--since", "%d" % int(time.time() + 3600)) == []
    assert len(entries(moatd, "--category", "config", "--since", "%d" % int(t0 - 1),
                       "--until", "now")) == len(config)
    assert len(entries(moatd, "--limit", "2")) == 2

    human = moatd.moat("flight", "--category", "config").stdout
    assert "CATEGORY" in human and "config" in human and "DETAIL" not in human
    detailed = moatd.moat("flight", "--category", "config", "--detail").stdout
    assert "DETAIL" in detailed and '"name":"dns"' in detailed
