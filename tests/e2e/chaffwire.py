"""Wire-level probes for the moat-chaff stack tests, run inside the scanner
namespace (root): raw Ethernet frames through AF_PACKET, no scapy. Prints
one JSON document on stdout. Every loop is bounded by a deadline.

  chaffwire.py syn IFACE SRC_IP FAKE_MAC SECONDS DST_IP:DST_MAC:PORT ...
      send a SYN from SRC_IP (an address nobody holds, so the scanner's
      kernel never resets the SYN/ACKs) with FAKE_MAC as the Ethernet
      source; answer ARP requests for SRC_IP with the interface's MAC;
      record every ARP request and SYN/ACK for SECONDS.
  chaffwire.py fetch IFACE DST_IP PORT MSS
      an ordinary kernel TCP client (MSS clamped) sends GET / and reads the
      answer while every segment from DST_IP is captured.
  chaffwire.py norack IFACE SRC_IP SECONDS DST_IP@DST_MAC@PORT
      a handshake from SRC_IP (timestamps offered, ARP for SRC_IP answered),
      then an HTTP request; the decoy's data is never acknowledged: record
      every segment from the decoy for SECONDS.
  chaffwire.py zerowin IFACE SRC_IP SECONDS DST_IP@DST_MAC@PORT
      like norack, but MSS 536 and the request sent with a zero window,
      opened (and the data then acked) after SECONDS / 2.
  chaffwire.py arp IFACE MY_IP TARGET_IP
      ARP request from MY_IP; prints the MAC that answers (or null).
  chaffwire.py bigping DST_IP SIZE SECONDS
      an echo request with SIZE data bytes, fragmented by the kernel; prints
      the (kernel-reassembled) reply's data length and whether it matches.
  chaffwire.py icmpts DST_IP SECONDS
      ICMP timestamp request; prints the reply's fields or null.
"""
import json
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003


def mac_bytes(s):
    return bytes(int(x, 16) for x in s.split(":"))


def mac_str(b):
    return ":".join("%02x" % x for x in b)


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def ip_header(src, dst, proto, payload_len, ident=1):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + payload_len, ident, 0x4000, 64, proto, 0,
                    socket.inet_aton(src), socket.inet_aton(dst))
    return h[:10] + struct.pack("!H", csum(h)) + h[12:]


def tcp_seg(src, dst, sport, dport, seq, ack, flags, opts=b"", data=b"", win=64240):
    hdr = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, (20 + len(opts)) // 4 << 4, flags,
                      win, 0, 0) + opts + data
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 6, len(hdr))
    c = csum(pseudo + hdr)
    return hdr[:16] + struct.pack("!H", c) + hdr[18:]


def tcp_syn(src, dst, sport, dport, seq):
    opts = struct.pack("!BBH", 2, 4, 1460) + b"\x01\x03\x03\x07"      # MSS 1460, NOP, WS 7
    return tcp_seg(src, dst, sport, dport, seq, 0, 0x02, opts)


def ts_opt(tsval, tsecr):
    return b"\x01\x01\x08\x0a" + struct.pack("!II", tsval, tsecr)


def arp_answer(s, my_mac, src_ip, d):
    s.send(mac_bytes(d["sha"]) + my_mac + b"\x08\x06" +
           struct.pack("!HHBBH", 1, 0x0800, 6, 4, 2) + my_mac + socket.inet_aton(src_ip) +
           mac_bytes(d["sha"]) + socket.inet_aton(d["spa"]))


def parse_tcp_opts(opts):
    out = {}
    i = 0
    while i < len(opts):
        kind = opts[i]
        if kind == 0:
            break
        if kind == 1:
            i += 1
            continue
        if i + 1 >= len(opts) or opts[i + 1] < 2:
            break
        ln = opts[i + 1]
        body = opts[i + 2:i + ln]
        if kind == 2 and len(body) == 2:
            out["mss"] = struct.unpack("!H", body)[0]
        elif kind == 8 and len(body) == 8:
            out["tsval"], out["tsecr"] = struct.unpack("!II", body)
        i += ln
    return out


def parse(frame):
    """A dict for ARP and IPv4/TCP/ICMP frames, else None."""
    if len(frame) < 14:
        return None
    dst, src, etype = frame[0:6], frame[6:12], struct.unpack("!H", frame[12:14])[0]
    d = {"dst_mac": mac_str(dst), "src_mac": mac_str(src), "t": time.monotonic()}
    if etype == 0x0806 and len(frame) >= 42:
        op = struct.unpack("!H", frame[20:22])[0]
        d.update(kind="arp", op=op, sha=mac_str(frame[22:28]),
                 spa=socket.inet_ntoa(frame[28:32]), tpa=socket.inet_ntoa(frame[38:42]))
        return d
    if etype != 0x0800 or len(frame) < 34:
        return None
    ihl = (frame[14] & 0xf) * 4
    tot = struct.unpack("!H", frame[16:18])[0]
    ident = struct.unpack("!H", frame[18:20])[0]
    proto = frame[23]
    d.update(src=socket.inet_ntoa(frame[26:30]), dst=socket.inet_ntoa(frame[30:34]),
             ipid=ident, ttl=frame[22])
    l4 = frame[14 + ihl:14 + tot]
    if proto == 6 and len(l4) >= 20:
        sport, dport, seq, ack, off, flags, win = struct.unpack("!HHIIBBH", l4[:16])
        doff = (off >> 4) * 4
        d.update(kind="tcp", sport=sport, dport=dport, seq=seq, ack=ack, flags=flags, win=win,
                 opts=parse_tcp_opts(l4[20:doff]), data_len=len(l4) - doff)
        return d
    if proto == 1 and len(l4) >= 8:
        d.update(kind="icmp", type=l4[0], code=l4[1], body=l4[8:].hex())
        return d
    return None


def packet_socket(iface):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((iface, 0))
    s.settimeout(0.1)
    return s


def cmd_syn(iface, src_ip, fake_mac, seconds, targets):
    s = packet_socket(iface)
    my_mac = s.getsockname()[4]
    fake = mac_bytes(fake_mac)
    sent = []
    for i, t in enumerate(targets):
        dst_ip, dst_mac, port = t.split("@")
        seg = tcp_syn(src_ip, dst_ip, 40000 + i, int(port), 1000 + i)
        frame = (mac_bytes(dst_mac) + fake + b"\x08\x00" +
                 ip_header(src_ip, dst_ip, 6, len(seg)) + seg)
        s.send(frame)
        sent.append({"dst": dst_ip, "port": int(port), "t": time.monotonic()})
    events = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            frame = s.recv(2048)
        except socket.timeout:
            continue
        d = parse(frame)
        if not d:
            continue
        if d["kind"] == "arp" and d["op"] == 1 and d["tpa"] == src_ip:
            events.append(d)
            arp_answer(s, my_mac, src_ip, d)
        elif d["kind"] == "tcp" and d["dst"] == src_ip and d["flags"] & 0x12 == 0x12:
            events.append(d)
    print(json.dumps({"my_mac": mac_str(my_mac), "sent": sent, "events": events}))


def cmd_norack(iface, src_ip, seconds, target, zero_window=False):
    s = packet_socket(iface)
    my_mac = s.getsockname()[4]
    dst_ip, dst_mac, port = target.split("@")
    port = int(port)
    eth = mac_bytes(dst_mac) + my_mac + b"\x08\x00"

    def send(seg):
        s.send(eth + ip_header(src_ip, dst_ip, 6, len(seg)) + seg)

    mss = 536 if zero_window else 1460
    opts = struct.pack("!BBH", 2, 4, mss) + b"\x04\x02" + ts_opt(1000, 0)[2:] + b"\x01\x01"
    send(tcp_seg(src_ip, dst_ip, 41000, port, 5000, 0, 0x02, opts))
    events = []
    synack = None
    opened = None
    start = time.monotonic()
    deadline = start + seconds
    while time.monotonic() < deadline:
        if zero_window and synack is not None and opened is None and \
                time.monotonic() - start >= seconds / 2:
            opened = time.monotonic()
            send(tcp_seg(src_ip, dst_ip, 41000, port, 5001 + 27, synack["seq"] + 1, 0x10,
                         ts_opt(1002, 0), win=64240))
        try:
            frame = s.recv(2048)
        except socket.timeout:
            continue
        d = parse(frame)
        if not d:
            continue
        if d["kind"] == "arp" and d["op"] == 1 and d["tpa"] == src_ip:
            arp_answer(s, my_mac, src_ip, d)
        elif d["kind"] == "tcp" and d["dst"] == src_ip and d["src"] == dst_ip:
            events.append(d)
            if synack is None and d["flags"] & 0x12 == 0x12:
                synack = d
                # The handshake's ACK with the request; nothing is acked after.
                send(tcp_seg(src_ip, dst_ip, 41000, port, 5001, d["seq"] + 1, 0x18,
                             ts_opt(1001, d["opts"].get("tsval", 0)),
                             b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
                             win=0 if zero_window else 64240))
            elif opened is not None and d["data_len"] > 0:
                # Ack what arrives once the window is open.
                send(tcp_seg(src_ip, dst_ip, 41000, port, 5001 + 27,
                             (d["seq"] + d["data_len"]) & 0xffffffff, 0x10, ts_opt(1003, 0),
                             win=64240))
    print(json.dumps({"events": events, "opened": opened}))


def cmd_fetch(iface, dst_ip, port, mss):
    cap = packet_socket(iface)
    c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, mss)
    c.settimeout(5)
    c.connect((dst_ip, port))
    c.sendall(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n")
    body = b""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            chunk = c.recv(65536)
        except socket.timeout:
            break
        if not chunk:
            break
        body += chunk
    c.close()
    segs = []
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        try:
            frame = cap.recv(2048)
        except socket.timeout:
            continue
        d = parse(frame)
        if d and d["kind"] == "tcp" and d["src"] == dst_ip:
            segs.append(d)
    # What was captured before the client finished is queued in the socket too.
    print(json.dumps({"body_len": len(body), "head": body[:64].decode("latin-1"),
                      "segments": segs}))


def cmd_arp(iface, my_ip, target):
    s = packet_socket(iface)
    my_mac = s.getsockname()[4]
    s.send(b"\xff" * 6 + my_mac + b"\x08\x06" + struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) +
           my_mac + socket.inet_aton(my_ip) + b"\0" * 6 + socket.inet_aton(target))
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        try:
            d = parse(s.recv(2048))
        except socket.timeout:
            continue
        if d and d["kind"] == "arp" and d["op"] == 2 and d["spa"] == target:
            print(json.dumps(d["sha"]))
            return
    print("null")


def cmd_bigping(dst_ip, size, seconds):
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    s.setsockopt(socket.IPPROTO_IP, 10, 0)     # IP_MTU_DISCOVER = IP_PMTUDISC_DONT: fragment
    s.settimeout(0.2)
    payload = bytes((i * 13) & 0xff for i in range(size))
    hdr = struct.pack("!BBHHH", 8, 0, 0, 0x4343, 7)
    s.sendto(hdr[:2] + struct.pack("!H", csum(hdr + payload)) + hdr[4:] + payload, (dst_ip, 0))
    deadline = time.monotonic() + seconds
    out = None
    while time.monotonic() < deadline and out is None:
        try:
            data, addr = s.recvfrom(70000)
        except socket.timeout:
            continue
        ihl = (data[0] & 0xf) * 4
        icmp = data[ihl:]
        if addr[0] != dst_ip or len(icmp) < 8 or icmp[0] != 0:
            continue
        out = {"len": len(icmp) - 8, "same": icmp[8:] == payload, "csum_ok": csum(icmp) == 0}
    print(json.dumps(out))


def cmd_icmpts(dst_ip, seconds):
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    s.settimeout(0.2)
    now = time.time()
    ms = int((now % 86400) * 1000)
    body = struct.pack("!III", ms, 0, 0)
    hdr = struct.pack("!BBHHH", 13, 0, 0, 0x4242, 1)
    pkt = hdr[:2] + struct.pack("!H", csum(hdr + body)) + hdr[4:] + body
    s.sendto(pkt, (dst_ip, 0))
    deadline = time.monotonic() + seconds
    out = None
    while time.monotonic() < deadline and out is None:
        try:
            data, addr = s.recvfrom(2048)
        except socket.timeout:
            continue
        ihl = (data[0] & 0xf) * 4
        icmp = data[ihl:]
        if addr[0] != dst_ip or len(icmp) < 20 or icmp[0] != 14:
            continue
        ident, seq = struct.unpack("!HH", icmp[4:8])
        orig, rx, tx = struct.unpack("!III", icmp[8:20])
        out = {"id": ident, "seq": seq, "orig": orig, "rx": rx, "tx": tx, "sent_ms": ms,
               "csum_ok": csum(icmp) == 0, "ttl": data[8]}
    print(json.dumps(out))


def main():
    cmd = sys.argv[1]
    if cmd == "syn":
        cmd_syn(sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5]), sys.argv[6:])
    elif cmd == "fetch":
        cmd_fetch(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
    elif cmd == "norack":
        cmd_norack(sys.argv[2], sys.argv[3], float(sys.argv[4]), sys.argv[5])
    elif cmd == "zerowin":
        cmd_norack(sys.argv[2], sys.argv[3], float(sys.argv[4]), sys.argv[5], True)
    elif cmd == "arp":
        cmd_arp(sys.argv[2], sys.argv[3], sys.argv[4])
    elif cmd == "bigping":
        cmd_bigping(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
    elif cmd == "icmpts":
        cmd_icmpts(sys.argv[2], float(sys.argv[3]))
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()
