"""Hostile and ordinary REST clients for test_hostile_api.py.

Run inside a test's namespace (`ip netns exec NS python3 apiclient.py CMD
...`); every command prints one JSON object. Every loop is bounded in bytes
and time. Subcommands:

  request PORT METHOD PATH [HOST|-] [TOKEN|-] [BODY|@FILE|-]  one request
  flood PORT CLIENTS BYTES SECONDS METHOD PATH     oversized bodies, no token
  idle PORT COUNT SECONDS                          connections that send nothing
  slow PORT SECONDS                                a head trickled byte by byte
  listen PORT SECONDS                              a fake API: what arrives
"""
import json
import socket
import sys
import threading
import time

ADDR = "127.0.0.1"


def request(port, method, path, host=None, token=None, body=None, timeout=10):
    host = host if host is not None else "%s:%d" % (ADDR, port)
    body = body.encode() if isinstance(body, str) else (body or b"")
    head = "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n" % (method, path, host)
    if token:
        head += "Authorization: Bearer %s\r\n" % token
    if body or method in ("POST", "PUT"):
        head += "Content-Type: application/json\r\nContent-Length: %d\r\n" % len(body)
    s = socket.create_connection((ADDR, port), timeout=timeout)
    try:
        s.sendall(head.encode() + b"\r\n" + body)
        data = b""
        deadline = time.time() + timeout
        while time.time() < deadline:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
            if len(data) > 16 << 20:
                break
    finally:
        s.close()
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/") else None
    payload = data.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in data else b""
    return {"status": status, "body": payload.decode(errors="replace")}


def flood_one(port, nbytes, seconds, method, path, out):
    r = {"sent": 0, "status": None, "error": None}
    deadline = time.time() + seconds
    chunk = b"\0" * (1 << 20)
    try:
        s = socket.create_connection((ADDR, port), timeout=5)
        s.sendall(("%s %s HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\n"
                   "Content-Length: %d\r\n\r\n" % (method, path, ADDR, port, nbytes)).encode())
        s.settimeout(2)
        while r["sent"] < nbytes and time.time() < deadline:
            n = s.send(chunk[:min(len(chunk), nbytes - r["sent"])])
            r["sent"] += n
        s.settimeout(2)
        first = s.recv(200)
        r["status"] = first.split(b"\r\n")[0].decode(errors="replace") if first else None
        s.close()
    except OSError as e:
        r["error"] = type(e).__name__
    out.append(r)


def flood(port, clients, nbytes, seconds, method, path):
    out = []
    ts = [threading.Thread(target=flood_one, args=(port, nbytes, seconds, method, path, out))
          for _ in range(clients)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(seconds + 30)
    return {"clients": out}


def idle(port, count, seconds):
    socks = []
    deadline = time.time() + seconds
    for _ in range(count):
        if time.time() > deadline:
            break
        s = socket.socket()
        s.settimeout(1)
        try:
            s.connect((ADDR, port))
            socks.append(s)
        except OSError:
            s.close()
    opened = len(socks)
    while time.time() < deadline:
        time.sleep(0.2)
    closed = 0
    for s in socks:
        s.setblocking(False)
        try:
            if s.recv(1) == b"":
                closed += 1
        except BlockingIOError:
            pass
        except OSError:
            closed += 1
        s.close()
    return {"opened": opened, "closed_by_server": closed}


def slow(port, seconds):
    s = socket.create_connection((ADDR, port), timeout=5)
    start = time.time()
    s.sendall(b"GET /api/v1/health HTTP/1.1\r\n")
    sent, cut = 0, False
    s.settimeout(0.5)
    while time.time() - start < seconds:
        try:
            s.send(b"X")
            sent += 1
            if s.recv(1) == b"":
                cut = True
                break
        except socket.timeout:
            continue
        except OSError:
            cut = True
            break
    r = {"cut": cut, "after_s": round(time.time() - start, 1), "sent": sent}
    s.close()
    return r


def listen(port, seconds):
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((ADDR, port))
    srv.listen(16)
    srv.settimeout(0.2)
    got = {"connections": 0, "data": ""}
    deadline = time.time() + seconds
    print("listening", file=sys.stderr, flush=True)
    while time.time() < deadline:
        try:
            c, _ = srv.accept()
        except socket.timeout:
            continue
        got["connections"] += 1
        c.settimeout(1)
        try:
            got["data"] += c.recv(4096).decode(errors="replace")
        except OSError:
            pass
        c.close()
    return got


def main(argv):
    cmd, port = argv[0], int(argv[1])
    if cmd == "request":
        opt = [None if a == "-" else a for a in argv[4:7]] + [None] * 3
        body = opt[2]
        if body is not None and body.startswith("@"):
            with open(body[1:], "rb") as f:
                body = f.read()
        r = request(port, argv[2], argv[3], opt[0], opt[1], body)
    elif cmd == "flood":
        r = flood(port, int(argv[2]), int(argv[3]), float(argv[4]), argv[5], argv[6])
    elif cmd == "idle":
        r = idle(port, int(argv[2]), float(argv[3]))
    elif cmd == "slow":
        r = slow(port, float(argv[2]))
    elif cmd == "listen":
        r = listen(port, float(argv[2]))
    else:
        raise SystemExit("unknown command " + cmd)
    print(json.dumps(r))


if __name__ == "__main__":
    main(sys.argv[1:])
