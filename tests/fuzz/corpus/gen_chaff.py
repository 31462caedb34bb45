#!/usr/bin/python3
"""Write the small seed corpora of moat-chaff's fuzz targets (chaff_frame,
chaff_respond, chaff_osdb, chaff_service). Run from this directory; uses
scapy (Debian python3-scapy) only to build frames."""
import os
import struct

from scapy.all import ARP, ICMP, IP, TCP, UDP, Ether, Raw, raw

PEER = "198.51.100.1"
DECOY = "198.51.100.17"


def frames():
    e = Ether(src="02:00:00:00:00:01", dst="ff:ff:ff:ff:ff:ff")
    yield "arp_request", e / ARP(op=1, psrc=PEER, pdst=DECOY, hwsrc="02:00:00:00:00:01")
    yield "arp_bad_hlen", e / ARP(op=1, hwlen=8, psrc=PEER, pdst=DECOY)
    u = Ether(src="02:00:00:00:00:01", dst="00:14:22:00:00:11")
    opts = [("WScale", 10), ("NOP", None), ("MSS", 1460), ("Timestamp", (0xFFFFFFFF, 0)),
            ("SAckOK", b"")]
    yield "syn_probe1", u / IP(src=PEER, dst=DECOY) / TCP(sport=40000, dport=22, flags="S",
                                                           window=1, options=opts)
    yield "ecn", u / IP(src=PEER, dst=DECOY) / TCP(sport=40001, dport=22, flags="SEC",
                                                    window=3, urgptr=0xF7F5)
    yield "t7_xmas", u / IP(src=PEER, dst=DECOY) / TCP(sport=40002, dport=9, flags="FPU",
                                                        window=65535)
    yield "udp_u1", u / IP(src=PEER, dst=DECOY, id=0x1042) / UDP(sport=40003, dport=33000) / Raw(b"C" * 300)
    yield "icmp_echo", u / IP(src=PEER, dst=DECOY, flags="DF") / ICMP(type=8, code=9, id=1, seq=295) / Raw(b"\0" * 120)
    yield "http_data", u / IP(src=PEER, dst=DECOY) / TCP(sport=40004, dport=80, flags="PA") / Raw(b"GET / HTTP/1.0\r\n\r\n")
    yield "ip_options_frag", u / IP(src=PEER, dst=DECOY, flags="MF", ihl=6, options=b"\x01\x01\x01\x00") / Raw(b"x" * 8)


def stack_frames():
    """A connection and the rest of the stack: handshake (the fuzz target's
    ISN is unknown, so the ACK only reaches it by mutation), data, a zero
    window, an ARP reply naming the peer, an ICMP timestamp request and a
    ping in two fragments."""
    u = Ether(src="02:00:00:00:00:01", dst="00:14:22:00:00:11")
    opts = [("MSS", 536), ("NOP", None), ("WScale", 2), ("SAckOK", b""),
            ("Timestamp", (1000, 0))]
    yield u / IP(src=PEER, dst=DECOY) / TCP(sport=41000, dport=80, flags="S", seq=10,
                                            window=64240, options=opts)
    yield u / IP(src=PEER, dst=DECOY) / TCP(sport=41000, dport=80, flags="A", seq=11, ack=1,
                                            window=0, options=[("Timestamp", (1001, 1))])
    yield u / IP(src=PEER, dst=DECOY) / TCP(sport=41000, dport=80, flags="PA", seq=11, ack=1,
                                            window=10) / Raw(b"GET / HTTP/1.1\r\n\r\n")
    yield (Ether(src="02:00:00:00:00:01", dst="00:14:22:00:00:11") /
           ARP(op=2, psrc=PEER, pdst=DECOY, hwsrc="02:00:00:00:00:01",
               hwdst="00:14:22:00:00:11"))
    yield u / IP(src=PEER, dst=DECOY) / ICMP(type=13, id=7, seq=1) / Raw(b"\0" * 12)
    whole = raw(IP(src=PEER, dst=DECOY, id=0x77) / ICMP(type=8, id=2, seq=3) / Raw(b"z" * 40))
    yield u / IP(src=PEER, dst=DECOY, id=0x77, flags="MF", proto=1) / Raw(whole[20:44])
    yield u / IP(src=PEER, dst=DECOY, id=0x77, frag=3, proto=1) / Raw(whole[44:])


def main():
    os.makedirs("chaff_frame", exist_ok=True)
    os.makedirs("chaff_respond", exist_ok=True)
    seq = b""
    for name, pkt in frames():
        b = raw(pkt)
        with open(os.path.join("chaff_frame", name), "wb") as f:
            f.write(b)
        seq += struct.pack(">H", len(b)) + b
    with open(os.path.join("chaff_respond", "sequence"), "wb") as f:
        f.write(seq)
    seq = b""
    for pkt in stack_frames():
        b = raw(pkt)
        seq += struct.pack(">H", len(b)) + b
    # Odd length: the target turns ARP resolution on for odd-sized inputs.
    if len(seq) % 2 == 0:
        seq += b"\0"
    with open(os.path.join("chaff_respond", "stack"), "wb") as f:
        f.write(seq)
    os.makedirs("chaff_osdb", exist_ok=True)
    with open(os.path.join("chaff_osdb", "linux"), "w") as f:
        f.write("Fingerprint F\nClass Linux | Linux | 5.X | general purpose\n"
                "SEQ(SP=FB-109%GCD=1-6%ISR=102-110%TI=Z%CI=Z%II=I%TS=A)\n"
                "OPS(O1=M5B4ST11NW7%O2=M5B4ST11NW7%O3=M5B4NNT11NW7%O4=M5B4ST11NW7"
                "%O5=M5B4ST11NW7%O6=M5B4ST11)\n"
                "WIN(W1=FE88%W2=FE88%W3=FE88%W4=FE88%W5=FE88%W6=FE88)\n"
                "ECN(R=Y%DF=Y%T=3B-45%TG=40%W=FAF0%O=M5B4NNSNW7%CC=Y%Q=)\n"
                "T1(R=Y%DF=Y%T=3B-45%TG=40%S=O%A=S+%F=AS%RD=0%Q=)\nT2(R=N)\n"
                "T4(R=Y%DF=Y%T=3B-45%TG=40%W=0%S=A%A=Z%F=R%O=%RD=0%Q=)\n"
                "U1(DF=N%T=3B-45%TG=40%IPL=164%UN=0%RIPL=G%RID=G%RIPCK=G%RUCK=G%RUD=G)\n"
                "IE(DFI=N%T=3B-45%TG=40%CD=S)\n")
    os.makedirs("chaff_service", exist_ok=True)
    seeds = {
        "http": b"\x00GET /index.html HTTP/1.1\r\nHost: a\r\n\r\n",
        "ftp": b"\x03USER root\r\nPASS toor\r\nQUIT\r\n",
        "telnet": b"\x02\xff\xfb\x01\xff\xfd\x03admin\r\nadmin\r\n",
        "smtp": b"\x04EHLO x\r\nAUTH PLAIN AGEAYg==\r\nQUIT\r\n",
        "mysql": b"\x05" + b"\x20\x00\x00\x01" + b"\x00" * 32 + b"root\x00",
        "redis": b"\x06*2\r\n$4\r\nAUTH\r\n$3\r\npwd\r\nAUTH pwd\r\nPING\r\n",
    }
    for name, data in seeds.items():
        with open(os.path.join("chaff_service", name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
