"""Traffic collection under hostile input: random bytes, lying lengths and
counts in every format, and a flood of exporter identities past the cap are
sent to moatd's flow listener. moatd must stay up, count what it rejected,
hold the sender to its per-address exporter cap (refusals counted and named),
and still count a good datagram after.
"""
import os
import random
import socket
import struct
import time

from collectlib import Moatd, POS_YAML, observed
from nslib import wait_for

LIMIT_COLLECT_EXPORTERS = 1024
LIMIT_COLLECT_EXPORTERS_PER_ADDR = 16


def nf5(dst=b"\xc0\x00\x02\x0a", seq=0, engine=0):
    hdr = struct.pack("!HHIIIIBBH", 5, 1, 1000, 1700000000, 0, seq, engine >> 8, engine & 0xff, 0)
    rec = struct.pack("!4s4s4sHHIIIIHHBBBBHHBBH", b"\xcb\x00\x71\x01", dst, b"\0" * 4, 0, 0,
                      7, 700, 900, 1000, 1234, 80, 0, 0x02, 6, 0, 0, 0, 0, 0, 0)
    return hdr + rec


def hostile(rnd):
    yield b""
    for _ in range(1500):                                   # random garbage
        yield bytes(rnd.randrange(256) for _ in range(rnd.randrange(0, 300)))
    for v in (5, 9, 10):                                   # valid version, random rest
        for _ in range(300):
            yield struct.pack("!H", v) + bytes(rnd.randrange(256) for _ in range(rnd.randrange(0, 400)))
    # v9: template claiming 65535 fields; flowset length past the datagram; zero-length flowset
    base9 = struct.pack("!HHIIII", 9, 1, 0, 0, 0, 77)
    yield base9 + struct.pack("!HHHHHH", 0, 12, 256, 0xffff, 8, 4)
    yield base9 + struct.pack("!HH", 0, 0xfff0) + b"\0" * 8
    yield base9 + struct.pack("!HH", 300, 0) * 50
    # IPFIX: message length past the datagram; set length past the message
    yield struct.pack("!HHIII", 10, 0xffff, 0, 0, 1) + b"\0" * 20
    yield struct.pack("!HHIII", 10, 24, 0, 0, 1) + struct.pack("!HH", 2, 0xff00) + b"\0" * 4
    # sFlow: 2^32-1 samples announced, none present; absurd record lengths
    yield struct.pack("!II4sIIII", 5, 1, b"\xc0\x00\x02\x01", 0, 1, 1, 0xffffffff)
    yield struct.pack("!II4sIIIIII", 5, 1, b"\xc0\x00\x02\x01", 0, 1, 1, 1, 1, 0xfffffff0)


def test_hostile_datagrams(topo, tmp_path):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    m = Moatd(topo, tmp_path, POS_YAML + 'collect:\n  udp: ["127.0.0.1:%d"]\n' % port)
    m.start()
    rnd = random.Random(11)
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    tx.sendto(nf5(seq=0), ("127.0.0.1", port))      # a known exporter before the storm
    wait_for(lambda: observed(m, "web")["in"]["tcp"]["packets"] == 7, timeout=10,
             what="the first good datagram")
    sent = 0
    for dg in hostile(rnd):
        tx.sendto(dg, ("127.0.0.1", port))
        sent += 1
        if sent % 200 == 0:
            time.sleep(0.02)          # stay within the socket buffer
    # exporter identities past the cap: v5 engine ids from one address
    for engine in range(LIMIT_COLLECT_EXPORTERS + 200):
        tx.sendto(nf5(engine=engine), ("127.0.0.1", port))
        if engine % 200 == 0:
            time.sleep(0.02)

    def settled():
        st, body = m.request("GET", "/api/v1/exporters", token=None)
        assert st == 200
        ok = (body["unparsed"] >= 100 and
              body["refused"]["sender_cap"]["count"] >= LIMIT_COLLECT_EXPORTERS // 2)
        return body if ok else None
    body = wait_for(settled, timeout=15, what="moatd to account the refused datagrams")
    # one address holds at most its cap of exporter identities, never the table
    assert len(body["exporters"]) <= LIMIT_COLLECT_EXPORTERS_PER_ADDR
    assert body["refused"]["sender_cap"]["last_source"] == "127.0.0.1"
    assert sum(x["parse_errors"] for x in body["exporters"]) > 0

    # still up, and the known exporter is still counted
    st, health = m.request("GET", "/api/v1/health", token=None)
    assert st == 200
    before = observed(m, "web")["in"]["tcp"]["packets"]
    for i in range(10):
        tx.sendto(nf5(seq=1000 + i), ("127.0.0.1", port))
    wait_for(lambda: observed(m, "web")["in"]["tcp"]["packets"] >= before + 70, timeout=10,
             what="good records after the storm")
    tx.close()
    assert m.stop() == 0
