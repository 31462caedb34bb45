"""Flow inputs under attack: forged exporters can neither blind moatd nor
steer it, IPFIX/TCP slot holders are cut, and a flight-record spray never
stalls the event loop.

Every sender is on loopback: Linux owns all of 127.0.0.0/8, so binding a
socket to 127.0.1.7 is, to moatd, exactly a datagram spoofed from that
address — no raw sockets, no interface or route in the host's namespace.
The real router is 127.0.0.1; forgers use other loopback addresses. Each
test runs its own moatd (and its senders) and owns nothing else.

 1. 1,024 NetFlow v9 source ids from one forged address, then a real
    router's flood: the forger holds at most 16 exporters, its refusals are
    counted and named in health, and the flood is declared.
 2. The same from 64 forged addresses with an allow-list: every forged
    datagram refused (not_allowed), the flood declared.
 3. Forged NetFlow v5 records for a PO address from a non-allowed exporter:
    refused, no traffic counted, no attack, health names the sender.
 4. 64 IPFIX/TCP connections sending 4 bytes each: cut at the header
    deadline; a 5th from one address refused at once; then a real exporter
    connects and is counted.
 5. A decoy-alarm spray (many flight entries a second) while the API is
    polled every 200 ms: every poll answered within 1 s, the entries
    aggregated.
"""
import socket
import struct
import threading
import time

from collectlib import Moatd, observed
from nslib import wait_for

PO = """pos:
  - name: web
    prefixes: [192.0.2.0/24]
    thresholds: {udp: {pps: 300}}
"""
ROUTER = "127.0.0.1"


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_tcp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def nf5(seq, packets=2000, dst=b"\xc0\x00\x02\x0a", nrec=10):
    """NetFlow v5: nrec UDP records 203.0.113.x -> dst of `packets` each."""
    hdr = struct.pack("!HHIIIIBBH", 5, nrec, 1000, int(time.time()), 0, seq, 0, 0, 0)
    recs = b""
    for i in range(nrec):
        recs += struct.pack("!4s4s4sHHIIIIHHBBBBHHBBH", bytes([203, 0, 113, 1 + i]), dst,
                            b"\0" * 4, 0, 0, packets, packets * 200, 900, 1000, 1234, 9,
                            0, 0, 17, 0, 0, 0, 0, 0, 0)
    return hdr + recs


def nf9_header(source_id, seq=0):
    return struct.pack("!HHIIII", 9, 0, 1000, int(time.time()), seq, source_id)


def sender(addr):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, 0))
    return s


def exporters(m):
    st, body = m.request("GET", "/api/v1/exporters", token=None)
    assert st == 200, body
    return body


def health_text(m):
    st, body = m.request("GET", "/api/v1/health", token=None)
    assert st == 200, body
    return " ".join(i["message"] for i in body["issues"])


def live_attacks(m):
    st, body = m.request("GET", "/api/v1/attacks?state=live", token=None)
    assert st == 200, body
    return [a for a in body["attacks"] if a["state"] == "declared"]


def router_flood(m, port, secs=8):
    """The real router's flood: 5 datagrams a second of 10 records x 2000
    packets (100k pps) until declared, bounded in time."""
    tx = sender(ROUTER)
    t0 = time.time()
    seq = 0
    try:
        while time.time() - t0 < secs:
            tx.sendto(nf5(seq), ("127.0.0.1", port))
            seq += 10
            if live_attacks(m):
                break
            time.sleep(0.2)
    finally:
        tx.close()
    return wait_for(lambda: live_attacks(m), timeout=5, what="the router's flood declared")


def test_forged_source_ids_from_one_address(topo, tmp_path):
    port = free_udp_port()
    m = Moatd(topo, tmp_path, PO + 'collect:\n  udp: ["127.0.0.1:%d"]\n' % port)
    m.start()
    forger = sender("127.0.0.5")
    t0 = time.time()
    for sid in range(1024):
        forger.sendto(nf9_header(sid), ("127.0.0.1", port))
        if sid % 256 == 255:
            time.sleep(0.01)
    print("1,024 forged v9 headers in %.2f s" % (time.time() - t0))
    forger.close()

    def refused():
        b = exporters(m)
        return b if b["refused"]["sender_cap"]["count"] >= 1000 else None
    body = wait_for(refused, timeout=10, what="the forged source ids refused")
    forged = [x for x in body["exporters"] if x["address"] == "127.0.0.5"]
    assert len(forged) <= 16
    assert body["refused"]["sender_cap"]["last_source"] == "127.0.0.5"
    wait_for(lambda: "127.0.0.5" in health_text(m), timeout=5,
             what="a health issue naming the forger")

    a = router_flood(m, port)
    assert a[0]["po"] == "web" and a[0]["protocol"] == "udp"
    assert any(x["address"] == ROUTER for x in exporters(m)["exporters"])
    assert m.stop() == 0


def test_forged_source_ids_from_many_addresses(topo, tmp_path):
    port = free_udp_port()
    m = Moatd(topo, tmp_path, PO + 'collect:\n  exporters: [%s]\n  udp: ["127.0.0.1:%d"]\n'
              % (ROUTER, port))
    m.start()
    n = 0
    for host in range(64):
        forger = sender("127.0.1.%d" % (host + 1))
        for sid in range(16):
            forger.sendto(nf9_header(host * 16 + sid), ("127.0.0.1", port))
            n += 1
        forger.close()
        if host % 16 == 15:
            time.sleep(0.01)
    assert n == 1024

    def refused():
        b = exporters(m)
        return b if b["refused"]["not_allowed"]["count"] >= 1000 else None
    body = wait_for(refused, timeout=10, what="the forged exporters refused")
    assert body["exporters"] == []
    assert body["refused"]["not_allowed"]["last_source"].startswith("127.0.1.")
    wait_for(lambda: "not_allowed" in health_text(m), timeout=5, what="a health issue")

    a = router_flood(m, port)
    assert a[0]["po"] == "web"
    assert [x["address"] for x in exporters(m)["exporters"]] == [ROUTER]
    assert m.stop() == 0


def test_forged_records_from_non_allowed_exporter(topo, tmp_path):
    port = free_udp_port()
    m = Moatd(topo, tmp_path, PO + 'collect:\n  exporters: ["%s/32"]\n  udp: ["127.0.0.1:%d"]\n'
              % (ROUTER, port))
    m.start()
    forger = sender("127.0.0.9")
    for seq in range(40):                      # 8 s of a 100k pps "flood"
        forger.sendto(nf5(seq * 10), ("127.0.0.1", port))
        time.sleep(0.2)
    forger.close()

    body = wait_for(lambda: exporters(m)["refused"]["not_allowed"]["count"] >= 40 and
                    exporters(m), timeout=5, what="the forged records refused")
    assert body["refused"]["not_allowed"]["last_source"] == "127.0.0.9"
    assert body["exporters"] == []
    assert observed(m, "web")["in"]["udp"]["packets"] == 0
    assert live_attacks(m) == []
    wait_for(lambda: "127.0.0.9" in health_text(m), timeout=5,
             what="a health issue naming the non-allowed exporter")
    st, fl = m.request("GET", "/api/v1/flight?category=exporter", token=True)
    assert st == 200, fl
    assert any("127.0.0.9" in e["message"] for e in fl["entries"]), fl
    assert m.stop() == 0


def ipfix_message(seq, domain=1):
    """One IPFIX message: a template (src, dst, proto, octets, packets) and one
    UDP record 203.0.113.1 -> 192.0.2.10 of 50 packets."""
    tmpl_fields = [(8, 4), (12, 4), (4, 1), (1, 4), (2, 4)]
    tmpl = struct.pack("!HH", 256, len(tmpl_fields)) + b"".join(
        struct.pack("!HH", i, n) for i, n in tmpl_fields)
    tset = struct.pack("!HH", 2, 4 + len(tmpl)) + tmpl
    rec = struct.pack("!4s4sBII", bytes([203, 0, 113, 1]), bytes([192, 0, 2, 10]), 17, 5000, 50)
    dset = struct.pack("!HH", 256, 4 + len(rec)) + rec
    body = tset + dset
    return struct.pack("!HHIII", 10, 16 + len(body), int(time.time()), seq, domain) + body


def closed_by_peer(s, timeout):
    s.settimeout(timeout)
    try:
        return s.recv(1) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def test_ipfix_tcp_slot_holders_cut(topo, tmp_path):
    port = free_tcp_port()
    m = Moatd(topo, tmp_path, PO + 'collect:\n  udp: []\n  tcp: ["127.0.0.1:%d"]\n' % port)
    m.start()
    holders = []
    try:
        for host in range(16):                 # 4 a source: the per-source cap
            for _ in range(4):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                s.bind(("127.0.2.%d" % (host + 1), 0))
                s.connect(("127.0.0.1", port))
                s.sendall(b"\x00\x0a\xff\xff")  # 4 bytes of a header, then nothing
                holders.append(s)
        # a 5th connection from one of them is closed at once
        extra = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        extra.bind(("127.0.2.1", 0))
        extra.connect(("127.0.0.1", port))
        assert closed_by_peer(extra, 5), "a 5th connection from one source was kept"
        extra.close()
        t0 = time.time()
        # every holder is cut at the header deadline (5 s), well before 65 s
        for s in holders:
            assert closed_by_peer(s, max(1, 20 - (time.time() - t0))), "a slot holder survived"
        print("64 slot holders cut %.1f s after the last connected" % (time.time() - t0))
    finally:
        for s in holders:
            s.close()
    body = exporters(m)
    assert body["refused"]["tcp_deadline"]["count"] >= 64
    assert body["refused"]["tcp_sender_cap"]["count"] >= 1

    # the real exporter connects and is counted
    real = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    real.bind((ROUTER, 0))
    real.connect(("127.0.0.1", port))
    for seq in range(5):
        real.sendall(ipfix_message(seq))
        time.sleep(0.1)
    wait_for(lambda: observed(m, "web")["in"]["udp"]["packets"] >= 250, timeout=10,
             what="the real IPFIX/TCP exporter's records counted")
    assert not closed_by_peer(real, 0.5)
    real.close()
    assert m.stop() == 0


def test_flight_spray_keeps_api_answering(topo, tmp_path):
    m = Moatd(topo, tmp_path, PO + "flight:\n  max_rows: 500\n")
    m.start()
    token = m.token
    stop = threading.Event()
    posted = [0, 0]

    def spray(k):
        deadline = time.time() + 20
        alarm = {"type": "chaff.alarm", "kind": "ftp_login", "src": "203.0.113.9",
                 "decoy": "198.51.100.77", "count": 1}
        while not stop.is_set() and time.time() < deadline and posted[k] < 20000:
            st, _ = m.request("POST", "/api/v1/alarms", body=alarm, token=token, timeout=10)
            assert st == 202
            posted[k] += 1

    threads = [threading.Thread(target=spray, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    worst = 0.0
    polls = 0
    try:
        t_end = time.time() + 15
        while time.time() < t_end:
            t0 = time.time()
            st, body = m.request("GET", "/api/v1/health", token=None, timeout=5)
            dt = time.time() - t0
            assert st == 200
            worst = max(worst, dt)
            polls += 1
            assert dt < 1.0, "a health poll took %.2f s under the spray" % dt
            time.sleep(0.2)
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    print("%d alarms posted, %d polls, slowest %.3f s" % (sum(posted), polls, worst))
    assert sum(posted) > 500

    def summarised():
        st, fl = m.request("GET", "/api/v1/flight?category=decoy&limit=50", token=True)
        assert st == 200
        return [e for e in fl["entries"] if (e.get("detail") or {}).get("not_recorded_singly")]
    agg = wait_for(summarised, timeout=15, interval=0.5, what="an aggregated flight entry")
    assert "203.0.113.9" in agg[0]["message"]
    assert m.stop() == 0
