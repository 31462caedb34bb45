#!/usr/bin/python3
"""Seeds for the collect fuzz targets from the unit-test golden files.

decode: one link-type byte + frame. Flow formats: datagrams, each with a
2-byte big-endian length prefix (see tests/fuzz/fuzz_netflow9.c).
Run: /usr/bin/python3 tests/fuzz/corpus/gen_collect.py
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "..", "unit", "data", "collect")


def rd(name):
    with open(os.path.join(DATA, name), "rb") as f:
        return f.read()


def wr(target, name, data):
    with open(os.path.join(HERE, target, name), "wb") as f:
        f.write(data)


def framed(*names):
    return b"".join(struct.pack("!H", len(rd(n))) + rd(n) for n in names)


ETHER, RAW = 0, 1
for name, link in [("eth_qinq_tcp_syn.bin", ETHER), ("ipv4_frag_first.bin", RAW),
                   ("ipv4_frag_later.bin", RAW), ("ipv6_ext_frag_udp.bin", ETHER),
                   ("ipv6_frag_later.bin", RAW), ("icmpv6_echo.bin", RAW),
                   ("icmp_unreach.bin", ETHER), ("arp.bin", ETHER), ("eth_padded_udp.bin", ETHER)]:
    wr("decode", name, bytes([link]) + rd(name))
wr("netflow5", "two.bin", framed("nf5_two.bin"))
wr("netflow9", "tmpl_data.bin", framed("nf9_tmpl_data.bin", "nf9_data_only.bin"))
wr("netflow9", "options.bin", framed("nf9_options.bin", "nf9_tmpl_data.bin"))
wr("ipfix", "tmpl_data.bin", framed("ipfix_tmpl_data.bin", "ipfix_data_only.bin"))
wr("ipfix", "withdraw.bin", framed("ipfix_tmpl_data.bin", "ipfix_withdraw.bin", "ipfix_data_only.bin"))
wr("ipfix", "options.bin", framed("ipfix_options.bin"))
wr("sflow", "mixed.bin", framed("sflow_mixed.bin"))
wr("pcap", "mix.pcap", rd("mix.pcap"))
