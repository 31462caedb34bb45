#!/usr/bin/python3
"""Write the seed corpora for fuzz_insproto and fuzz_ins_http (small files,
checked in; re-run after changing src/ins/insproto.h)."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def hdr(t, i=1):
    return struct.pack(">HBBI", 0x4d49, 1, t, i)


def addr(fam=4, port=80, a=b"\xc0\x00\x02\x01", scope=0):
    return struct.pack(">BH", fam, port) + a.ljust(16, b"\0") + struct.pack(">I", scope)


def s8(b):
    return bytes([len(b)]) + b


R = 0x80
PROTO = {
    "socket_tcp4": hdr(1) + struct.pack(">BBBI", 4, 1, 0, 0),
    "socket_udp6_nb": hdr(1) + struct.pack(">BBBI", 6, 2, 1, 17),
    "bind": hdr(2) + addr(port=8080),
    "bind6": hdr(2) + addr(6, 443, bytes.fromhex("20010db8000000000000000000000001"), 3),
    "listen": hdr(3) + struct.pack(">I", 511),
    "connect": hdr(4) + b"\x01" + addr(port=443),
    "getname": hdr(5),
    "resolve": hdr(6) + struct.pack(">BBI", 0, 1, 0x20) + s8(b"www.example.test") + s8(b"http"),
    "conn": hdr(7) + struct.pack(">Q", 42) + addr(port=50000) + addr(port=80),
    "deny": hdr(8) + addr(port=0) + struct.pack(">I", 600),
    "reply_socket": hdr(1 | R) + struct.pack(">I", 0),
    "reply_err": hdr(2 | R) + struct.pack(">I", 13),
    "reply_getname": hdr(5 | R) + struct.pack(">I", 0) + addr(),
    "reply_resolve": hdr(6 | R) + struct.pack(">IB", 0, 2) + addr() + addr(6),
    # ext asked for (INS_RESOLVE_EXT) with AI_CANONNAME, socktype 0
    "resolve_ext": hdr(6) + struct.pack(">BBI", 0, 0, 0x80000002) + s8(b"gotest-alias") + s8(b"80"),
    # ext: canonical name, then (socktype, protocol) per entry: STREAM/TCP, DGRAM/UDP, RAW/0
    "reply_resolve_ext": hdr(6 | R) + struct.pack(">IB", 0, 3) + addr() + addr() + addr()
    + s8(b"gotest.example") + bytes([1, 6, 2, 17, 3, 0]),
}
HTTP = {
    "get": b"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
    "partial": b"GET /index.html HTTP/1.1\r\nHost: a\r\nX-a: b\r\n",
    "lf_only": b"POST /x HTTP/1.0\nContent-Length: 3\n\nabc",
    "tls": b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
    "clen": b"POST /f HTTP/1.1\r\nHost: a\r\ncontent-length:\t8192 \r\n\r\n",
    "clen_chunked": b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
}



def diag_msg(info_len=232):
    """nlmsghdr + inet_diag_msg + INET_DIAG_INFO attribute, host byte order like the kernel."""
    sockid = struct.pack(">HH", 80, 40000) + bytes([192, 0, 2, 1]).ljust(16, b"\0") + \
        bytes([192, 0, 2, 9]).ljust(16, b"\0") + struct.pack("=III", 0, 7, 0)
    msg = struct.pack("=BBBB", 2, 1, 0, 0) + sockid + struct.pack("=IIIII", 0, 0, 12, 0, 99)
    attr = struct.pack("=HH", 4 + info_len, 2) + bytes(info_len)
    attr += bytes((4 - len(attr) % 4) % 4)
    body = msg + attr
    return struct.pack("=IHHII", 16 + len(body), 20, 2, 1, 0) + body


DONE = struct.pack("=IHHII", 20, 3, 2, 1, 0) + struct.pack("=i", 0)
DIAG = {
    "one_done": diag_msg() + DONE,
    "two": diag_msg() + diag_msg(104),
    "error": struct.pack("=IHHII", 36, 2, 0, 1, 0) + struct.pack("=i", -1) + bytes(16),
}

for name, corpus in (("insproto", PROTO), ("ins_http", HTTP), ("ins_diag", DIAG)):
    d = os.path.join(HERE, "corpus", name)
    os.makedirs(d, exist_ok=True)
    for k, v in corpus.items():
        with open(os.path.join(d, k), "wb") as f:
            f.write(v)
