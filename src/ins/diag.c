/*
 * diag: sock_diag dumps and SOCK_DESTROY. See diag.h.
 */
#include "ins/diag.h"

#include <errno.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/cursor.h"

/* A dump reply arrives in batches of at most this many bytes per recv. */
#define DIAG_BUF 65536
/* Receive buffer of the destroy-event socket: ~380 bytes an event, so room
 * for ~20,000 closes between two reads. */
#define DIAG_EVENTS_RCVBUF (8 << 20)
/* How long to wait for the kernel between batches; it answers at once. */
#define DIAG_WAIT_MS 1000

struct diag {
	int fd;
	uint32_t seq;
	uint8_t buf[DIAG_BUF];
};

/* The kernel's TCP state numbers (include/net/tcp_states.h); no uapi header has them. */
enum {
	DIAG_ESTABLISHED = 1, DIAG_SYN_RECV = 3, DIAG_FIN_WAIT1 = 4, DIAG_FIN_WAIT2 = 5,
	DIAG_TIME_WAIT = 6, DIAG_CLOSE = 7, DIAG_CLOSE_WAIT = 8, DIAG_LAST_ACK = 9, DIAG_CLOSING = 11,
	DIAG_LISTEN = 10,
};

/*
 * TCP states worth observing: everything with a peer still there, and CLOSE
 * (reset or destroyed, the program still holding the descriptor), so that a
 * connection missing from a dump has really been freed — its destroy event,
 * with the final figures, is on its way.
 */
#define DIAG_STATES                                                                     \
	((1u << DIAG_ESTABLISHED) | (1u << DIAG_SYN_RECV) | (1u << DIAG_FIN_WAIT1) |       \
	 (1u << DIAG_FIN_WAIT2) | (1u << DIAG_CLOSE_WAIT) | (1u << DIAG_LAST_ACK) |         \
	 (1u << DIAG_CLOSING) | (1u << DIAG_CLOSE))

bool
diag_gone(const struct diag_sock *s)
{
	return s->state == DIAG_CLOSE;
}

bool
diag_fin_acked(const struct diag_sock *s)
{
	return s->state == DIAG_FIN_WAIT2 || s->state == DIAG_TIME_WAIT;
}

bool
diag_peer_closed(const struct diag_sock *s)
{
	return s->state == DIAG_CLOSE_WAIT || s->state == DIAG_LAST_ACK ||
	       s->state == DIAG_CLOSING || s->state == DIAG_TIME_WAIT;
}

int
diag_open(struct diag **ret)
{
	struct diag *d = calloc(1, sizeof(*d));

	if (!d)
		return -ENOMEM;
	d->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_SOCK_DIAG);
	if (d->fd < 0) {
		int r = -errno;

		free(d);
		return r;
	}
	*ret = d;
	return 0;
}

void
diag_close(struct diag *d)
{
	if (!d)
		return;
	close(d->fd);
	free(d);
}

int
diag_open_events(struct diag **ret)
{
	static const int groups[] = { SKNLGRP_INET_TCP_DESTROY, SKNLGRP_INET6_TCP_DESTROY };
	struct sockaddr_nl nl = { .nl_family = AF_NETLINK };	/* nl_pid 0: the kernel picks one */
	int rcvbuf = DIAG_EVENTS_RCVBUF;
	struct diag *d;
	int r = diag_open(&d);

	if (r < 0)
		return r;
	/*
	 * Bind first: the kernel multicasts destroy events with sender port id
	 * 0 and skips a member whose own port id equals the sender's, so an
	 * unbound socket (port id 0) is subscribed but never receives anything.
	 */
	if (bind(d->fd, (struct sockaddr *)&nl, sizeof(nl)) < 0) {
		r = -errno;
		diag_close(d);
		return r;
	}
	/* A burst of closes must not overflow the queue (ENOBUFS): beyond
	 * rmem_max with CAP_NET_ADMIN, else as much as rmem_max allows. */
	if (setsockopt(d->fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0)
		(void)setsockopt(d->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
		if (setsockopt(d->fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &groups[i],
			       sizeof(groups[i])) < 0) {
			r = -errno;
			diag_close(d);
			return r;
		}
	}
	*ret = d;
	return 0;
}

int
diag_fd(const struct diag *d)
{
	return d->fd;
}

int
diag_read_events(struct diag *d, size_t max, diag_fn fn, void *arg)
{
	size_t count = 0;

	while (count < max) {
		ssize_t n = recv(d->fd, d->buf, sizeof(d->buf), MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			return -errno;	/* ENOBUFS: events were lost under load */
		}
		if (diag_parse_batch(d->buf, (size_t)n, max, &count, fn, arg) < 0)
			continue;	/* skip a malformed datagram, keep the rest */
	}
	return (int)count;
}

static void
diag_addr(uint8_t family, const uint32_t *words, uint16_t port_be, struct ins_addr *a)
{
	memset(a, 0, sizeof(*a));
	a->family = family == AF_INET ? INS_AF_INET : INS_AF_INET6;
	a->port = ntohs(port_be);
	memcpy(a->addr, words, family == AF_INET ? 4 : 16);
}

static void
diag_take_info(struct cursor *attr, struct diag_sock *s)
{
	struct tcp_info ti;
	size_t n = cur_left(attr) < sizeof(ti) ? cur_left(attr) : sizeof(ti);

	/* Older kernels send a shorter struct: what is missing stays zero. */
	memset(&ti, 0, sizeof(ti));
	cur_bytes(attr, &ti, n);
	s->has_info = true;
	s->bytes_received = ti.tcpi_bytes_received;
	s->bytes_acked = ti.tcpi_bytes_acked;
	s->last_data_recv_ms = ti.tcpi_last_data_recv;
	s->last_data_sent_ms = ti.tcpi_last_data_sent;
	s->rtt_us = ti.tcpi_rtt;
	s->retrans = ti.tcpi_total_retrans;
	s->snd_wnd = ti.tcpi_snd_wnd;
	s->rcv_wnd = ti.tcpi_rcv_space;
	s->probes = ti.tcpi_probes;
	s->segs_in = ti.tcpi_segs_in;
}

int
diag_parse_msg(const void *buf, size_t len, struct diag_sock *ret)
{
	struct cursor c = cur_init(buf, len);
	struct inet_diag_msg m;
	struct diag_sock s;

	memset(&s, 0, sizeof(s));
	if (!cur_bytes(&c, &m, sizeof(m)))
		return -EPROTO;
	if (m.idiag_family != AF_INET && m.idiag_family != AF_INET6)
		return -EPROTO;
	s.id = m.id;
	s.family = m.idiag_family;
	s.state = m.idiag_state;
	s.cookie = (uint64_t)m.id.idiag_cookie[1] << 32 | m.id.idiag_cookie[0];
	s.inode = m.idiag_inode;
	s.rqueue = m.idiag_rqueue;
	s.wqueue = m.idiag_wqueue;
	diag_addr(m.idiag_family, m.id.idiag_src, m.id.idiag_sport, &s.local);
	diag_addr(m.idiag_family, m.id.idiag_dst, m.id.idiag_dport, &s.peer);
	while (cur_left(&c) >= sizeof(struct nlattr)) {
		struct nlattr na;
		struct cursor attr;
		size_t pad;

		if (!cur_bytes(&c, &na, sizeof(na)) || na.nla_len < sizeof(na) ||
		    !cur_sub(&c, na.nla_len - sizeof(na), &attr))
			return -EPROTO;
		if ((na.nla_type & NLA_TYPE_MASK) == INET_DIAG_INFO)
			diag_take_info(&attr, &s);
		pad = NLA_ALIGN(na.nla_len) - na.nla_len;
		if (!cur_skip(&c, pad < cur_left(&c) ? pad : cur_left(&c)))
			return -EPROTO;
	}
	*ret = s;
	return 0;
}

int
diag_parse_batch(const void *buf, size_t len, size_t max, size_t *count, diag_fn fn, void *arg)
{
	struct cursor c = cur_init(buf, len);

	while (cur_left(&c) >= sizeof(struct nlmsghdr)) {
		struct nlmsghdr h;
		struct cursor body;
		struct diag_sock s;
		size_t pad;

		if (!cur_bytes(&c, &h, sizeof(h)) || h.nlmsg_len < sizeof(h) ||
		    !cur_sub(&c, h.nlmsg_len - sizeof(h), &body))
			return -EPROTO;
		pad = NLMSG_ALIGN(h.nlmsg_len) - h.nlmsg_len;
		cur_skip(&c, pad < cur_left(&c) ? pad : cur_left(&c));
		if (h.nlmsg_type == NLMSG_DONE)
			return 1;
		if (h.nlmsg_type == NLMSG_ERROR) {
			struct nlmsgerr e;

			if (!cur_bytes(&body, &e, sizeof(e)))
				return -EPROTO;
			return e.error < 0 ? e.error : -EPROTO;
		}
		if (h.nlmsg_type != SOCK_DIAG_BY_FAMILY)
			continue;
		if (diag_parse_msg(cur_ptr(&body), cur_left(&body), &s) < 0)
			return -EPROTO;
		if (*count < max) {
			(*count)++;
			fn(arg, &s);
		}
	}
	return 0;
}

static int
diag_send(struct diag *d, uint16_t type, uint16_t flags, const struct inet_diag_req_v2 *req)
{
	struct {
		struct nlmsghdr h;
		struct inet_diag_req_v2 r;
	} msg;
	struct sockaddr_nl nl = { .nl_family = AF_NETLINK };

	memset(&msg, 0, sizeof(msg));
	msg.h.nlmsg_len = sizeof(msg);
	msg.h.nlmsg_type = type;
	msg.h.nlmsg_flags = flags;
	msg.h.nlmsg_seq = ++d->seq;
	msg.r = *req;
	if (sendto(d->fd, &msg, sizeof(msg), 0, (struct sockaddr *)&nl, sizeof(nl)) < 0)
		return -errno;
	return 0;
}

/* Receive one batch, waiting up to DIAG_WAIT_MS. */
static ssize_t
diag_recv(struct diag *d)
{
	struct pollfd p = { .fd = d->fd, .events = POLLIN };
	ssize_t n;

	for (;;) {
		n = recv(d->fd, d->buf, sizeof(d->buf), MSG_DONTWAIT);
		if (n >= 0)
			return n;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return -errno;
		if (poll(&p, 1, DIAG_WAIT_MS) <= 0)
			return -ETIMEDOUT;
	}
}

/* Throw away whatever is left of an aborted exchange. */
static void
diag_drain(struct diag *d)
{
	while (recv(d->fd, d->buf, sizeof(d->buf), MSG_DONTWAIT) > 0)
		;
}

/* One dump of the TCP sockets of family in states (a bit per state), extensions ext. */
static int
diag_dump_states(struct diag *d, int family, uint32_t states, uint8_t ext, size_t max,
		 diag_fn fn, void *arg)
{
	struct inet_diag_req_v2 req = {
		.sdiag_family = (uint8_t)family,
		.sdiag_protocol = IPPROTO_TCP,
		.idiag_ext = ext,
		.idiag_states = states,
	};
	size_t count = 0;
	int r;

	diag_drain(d);
	r = diag_send(d, SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST | NLM_F_DUMP, &req);
	if (r < 0)
		return r;
	for (;;) {
		ssize_t n = diag_recv(d);

		if (n <= 0)
			return n == 0 ? -EPROTO : (int)n;
		r = diag_parse_batch(d->buf, (size_t)n, max, &count, fn, arg);
		if (r < 0) {
			diag_drain(d);
			return r;
		}
		if (r == 1)
			return (int)count;
	}
}

int
diag_dump(struct diag *d, int family, size_t max, diag_fn fn, void *arg)
{
	return diag_dump_states(d, family, DIAG_STATES, 1u << (INET_DIAG_INFO - 1), max, fn, arg);
}

int
diag_dump_listeners(struct diag *d, int family, size_t max, diag_fn fn, void *arg)
{
	return diag_dump_states(d, family, 1u << DIAG_LISTEN, 0, max, fn, arg);
}

int
diag_destroy(struct diag *d, const struct diag_sock *s)
{
	struct inet_diag_req_v2 req = {
		.sdiag_family = s->family,
		.sdiag_protocol = IPPROTO_TCP,
		.idiag_states = ~0u,
		.id = s->id,
	};
	struct cursor c;
	struct nlmsghdr h;
	struct nlmsgerr e;
	ssize_t n;
	int r;

	diag_drain(d);
	r = diag_send(d, SOCK_DESTROY, NLM_F_REQUEST | NLM_F_ACK, &req);
	if (r < 0)
		return r;
	n = diag_recv(d);
	if (n < 0)
		return (int)n;
	c = cur_init(d->buf, (size_t)n);
	if (!cur_bytes(&c, &h, sizeof(h)) || h.nlmsg_type != NLMSG_ERROR ||
	    !cur_bytes(&c, &e, sizeof(e)))
		return -EPROTO;
	return e.error;
}
