/*
 * insproto: the wire format between libmoat-shim.so and moat-ins — the one
 * protocol header both sides share (STYLE rule 3).
 *
 * Transport: an AF_UNIX SOCK_SEQPACKET connection (src/common/ipc.h), one
 * message per sendmsg(), descriptors in SCM_RIGHTS. The shim is synchronous:
 * it sends one request and waits for the reply carrying the same id.
 *
 * Every message starts with an 8-byte header, all integers big-endian:
 *   magic u16 = INS_MAGIC, version u8 = INS_VERSION, type u8, id u32
 * followed by a body whose exact size each type fixes (RESOLVE's names are
 * length-prefixed). A message is rejected — and the broker drops that
 * client — when the magic, version, type, body size or the number of
 * attached descriptors is not exactly what the type says.
 *
 * Requests (shim -> broker) and their replies (type | INS_REPLY):
 *   SOCKET   {family u8, socktype u8, flags u8, protocol u32}  fd: 0
 *            reply {status i32} + the new socket (status 0)
 *   BIND     {addr}                                           fd: the socket
 *            reply {status i32}
 *   LISTEN   {backlog u32}                                    fd: the socket
 *            reply {status i32} + the doorbell end (status 0)
 *   CONNECT  {socktype u8, addr}   policy check only         fd: 0
 *            reply {status i32}
 *   GETNAME  {}                                               fd: a doorbell
 *            reply {status i32, addr} — the listener's local address (the
 *            address only when status is 0)
 *   RESOLVE  {family u8, socktype u8 (0: any), flags u32, nlen u8, name, slen u8, service}
 *            reply {status i32 (EAI_* or 0), count u8, count x addr [, ext]}
 *            ext (only when the request's flags carry INS_RESOLVE_EXT, so a
 *            shim of before it never sees it): {clen u8, canonical name,
 *            count x {socktype u8, protocol u8}} — getaddrinfo's canonical
 *            name (empty: none) and each entry's socket type and protocol,
 *            so socktype 0 comes back as glibc answers it (STREAM, DGRAM,
 *            RAW per address). A reply without ext decodes as before.
 *   DENY     {addr, seconds u32}  administrators only (uid 0): deny the
 *            source for seconds (0 lifts it) and shed its connections —
 *            what moatd's `ins` mitigation driver sends
 *            reply {status i32}
 * Doorbell message (broker -> application, on the doorbell):
 *   CONN     {conn_id u64, peer addr, local addr}  fd: the connected socket
 *
 * addr = {family u8 (INS_AF_INET/INS_AF_INET6), port u16, 16 address bytes
 * (IPv4 in the first 4), scope_id u32} — fixed 23 bytes.
 * status = 0 or a positive errno value.
 */
#ifndef MOAT_INSPROTO_H
#define MOAT_INSPROTO_H

#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "common/cursor.h"
#include "common/wbuf.h"

#define INS_MAGIC	0x4d49u	/* "MI" */
#define INS_VERSION	1u
#define INS_HDR_LEN	8u
#define INS_ADDR_LEN	23u
/*
 * Largest message either side sends: a RESOLVE reply with INS_RESOLVE_MAX
 * addresses and its ext (669 bytes). A reply without ext (what a shim of
 * before ext asks for) stays within the 512 bytes such a shim reads.
 */
#define INS_MSG_MAX	1024u
/* Addresses one RESOLVE reply carries; applications use the first few. */
#define INS_RESOLVE_MAX	16u
/* Longest host name (RFC 1035) and service name in a RESOLVE request. */
#define INS_NAME_MAX	255u
#define INS_SERVICE_MAX	32u
/* Environment variable carrying the control socket path across exec. */
#define INS_ENV_SOCK	"MOAT_INS_SOCK"

enum ins_type {
	INS_SOCKET = 1,
	INS_BIND = 2,
	INS_LISTEN = 3,
	INS_CONNECT = 4,
	INS_GETNAME = 5,
	INS_RESOLVE = 6,
	INS_CONN = 7,
	INS_DENY = 8,
	INS_TYPE_MAX = INS_DENY,
	INS_REPLY = 0x80,
};

/*
 * INS_AF_NETLINK_ROUTE (SOCKET only): a NETLINK_ROUTE socket in the broker's
 * namespace, so that interface enumeration (RTM_GETLINK/RTM_GETADDR dumps,
 * e.g. dnsmasq --bind-dynamic) sees the broker's addresses; socktype RAW or
 * DGRAM. Read-only for the program: the broker creates it without
 * CAP_NET_ADMIN in its effective set, and hands it only to a client that can
 * never hold CAP_NET_ADMIN (not in its inheritable, permitted or bounding set,
 * as under --isolate); the kernel then refuses every change (RTM_NEWADDR,
 * RTM_NEWROUTE, RTM_DELLINK, ...) with EPERM. Any other client is refused
 * with EPERM and the shim opens the socket in the program's own namespace.
 */
enum ins_af { INS_AF_INET = 4, INS_AF_INET6 = 6, INS_AF_NETLINK_ROUTE = 16 };
enum ins_socktype { INS_SOCK_STREAM = 1, INS_SOCK_DGRAM = 2, INS_SOCK_RAW = 3 };
/*
 * RESOLVE flags: the application's AI_* flags, and this bit (no AI_* flag
 * uses it): "reply with ext" (canonical name, each entry's type/protocol).
 */
#define INS_RESOLVE_EXT	0x80000000u

/* SOCKET flags: the SOCK_NONBLOCK / SOCK_CLOEXEC the application asked for. */
enum ins_sockflag { INS_SF_NONBLOCK = 1, INS_SF_CLOEXEC = 2, INS_SF_ALL = 3 };

struct ins_addr {
	uint8_t family;		/* enum ins_af */
	uint16_t port;		/* host order */
	uint8_t addr[16];	/* IPv4: first 4 bytes */
	uint32_t scope_id;
};

/* A decoded message; which fields mean something depends on type. */
struct ins_msg {
	uint8_t type;		/* enum ins_type, | INS_REPLY for replies */
	uint32_t id;
	int32_t status;		/* replies: 0 or a positive errno (RESOLVE: EAI_*) */
	uint8_t family;		/* SOCKET, RESOLVE */
	uint8_t socktype;	/* SOCKET, CONNECT, RESOLVE */
	uint8_t flags;		/* SOCKET */
	uint32_t protocol;	/* SOCKET */
	uint32_t backlog;	/* LISTEN */
	uint32_t ai_flags;	/* RESOLVE */
	uint32_t seconds;	/* DENY */
	uint64_t conn_id;	/* CONN */
	struct ins_addr addr;	/* BIND, CONNECT, GETNAME reply, CONN peer */
	struct ins_addr addr2;	/* CONN local */
	uint8_t naddrs;		/* RESOLVE reply */
	struct ins_addr addrs[INS_RESOLVE_MAX];
	bool has_ext;		/* RESOLVE reply: canon and types below are present */
	char canon[INS_NAME_MAX + 1];	/* RESOLVE reply ext: canonical name, "" = none */
	uint8_t ai_socktype[INS_RESOLVE_MAX];	/* RESOLVE reply ext: enum ins_socktype */
	uint8_t ai_protocol[INS_RESOLVE_MAX];	/* RESOLVE reply ext: IPPROTO_* (0 for RAW) */
	char name[INS_NAME_MAX + 1];	/* RESOLVE; NUL-terminated, no embedded NUL */
	char service[INS_SERVICE_MAX + 1];
};

/* --- writing: through common/wbuf.h, which records overflow instead of overrunning --- */
static inline void
ins_put_addr(struct wbuf *w, const struct ins_addr *a)
{
	wb_u8(w, a->family);
	wb_u16(w, a->port);
	wb_bytes(w, a->addr, 16);
	wb_u32(w, a->scope_id);
}

static inline void
ins_put_str(struct wbuf *w, const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n > max) {
		w->overflow = true;
		return;
	}
	wb_u8(w, (uint8_t)n);
	wb_bytes(w, s, n);
}

/* Number of descriptors a message of this type must carry. */
static inline size_t
insproto_nfds(uint8_t type)
{
	switch (type) {
	case INS_BIND: case INS_LISTEN: case INS_GETNAME: case INS_CONN:
		return 1;
	case INS_SOCKET | INS_REPLY:
		return 1;	/* 0 when status != 0: see insproto_reply_nfds() */
	case INS_LISTEN | INS_REPLY:
		return 1;
	default:
		return 0;
	}
}

/* Replies that carry a descriptor do so only on success. */
static inline size_t
insproto_msg_nfds(const struct ins_msg *m)
{
	if ((m->type & INS_REPLY) && m->status != 0)
		return 0;
	return insproto_nfds(m->type);
}

static inline void
insproto_put_body(struct wbuf *w, const struct ins_msg *m)
{
	if (m->type & INS_REPLY)
		wb_u32(w, (uint32_t)m->status);
	switch (m->type) {
	case INS_SOCKET:
		wb_u8(w, m->family);
		wb_u8(w, m->socktype);
		wb_u8(w, m->flags);
		wb_u32(w, m->protocol);
		break;
	case INS_BIND:
		ins_put_addr(w, &m->addr);
		break;
	case INS_LISTEN:
		wb_u32(w, m->backlog);
		break;
	case INS_CONNECT:
		wb_u8(w, m->socktype);
		ins_put_addr(w, &m->addr);
		break;
	case INS_GETNAME | INS_REPLY:
		/* An error reply is the status alone, as insproto_get_body() reads it. */
		if (m->status == 0)
			ins_put_addr(w, &m->addr);
		break;
	case INS_RESOLVE:
		wb_u8(w, m->family);
		wb_u8(w, m->socktype);
		wb_u32(w, m->ai_flags);
		ins_put_str(w, m->name, INS_NAME_MAX);
		ins_put_str(w, m->service, INS_SERVICE_MAX);
		break;
	case INS_RESOLVE | INS_REPLY:
		if (m->naddrs > INS_RESOLVE_MAX) {
			w->overflow = true;
			break;
		}
		wb_u8(w, m->naddrs);
		for (size_t i = 0; i < m->naddrs; i++)
			ins_put_addr(w, &m->addrs[i]);
		if (!m->has_ext)
			break;
		ins_put_str(w, m->canon, INS_NAME_MAX);
		for (size_t i = 0; i < m->naddrs; i++) {
			if (m->ai_socktype[i] < INS_SOCK_STREAM || m->ai_socktype[i] > INS_SOCK_RAW)
				w->overflow = true;
			wb_u8(w, m->ai_socktype[i]);
			wb_u8(w, m->ai_protocol[i]);
		}
		break;
	case INS_CONN:
		wb_u64(w, m->conn_id);
		ins_put_addr(w, &m->addr);
		ins_put_addr(w, &m->addr2);
		break;
	case INS_DENY:
		ins_put_addr(w, &m->addr);
		wb_u32(w, m->seconds);
		break;
	default:
		break;	/* GETNAME request and plain status replies have no more */
	}
}

/*
 * Encode m into buf. Returns the length, or -EMSGSIZE if it does not fit or a
 * string is too long, -EINVAL for an unknown type.
 */
static inline int
insproto_encode(const struct ins_msg *m, void *buf, size_t cap)
{
	struct wbuf w = wb_init(buf, cap);
	uint8_t base = m->type & (uint8_t)~INS_REPLY;

	if (base < INS_SOCKET || base > INS_TYPE_MAX)
		return -EINVAL;
	wb_u16(&w, INS_MAGIC);
	wb_u8(&w, INS_VERSION);
	wb_u8(&w, m->type);
	wb_u32(&w, m->id);
	insproto_put_body(&w, m);
	if (!wb_ok(&w))
		return -EMSGSIZE;
	return (int)wb_len(&w);
}

/* --- reading: every field through the cursor --- */
static inline bool
ins_get_addr(struct cursor *c, struct ins_addr *a)
{
	if (!cur_u8(c, &a->family) || !cur_be16(c, &a->port) || !cur_bytes(c, a->addr, 16) ||
	    !cur_be32(c, &a->scope_id))
		return false;
	return a->family == INS_AF_INET || a->family == INS_AF_INET6;
}

/* A length-prefixed string without embedded NULs, at most max bytes. */
static inline bool
ins_get_str(struct cursor *c, char *dst, size_t max)
{
	uint8_t n;
	struct cursor s;

	if (!cur_u8(c, &n) || n > max || !cur_sub(c, n, &s))
		return false;
	if (memchr(cur_ptr(&s), 0, n))
		return false;
	memcpy(dst, cur_ptr(&s), n);
	dst[n] = '\0';
	return true;
}

static inline bool
insproto_get_body(struct cursor *c, struct ins_msg *m)
{
	uint32_t st;

	if (m->type & INS_REPLY) {
		if (!cur_be32(c, &st))
			return false;
		m->status = (int32_t)st;
	}
	switch (m->type) {
	case INS_SOCKET:
		return cur_u8(c, &m->family) && cur_u8(c, &m->socktype) && cur_u8(c, &m->flags) &&
		       cur_be32(c, &m->protocol) && (m->flags & ~INS_SF_ALL) == 0;
	case INS_BIND:
		return ins_get_addr(c, &m->addr);
	case INS_LISTEN:
		return cur_be32(c, &m->backlog);
	case INS_CONNECT:
		return cur_u8(c, &m->socktype) && ins_get_addr(c, &m->addr);
	case INS_GETNAME | INS_REPLY:
		return m->status != 0 || ins_get_addr(c, &m->addr);
	case INS_RESOLVE:
		return cur_u8(c, &m->family) && cur_u8(c, &m->socktype) &&
		       cur_be32(c, &m->ai_flags) && ins_get_str(c, m->name, INS_NAME_MAX) &&
		       ins_get_str(c, m->service, INS_SERVICE_MAX);
	case INS_RESOLVE | INS_REPLY:
		if (!cur_u8(c, &m->naddrs) || m->naddrs > INS_RESOLVE_MAX)
			return false;
		for (size_t i = 0; i < m->naddrs; i++)
			if (!ins_get_addr(c, &m->addrs[i]))
				return false;
		if (cur_empty(c))
			return true;	/* no ext: a broker of before it, or not asked */
		m->has_ext = true;
		if (!ins_get_str(c, m->canon, INS_NAME_MAX))
			return false;
		for (size_t i = 0; i < m->naddrs; i++)
			if (!cur_u8(c, &m->ai_socktype[i]) || !cur_u8(c, &m->ai_protocol[i]) ||
			    m->ai_socktype[i] < INS_SOCK_STREAM || m->ai_socktype[i] > INS_SOCK_RAW)
				return false;
		return true;
	case INS_CONN:
		return cur_be64(c, &m->conn_id) && ins_get_addr(c, &m->addr) &&
		       ins_get_addr(c, &m->addr2);
	case INS_DENY:
		return ins_get_addr(c, &m->addr) && cur_be32(c, &m->seconds);
	default:
		return true;
	}
}

/*
 * Decode one message of len bytes that arrived with nfds descriptors.
 * Returns 0, or -EPROTO for anything malformed: bad magic, unknown type,
 * short or trailing bytes, bad field values, wrong descriptor count. For a
 * version mismatch, -EPROTONOSUPPORT. *ret is written only on success.
 */
static inline int
insproto_decode(const void *buf, size_t len, size_t nfds, struct ins_msg *ret)
{
	struct cursor c = cur_init(buf, len);
	struct ins_msg m;
	uint16_t magic;
	uint8_t version, base;

	memset(&m, 0, sizeof(m));
	if (!cur_be16(&c, &magic) || !cur_u8(&c, &version) || !cur_u8(&c, &m.type) ||
	    !cur_be32(&c, &m.id))
		return -EPROTO;
	if (magic != INS_MAGIC)
		return -EPROTO;
	if (version != INS_VERSION)
		return -EPROTONOSUPPORT;
	base = m.type & (uint8_t)~INS_REPLY;
	if (base < INS_SOCKET || base > INS_TYPE_MAX)
		return -EPROTO;
	if (m.type == (INS_CONN | INS_REPLY))
		return -EPROTO;
	if (!insproto_get_body(&c, &m) || !cur_empty(&c))
		return -EPROTO;
	if ((m.type & INS_REPLY) && m.status < 0)
		return -EPROTO;
	if (nfds != insproto_msg_nfds(&m))
		return -EPROTO;
	*ret = m;
	return 0;
}

/* --- sockaddr conversions --- */

/* Fill a from a sockaddr of length len; -EAFNOSUPPORT unless IPv4/IPv6, -EINVAL if short. */
static inline int
insproto_addr_from_sa(const struct sockaddr *sa, socklen_t len, struct ins_addr *ret)
{
	struct ins_addr a;

	memset(&a, 0, sizeof(a));
	if (len < (socklen_t)sizeof(sa_family_t))
		return -EINVAL;
	if (sa->sa_family == AF_INET) {
		struct sockaddr_in sin;

		if (len < (socklen_t)sizeof(sin))
			return -EINVAL;
		memcpy(&sin, sa, sizeof(sin));
		a.family = INS_AF_INET;
		a.port = ntohs(sin.sin_port);
		memcpy(a.addr, &sin.sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		struct sockaddr_in6 sin6;

		if (len < (socklen_t)sizeof(sin6))
			return -EINVAL;
		memcpy(&sin6, sa, sizeof(sin6));
		a.family = INS_AF_INET6;
		a.port = ntohs(sin6.sin6_port);
		memcpy(a.addr, &sin6.sin6_addr, 16);
		a.scope_id = sin6.sin6_scope_id;
	} else {
		return -EAFNOSUPPORT;
	}
	*ret = a;
	return 0;
}

/* Write a as a sockaddr into ss; returns its length. */
static inline socklen_t
insproto_addr_to_sa(const struct ins_addr *a, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (a->family == INS_AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(a->port);
		memcpy(&sin->sin_addr, a->addr, 4);
		return sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(a->port);
		memcpy(&sin6->sin6_addr, a->addr, 16);
		sin6->sin6_scope_id = a->scope_id;
		return sizeof(*sin6);
	}
}

#endif
