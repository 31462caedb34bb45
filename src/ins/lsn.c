/*
 * lsn: broker-owned listeners, hold-before-handoff and doorbells. See lsn.h.
 */
#include "ins/lsn.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/ipc.h"
#include "common/log.h"
#include "ins/inshttp.h"
#include "ins/insipfix.h"
#include "ins/obs.h"

/* A connection between accept and handoff: held, or queued for a full doorbell. */
struct lsn_conn {
	struct bk_ev ev;		/* first: the loop hands us this pointer */
	struct lsn *l;
	struct lsn_conn *prev, *next;	/* in l->held or l->pending */
	uint64_t id;
	uint64_t t0_ms;			/* accepted at */
	uint64_t first_ms, hdrs_ms;	/* first bytes / complete headers seen at; 0 = not yet */
	struct ins_addr peer, local;
	struct srctab_entry *src;	/* NULL when the source table was full */
	bool held;
};

struct lsn_list {
	struct lsn_conn *head, *tail;
	unsigned n;
};

struct lsn {
	struct bk_ev ev;		/* the real listening socket */
	struct bk_ev bell;		/* broker end of the doorbell */
	ino_t bell_ino;			/* inode of the application's end */
	struct ins_addr addr;		/* local address */
	struct lsn_list held, pending;
	bool bell_wait;			/* EPOLLOUT armed on the doorbell */
	struct lsn *prev, *next;
};

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

/* Close a connection we will not hand over; RST so a slow peer's resources go at once. */
static void
lsn_reset_close(int fd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

/* Take c out of its list (and the loop) and free it; the caller has dealt with the fd. */
static void
lsn_conn_release(struct broker *b, struct lsn_conn *c)
{
	if (c->held) {
		broker_ev_del(b, &c->ev);
		list_remove(&c->l->held, c);
		b->nheld--;
		if (c->src && c->src->held > 0)
			c->src->held--;
	} else {
		list_remove(&c->l->pending, c);
	}
	free(c);
}

static uint32_t
lsn_since(const struct lsn_conn *c, uint64_t t_ms)
{
	uint64_t d = t_ms - c->t0_ms;

	if (t_ms == 0)
		return INSIPFIX_UNKNOWN_MS;
	return d >= INSIPFIX_UNKNOWN_MS ? INSIPFIX_UNKNOWN_MS - 1 : (uint32_t)d;
}

/*
 * Telemetry of a handoff: the OPEN record, with how long the connection was
 * held and when its first bytes and complete headers came (known only for
 * held connections); and the observer learns of it, so a connection that
 * closes before its first sock_diag round still gets its CLOSE record.
 */
static void
lsn_report_open(struct broker *b, const struct lsn_conn *c)
{
	uint64_t now = broker_now_ms(b), wall = clock_wall_ns(&b->clk) / 1000000u;
	uint64_t held = now - c->t0_ms;
	struct insipfix_rec r = {
		.event = INSIE_OPEN, .tcp_flags = 0x02, .conn_id = c->id,
		.peer = c->peer, .local = c->local, .start_ms = wall - held, .end_ms = wall,
		.held_ms = held > UINT32_MAX ? UINT32_MAX : (uint32_t)held,
		.timed = true, .ttfb_ms = lsn_since(c, c->first_ms),
		.headers_ms = lsn_since(c, c->hdrs_ms),
	};

	if (b->obs)
		obs_track_handoff(b->obs, c->id, &c->peer, &c->local, c->t0_ms);
	if (b->ipfix)
		insipfix_add(b->ipfix, &r, clock_wall_s(&b->clk));
}

/* Send c on the doorbell; -EAGAIN when the doorbell is full. Closes our copy on success. */
static int
lsn_ring(struct broker *b, struct lsn *l, struct lsn_conn *c)
{
	struct ins_msg m = { .type = INS_CONN, .conn_id = c->id, .addr = c->peer, .addr2 = c->local };
	uint8_t buf[INS_MSG_MAX];
	int n, r;

	n = insproto_encode(&m, buf, sizeof(buf));
	if (n < 0)
		return n;
	r = ipc_send(l->bell.fd, buf, (size_t)n, &c->ev.fd, 1);
	if (r < 0)
		return r;
	close(c->ev.fd);
	b->st.handed++;
	lsn_report_open(b, c);
	if (c->src && b->obs)
		srctab_count_handoff(c->src, obs_gen(b->obs));
	return 0;
}

static void
lsn_bell_arm(struct broker *b, struct lsn *l, bool want_out)
{
	if (l->bell_wait == want_out)
		return;
	l->bell_wait = want_out;
	broker_ev_mod(b, &l->bell, EPOLLRDHUP | (want_out ? EPOLLOUT : 0));
}

/* Queue c behind a full doorbell, or drop it when the queue is at its cap. */
static void
lsn_enqueue(struct broker *b, struct lsn *l, struct lsn_conn *c)
{
	if (l->pending.n >= LIMIT_INS_PENDING) {
		b->st.pending_drops++;
		log_ratelimited(5, 1, log_warnx, "listener port %u: application not accepting, dropping",
				l->addr.port);
		lsn_reset_close(c->ev.fd);
		free(c);
		return;
	}
	c->held = false;
	list_append(&l->pending, c);
	lsn_bell_arm(b, l, true);
}

/* Hand c (not in any list) to the application. */
static void
lsn_handoff(struct broker *b, struct lsn *l, struct lsn_conn *c)
{
	int r;

	if (l->pending.n == 0) {
		r = lsn_ring(b, l, c);
		if (r == 0) {
			free(c);
			return;
		}
		if (r != -EAGAIN && r != -ENOBUFS) {
			log_ratelimited(5, 1, log_warnx, "doorbell port %u: %s", l->addr.port,
					strerror(-r));
			lsn_reset_close(c->ev.fd);
			free(c);
			return;
		}
	}
	lsn_enqueue(b, l, c);
}

/* Move a held connection on: out of the held list and the loop, then hand off. */
static void
lsn_release_held(struct broker *b, struct lsn_conn *c)
{
	struct lsn *l = c->l;

	broker_ev_del(b, &c->ev);
	list_remove(&l->held, c);
	b->nheld--;
	if (c->src && c->src->held > 0)
		c->src->held--;
	c->held = false;
	lsn_handoff(b, l, c);
}

/* Drop a held connection that misbehaved (too slow, or over a cap). */
static void
lsn_drop_slow(struct broker *b, struct lsn_conn *c, uint64_t now_ms)
{
	struct srctab_entry *src = c->src;

	broker_report_drop(b, INSIE_HOLD_TIMEOUT, &c->peer, &c->local, c->id, now_ms - c->t0_ms);
	lsn_reset_close(c->ev.fd);
	lsn_conn_release(b, c);
	b->st.held_dropped++;
	if (srctab_note_drop(src, b->pol.deny_after_drops, (uint64_t)b->pol.deny_seconds * 1000,
			     now_ms))
		log_ratelimited(10, 1, log_info, "source denied for %us after %u slow connections",
				b->pol.deny_seconds, b->pol.deny_after_drops);
}

/* Is what the peer has sent so far enough to hand the connection over?
 * Notes when the first bytes and the complete headers came, for telemetry. */
static bool
lsn_ready(struct broker *b, struct lsn_conn *c, bool *ret_gone)
{
	size_t hdr = 0;
	ssize_t n = recv(c->ev.fd, b->peek, sizeof(b->peek), MSG_PEEK | MSG_DONTWAIT);
	enum inshttp_state st;

	*ret_gone = false;
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		*ret_gone = true;
		return false;
	}
	if (n < 0)
		return false;
	if (c->first_ms == 0)
		c->first_ms = broker_now_ms(b);
	if (b->pol.hold != POLICY_HOLD_HTTP || (size_t)n >= sizeof(b->peek))
		return true;	/* first bytes are enough, or headers too big to judge: the app decides */
	st = inshttp_scan(b->peek, (size_t)n, &hdr);
	if (st == INSHTTP_COMPLETE)
		c->hdrs_ms = broker_now_ms(b);
	return st != INSHTTP_INCOMPLETE;
}

static void
lsn_conn_event(struct broker *b, struct bk_ev *ev, uint32_t events)
{
	struct lsn_conn *c = (struct lsn_conn *)ev;
	bool gone;

	if (lsn_ready(b, c, &gone)) {
		lsn_release_held(b, c);
		return;
	}
	if (gone || (events & (EPOLLHUP | EPOLLERR | EPOLLRDHUP))) {
		/* The peer left before sending a request: nothing for the application. */
		close(c->ev.fd);
		lsn_conn_release(b, c);
	}
}

static bool
lsn_hold(struct broker *b, struct lsn *l, struct lsn_conn *c)
{
	c->ev.fn = lsn_conn_event;
	c->held = true;
	if (broker_ev_add(b, &c->ev, EPOLLIN | EPOLLRDHUP | EPOLLET) < 0)
		return false;
	list_append(&l->held, c);
	b->nheld++;
	b->st.held++;
	if (c->src)
		c->src->held++;
	return true;
}

/* Would one more connection put this source over max_conns_per_source? */
static bool
lsn_over_conn_cap(const struct broker *b, const struct srctab_entry *src)
{
	uint32_t open;

	if (!b->pol.max_conns_per_source || !src)
		return false;
	open = src->held + (b->obs ? srctab_open_conns(src, obs_gen(b->obs)) : 0);
	return open >= b->pol.max_conns_per_source;
}

/* Decide what happens to a connection just accepted. */
static void
lsn_admit(struct broker *b, struct lsn *l, struct lsn_conn *c, uint64_t now_ms)
{
	c->src = srctab_get(&b->src, c->peer.family, c->peer.addr, true, now_ms);
	if (srctab_denied(c->src, now_ms)) {
		b->st.denied_drops++;
		broker_report_drop(b, INSIE_DENIED, &c->peer, &c->local, c->id, 0);
		goto drop;
	}
	if (lsn_over_conn_cap(b, c->src)) {
		b->st.capped_drops++;
		broker_report_drop(b, INSIE_CAPPED, &c->peer, &c->local, c->id, 0);
		goto drop;
	}
	if (b->pol.hold == POLICY_HOLD_NONE) {
		lsn_handoff(b, l, c);
		return;
	}
	if (b->nheld >= LIMIT_INS_HELD ||
	    (c->src && c->src->held >= b->pol.max_held_per_source)) {
		/* Not counted towards a deny: a burst from one address (NAT, a load
		 * test) is not yet slow; the held ones that time out will count. */
		b->st.capped_drops++;
		broker_report_drop(b, INSIE_CAPPED, &c->peer, &c->local, c->id, 0);
		goto drop;
	}
	if (lsn_hold(b, l, c))
		return;
drop:
	lsn_reset_close(c->ev.fd);
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
lsn_accept(struct broker *b, struct bk_ev *ev, uint32_t events)
{
	struct lsn *l = (struct lsn *)ev;
	uint64_t now = broker_now_ms(b);

	for (unsigned i = 0; i < LIMIT_INS_ACCEPT_BURST; i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		struct lsn_conn *c;
		int fd = accept4(ev->fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);

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
		b->st.accepted++;
		c->ev.fd = fd;
		c->l = l;
		c->id = lsn_cookie(fd, &b->next_conn_id);
		c->t0_ms = now;
		c->local = l->addr;
		len = sizeof(ss);
		if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
			(void)insproto_addr_from_sa((struct sockaddr *)&ss, len, &c->local);
		lsn_admit(b, l, c, now);
	}
}

static void
lsn_destroy(struct broker *b, struct lsn *l)
{
	while (l->held.head) {
		struct lsn_conn *c = l->held.head;

		close(c->ev.fd);
		lsn_conn_release(b, c);
	}
	while (l->pending.head) {
		struct lsn_conn *c = l->pending.head;

		close(c->ev.fd);
		lsn_conn_release(b, c);
	}
	broker_ev_del(b, &l->ev);
	broker_ev_del(b, &l->bell);
	close(l->ev.fd);
	close(l->bell.fd);
	if (l->prev)
		l->prev->next = l->next;
	else
		b->lsns = l->next;
	if (l->next)
		l->next->prev = l->prev;
	b->nlsn--;
	free(l);
}

/* Flush queued connections while the doorbell takes them. */
static void
lsn_flush(struct broker *b, struct lsn *l)
{
	while (l->pending.head) {
		struct lsn_conn *c = l->pending.head;
		int r = lsn_ring(b, l, c);

		if (r == -EAGAIN || r == -ENOBUFS)
			return;
		if (r < 0)
			lsn_reset_close(c->ev.fd);
		lsn_conn_release(b, c);
	}
	lsn_bell_arm(b, l, false);
}

static void
lsn_bell_event(struct broker *b, struct bk_ev *ev, uint32_t events)
{
	struct lsn *l = (struct lsn *)((char *)ev - offsetof(struct lsn, bell));

	if (events & (EPOLLHUP | EPOLLRDHUP | EPOLLERR)) {
		log_debug("listener port %u closed by the application", l->addr.port);
		lsn_destroy(b, l);
		return;
	}
	if (events & EPOLLOUT)
		lsn_flush(b, l);
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
lsn_create(struct broker *b, int sock, int backlog, int *ret_bell)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct lsn *l;
	int theirs = -1, r;

	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->bell.fd = -1;
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
	r = lsn_make_bell(&l->bell.fd, &theirs, &l->bell_ino);
	if (r < 0)
		goto fail;
	l->ev.fd = sock;
	l->ev.fn = lsn_accept;
	l->bell.fn = lsn_bell_event;
	if ((r = broker_ev_add(b, &l->ev, EPOLLIN)) < 0)
		goto fail;
	if ((r = broker_ev_add(b, &l->bell, EPOLLRDHUP)) < 0) {
		broker_ev_del(b, &l->ev);
		goto fail;
	}
	l->next = b->lsns;
	if (l->next)
		l->next->prev = l;
	b->lsns = l;
	b->nlsn++;
	*ret_bell = theirs;
	log_debug("listening on port %u (hold %s)", l->addr.port, policy_hold_name(b->pol.hold));
	return 0;
fail:
	if (theirs >= 0)
		close(theirs);
	if (l->bell.fd >= 0)
		close(l->bell.fd);
	free(l);
	return r;
}

int
lsn_getname(struct broker *b, int bell, struct ins_addr *ret)
{
	struct stat st;

	if (fstat(bell, &st) < 0)
		return -errno;
	for (struct lsn *l = b->lsns; l; l = l->next) {
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
lsn_owns_local(const struct broker *b, const struct ins_addr *local)
{
	for (const struct lsn *l = b->lsns; l; l = l->next)
		if (l->addr.port == local->port && lsn_addr_matches(&l->addr, local))
			return true;
	return false;
}

void
lsn_tick(struct broker *b, uint64_t now_ms)
{
	uint64_t timeout = b->pol.hold_timeout_ms;

	for (struct lsn *l = b->lsns; l; l = l->next) {
		/* The held list is in accept order, so expired ones are at its head. */
		while (l->held.head && now_ms - l->held.head->t0_ms >= timeout)
			lsn_drop_slow(b, l->held.head, now_ms);
	}
}

void
lsn_free_all(struct broker *b)
{
	while (b->lsns)
		lsn_destroy(b, b->lsns);
}
