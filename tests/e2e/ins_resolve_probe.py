"""Prints every resolver answer the moat-ins e2e test compares (test_ins_compat.py:
test_resolver_matches_glibc): getaddrinfo with AI_CANONNAME, socktype 0, RAW, a protocol,
gethostbyname_ex (gethostbyname_r), gethostbyname, gethostbyname2, for each name given."""
import ctypes, socket, sys
libc = ctypes.CDLL(None)
class HOSTENT(ctypes.Structure):
    _fields_ = [("h_name", ctypes.c_char_p), ("h_aliases", ctypes.POINTER(ctypes.c_char_p)),
                ("h_addrtype", ctypes.c_int), ("h_length", ctypes.c_int),
                ("h_addr_list", ctypes.POINTER(ctypes.POINTER(ctypes.c_ubyte)))]
libc.gethostbyname.restype = ctypes.POINTER(HOSTENT)
libc.gethostbyname2.restype = ctypes.POINTER(HOSTENT)
libc.gethostbyname2.argtypes = [ctypes.c_char_p, ctypes.c_int]
def he(p):
    if not p:
        return None
    h = p.contents
    addrs, i = [], 0
    while h.h_addr_list[i]:
        addrs.append(socket.inet_ntop(h.h_addrtype, bytes(h.h_addr_list[i][:h.h_length])))
        i += 1
    return (h.h_name.decode(), h.h_addrtype, addrs)
for name in sys.argv[1:]:
    for args in ((None, 0, 0, 0, socket.AI_CANONNAME), ("80", 0, 0, 0, 0), ("http", 0, 0, 0, 0),
                 (None, socket.AF_INET, socket.SOCK_DGRAM, 0, socket.AI_CANONNAME),
                 (None, 0, socket.SOCK_RAW, 0, 0), (None, 0, 0, socket.IPPROTO_UDP, 0)):
        try:
            print(name, args, socket.getaddrinfo(name, *args))
        except socket.gaierror as e:
            print(name, args, "gaierror", e.errno)
    try:
        n, al, ad = socket.gethostbyname_ex(name)
        print(name, "ex", n, ad)
    except OSError as e:
        print(name, "ex error", type(e).__name__, e.errno)
    print(name, "gethostbyname", he(libc.gethostbyname(name.encode())))
    print(name, "gethostbyname2 v6", he(libc.gethostbyname2(name.encode(), socket.AF_INET6)))
