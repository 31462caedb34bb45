/*
 * lsn: listeners owned by moat-ins on behalf of the application.
 *
 * The broker keeps the real listening socket; the application gets the other
 * end of a SOCK_SEQPACKET socketpair — the doorbell. Each accepted connection
 * is either handed over at once or held (policy: until first bytes or
 * complete HTTP headers, peeking without consuming, within a deadline and a
 * per-source cap), then sent on the doorbell as an INS_CONN message carrying
 * the connected socket. When the doorbell is full the connection waits in a
 * bounded per-listener queue; when the application closes every copy of its
 * doorbell the listener is closed.
 *
 * The set knows its owner only through the pointers in struct lsn_set (the
 * loop, the policy, the source table, the observer, the exporter), never the
 * broker itself; the observer (obs.h) learns of handoffs from here and never
 * calls back into this module.
 */
#ifndef MOAT_INS_LSN_H
#define MOAT_INS_LSN_H

#include <stdbool.h>
#include <stdint.h>

#include "common/clock.h"
#include "common/limits.h"
#include "ins/policy.h"
#include "ins/srctab.h"
#include "proto/insproto.h"

struct evloop;
struct evloop_timer;
struct insipfix;
struct lsn;
struct obs;

struct lsn_stats {
	uint64_t accepted, handed, held, held_dropped, denied_drops, capped_drops, pending_drops;
};

struct lsn_set {
	/* The owner's, set before lsn_set_init() and valid until lsn_set_free(). */
	struct evloop *loop;
	const struct clock *clk;	/* monotonic ms for deadlines, wall time for records */
	const struct policy *pol;	/* read at each use: a reload applies at once */
	struct srctab *src;		/* per-source caps and denies */
	struct obs *obs;		/* told of each handoff; NULL: no observer */
	struct insipfix *ipfix;		/* OPEN and drop records; NULL: none */
	/* The set's own. */
	struct lsn *head;		/* listeners */
	unsigned n;
	unsigned nheld;			/* held connections, all listeners */
	uint64_t next_conn_id;		/* connection ids when SO_COOKIE is unavailable */
	struct evloop_timer *deadline;	/* armed for the earliest hold deadline */
	uint64_t deadline_ms;		/* when it is armed for; 0: disarmed */
	struct lsn_stats st;
	uint8_t peek[LIMIT_INS_PEEK];	/* scratch for MSG_PEEK on held connections */
};

/* The set's timer, on s->loop (the owner's pointers are set). 0 or a negative errno. */
int lsn_set_init(struct lsn_set *s);

/* Close every listener and held connection and free the timer. Accepts an
   uninitialised (zeroed) set. */
void lsn_set_free(struct lsn_set *s);

/*
 * Make sock (a bound or unbound TCP socket of the application, received over
 * the control socket) a listener of the set. On success the set owns sock
 * and *ret_bell is the application's doorbell end (the caller sends it and
 * closes its copy). Returns 0 or a negative errno (sock untouched).
 */
int lsn_create(struct lsn_set *s, int sock, int backlog, int *ret_bell);

/* The local address of the listener whose doorbell is bell (an app-side end). */
int lsn_getname(const struct lsn_set *s, int bell, struct ins_addr *ret);

/*
 * True if a connection with this local address was accepted on one of the
 * application's listeners: same port, and the listener's address is the
 * wildcard or the same address (IPv4-mapped forms compare equal). The
 * observer judges and may destroy only such connections, never others of the
 * namespace that happen to share a port number.
 */
bool lsn_owns_local(const struct lsn_set *s, const struct ins_addr *local);

#endif
