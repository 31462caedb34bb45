#!/usr/bin/python3
"""Write the seed corpora of the configuration-file fuzz targets: chaff_conf
(moat-chaff's YAML) and ins_policy (moat-ins's policy file). The documented
examples are taken from docs/chaff.md and docs/ins.md (the first ```yaml
block), the rest are small valid and invalid files like those of the unit
tests. Run from this directory."""
import os
import re

DOCS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "docs")


def doc_yaml(name):
    text = open(os.path.join(DOCS, name)).read()
    return re.search(r"```yaml\n(.*?)```", text, re.S).group(1)


CHAFF = {
    "doc_example": doc_yaml("chaff.md"),
    "minimal": "interface: eth1\ndecoys:\n  - ranges: [192.0.2.0/24]\n",
    "unit_full": (
        "interface: chaff0\nseed: 9\ndecoys:\n"
        "  - ranges: [192.0.2.0/24, 198.51.100.7]\n    exclude: [192.0.2.1]\n"
        "    personality: windows-10\n    tcp: [80, 445]\n    udp: [53]\n"
        "  - ranges: [203.0.113.0/28]\n    fingerprint: \"Linux 5.0 - 5.4\"\n"
        "alarms:\n  file: /tmp/x\n  window: 5m\n  allow: [203.0.113.200/32]\n"
        "  syslog: \"udp:127.0.0.1:514\"\nalive: {interval: 30s, pps: 50}\n"),
    "flow_style": (
        "{interface: e, vlans: [1, 4094], decoys: [{ranges: [198.51.100.0/28], "
        "tcp: [22], udp: [53, 123]}], claim: {ranges: [203.0.113.0/24], "
        "reserved: [203.0.113.1], after: 100, within: 1h, max: 65536}}\n"),
    "moatd_post": (
        "interface: c0\nuser: nobody\nstate_dir: /var/lib/moat-chaff\ndecoys:\n"
        "  - ranges: [192.0.2.16/28]\nalarms:\n"
        "  moatd_url: \"http://127.0.0.1:8080/api/v1/alarms\"\n"
        "  moatd_token_file: /var/lib/moat/api.token\n  syslog: unix:/dev/log\n"),
    "bad_v6_range": "interface: a\ndecoys:\n  - ranges: [2001:db8::/64]\n",
    "bad_short": "interface: a\ndecoys:\n  - ranges: [10.0.0.0/8]\n",
    "bad_port": "interface: a\ndecoys:\n  - ranges: [192.0.2.0/24]\n    tcp: [0]\n",
    "bad_persona": "interface: a\ndecoys:\n  - ranges: [192.0.2.0/24]\n    personality: beos\n",
    "bad_anchor": "interface: &i a\ndecoys: &d\n  - ranges: &r [192.0.2.0/24]\n    exclude: *r\nclaim:\n  ranges: *r\n",
}

POLICY = {
    "doc_example": doc_yaml("ins.md"),
    "empty": "",
    "unit_load": (
        "bind:\n  port_min: 1024\n  port_max: 9000\n"
        "connect:\n  udp: false\n  allow: [\"192.0.2.0/24\"]\n"
        "hold:\n  mode: http\n  timeout_ms: 3000\n  max_per_source: 4\n"
        "shed:\n  deny_for: 2m\n  deny_after_drops: 5\n"),
    "v4mapped": "connect:\n  mark: 0\n  allow: [\"::ffff:198.51.100.0/120\", 2001:db8::/32, 203.0.113.7]\n",
    "flow_style": "{hold: {mode: data, max_conns_per_source: 16}, shed: {observe_ms: 0, idle_timeout: 5m}}\n",
    "bad_hostbits": "connect:\n  allow: [\"192.0.2.1/24\"]\n",
    "bad_mode": "hold:\n  mode: sometimes\n",
    "bad_range": "bind:\n  port_min: 9000\n  port_max: 1024\n",
    "bad_mark": "connect:\n  mark: 4294967296\n",
    "bad_root": "- bind\n- connect\n",
}

for target, seeds in (("chaff_conf", CHAFF), ("ins_policy", POLICY)):
    os.makedirs(target, exist_ok=True)
    for name, text in seeds.items():
        with open(os.path.join(target, name + ".yaml"), "w") as f:
            f.write(text)
