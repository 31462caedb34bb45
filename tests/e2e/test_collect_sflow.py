"""Traffic collection from sFlow: pmacct's sfprobe replays the known-mix
capture as sFlow v5 (raw header samples, 1-in-1 sampling) into moatd. The
agent address names the exporter; every sample goes through the packet
decoder. sfprobe samples by its own rules (it may skip a packet), so totals
are checked against the packet truth within 2 %.
"""
import socket
import time

from collectlib import Moatd, POS, POS_YAML, observed, truth_of
from conftest import need
from nslib import wait_for
from test_collect_pcap import build_mix


def close(a, b, tol=0.02):
    return abs(a - b) <= tol * max(a, b, 1)


def test_sfprobe_into_moatd(topo, tmp_path):
    need("pmacctd")
    from scapy.all import rdpcap, wrpcap
    pcap = str(tmp_path / "mix.pcap")
    wrpcap(pcap, build_mix())
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    m = Moatd(topo, tmp_path, POS_YAML + 'collect:\n  udp: ["127.0.0.1:%d"]\n' % port)
    m.start()
    conf = tmp_path / "sfprobe.conf"
    conf.write_text("daemonize: false\npcap_savefile: %s\npcap_savefile_wait: false\n"
                    "plugins: sfprobe\nsfprobe_receiver: 127.0.0.1:%d\n"
                    "sfprobe_agentip: 192.0.2.254\nsfprobe_sampling_rate: 1\n" % (pcap, port))
    topo.spawn(None, "pmacctd", "-f", str(conf))

    def exporter():
        st, body = m.request("GET", "/api/v1/exporters", token=None)
        ex = [x for x in body["exporters"] if x["protocol"] == "sflow"]
        return ex[0] if ex and ex[0]["records"] > 900 else None
    x = wait_for(exporter, timeout=30, what="sFlow samples from sfprobe")
    assert x["address"] == "192.0.2.254"
    assert x["parse_errors"] == 0
    time.sleep(2.5)                           # the rest of the samples and a tick
    pkt = truth_of(rdpcap(pcap))
    got = {po: observed(m, po) for po in POS}
    for po, d, p in (("web", "in", "tcp"), ("web", "out", "tcp"), ("dns", "in", "udp"),
                     ("web", "in", "icmp")):
        for k in ("packets", "bytes"):
            assert close(got[po][d][p][k], pkt[po][d][p][k]), (po, d, p, k, got[po][d][p], pkt[po][d][p])
    assert close(got["web"]["in"]["tcp"]["syns"], 300)
    assert m.stop() == 0
