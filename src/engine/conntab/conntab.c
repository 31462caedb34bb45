/*
 * conntab: moat-ins connections in moatd. See conntab.h.
 */
#include "engine/conntab/conntab.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/limits.h"
#include "common/log.h"
#include "engine/detect/module.h"
#include "engine/po/poset.h"

#define CONNTAB_DEFAULT_RETENTION_S 300
/* A slow-connection detection lives this long; each tick with verdicts renews it. */
#define CONNTAB_DETECT_EXPIRY_NS (60ULL * CLOCK_NS_PER_SEC)
/* (PO, port) groups of slow verdicts per tick; more in one tick join the last ones' fate: dropped, counted. */
#define CONNTAB_SLOW_GROUPS 64u

struct slot {
	struct conntab_conn c;
	uint32_t hnext;			/* hash chain, or free list */
	uint32_t prev, next;		/* in the open or ended list */
	bool used;
};

struct list {
	uint32_t head, tail;
};

struct slow_group {
	uint32_t po_id;
	uint16_t port;
	uint32_t count;
	struct ipaddr first_src;
};

struct conntab {
	uint32_t cap, nbuckets;
	uint64_t retention_ns;
	struct slot *s;
	uint32_t *bucket;
	uint32_t free_head;
	struct list open, ended;
	struct conntab_stats st;

	/* module side */
	struct engine *e;
	struct detection_ctx *d;	/* the engine's wiring; NULL: detection not running */
	pthread_mutex_t qlock;		/* guards q, qn, st.queue_drops */
	struct ipfix_conn *q, *qwork;	/* filled by the collector / drained by the tick */
	uint32_t qn;
	struct slow_group groups[CONNTAB_SLOW_GROUPS];
	unsigned ngroups;
	uint64_t groups_dropped;
};

static const char *const conntab_event_names[INSIE_EVENT__COUNT] = {
	[0] = "unknown",
	[INSIE_OPEN] = "open",
	[INSIE_CLOSE] = "close",
	[INSIE_SLOW_BODY] = "slow_body",
	[INSIE_SLOW_READ] = "slow_read",
	[INSIE_IDLE] = "idle",
	[INSIE_HOLD_TIMEOUT] = "hold_timeout",
	[INSIE_DENIED] = "denied",
	[INSIE_CAPPED] = "capped",
	[INSIE_UPDATE] = "update",
};

static const char *const conntab_state_names[CONNTAB_STATE__COUNT] = {
	[CONNTAB_OPEN] = "open",
	[CONNTAB_CLOSED] = "closed",
	[CONNTAB_SLOW] = "slow",
	[CONNTAB_DROPPED] = "dropped",
};

const char *
conntab_event_name(uint8_t event)
{
	return event < INSIE_EVENT__COUNT ? conntab_event_names[event] : "unknown";
}

const char *
conntab_state_name(uint8_t state)
{
	return state < CONNTAB_STATE__COUNT ? conntab_state_names[state] : "?";
}

int
conntab_state_parse(const char *s, uint8_t *ret)
{
	for (uint8_t i = 0; i < CONNTAB_STATE__COUNT; i++) {
		if (strcmp(conntab_state_names[i], s) == 0) {
			*ret = i;
			return 0;
		}
	}
	return -EINVAL;
}

bool
conntab_event_is_slow(uint8_t event)
{
	switch (event) {
	case INSIE_SLOW_BODY:
	case INSIE_SLOW_READ:
	case INSIE_IDLE:
	case INSIE_HOLD_TIMEOUT:
	case INSIE_CAPPED:
		return true;
	default:
		return false;
	}
}

/* ---- lists ---- */

static void
list_append(struct conntab *t, struct list *l, uint32_t i)
{
	t->s[i].prev = l->tail;
	t->s[i].next = CONNTAB_NONE;
	if (l->tail != CONNTAB_NONE)
		t->s[l->tail].next = i;
	else
		l->head = i;
	l->tail = i;
}

static void
list_remove(struct conntab *t, struct list *l, uint32_t i)
{
	struct slot *x = &t->s[i];

	if (x->prev != CONNTAB_NONE)
		t->s[x->prev].next = x->next;
	else
		l->head = x->next;
	if (x->next != CONNTAB_NONE)
		t->s[x->next].prev = x->prev;
	else
		l->tail = x->prev;
	x->prev = x->next = CONNTAB_NONE;
}

static struct list *
list_of(struct conntab *t, uint32_t i)
{
	return t->s[i].c.ended ? &t->ended : &t->open;
}

/* ---- the table ---- */

struct conntab *
conntab_new(uint32_t cap, uint64_t retention_ns)
{
	struct conntab *t = calloc(1, sizeof(*t));

	if (t == NULL || cap == 0 || cap >= CONNTAB_NONE)
		goto fail;
	t->cap = cap;
	t->nbuckets = cap;
	t->retention_ns = retention_ns;
	t->s = calloc(cap, sizeof(*t->s));
	t->bucket = malloc((size_t)t->nbuckets * sizeof(*t->bucket));
	if (t->s == NULL || t->bucket == NULL)
		goto fail;
	for (uint32_t i = 0; i < t->nbuckets; i++)
		t->bucket[i] = CONNTAB_NONE;
	for (uint32_t i = 0; i < cap; i++)
		t->s[i].hnext = i + 1 < cap ? i + 1 : CONNTAB_NONE;
	t->free_head = 0;
	t->open = t->ended = (struct list){ CONNTAB_NONE, CONNTAB_NONE };
	pthread_mutex_init(&t->qlock, NULL);
	return t;
fail:
	if (t != NULL) {
		free(t->s);
		free(t->bucket);
	}
	free(t);
	if (errno == 0)
		errno = EINVAL;
	return NULL;
}

void
conntab_free(struct conntab *t)
{
	if (t == NULL)
		return;
	pthread_mutex_destroy(&t->qlock);
	free(t->q);
	free(t->qwork);
	free(t->s);
	free(t->bucket);
	free(t);
}

static uint32_t
conntab_hash(const struct conntab *t, const struct ipaddr *exp, uint32_t domain, uint64_t id)
{
	uint64_t h = id * 0x9e3779b97f4a7c15ull ^ domain;

	for (size_t i = 0; i < sizeof(exp->a); i++)
		h = (h ^ exp->a[i]) * 0x100000001b3ull;
	h ^= h >> 29;
	return (uint32_t)(h % t->nbuckets);
}

static uint32_t
conntab_find(const struct conntab *t, const struct ipfix_conn *ev, uint32_t b)
{
	for (uint32_t i = t->bucket[b]; i != CONNTAB_NONE; i = t->s[i].hnext) {
		const struct conntab_conn *c = &t->s[i].c;

		if (c->conn_id == ev->conn_id && c->domain == ev->domain &&
		    ipaddr_equal(&c->exporter, &ev->exporter))
			return i;
	}
	return CONNTAB_NONE;
}

static void
conntab_unhash(struct conntab *t, uint32_t i)
{
	const struct conntab_conn *c = &t->s[i].c;
	uint32_t *pp = &t->bucket[conntab_hash(t, &c->exporter, c->domain, c->conn_id)];

	for (; *pp != CONNTAB_NONE; pp = &t->s[*pp].hnext) {
		if (*pp == i) {
			*pp = t->s[i].hnext;
			return;
		}
	}
}

/* Remove entry i entirely, back to the free list. */
static void
conntab_drop(struct conntab *t, uint32_t i)
{
	if (!t->s[i].c.ended)
		t->st.open--;
	list_remove(t, list_of(t, i), i);
	conntab_unhash(t, i);
	t->s[i].used = false;
	t->s[i].hnext = t->free_head;
	t->free_head = i;
	t->st.entries--;
}

/* A free slot, evicting the oldest ended entry, else the stalest open one. */
static uint32_t
conntab_take_slot(struct conntab *t)
{
	uint32_t i;

	if (t->free_head == CONNTAB_NONE) {
		i = t->ended.head != CONNTAB_NONE ? t->ended.head : t->open.head;
		conntab_drop(t, i);
		t->st.evictions++;
	}
	i = t->free_head;
	t->free_head = t->s[i].hnext;
	return i;
}

static uint32_t
conntab_create(struct conntab *t, const struct ipfix_conn *ev, uint32_t po_id)
{
	uint32_t i = conntab_take_slot(t), b;
	struct conntab_conn *c = &t->s[i].c;

	memset(&t->s[i], 0, sizeof(t->s[i]));
	t->s[i].used = true;
	c->exporter = ev->exporter;
	c->domain = ev->domain;
	c->conn_id = ev->conn_id;
	c->state = CONNTAB_OPEN;
	c->po_id = po_id;
	c->start_ms = ev->start_ms ? ev->start_ms : ev->end_ms;
	c->ttfb_ms = c->headers_ms = IPFIX_CONN_UNKNOWN;
	b = conntab_hash(t, &ev->exporter, ev->domain, ev->conn_id);
	t->s[i].hnext = t->bucket[b];
	t->bucket[b] = i;
	list_append(t, &t->open, i);
	t->st.open++;
	t->st.entries++;
	return i;
}

/* The state an event leaves the connection in; ended says it is over. */
static uint8_t
conntab_next_state(uint8_t cur, uint8_t event, bool *ret_ended)
{
	*ret_ended = true;
	switch (event) {
	case INSIE_CLOSE:
		/* a slow connection's CLOSE follows its verdict: it stays slow */
		return cur == CONNTAB_SLOW || cur == CONNTAB_DROPPED ? cur : CONNTAB_CLOSED;
	case INSIE_SLOW_BODY:
	case INSIE_SLOW_READ:
	case INSIE_IDLE:
		return CONNTAB_SLOW;
	case INSIE_HOLD_TIMEOUT:
	case INSIE_DENIED:
	case INSIE_CAPPED:
		return CONNTAB_DROPPED;
	default:
		*ret_ended = false;
		return cur;
	}
}

static uint64_t
max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

/* The figures of a record: totals only grow (a CLOSE built from what moat-ins
 * last knew may carry less than an earlier UPDATE). */
static void
conntab_take_figures(struct conntab_conn *c, const struct ipfix_conn *ev)
{
	c->src = ev->src;
	c->dst = ev->dst;
	c->sport = ev->sport;
	c->dport = ev->dport;
	c->last_ms = ev->end_ms;
	if (ev->start_ms && (c->start_ms == 0 || ev->start_ms < c->start_ms))
		c->start_ms = ev->start_ms;
	c->bytes_in = max_u64(c->bytes_in, ev->in_total);
	c->bytes_out = max_u64(c->bytes_out, ev->out_total);
	c->packets += ev->pkts_delta;
	if (ev->rtt_us || ev->snd_wnd || ev->rcv_wnd) {
		/* a record with TCP_INFO (opens and drops have none) */
		c->rtt_us = ev->rtt_us;
		c->retrans = ev->retrans;
		c->snd_wnd = ev->snd_wnd;
		c->rcv_wnd = ev->rcv_wnd;
		c->rqueue = ev->rqueue;
		c->wqueue = ev->wqueue;
	}
	if (ev->held_ms)
		c->held_ms = ev->held_ms;
	if (ev->ttfb_ms != IPFIX_CONN_UNKNOWN)
		c->ttfb_ms = ev->ttfb_ms;
	if (ev->headers_ms != IPFIX_CONN_UNKNOWN)
		c->headers_ms = ev->headers_ms;
}

const struct conntab_conn *
conntab_apply(struct conntab *t, const struct ipfix_conn *ev, uint32_t po_id, uint64_t now_ns)
{
	uint32_t i = conntab_find(t, ev, conntab_hash(t, &ev->exporter, ev->domain, ev->conn_id));
	struct conntab_conn *c;
	bool ended;
	uint8_t state;

	t->st.events[ev->event < INSIE_EVENT__COUNT ? ev->event : 0]++;
	if (i == CONNTAB_NONE)
		i = conntab_create(t, ev, po_id);
	c = &t->s[i].c;
	c->events++;
	conntab_take_figures(c, ev);
	state = conntab_next_state(c->state, ev->event, &ended);
	/* The CLOSE that follows a verdict keeps the verdict as the reason the
	 * connection ended: moat-ins may report both, in either round. */
	if (!(ev->event == INSIE_CLOSE && (state == CONNTAB_SLOW || state == CONNTAB_DROPPED)))
		c->last_event = ev->event;
	c->state = state;
	list_remove(t, list_of(t, i), i);
	if (ended && !c->ended) {
		c->ended = true;
		c->end_ms = ev->end_ms;
		c->ended_ns = now_ns;
		t->st.open--;
	}
	/* open: least recently updated first; ended: in the order they ended */
	list_append(t, list_of(t, i), i);
	return c;
}

void
conntab_expire(struct conntab *t, uint64_t now_ns)
{
	while (t->ended.head != CONNTAB_NONE &&
	    now_ns - t->s[t->ended.head].c.ended_ns >= t->retention_ns) {
		conntab_drop(t, t->ended.head);
		t->st.expired++;
	}
}

int
conntab_walk(const struct conntab *t, conntab_walk_fn fn, void *arg)
{
	const struct list *lists[2] = { &t->open, &t->ended };
	int r;

	for (size_t l = 0; l < 2; l++)
		for (uint32_t i = lists[l]->head; i != CONNTAB_NONE; i = t->s[i].next)
			if ((r = fn(&t->s[i].c, arg)) != 0)
				return r;
	return 0;
}

void
conntab_stats(const struct conntab *t, struct conntab_stats *ret)
{
	*ret = t->st;
}

void
conntab_remap(struct conntab *t, uint32_t (*po_of)(void *arg, const struct ipaddr *a), void *arg)
{
	for (uint32_t i = 0; i < t->cap; i++)
		if (t->s[i].used)
			t->s[i].c.po_id = po_of(arg, &t->s[i].c.dst);
}

static json_t *
conntab_ms_or_null(uint32_t v)
{
	return v == IPFIX_CONN_UNKNOWN ? json_null() : json_integer(v);
}

/* Unix ms as JSON seconds (with the milliseconds), like the other APIs' times. */
static json_t *
conntab_time(uint64_t ms)
{
	return json_real((double)ms / 1000.0);
}

json_t *
conntab_conn_json(const struct conntab_conn *c, const char *po)
{
	char src[IPADDR_STRLEN], dst[IPADDR_STRLEN], exp[IPADDR_STRLEN];

	return json_pack("{s:s,s:I,s:I,s:s,s:s,s:s?,s:s,s:i,s:s,s:i,s:o,s:o,s:o,s:I,s:I,s:I,s:i,"
	    "s:{s:I,s:I,s:I,s:I,s:I,s:I},s:I,s:o,s:o}",
	    "exporter", ipaddr_format(&c->exporter, exp, sizeof(exp)),
	    "domain", (json_int_t)c->domain,
	    "conn_id", (json_int_t)c->conn_id,
	    "state", conntab_state_name(c->state),
	    "last_event", conntab_event_name(c->last_event),
	    "po", po,
	    "source", ipaddr_format(&c->src, src, sizeof(src)),
	    "source_port", (int)c->sport,
	    "local", ipaddr_format(&c->dst, dst, sizeof(dst)),
	    "local_port", (int)c->dport,
	    "start", conntab_time(c->start_ms),
	    "last", conntab_time(c->last_ms),
	    "end", c->ended ? conntab_time(c->end_ms) : json_null(),
	    "bytes_in", (json_int_t)c->bytes_in,
	    "bytes_out", (json_int_t)c->bytes_out,
	    "packets_in", (json_int_t)c->packets,
	    "events", (int)(c->events > INT32_MAX ? INT32_MAX : c->events),
	    "tcp", "rtt_us", (json_int_t)c->rtt_us, "retrans", (json_int_t)c->retrans,
	    "send_window", (json_int_t)c->snd_wnd, "recv_space", (json_int_t)c->rcv_wnd,
	    "recv_queue", (json_int_t)c->rqueue, "send_queue", (json_int_t)c->wqueue,
	    "held_ms", (json_int_t)c->held_ms,
	    "first_byte_ms", conntab_ms_or_null(c->ttfb_ms),
	    "headers_ms", conntab_ms_or_null(c->headers_ms));
}

/* ---- the engine module ---- */

struct conntab *
conntab_get(struct engine *e)
{
	return engine_slot(e, ENGINE_MOD_CONNTAB);
}

void
conntab_set_detection(struct conntab *t, struct detection_ctx *d)
{
	t->d = d;
}

void
conntab_sink(void *ctx, const struct ipfix_conn *ev)
{
	struct conntab *t = ctx;

	pthread_mutex_lock(&t->qlock);
	if (t->qn < LIMIT_CONNTAB_QUEUE)
		t->q[t->qn++] = *ev;
	else
		t->st.queue_drops++;
	pthread_mutex_unlock(&t->qlock);
}

static uint32_t
conntab_po_of(void *arg, const struct ipaddr *a)
{
	uint32_t id = lpm_lookup(engine_lpm(arg), a);

	return id == LPM_NONE ? CONNTAB_NONE : id;
}

int
conntab_init(struct engine *e, void **ret_state)
{
	const struct conntab_settings *cs = settings_ext(engine_settings(e), "connections");
	uint64_t retention_s = cs ? cs->retention_s : CONNTAB_DEFAULT_RETENTION_S;
	struct conntab *t = conntab_new(LIMIT_CONNTAB, retention_s * CLOCK_NS_PER_SEC);

	if (t == NULL)
		return -errno;
	t->q = calloc(LIMIT_CONNTAB_QUEUE, sizeof(*t->q));
	t->qwork = calloc(LIMIT_CONNTAB_QUEUE, sizeof(*t->qwork));
	if (t->q == NULL || t->qwork == NULL) {
		conntab_free(t);
		return -ENOMEM;
	}
	t->e = e;
	*ret_state = t;
	return 0;
}

/* The collector's threads, which call conntab_sink(), stopped before: its
 * row comes after this one, and fini runs in reverse order. */
void
conntab_fini(void *state)
{
	conntab_free(state);
}

void
conntab_reset(void *state, bool factory)
{
	struct conntab *t = state;

	/* A soft reset (health) keeps what moat-ins reported; a factory reset forgets it. */
	if (!factory)
		return;
	while (t->open.head != CONNTAB_NONE)
		conntab_drop(t, t->open.head);
	while (t->ended.head != CONNTAB_NONE)
		conntab_drop(t, t->ended.head);
}

void
conntab_pos_changed(void *state)
{
	struct conntab *t = state;

	conntab_remap(t, conntab_po_of, t->e);
}

/* The detection port: the local port when it is one of the PO's ports, else 0 (any). */
static uint16_t
conntab_po_port(struct engine *e, uint32_t po_id, uint16_t port)
{
	const struct po *po = poset_at(engine_pos(e), po_id);

	if (po == NULL)
		return 0;
	for (size_t i = 0; i < po->nports; i++)
		if (po->ports[i] == port)
			return port;
	return 0;
}

static void
conntab_group_slow(struct conntab *t, const struct conntab_conn *c)
{
	uint16_t port = conntab_po_port(t->e, c->po_id, c->dport);
	struct slow_group *g;

	for (unsigned i = 0; i < t->ngroups; i++) {
		if (t->groups[i].po_id == c->po_id && t->groups[i].port == port) {
			t->groups[i].count++;
			return;
		}
	}
	if (t->ngroups == CONNTAB_SLOW_GROUPS) {
		t->groups_dropped++;
		return;
	}
	g = &t->groups[t->ngroups++];
	*g = (struct slow_group){ .po_id = c->po_id, .port = port, .count = 1, .first_src = c->src };
}

/* One detection and one flight entry per (PO, port) with slow verdicts this tick. */
static void
conntab_detect(struct conntab *t, struct detection_ctx *d)
{
	uint64_t now = clock_wall_ns(engine_clock(t->e));
	char src[IPADDR_STRLEN];

	for (unsigned i = 0; i < t->ngroups; i++) {
		const struct slow_group *g = &t->groups[i];
		const struct po *po = poset_at(engine_pos(t->e), g->po_id);
		struct detection det = {
			.kind = DETECT_ATTACK,
			.detector = "ins",
			.type_hint = DETECT_HINT_SLOW_CONNECTION,
			.po_id = g->po_id,
			.proto = PROTO_TCP,
			.dir = DIR_IN,
			.port = g->port,
			.confidence = 90,
			.time_ns = now,
			.expiry_ns = now + CONNTAB_DETECT_EXPIRY_NS,
		};

		snprintf(det.reason, sizeof(det.reason),
		    "moat-ins: %u slow connection(s) on port %u (first from %s)", g->count, g->port,
		    ipaddr_format(&g->first_src, src, sizeof(src)));
		if (d != NULL)
			detection_external(d, &det, NULL);
		flight_record(engine_flight(t->e), "ins", "ins.slow", NULL,
		    "PO %s port %u: %u slow connection(s) shed by moat-ins, first from %s",
		    po ? po->name : "?", g->port, g->count, src);
	}
}

/* The offending peers into the attacks' top sources (after the detections made them live). */
static void
conntab_observe_slow(struct detection_ctx *d, const struct ipfix_conn *ev, uint32_t po_id)
{
	struct decision_obs o = {
		.po_id = po_id,
		.proto = PROTO_TCP,
		.alen = ev->src.af == AF_INET ? 4 : 16,
		.sport = ev->sport,
		.dport = ev->dport,
		.packets = 1,
		.bytes = ev->in_total,
	};

	memcpy(o.src, ev->src.a, sizeof(o.src));
	memcpy(o.dst, ev->dst.a, sizeof(o.dst));
	detection_observe(d, &o);
}

void
conntab_tick(void *state, uint64_t now_ns)
{
	struct conntab *t = state;
	struct engine *e = t->e;
	struct detection_ctx *d = t->d;
	struct ipfix_conn *batch;
	uint32_t n;

	pthread_mutex_lock(&t->qlock);
	batch = t->q;
	n = t->qn;
	t->q = t->qwork;
	t->qn = 0;
	t->qwork = batch;
	pthread_mutex_unlock(&t->qlock);
	t->ngroups = 0;
	for (uint32_t i = 0; i < n; i++) {
		const struct conntab_conn *c = conntab_apply(t, &batch[i],
		    conntab_po_of(e, &batch[i].dst), now_ns);

		if (conntab_event_is_slow(batch[i].event) && c->po_id != CONNTAB_NONE)
			conntab_group_slow(t, c);
	}
	conntab_detect(t, d);
	for (uint32_t i = 0; d != NULL && t->ngroups > 0 && i < n; i++) {
		uint32_t po;

		if (!conntab_event_is_slow(batch[i].event))
			continue;
		po = conntab_po_of(e, &batch[i].dst);
		if (po != CONNTAB_NONE)
			conntab_observe_slow(d, &batch[i], po);
	}
	conntab_expire(t, now_ns);
}

void
conntab_metrics(FILE *f, struct engine *e)
{
	struct conntab *t = conntab_get(e);
	struct conntab_stats st;

	if (t == NULL)
		return;
	pthread_mutex_lock(&t->qlock);
	conntab_stats(t, &st);
	pthread_mutex_unlock(&t->qlock);
	fprintf(f, "# HELP moat_ins_connections_open moat-ins connections open (from its IPFIX telemetry).\n"
	    "# TYPE moat_ins_connections_open gauge\nmoat_ins_connections_open %llu\n",
	    (unsigned long long)st.open);
	fprintf(f, "# HELP moat_ins_connections_tracked Connections in the connection table.\n"
	    "# TYPE moat_ins_connections_tracked gauge\nmoat_ins_connections_tracked %llu\n",
	    (unsigned long long)st.entries);
	fprintf(f, "# HELP moat_ins_connection_events_total moat-ins connection events by kind.\n"
	    "# TYPE moat_ins_connection_events_total counter\n");
	for (unsigned i = 0; i < INSIE_EVENT__COUNT; i++)
		fprintf(f, "moat_ins_connection_events_total{kind=\"%s\"} %llu\n",
		    conntab_event_name((uint8_t)i), (unsigned long long)st.events[i]);
	fprintf(f, "# HELP moat_ins_connections_evicted_total Connections evicted from a full "
	    "table.\n# TYPE moat_ins_connections_evicted_total counter\n"
	    "moat_ins_connections_evicted_total %llu\n", (unsigned long long)st.evictions);
	fprintf(f, "# HELP moat_ins_connections_expired_total Connections expired after the "
	    "retention.\n# TYPE moat_ins_connections_expired_total counter\n"
	    "moat_ins_connections_expired_total %llu\n", (unsigned long long)st.expired);
	fprintf(f, "# HELP moat_ins_connection_events_dropped_total Events dropped because the "
	    "queue was full.\n# TYPE moat_ins_connection_events_dropped_total counter\n"
	    "moat_ins_connection_events_dropped_total %llu\n",
	    (unsigned long long)st.queue_drops);
}

int
conntab_settings_parse(struct settings *s, const struct cfg_node *n, void **ret_ext,
    struct cfg_error *err)
{
	static const char *const keys[] = { "retention", NULL };
	struct conntab_settings *cs = calloc(1, sizeof(*cs));
	int64_t ret_s = CONNTAB_DEFAULT_RETENTION_S;
	int r;

	(void)s;
	if (cs == NULL)
		return -ENOMEM;
	if (n != NULL) {
		if (cfg_kind(n) != CFG_MAP) {
			free(cs);
			return cfg_fail(err, n, "connections: expected a map with retention");
		}
		if ((r = cfg_check_keys(n, keys, err)) < 0 ||
		    (r = cfg_get_duration(n, "retention", 1, 7 * 86400, &ret_s, err)) < 0) {
			free(cs);
			return r;
		}
	}
	cs->retention_s = (uint64_t)ret_s;
	*ret_ext = cs;
	return 0;
}

void
conntab_settings_free(void *ext)
{
	free(ext);
}
