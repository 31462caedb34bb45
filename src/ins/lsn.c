/*
 * lsn: broker-owned listeners, hold-before-handoff and doorbells. See lsn.h.
 */
#include "ins/lsn.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/evloop.h"
#include "common/ipc.h"
#include "common/log.h"
#include "ins/inshttp.h"
#include "ins/insipfix.h"
#include "ins/obs.h"

/* A connection between accept and handoff: held, or queued for a full doorbell. */
struct lsn_conn {
	int fd;
	struct evloop_io *io;		/* while held */
	struct lsn *l;
	struct lsn_conn *prev, *next;	/* in l->held or l->pending */
	uint64_t id;
	uint64_t t0_ms;			/* accepted at */
	uint64_t first_ms, hdrs_ms;	/* first bytes / complete headers seen at; 0 = not yet */
	uint64_t body_end;		/* headers + Content-Length, when the hold saw one; 0 = none */
	struct ins_addr peer, local;
	struct srctab_set src;		/* its source's levels (some missing when the table was full) */
	bool held;
};

struct lsn_list {
	struct lsn_conn *head, *tail;
	unsigned n;
};

struct lsn {
	struct lsn_set *set;
	int fd;				/* the real listening socket */
	int bell;			/* our end of the doorbell */
	struct evloop_io *io, *bell_io;
	ino_t bell_ino;			/* inode of the application's end */
	struct ins_addr addr;		/* local address */
	struct lsn_list held, pending;
	bool bell_wait;			/* EVLOOP_OUT armed on the doorbell */
	struct lsn *prev, *next;
};

static uint64_t
lsn_now_ms(const struct lsn_set *s)
{
	return clock_mono_ns(s->clk) / 1000000u;
}

static void
list_append(struct lsn_list *q, struct lsn_conn *c)
{
	c->next = NULL;
	c->prev = q->tail;
	if (q->tail)
		q->tail->next = c;
	else
		q->head = c;
	q->tail = c;
	q->n++;
}

static void
list_remove(struct lsn_list *q, struct lsn_conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		q->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		q->tail = c->prev;
	c->prev = c->next = NULL;
	q->n--;
}

/*
 * Arm the deadline timer for the earliest hold deadline (a listener's held
 * list is in accept order, so its head is its earliest), unless it is armed
 * for that one already; disarm it when nothing is held. So an idle broker
 * never wakes for holds. A release does not re-arm: the timer then fires
 * once for nothing and moves on.
 */
static void
lsn_deadline_arm(struct lsn_set *s)
{
	uint64_t first = UINT64_MAX, deadline, now;

	for (const struct lsn *l = s->head; l; l = l->next)
		if (l->held.head && l->held.head->t0_ms < first)
			first = l->held.head->t0_ms;
	if (first == UINT64_MAX) {
		evloop_timer_disarm(s->deadline);
		s->deadline_ms = 0;
		return;
	}
	deadline = first + s->pol->hold_timeout_ms;
	if (deadline == s->deadline_ms && evloop_timer_armed(s->deadline))
		return;
	now = lsn_now_ms(s);
	evloop_timer_arm(s->deadline, deadline > now ? (deadline - now) * 1000000u : 0, 0);
	s->deadline_ms = deadline;
}

/* Close a connection we will not hand over; RST so a slow peer's resources go at once. */
static void
lsn_reset_close(int fd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

/* Take c out of its list (and the loop) and free it; the caller deals with the fd. */
static void
lsn_conn_release(struct lsn_set *s, struct lsn_conn *c)
{
	if (c->held) {
		evloop_io_del(c->io);
		c->io = NULL;
		list_remove(&c->l->held, c);
		s->nheld--;
		srctab_set_held(&c->src, -1);
	} else {
		list_remove(&c->l->pending, c);
	}
	free(c);
}

/* Release c, then close its descriptor (with an RST when reset): the loop lets go first. */
static void
lsn_conn_close(struct lsn_set *s, struct lsn_conn *c, bool reset)
{
	int fd = c->fd;

	lsn_conn_release(s, c);
	if (reset)
		lsn_reset_close(fd);
	else
		close(fd);
}

static uint32_t
lsn_since(const struct lsn_conn *c, uint64_t t_ms)
{
	uint64_t d = t_ms - c->t0_ms;

	if (t_ms == 0)
		return INSIPFIX_UNKNOWN_MS;
	return d >= INSIPFIX_UNKNOWN_MS ? INSIPFIX_UNKNOWN_MS - 1 : (uint32_t)d;
}

/* The connection's kernel figures now (TCP_INFO), for the observer's judge. */
static bool
lsn_tcp_sample(struct lsn_set *s, const struct lsn_conn *c, int fd, struct slow_sample *ret)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	if (!s->obs)
		return false;
	memset(&ti, 0, sizeof(ti));
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0)
		return false;
	*ret = (struct slow_sample){
		.t_ms = lsn_now_ms(s),
		.bytes_received = ti.tcpi_bytes_received,
		.bytes_acked = ti.tcpi_bytes_acked,
		.last_data_recv_ms = ti.tcpi_last_data_recv,
		.last_data_sent_ms = ti.tcpi_last_data_sent,
		.segs_in = ti.tcpi_segs_in,
		.body_end = c->body_end,
	};
	return true;
}

/*
 * Telemetry of a handoff: the OPEN record, with how long the connection was
 * held and when its first bytes and complete headers came (known only for
 * held connections); and the observer learns of it, so a connection that
 * closes before its first sock_diag round still gets its CLOSE record.
 */
static void
lsn_report_open(struct lsn_set *s, const struct lsn_conn *c, const struct slow_sample *at)
{
	uint64_t now = lsn_now_ms(s), wall = clock_wall_ns(s->clk) / 1000000u;
	uint64_t held = now - c->t0_ms;
	struct insipfix_rec r = {
		.event = INSIE_OPEN, .tcp_flags = 0x02, .conn_id = c->id,
		.peer = c->peer, .local = c->local, .start_ms = wall - held, .end_ms = wall,
		.held_ms = held > UINT32_MAX ? UINT32_MAX : (uint32_t)held,
		.timed = true, .ttfb_ms = lsn_since(c, c->first_ms),
		.headers_ms = lsn_since(c, c->hdrs_ms),
	};

	if (s->obs)
		obs_track_handoff(s->obs, c->id, &c->peer, &c->local, c->t0_ms, at);
	if (s->ipfix)
		insipfix_add(s->ipfix, &r, clock_wall_s(s->clk));
}

/*
 * A connection dropped before handoff (event: an enum insie_event such as
 * INSIE_HOLD_TIMEOUT); held_ms is how long it was held.
 */
static void
lsn_report_drop(struct lsn_set *s, uint8_t event, const struct lsn_conn *c, uint64_t held_ms)
{
	uint64_t now = clock_wall_ns(s->clk) / 1000000u;
	struct insipfix_rec r = {
		.event = event, .tcp_flags = 0x02 | 0x04, .end_reason = 4, .conn_id = c->id,
		.peer = c->peer, .local = c->local, .start_ms = now - held_ms, .end_ms = now,
		.held_ms = held_ms > UINT32_MAX ? UINT32_MAX : (uint32_t)held_ms,
	};

	if (s->ipfix)
		insipfix_add(s->ipfix, &r, clock_wall_s(s->clk));
}

/* Send c on the doorbell; -EAGAIN when the doorbell is full. Closes our copy on success. */
static int
lsn_ring(struct lsn_set *s, struct lsn *l, struct lsn_conn *c)
{
	struct ins_msg m = { .type = INS_CONN, .conn_id = c->id, .addr = c->peer, .addr2 = c->local };
	uint8_t buf[INS_MSG_MAX];
	struct slow_sample at;
	bool have;
	int n, r;

	n = insproto_encode(&m, buf, sizeof(buf));
	if (n < 0)
		return n;
	r = ipc_send(l->bell, buf, (size_t)n, &c->fd, 1);
	if (r < 0)
		return r;
	have = lsn_tcp_sample(s, c, c->fd, &at);
	close(c->fd);
	s->st.handed++;
	lsn_report_open(s, c, have ? &at : NULL);
	if (s->obs)
		srctab_set_count_handoff(&c->src, obs_gen(s->obs));
	return 0;
}

static void
lsn_bell_arm(struct lsn_set *s, struct lsn *l, bool want_out)
{
	if (l->bell_wait == want_out)
		return;
	l->bell_wait = want_out;
	/* Idle otherwise: a hang-up (the application closed its end) is always reported. */
	evloop_io_mod(l->bell_io, want_out ? EVLOOP_OUT : 0);
}

/* Queue c behind a full doorbell, or drop it when the queue is at its cap. */
static void
lsn_enqueue(struct lsn_set *s, struct lsn *l, struct lsn_conn *c)
{
	if (l->pending.n >= LIMIT_INS_PENDING) {
		s->st.pending_drops++;
		log_ratelimited(5, 1, log_warnx, "listener port %u: application not accepting, dropping",
				l->addr.port);
		lsn_reset_close(c->fd);
		free(c);
		return;
	}
	c->held = false;
	list_append(&l->pending, c);
	lsn_bell_arm(s, l, true);
}

/* Hand c (not in any list) to the application. */
static void
lsn_handoff(struct lsn_set *s, struct lsn *l, struct lsn_conn *c)
{
	int r;

	if (l->pending.n == 0) {
		r = lsn_ring(s, l, c);
		if (r == 0) {
			free(c);
			return;
		}
		if (r != -EAGAIN && r != -ENOBUFS) {
			log_ratelimited(5, 1, log_warnx, "doorbell port %u: %s", l->addr.port,
					strerror(-r));
			lsn_reset_close(c->fd);
			free(c);
			return;
		}
	}
	lsn_enqueue(s, l, c);
}

/* Move a held connection on: out of the held list and the loop, then hand off. */
static void
lsn_release_held(struct lsn_set *s, struct lsn_conn *c)
{
	struct lsn *l = c->l;

	evloop_io_del(c->io);
	c->io = NULL;
	list_remove(&l->held, c);
	s->nheld--;
	srctab_set_held(&c->src, -1);
	c->held = false;
	lsn_handoff(s, l, c);
}

/* Drop a held connection that misbehaved (too slow, or over a cap). */
static void
lsn_drop_slow(struct lsn_set *s, struct lsn_conn *c, uint64_t now_ms)
{
	struct srctab_set src = c->src;

	lsn_report_drop(s, INSIE_HOLD_TIMEOUT, c, now_ms - c->t0_ms);
	lsn_conn_close(s, c, true);
	s->st.held_dropped++;
	if (srctab_set_note_drop(&src, s->pol->deny_after_drops,
				 (uint64_t)s->pol->deny_seconds * 1000, now_ms))
		log_ratelimited(10, 1, log_info, "source denied for %us after %u slow connections",
				s->pol->deny_seconds, s->pol->deny_after_drops);
}

/*
 * Whether the peer sent its FIN (data may still be queued before it). Held
 * connections are watched edge-triggered for input only, so a half-close
 * behind unread bytes shows here rather than as an event of its own.
 */
static bool
lsn_peer_closed(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLRDHUP };

	return poll(&pfd, 1, 0) > 0 && (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

/* Is what the peer has sent so far enough to hand the connection over?
 * Notes when the first bytes and the complete headers came, for telemetry. */
static bool
lsn_ready(struct lsn_set *s, struct lsn_conn *c, bool *ret_gone)
{
	size_t hdr = 0;
	ssize_t n = recv(c->fd, s->peek, sizeof(s->peek), MSG_PEEK | MSG_DONTWAIT);
	enum inshttp_state st;

	*ret_gone = false;
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		*ret_gone = true;
		return false;
	}
	if (n < 0)
		return false;
	if (c->first_ms == 0)
		c->first_ms = lsn_now_ms(s);
	if (policy_hold_for(s->pol, c->l->addr.port) != POLICY_HOLD_HTTP ||
	    (size_t)n >= sizeof(s->peek))
		return true;	/* first bytes are enough, or headers too big to judge: the app decides */
	st = inshttp_scan(s->peek, (size_t)n, &hdr);
	if (st == INSHTTP_COMPLETE) {
		uint64_t clen;

		c->hdrs_ms = lsn_now_ms(s);
		if (inshttp_content_length(s->peek, hdr, &clen) == 0 && clen > 0)
			c->body_end = hdr + clen;
	}
	if (st != INSHTTP_INCOMPLETE)
		return true;
	*ret_gone = lsn_peer_closed(c->fd);	/* headers that can never complete */
	return false;
}

static void
lsn_conn_event(struct evloop_io *io, int fd, unsigned events, void *arg)
{
	struct lsn_conn *c = arg;
	struct lsn_set *s = c->l->set;
	bool gone;

	if (lsn_ready(s, c, &gone)) {
		lsn_release_held(s, c);
		return;
	}
	if (gone || (events & (EVLOOP_HUP | EVLOOP_ERR))) {
		/* The peer left before sending a request: nothing for the application. */
		lsn_conn_close(s, c, false);
	}
}

static bool
lsn_hold(struct lsn_set *s, struct lsn *l, struct lsn_conn *c)
{
	c->held = true;
	/* Edge-triggered: the bytes are peeked, never read, until handoff. */
	if (evloop_add_fd(s->loop, c->fd, EVLOOP_IN | EVLOOP_EDGE, lsn_conn_event, c, &c->io) < 0)
		return false;
	list_append(&l->held, c);
	s->nheld++;
	s->st.held++;
	srctab_set_held(&c->src, 1);
	lsn_deadline_arm(s);
	return true;
}

/* Would one more connection put this source over max_conns_per_source? */
static bool
lsn_over_conn_cap(const struct lsn_set *s, const struct srctab_set *src)
{
	uint32_t open;

	if (!s->pol->max_conns_per_source)
		return false;
	open = s->obs ? srctab_set_max_open(src, obs_gen(s->obs)) : srctab_set_max_held(src);
	return open >= s->pol->max_conns_per_source;
}

/* Decide what happens to a connection just accepted. */
static void
lsn_admit(struct lsn_set *s, struct lsn *l, struct lsn_conn *c, uint64_t now_ms)
{
	struct srctab_prefixes pfx = policy_src_prefixes(s->pol);

	srctab_lookup(s->src, &pfx, c->peer.family, c->peer.addr, true, now_ms, &c->src);
	if (srctab_set_denied(&c->src, now_ms)) {
		s->st.denied_drops++;
		lsn_report_drop(s, INSIE_DENIED, c, 0);
		goto drop;
	}
	if (lsn_over_conn_cap(s, &c->src)) {
		s->st.capped_drops++;
		lsn_report_drop(s, INSIE_CAPPED, c, 0);
		goto drop;
	}
	if (policy_hold_for(s->pol, l->addr.port) == POLICY_HOLD_NONE) {
		lsn_handoff(s, l, c);
		return;
	}
	if (s->nheld >= LIMIT_INS_HELD ||
	    srctab_set_max_held(&c->src) >= s->pol->max_held_per_source) {
		/* Not counted towards a deny: a burst from one address (NAT, a load
		 * test) is not yet slow; the held ones that time out will count. */
		s->st.capped_drops++;
		lsn_report_drop(s, INSIE_CAPPED, c, 0);
		goto drop;
	}
	if (lsn_hold(s, l, c))
		return;
drop:
	lsn_reset_close(c->fd);
	free(c);
}

/* The kernel's socket cookie (what sock_diag reports), or a counter if unavailable. */
static uint64_t
lsn_cookie(int fd, uint64_t *fallback)
{
	uint64_t cookie = 0;
	socklen_t len = sizeof(cookie);

	if (getsockopt(fd, SOL_SOCKET, SO_COOKIE, &cookie, &len) == 0 && cookie)
		return cookie;
	return ++*fallback;
}

static void
lsn_accept(struct evloop_io *io, int lfd, unsigned events, void *arg)
{
	struct lsn *l = arg;
	struct lsn_set *s = l->set;
	uint64_t now = lsn_now_ms(s);

	for (unsigned i = 0; i < LIMIT_INS_ACCEPT_BURST; i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		struct lsn_conn *c;
		int fd = accept4(lfd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				log_ratelimited(5, 1, log_warn, "accept on port %u", l->addr.port);
			return;
		}
		c = calloc(1, sizeof(*c));
		if (!c || insproto_addr_from_sa((struct sockaddr *)&ss, len, &c->peer) < 0) {
			free(c);
			close(fd);
			continue;
		}
		s->st.accepted++;
		c->fd = fd;
		c->l = l;
		c->id = lsn_cookie(fd, &s->next_conn_id);
		c->t0_ms = now;
		c->local = l->addr;
		len = sizeof(ss);
		if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
			(void)insproto_addr_from_sa((struct sockaddr *)&ss, len, &c->local);
		lsn_admit(s, l, c, now);
	}
}

static void
lsn_destroy(struct lsn_set *s, struct lsn *l)
{
	while (l->held.head) {
		struct lsn_conn *c = l->held.head;

		lsn_conn_close(s, c, false);
	}
	while (l->pending.head) {
		struct lsn_conn *c = l->pending.head;

		lsn_conn_close(s, c, false);
	}
	evloop_io_del(l->io);
	evloop_io_del(l->bell_io);
	close(l->fd);
	close(l->bell);
	if (l->prev)
		l->prev->next = l->next;
	else
		s->head = l->next;
	if (l->next)
		l->next->prev = l->prev;
	s->n--;
	free(l);
}

/* Flush queued connections while the doorbell takes them. */
static void
lsn_flush(struct lsn_set *s, struct lsn *l)
{
	while (l->pending.head) {
		struct lsn_conn *c = l->pending.head;
		int r = lsn_ring(s, l, c);

		if (r == -EAGAIN || r == -ENOBUFS)
			return;
		if (r < 0)
			lsn_conn_close(s, c, true);
		else
			lsn_conn_release(s, c);	/* lsn_ring closed our copy */
	}
	lsn_bell_arm(s, l, false);
}

static void
lsn_bell_event(struct evloop_io *io, int fd, unsigned events, void *arg)
{
	struct lsn *l = arg;
	struct lsn_set *s = l->set;

	if (events & (EVLOOP_HUP | EVLOOP_ERR)) {
		log_debug("listener port %u closed by the application", l->addr.port);
		lsn_destroy(s, l);
		return;
	}
	if (events & EVLOOP_OUT)
		lsn_flush(s, l);
}

/* Drop held connections past their deadline. */
static void
lsn_tick(struct lsn_set *s, uint64_t now_ms)
{
	uint64_t timeout = s->pol->hold_timeout_ms;

	for (struct lsn *l = s->head; l; l = l->next) {
		/* The held list is in accept order, so expired ones are at its head. */
		while (l->held.head && now_ms - l->held.head->t0_ms >= timeout)
			lsn_drop_slow(s, l->held.head, now_ms);
	}
}

static void
lsn_deadline_fired(struct evloop_timer *t, void *arg)
{
	struct lsn_set *s = arg;

	s->deadline_ms = 0;
	lsn_tick(s, lsn_now_ms(s));
	lsn_deadline_arm(s);
}

static int
lsn_make_bell(int *ret_mine, int *ret_theirs, ino_t *ret_ino)
{
	int sv[2];
	struct stat st;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	if (fstat(sv[1], &st) < 0 || fcntl(sv[0], F_SETFL, O_NONBLOCK) < 0) {
		int r = -errno;

		close(sv[0]);
		close(sv[1]);
		return r;
	}
	*ret_mine = sv[0];
	*ret_theirs = sv[1];
	*ret_ino = st.st_ino;
	return 0;
}

int
lsn_create(struct lsn_set *s, int sock, int backlog, int *ret_bell)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct lsn *l;
	int theirs = -1, r;

	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->set = s;
	l->bell = -1;
	if (backlog < (int)LIMIT_INS_BACKLOG)
		backlog = (int)LIMIT_INS_BACKLOG;
	if (listen(sock, backlog) < 0 || fcntl(sock, F_SETFL, O_NONBLOCK) < 0 ||
	    getsockname(sock, (struct sockaddr *)&ss, &len) < 0) {
		r = -errno;
		goto fail;
	}
	r = insproto_addr_from_sa((struct sockaddr *)&ss, len, &l->addr);
	if (r < 0)
		goto fail;
	r = lsn_make_bell(&l->bell, &theirs, &l->bell_ino);
	if (r < 0)
		goto fail;
	l->fd = sock;
	if ((r = evloop_add_fd(s->loop, sock, EVLOOP_IN, lsn_accept, l, &l->io)) < 0)
		goto fail;
	/* Idle: only the hang-up when the application closes every copy of its end. */
	if ((r = evloop_add_fd(s->loop, l->bell, 0, lsn_bell_event, l, &l->bell_io)) < 0) {
		evloop_io_del(l->io);
		goto fail;
	}
	l->next = s->head;
	if (l->next)
		l->next->prev = l;
	s->head = l;
	s->n++;
	*ret_bell = theirs;
	log_debug("listening on port %u (hold %s)", l->addr.port, policy_hold_name(policy_hold_for(s->pol, l->addr.port)));
	return 0;
fail:
	if (theirs >= 0)
		close(theirs);
	if (l->bell >= 0)
		close(l->bell);
	free(l);
	return r;
}

int
lsn_getname(const struct lsn_set *s, int bell, struct ins_addr *ret)
{
	struct stat st;

	if (fstat(bell, &st) < 0)
		return -errno;
	for (struct lsn *l = s->head; l; l = l->next) {
		if (l->bell_ino == st.st_ino) {
			*ret = l->addr;
			return 0;
		}
	}
	return -ENOTSOCK;
}

/* The IPv4 address of a, if it is IPv4 or IPv4-mapped IPv6; false otherwise. */
static bool
lsn_v4_of(const struct ins_addr *a, uint8_t out[4])
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	if (a->family == INS_AF_INET) {
		memcpy(out, a->addr, 4);
		return true;
	}
	if (memcmp(a->addr, mapped, sizeof(mapped)) == 0) {
		memcpy(out, a->addr + 12, 4);
		return true;
	}
	return false;
}

static bool
lsn_addr_matches(const struct ins_addr *listener, const struct ins_addr *local)
{
	static const uint8_t zero[16];
	uint8_t a[4], b4[4];

	if (memcmp(listener->addr, zero, sizeof(zero)) == 0)
		return true;	/* 0.0.0.0 or :: */
	if (lsn_v4_of(listener, a) && lsn_v4_of(local, b4))
		return memcmp(a, b4, 4) == 0;
	return listener->family == local->family && memcmp(listener->addr, local->addr, 16) == 0;
}

bool
lsn_owns_local(const struct lsn_set *s, const struct ins_addr *local)
{
	for (const struct lsn *l = s->head; l; l = l->next)
		if (l->addr.port == local->port && lsn_addr_matches(&l->addr, local))
			return true;
	return false;
}

int
lsn_set_init(struct lsn_set *s)
{
	return evloop_timer_new(s->loop, lsn_deadline_fired, s, &s->deadline);
}

void
lsn_set_free(struct lsn_set *s)
{
	while (s->head)
		lsn_destroy(s, s->head);
	evloop_timer_free(s->deadline);
	s->deadline = NULL;
	s->deadline_ms = 0;
}
