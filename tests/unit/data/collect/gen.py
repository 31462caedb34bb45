#!/usr/bin/python3
"""Writes the golden datagrams and frames the collect unit tests read.

Run from anywhere: /usr/bin/python3 tests/unit/data/collect/gen.py
Every value the tests assert is visible here. Addresses are documentation
ranges only. Frames are built with scapy; flow exports with struct, field by
field, so a reader can check them against the RFCs.
"""
import os
import struct

from scapy.all import (ARP, ICMP, IP, UDP, TCP, Dot1Q, Ether, IPv6, ICMPv6EchoRequest,
                       IPv6ExtHdrDestOpt, IPv6ExtHdrFragment, IPv6ExtHdrHopByHop, IPOption_RR,
                       Raw, raw)

HERE = os.path.dirname(os.path.abspath(__file__))


def out(name, data):
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)


def ip4(s):
    return bytes(int(x) for x in s.split("."))


# ---- frames for decode ----
def frames():
    out("eth_qinq_tcp_syn.bin", raw(
        Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02", type=0x88a8) /
        Dot1Q(vlan=100) / Dot1Q(vlan=200) /
        IP(src="198.51.100.7", dst="192.0.2.10", options=[IPOption_RR()]) /
        TCP(sport=40000, dport=80, flags="S") / Raw(b"x" * 10)))
    # first fragment (MF, offset 0) and a later one (offset 185*8)
    out("ipv4_frag_first.bin", raw(
        IP(src="203.0.113.5", dst="192.0.2.20", flags="MF", frag=0, proto=17) /
        UDP(sport=53, dport=33000) / Raw(b"a" * 100)))
    out("ipv4_frag_later.bin", raw(
        IP(src="203.0.113.5", dst="192.0.2.20", flags=0, frag=185, proto=17) / Raw(b"b" * 60)))
    out("ipv6_ext_frag_udp.bin", raw(
        Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") /
        IPv6(src="2001:db8::1", dst="2001:db8:1::2") / IPv6ExtHdrHopByHop() /
        IPv6ExtHdrDestOpt() / IPv6ExtHdrFragment(m=1, offset=0, id=7) /
        UDP(sport=1234, dport=4321) / Raw(b"c" * 40)))
    out("ipv6_frag_later.bin", raw(
        IPv6(src="2001:db8::1", dst="2001:db8:1::2") /
        IPv6ExtHdrFragment(m=0, offset=6, id=7, nh=17) / Raw(b"d" * 24)))
    out("icmpv6_echo.bin", raw(
        IPv6(src="2001:db8::1", dst="2001:db8:1::2") / ICMPv6EchoRequest()))
    out("icmp_unreach.bin", raw(
        Ether() / IP(src="198.51.100.1", dst="192.0.2.1") / ICMP(type=3, code=1)))
    out("arp.bin", raw(Ether() / ARP(psrc="192.0.2.1", pdst="192.0.2.2")))
    # Ethernet minimum-size padding after a short IPv4/UDP packet
    out("eth_padded_udp.bin", raw(
        Ether() / IP(src="192.0.2.1", dst="192.0.2.2") / UDP(sport=7, dport=9)) + b"\0" * 18)


# ---- NetFlow v5 ----
def nf5_record(src, dst, pkts, octets, first, last, sport, dport, flags, proto):
    return struct.pack("!4s4s4sHHIIIIHHBBBBHHBBH", ip4(src), ip4(dst), ip4("0.0.0.0"), 1, 2,
                       pkts, octets, first, last, sport, dport, 0, flags, proto, 0, 0, 0, 0, 0, 0)


def nf5():
    recs = [nf5_record("198.51.100.1", "192.0.2.10", 10, 4000, 9000, 9500, 40000, 80, 0x02, 6),
            nf5_record("198.51.100.2", "192.0.2.11", 3, 300, 9100, 9900, 53, 5353, 0, 17)]
    # uptime 10000 ms at unix 1700000000.5; sequence 1000; engine 1/2; 1-in-100 sampling
    hdr = struct.pack("!HHIIIIBBH", 5, len(recs), 10000, 1700000000, 500000000, 1000, 1, 2,
                      (1 << 14) | 100)
    out("nf5_two.bin", hdr + b"".join(recs))


# ---- NetFlow v9 ----
V9_FIELDS = [(8, 4), (12, 4), (7, 2), (11, 2), (4, 1), (6, 1), (1, 4), (2, 4), (21, 4), (22, 4)]


def nf9_header(count, seq, source_id=42):
    return struct.pack("!HHIII", 9, count, 20000, 1700000100, seq) + struct.pack("!I", source_id)


def flowset(fid, body):
    pad = (-len(body)) % 4
    return struct.pack("!HH", fid, 4 + len(body) + pad) + body + b"\0" * pad


def nf9_template(tid, fields):
    return struct.pack("!HH", tid, len(fields)) + b"".join(struct.pack("!HH", t, l) for t, l in fields)


def nf9_data(src, dst, sport, dport, proto, flags, octets, pkts, last, first):
    return struct.pack("!4s4sHHBBIIII", ip4(src), ip4(dst), sport, dport, proto, flags, octets,
                       pkts, last, first)


def nf9():
    data = flowset(256, nf9_data("203.0.113.9", "192.0.2.50", 1111, 443, 6, 0x12, 1500, 5, 19000, 18000) +
                   nf9_data("203.0.113.9", "192.0.2.51", 2222, 53, 17, 0, 80, 1, 19500, 19500))
    out("nf9_tmpl_data.bin", nf9_header(3, 7) + flowset(0, nf9_template(256, V9_FIELDS)) + data)
    out("nf9_data_only.bin", nf9_header(2, 8) + data)
    # options template 257: scope system (type 1, len 4); options SAMPLING_INTERVAL(34,4), ALGO(35,1)
    opt_tmpl = struct.pack("!HHH", 257, 4, 8) + struct.pack("!HHHHHH", 1, 4, 34, 4, 35, 1)
    opt_data = struct.pack("!IIB", 0, 64, 2)
    out("nf9_options.bin", nf9_header(2, 9) + flowset(1, opt_tmpl) + flowset(257, opt_data))


# ---- IPFIX ----
def ipfix_msg(seq, sets, domain=7):
    body = b"".join(sets)
    return struct.pack("!HHIII", 10, 16 + len(body), 1700000200, seq, domain) + body


def ipfix_set(sid, body):
    return struct.pack("!HH", sid, 4 + len(body)) + body


def ipfix():
    # 300: src6, dst6, sport, dport, proto, octets(8), packets(8), flowEndMilliseconds,
    #      an enterprise element (pen 29305, 4 bytes), a variable-length string (IE 82)
    fields = struct.pack("!HH", 300, 10)
    fields += struct.pack("!HHHHHHHHHHHHHHHH", 27, 16, 28, 16, 7, 2, 11, 2, 4, 1, 1, 8, 2, 8, 153, 8)
    fields += struct.pack("!HHI", 0x8000 | 100, 4, 29305)
    fields += struct.pack("!HH", 82, 0xffff)
    tmpl = ipfix_set(2, fields)

    def rec(dst_last, octets, pkts, name):
        src = bytes.fromhex("20010db8000000000000000000000001")
        dst = bytes.fromhex("20010db8000100000000000000000000")[:15] + bytes([dst_last])
        return (src + dst + struct.pack("!HHBQQQ", 5000, 443, 6, octets, pkts, 1700000199123) +
                b"\xde\xad\xbe\xef" + bytes([len(name)]) + name)
    data = ipfix_set(300, rec(2, 123456, 100, b"eth0") + rec(3, 64, 1, b""))
    out("ipfix_tmpl_data.bin", ipfix_msg(0, [tmpl, data]))
    out("ipfix_data_only.bin", ipfix_msg(2, [data]))
    # withdraw template 300 (field count 0)
    out("ipfix_withdraw.bin", ipfix_msg(4, [ipfix_set(2, struct.pack("!HH", 300, 0))]))
    # options template 400: scope observationDomainId(149,4); samplingPacketInterval(305,4),
    # samplingPacketSpace(306,4) -> 1 of 1+99 = 1 in 100
    opt = ipfix_set(3, struct.pack("!HHH", 400, 3, 1) + struct.pack("!HHHHHH", 149, 4, 305, 4, 306, 4))
    optd = ipfix_set(400, struct.pack("!III", 7, 1, 99))
    out("ipfix_options.bin", ipfix_msg(4, [opt, optd]))


def ipfix_ins():
    """A moat-ins datagram (src/ins/insipfix.c, docs/ins.md): its IPv4 template 256 with the
    enterprise elements under PEN 32473, one CLOSE record; and a template 258 mixing a moat-ins
    element with an unknown enterprise element, an unknown moat-ins id, a reduced-size total
    and a variable-length moat-ins element (skipped), one CAPPED record."""
    pen = 32473

    def ent(ie, ln, p=pen):
        return struct.pack("!HHI", 0x8000 | ie, ln, p)
    std = [(1, 8), (2, 8), (4, 1), (6, 2), (7, 2), (8, 4), (11, 2), (12, 4), (152, 8), (153, 8), (136, 1)]
    ins = [(1, 1), (2, 8), (3, 8), (4, 8)] + [(i, 4) for i in range(5, 16)]
    t256 = struct.pack("!HH", 256, len(std) + len(ins)) + b"".join(struct.pack("!HH", i, n) for i, n in std)
    t256 += b"".join(ent(i, n) for i, n in ins)
    rec = struct.pack("!QQBHH4sH4sQQB", 1234, 5, 6, 0x01, 40000, ip4("198.51.100.9"), 80, ip4("203.0.113.5"),
                      1700000000000, 1700000001000, 3)
    rec += struct.pack("!BQQQ", 2, 77, 1234, 99999)
    #                  rtt retrans sndwnd rcvspace rq wq lastrecv lastsent held ttfb headers(unknown)
    rec += struct.pack("!IIIIIIIIIII", 150, 2, 65535, 131072, 0, 10, 5, 6, 12, 3, 0xffffffff)
    t258 = struct.pack("!HH", 258, 7) + struct.pack("!HH", 8, 4) + ent(1, 1) + ent(1, 4, 29305)
    t258 += ent(99, 2) + ent(2, 8) + ent(3, 4) + ent(4, 0xffff)
    rec2 = ip4("198.51.100.7") + struct.pack("!BIHQI", 8, 0xdeadbeef, 0x1234, 78, 500) + bytes([2]) + b"ab"
    out("ipfix_ins.bin", ipfix_msg(0, [ipfix_set(2, t256 + t258), ipfix_set(256, rec), ipfix_set(258, rec2)],
                                   domain=4242))


# ---- sFlow v5 ----
def sflow():
    frame = raw(Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") /
                IP(src="198.51.100.9", dst="192.0.2.99", len=1000) / TCP(sport=12345, dport=443, flags="S"))
    hdr_rec = struct.pack("!IIII", 1, 1014, 4, len(frame)) + frame + b"\0" * ((-len(frame)) % 4)
    flow_rec = struct.pack("!II", 1, len(hdr_rec)) + hdr_rec
    fs_body = struct.pack("!IIIIIIII", 11, 3, 512, 51200, 0, 3, 4, 1) + flow_rec
    flow_sample = struct.pack("!II", 1, len(fs_body)) + fs_body
    # expanded flow sample with a sampled-IPv6 record (0:4)
    v6 = (struct.pack("!II", 200, 17) + bytes.fromhex("20010db8000000000000000000000005") +
          bytes.fromhex("20010db8000100000000000000000009") + struct.pack("!IIII", 53, 5353, 0, 0))
    v6rec = struct.pack("!II", 4, len(v6)) + v6
    xfs_body = struct.pack("!IIIIIIIIIII", 12, 0, 3, 2048, 2048, 0, 0, 3, 0, 4, 1) + v6rec
    xflow_sample = struct.pack("!II", 3, len(xfs_body)) + xfs_body
    gen = struct.pack("!IIQIIQIIIIIIQIIIIII", 3, 6, 10000000000, 1, 1, 987654321, 1000, 0, 0, 5, 2,
                      0, 123456789, 900, 0, 0, 1, 0, 0)
    ctr_body = struct.pack("!III", 13, 3, 1) + struct.pack("!II", 1, len(gen)) + gen
    ctr_sample = struct.pack("!II", 2, len(ctr_body)) + ctr_body
    samples = [flow_sample, xflow_sample, ctr_sample]
    hdr = struct.pack("!II4sIIII", 5, 1, ip4("192.0.2.254"), 0, 77, 123456, len(samples))
    out("sflow_mixed.bin", hdr + b"".join(samples))


# ---- a small capture for pcapin ----
def capture():
    from scapy.all import wrpcap
    pkts = [
        Ether() / IP(src="198.51.100.1", dst="192.0.2.1") / TCP(sport=1000, dport=80, flags="S"),
        Ether() / IP(src="198.51.100.1", dst="192.0.2.1") / TCP(sport=1000, dport=80, flags="A") / Raw(b"x" * 100),
        Ether() / ARP(psrc="192.0.2.1", pdst="192.0.2.2"),
        Ether() / IPv6(src="2001:db8::1", dst="2001:db8:1::1") / UDP(sport=5, dport=53) / Raw(b"q" * 20),
        Ether() / IP(src="192.0.2.1", dst="198.51.100.1") / ICMP(),
        Ether(type=0x0800) / Raw(b"\x45\x00"),   # IPv4 header cut short: malformed
    ]
    for i, p in enumerate(pkts):
        p.time = 1700000000 + i * 0.6       # 0.0 .. 3.0 s: crosses 3 second boundaries
    wrpcap(os.path.join(HERE, "mix.pcap"), pkts)


if __name__ == "__main__":
    capture()
    frames()
    nf5()
    nf9()
    ipfix()
    ipfix_ins()
    sflow()
