/*
 * cluster: the roles collect and engine (see module.h).
 */
#include "engine/cluster/module.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <jansson.h>

#include "common/clock.h"
#include "common/limits.h"
#include "common/log.h"
#include "engine/api/server.h"
#include "engine/cluster/deltas.h"
#include "engine/cluster/handoff.h"
#include "engine/cluster/merge.h"
#include "engine/cluster/peers.h"
#include "engine/detect/module.h"
#include "engine/mitigate/module.h"
#ifdef HAVE_NATS
#include "engine/cluster/lease.h"
#include "engine/cluster/nats.h"
#include "engine/cluster/status.h"
#endif

#define CLUSTER_NS_PER_S UINT64_C(1000000000)
/* Messages an engine takes in between two ticks: a second of every shard
 * from many collectors; past it they are dropped and counted. */
#define CLUSTER_INQ_MAX 4096u
/* A collector is live on a shard (its seconds are waited for) while its
 * last message there is younger than this. */
#define CLUSTER_LIVE_NS (3 * CLUSTER_NS_PER_S)
/* Collector/shard pairs whose sequence an engine follows. */
#define CLUSTER_MAX_STREAMS 4096u
#define CLUSTER_ERR_MAX 256u
/* Busiest hosts per PO and protocol a collector sends each second: the
 * attack's top target list holds 5, and a flood's victims lead it. */
#define CLUSTER_TOP_HOSTS 3u
/* Samples a collector keeps per interval for the top sources and source
 * ports: the counters hand at most LIMIT_COLLECT_OBS per counting shard. */
#define CLUSTER_MAX_SAMPLES (4u * LIMIT_COLLECT_OBS)
/* While an engine holds live attacks, it saves its detection state at least
 * this often: the other engines list its attacks from that save
 * (cluster/peers.h), so their view (state, peak, top lists) lags it by this
 * much at most; detection saves by itself only every minute. */
#define CLUSTER_PEERS_SAVE_NS (5 * CLUSTER_NS_PER_S)

/* A sampled inbound record (counters_obs), reduced to what an engine's
 * top sources and source ports need. */
struct cluster_sample {
	uint32_t po;
	uint8_t proto;
	uint8_t alen;
	uint16_t sport;
	uint8_t src[16];
	uint64_t packets, bytes;
};

struct cluster_msg {
	uint8_t *data;
	size_t len;
	uint32_t shard;
	uint64_t seq;
};

/* A bounded FIFO of messages (a ring). */
struct cluster_q {
	struct cluster_msg *m;
	unsigned cap, head, n;
};

/* A shard won, whose state is to be adopted (from a hand-off, or from
 * prev's state when dead), or one to hand over (give). */
struct cluster_takeover {
	uint32_t shard;
	bool give, dead;
	char prev[CLUSTER_NAME_MAX + 1];
};

/* The last sequence seen from one collector on one shard. */
struct cluster_stream {
	char instance[CLUSTER_NAME_MAX + 1];
	uint32_t shard;
	uint64_t seq;
	uint64_t epoch;		/* the shard's epoch when seq was seen */
};

struct cluster {
	struct engine *e;
	struct cluster_conf conf;	/* a copy: a reload replaces the settings */
	counters_reading_fn reading_fn;
	void *reading_ctx;
	struct detection_ctx *det;	/* the wiring: adoption on take-over, top hosts */
	const struct counters *cnt;	/* the wiring, collect role: top hosts */
	struct mitigation_ctx *mit;

	/* collect role, loop thread only */
	struct cluster_sample *samples;	/* the interval's, [CLUSTER_MAX_SAMPLES] */
	struct cluster_sample *scratch;	/* [CLUSTER_MAX_SAMPLES]: a list being summed */
	unsigned nsamples;
	struct deltas_enc *enc;		/* per shard */
	bool *open;			/* per shard: a message begun this tick */
	uint64_t *seq;			/* per shard: the last sequence used */

	/* engine role, loop thread only */
	struct cluster_stream *streams;
	unsigned nstreams;
	struct merge *merge;		/* several collectors' seconds summed */
	uint64_t fed_loop;		/* readings fed; copied to readings_fed each tick */

	pthread_t thread;
	bool thread_started;
	pthread_mutex_t lock;		/* everything below */
	pthread_cond_t cond;
	bool stopping;
	struct cluster_q outq, inq;
	struct cluster_q spare;		/* engine role, loop thread: swapped with inq each tick */
	uint64_t *epoch;		/* [shards]: bumped each time the shard is won */
	struct cluster_takeover *takeovers;	/* [shards] pending, engine role */
	unsigned ntakeovers;
	uint64_t adopted_attacks, adopted_mitigations;
	bool connected, ready;
	char last_error[CLUSTER_ERR_MAX];
	struct clpeers *peers;		/* loop thread: other engines' state, cached */
	uint64_t peers_saved_ns;	/* loop thread: last save for the others' view */
	uint64_t published, dropped, publish_errors;		/* collect */
	uint64_t received, dropped_in, refused, gaps, lost;	/* engine */
	uint64_t readings_fed, lag_ms;
	struct merge_stats mstats;	/* a copy, each tick */
	uint64_t reported_dropped, reported_gaps, reported_in;
#ifdef HAVE_NATS
	struct clnats *nats;
	struct lease *lease;
	struct clnats_sub **subs;	/* per shard, worker thread only */
	struct clstatus *status;	/* every instance's status (cluster/status.h) */
#endif
};

struct cluster *
cluster_get(struct engine *e)
{
	return engine_slot(e, ENGINE_MOD_CLUSTER);
}

enum cluster_role
cluster_role(const struct cluster *c)
{
	return c->conf.role;
}

void
cluster_set_reading_fn(struct cluster *c, counters_reading_fn fn, void *ctx)
{
	c->reading_fn = fn;
	c->reading_ctx = ctx;
}

void
cluster_set_counters(struct cluster *c, const struct counters *cnt)
{
	c->cnt = cnt;
}

void
cluster_set_adopters(struct cluster *c, struct detection_ctx *d, struct mitigation_ctx *m)
{
	c->det = d;
	c->mit = m;
}

/* ---- queues (under c->lock) ---- */

static int
q_init(struct cluster_q *q, unsigned cap)
{
	q->m = calloc(cap, sizeof(*q->m));
	q->cap = cap;
	q->head = q->n = 0;
	return q->m != NULL ? 0 : -ENOMEM;
}

static void
q_free(struct cluster_q *q)
{
	for (unsigned i = 0; i < q->n; i++)
		free(q->m[(q->head + i) % q->cap].data);
	free(q->m);
	memset(q, 0, sizeof(*q));
}

/* Append; a full queue first drops its oldest (returns 1 then). */
static int
q_push(struct cluster_q *q, struct cluster_msg m)
{
	int dropped = 0;

	if (q->n == q->cap) {
		free(q->m[q->head].data);
		q->head = (q->head + 1) % q->cap;
		q->n--;
		dropped = 1;
	}
	q->m[(q->head + q->n) % q->cap] = m;
	q->n++;
	return dropped;
}

static bool
q_pop(struct cluster_q *q, struct cluster_msg *ret)
{
	if (q->n == 0)
		return false;
	*ret = q->m[q->head];
	q->head = (q->head + 1) % q->cap;
	q->n--;
	return true;
}

#ifdef HAVE_NATS
/* Put back at the front (a publish that failed); false when full. */
static bool
q_unpop(struct cluster_q *q, struct cluster_msg m)
{
	if (q->n == q->cap)
		return false;
	q->head = (q->head + q->cap - 1) % q->cap;
	q->m[q->head] = m;
	q->n++;
	return true;
}
#endif

static uint64_t
cluster_mono_to_wall(struct cluster *c)
{
	const struct clock *k = engine_clock(c->e);

	return clock_wall_ns(k) - clock_mono_ns(k);
}

/* ---- collect role: readings to messages (loop thread) ---- */

static void
cluster_close_msg(struct cluster *c, uint32_t s)
{
	const uint8_t *p;
	size_t len;
	struct cluster_msg m = { .shard = s, .seq = c->seq[s] };
	int r;

	c->open[s] = false;
	if ((r = deltas_enc_finish(&c->enc[s], &p, &len)) < 0 ||
	    (m.data = malloc(len)) == NULL) {
		pthread_mutex_lock(&c->lock);
		c->dropped++;
		pthread_mutex_unlock(&c->lock);
		return;
	}
	memcpy(m.data, p, len);
	m.len = len;
	pthread_mutex_lock(&c->lock);
	c->dropped += (uint64_t)q_push(&c->outq, m);
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

void
cluster_reading_cb(void *ctx, const struct reading *r)
{
	struct cluster *c = ctx;
	const struct po *p = poset_at(engine_pos(c->e), r->po_id);
	uint32_t s;

	if (p == NULL)
		return;
	s = cluster_shard_of(p->name, c->conf.shards);
	if (c->open[s] && c->enc[s].len >= DELTAS_FLUSH_AT)
		cluster_close_msg(c, s);
	if (!c->open[s]) {
		struct deltas_hdr h = { .shard = (uint16_t)s, .seq = ++c->seq[s],
			.time_ns = r->time_ns + cluster_mono_to_wall(c), .interval_ns = r->interval_ns };

		snprintf(h.instance, sizeof(h.instance), "%s", c->conf.instance);
		deltas_enc_begin(&c->enc[s], &h);
		c->open[s] = true;
	}
	deltas_enc_add(&c->enc[s], p->name, r);
}

void
cluster_sample_cb(void *ctx, const struct counters_obs *o)
{
	struct cluster *c = ctx;
	struct cluster_sample *x;

	if (o->src.af != o->dst.af || c->samples == NULL || c->nsamples == CLUSTER_MAX_SAMPLES)
		return;
	x = &c->samples[c->nsamples++];
	x->po = o->po;
	x->proto = o->proto;
	x->alen = o->src.af == AF_INET ? 4 : 16;
	x->sport = o->sport;
	memcpy(x->src, o->src.a, sizeof(x->src));
	x->packets = o->packets;
	x->bytes = o->bytes;
}

/* Samples by PO, protocol, then source address (by_port: source port). */
static int
cluster_cmp_sample(const struct cluster_sample *x, const struct cluster_sample *y, bool by_port)
{
	if (x->po != y->po)
		return x->po < y->po ? -1 : 1;
	if (x->proto != y->proto)
		return x->proto < y->proto ? -1 : 1;
	if (by_port)
		return x->sport < y->sport ? -1 : x->sport > y->sport;
	if (x->alen != y->alen)
		return x->alen < y->alen ? -1 : 1;
	return memcmp(x->src, y->src, x->alen);
}

static int
cluster_cmp_src(const void *a, const void *b)
{
	return cluster_cmp_sample(a, b, false);
}

static int
cluster_cmp_sport(const void *a, const void *b)
{
	return cluster_cmp_sample(a, b, true);
}

/* Heaviest first within a PO and protocol: packets for sources, bytes for
 * source ports (as the decision point weighs them). */
static int
cluster_cmp_heavy_src(const void *a, const void *b)
{
	const struct cluster_sample *x = a, *y = b;

	if (x->po != y->po || x->proto != y->proto)
		return x->po != y->po ? (x->po < y->po ? -1 : 1) : (x->proto < y->proto ? -1 : 1);
	return x->packets > y->packets ? -1 : x->packets < y->packets;
}

static int
cluster_cmp_heavy_sport(const void *a, const void *b)
{
	const struct cluster_sample *x = a, *y = b;

	if (x->po != y->po || x->proto != y->proto)
		return x->po != y->po ? (x->po < y->po ? -1 : 1) : (x->proto < y->proto ? -1 : 1);
	return x->bytes > y->bytes ? -1 : x->bytes < y->bytes;
}

/*
 * One top list of the interval's samples (kind DELTAS_TOP_SRC or _SPORT):
 * summed per PO, protocol and source (or source port), the heaviest
 * CLUSTER_TOP_HOSTS of each PO and protocol into its shard's message (only
 * a PO whose shard has a message this second: one with traffic).
 */
static void
cluster_add_top(struct cluster *c, enum deltas_top kind)
{
	const struct poset *set = engine_pos(c->e);
	bool by_port = kind == DELTAS_TOP_SPORT;
	struct cluster_sample *v = c->scratch;
	unsigned n = 0, kept = 0;

	if (c->nsamples == 0)
		return;
	memcpy(v, c->samples, c->nsamples * sizeof(*v));
	qsort(v, c->nsamples, sizeof(*v), by_port ? cluster_cmp_sport : cluster_cmp_src);
	for (unsigned i = 1; i < c->nsamples; i++) {
		if (cluster_cmp_sample(&v[n], &v[i], by_port) == 0) {
			v[n].packets += v[i].packets;
			v[n].bytes += v[i].bytes;
		} else {
			v[++n] = v[i];
		}
	}
	n++;
	qsort(v, n, sizeof(*v), by_port ? cluster_cmp_heavy_sport : cluster_cmp_heavy_src);
	for (unsigned i = 0; i < n; i++) {
		const struct cluster_sample *x = &v[i];
		const struct po *p;
		uint32_t s;
		struct deltas_host h = { .kind = (uint8_t)kind, .proto = x->proto,
			.packets = x->packets, .bytes = x->bytes };

		if (i == 0 || x->po != v[i - 1].po || x->proto != v[i - 1].proto)
			kept = 0;
		if (kept++ >= CLUSTER_TOP_HOSTS || (p = poset_at(set, x->po)) == NULL ||
		    !c->open[s = cluster_shard_of(p->name, c->conf.shards)])
			continue;
		if (by_port && x->proto != PROTO_TCP && x->proto != PROTO_UDP)
			continue;
		if (by_port) {
			h.port = x->sport;
		} else {
			h.alen = x->alen;
			memcpy(h.addr, x->src, x->alen);
		}
		deltas_enc_host(&c->enc[s], p->name, &h);
	}
}

/* Each PO's busiest destination hosts of the interval the counters just
 * closed, per protocol, into its shard's message (an engine's attacks take
 * their top targets from them), then its top sources and source ports
 * among the interval's samples (their top sources and source ports). */
static void
cluster_add_hosts(struct cluster *c)
{
	const struct poset *set = engine_pos(c->e);
	struct counters_host hosts[CLUSTER_TOP_HOSTS];

	for (uint32_t id = 0; c->cnt != NULL && id < poset_id_limit(set); id++) {
		const struct po *p = poset_at(set, id);
		uint32_t s;

		if (p == NULL || !c->open[s = cluster_shard_of(p->name, c->conf.shards)])
			continue;
		for (unsigned proto = 0; proto < PROTO__COUNT; proto++) {
			size_t n = counters_top_hosts_proto(c->cnt, id, (enum proto_class)proto, hosts,
			    CLUSTER_TOP_HOSTS);

			for (size_t i = 0; i < n; i++) {
				struct deltas_host h = { .proto = (uint8_t)proto,
					.alen = hosts[i].addr.af == AF_INET ? 4 : 16,
					.packets = hosts[i].packets, .bytes = hosts[i].bytes };

				if (hosts[i].packets == 0)
					continue;
				memcpy(h.addr, hosts[i].addr.a, h.alen);
				deltas_enc_host(&c->enc[s], p->name, &h);
			}
		}
	}
	cluster_add_top(c, DELTAS_TOP_SRC);
	cluster_add_top(c, DELTAS_TOP_SPORT);
	c->nsamples = 0;
}

/* ---- engine role: messages to readings (loop thread) ---- */

/* A message's contents into the merge (checked against our POs). */
struct cluster_feed {
	struct cluster *c;
	const struct poset *set;
	uint32_t shard;
	uint64_t refused;
};

/* A PO this engine does not know, or one the collector put in the wrong
 * shard, is not ours to detect on. */
static bool
cluster_po_of(struct cluster_feed *f, const char *po, uint32_t *ret_id)
{
	if (cluster_shard_of(po, f->c->conf.shards) != f->shard ||
	    poset_find(f->set, po, ret_id) == NULL) {
		f->refused++;
		return false;
	}
	return true;
}

static void
cluster_feed_one(void *ctx, const char *po, const struct reading *r)
{
	struct cluster_feed *f = ctx;
	struct reading w = *r;

	if (cluster_po_of(f, po, &w.po_id))
		merge_add(f->c->merge, &w);
}

static void
cluster_feed_host(void *ctx, const char *po, const struct deltas_host *h)
{
	struct cluster_feed *f = ctx;
	uint32_t id;

	if (cluster_po_of(f, po, &id))
		merge_top(f->c->merge, id, h);
}

static const struct deltas_sink cluster_feed_sink = {
	.reading = cluster_feed_one,
	.host = cluster_feed_host,
};

/* A second released by the merge (every collector's sum): to detection. */
static void
cluster_merged_reading(void *ctx, const struct reading *r)
{
	struct cluster *c = ctx;
	struct reading w = *r;

	w.time_ns = r->time_ns - cluster_mono_to_wall(c);
	if (c->reading_fn != NULL)
		c->reading_fn(c->reading_ctx, &w);
	c->fed_loop++;
}

/* A top-list entry of a released second: the live attacks' top targets
 * (what the local path reads from the counters, detection_observe_hosts),
 * top sources and source ports (what it takes from the samples,
 * detection_sample_cb: here summed per source or port by the collectors,
 * then across collectors by the merge). */
static void
cluster_merged_top(void *ctx, uint32_t po_id, const struct deltas_host *h)
{
	struct cluster *c = ctx;
	struct decision_obs o = { .po_id = po_id, .proto = h->proto, .alen = h->alen,
		.packets = h->packets, .bytes = h->bytes };

	if (c->det == NULL)
		return;
	switch (h->kind) {
	case DELTAS_TOP_DST:
		o.target_only = true;
		memcpy(o.dst, h->addr, h->alen);
		break;
	case DELTAS_TOP_SRC:
		o.skip = DECISION_OBS_NO_DST | DECISION_OBS_NO_SPORT;
		memcpy(o.src, h->addr, h->alen);
		break;
	case DELTAS_TOP_SPORT:
		o.skip = DECISION_OBS_NO_DST | DECISION_OBS_NO_SRC;
		o.sport = h->port;
		break;
	default:
		return;
	}
	detection_observe(c->det, &o);
}

/* Follow the sequence of (collector, shard): returns the messages missed
 * before this one; a replay of an old one (seq not past the last) is
 * skipped (returns -1). */
static int64_t
cluster_follow(struct cluster *c, const struct deltas_hdr *h)
{
	struct cluster_stream *st = NULL;
	uint64_t last, epoch;

	pthread_mutex_lock(&c->lock);
	epoch = c->epoch[h->shard];
	pthread_mutex_unlock(&c->lock);

	for (unsigned i = 0; i < c->nstreams; i++)
		if (c->streams[i].shard == h->shard && strcmp(c->streams[i].instance, h->instance) == 0) {
			st = &c->streams[i];
			break;
		}
	if (st == NULL) {
		if (c->nstreams == CLUSTER_MAX_STREAMS)
			return 0;
		st = &c->streams[c->nstreams++];
		snprintf(st->instance, sizeof(st->instance), "%s", h->instance);
		st->shard = h->shard;
		st->seq = h->seq;
		st->epoch = epoch;
		return 0;	/* the first we see: nothing to compare with */
	}
	if (st->epoch != epoch) {
		/* Won again since: what came meanwhile went to another engine. */
		st->epoch = epoch;
		st->seq = h->seq;
		return 0;
	}
	last = st->seq;
	if (h->seq <= last)
		return -1;
	st->seq = h->seq;
	return (int64_t)(h->seq - last - 1);
}

static void
cluster_consume(struct cluster *c, const struct cluster_msg *m)
{
	struct deltas_hdr h;
	struct cluster_feed f = { .c = c, .set = engine_pos(c->e) };
	uint64_t wall = clock_wall_ns(engine_clock(c->e));
	int64_t missed;
	int r;

	if ((r = deltas_decode(m->data, m->len, &h, NULL, NULL)) < 0) {
		c->refused++;
		return;
	}
#ifdef HAVE_NATS
	if (!lease_holds(c->lease, h.shard, clock_now_ns(CLOCK_MONOTONIC), NULL))
		return;		/* given up since it arrived */
#endif
	if ((missed = cluster_follow(c, &h)) < 0)
		return;
	f.shard = h.shard;
	/* Into the second's bucket, summed with the other collectors' when
	 * it is released (cluster_tick); a second already fed is late. */
	if (merge_begin(c->merge, h.instance, h.shard, h.time_ns, h.interval_ns,
	    clock_mono_ns(engine_clock(c->e))) == 0)
		(void)deltas_decode(m->data, m->len, &h, &cluster_feed_sink, &f);
	pthread_mutex_lock(&c->lock);
	c->lost += (uint64_t)missed;
	c->gaps += missed > 0;
	c->refused += f.refused ? 1 : 0;
	c->lag_ms = wall > h.time_ns ? (wall - h.time_ns) / 1000000 : 0;
	pthread_mutex_unlock(&c->lock);
}

/* ---- the worker thread ---- */

#ifdef HAVE_NATS
static void
cluster_on_msg(void *ctx, const void *data, size_t len)
{
	struct cluster *c = ctx;
	struct cluster_msg m = { .len = len };

	if ((m.data = malloc(len ? len : 1)) != NULL)
		memcpy(m.data, data, len);
	pthread_mutex_lock(&c->lock);
	c->received++;
	if (m.data == NULL)
		c->dropped_in++;
	else
		c->dropped_in += (uint64_t)q_push(&c->inq, m);
	pthread_mutex_unlock(&c->lock);
}

/* Queue a take-over or a hand-over for the loop thread. */
static void
cluster_queue(struct cluster *c, struct cluster_takeover t, const char *prev)
{
	snprintf(t.prev, sizeof(t.prev), "%s", prev);
	pthread_mutex_lock(&c->lock);
	if (c->ntakeovers < 2 * c->conf.shards)
		c->takeovers[c->ntakeovers++] = t;
	pthread_mutex_unlock(&c->lock);
}

/* A shard to give back (rebalance): the loop hands its state off first. */
static void
cluster_on_give(void *ctx, uint32_t shard)
{
	cluster_queue(ctx, (struct cluster_takeover){ .shard = shard, .give = true }, "");
}

static void
cluster_on_lease(void *ctx, uint32_t shard, bool owned, const char *prev)
{
	struct cluster *c = ctx;
	char subject[64], err[CLUSTER_ERR_MAX], key[CLUSTER_NAME_MAX + 16], v[8];
	int r;

	if (!owned) {
		clnats_unsubscribe(c->subs[shard]);
		c->subs[shard] = NULL;
		return;
	}
	/* The loop (cluster_tick) adopts what was left for the shard: a
	 * hand-off (a shard given back on rebalance), and the state of an
	 * engine that is gone (its engine.<name> key expired). */
	snprintf(key, sizeof(key), "engine.%s", prev);
	cluster_queue(c, (struct cluster_takeover){ .shard = shard, .dead = prev[0] != '\0' &&
	    clnats_kv_get(c->nats, key, v, sizeof(v)) == -ENOENT }, prev);
	pthread_mutex_lock(&c->lock);
	c->epoch[shard]++;
	pthread_mutex_unlock(&c->lock);
	if (c->subs[shard] != NULL)
		return;
	snprintf(subject, sizeof(subject), CLNATS_SUBJECT_PREFIX "%u", shard);
	if ((r = clnats_subscribe(c->nats, subject, cluster_on_msg, c, &c->subs[shard], err,
	    sizeof(err))) < 0) {
		log_warnx("cluster: consuming %s: %s", subject, err);
		pthread_mutex_lock(&c->lock);
		snprintf(c->last_error, sizeof(c->last_error), "%s", err);
		pthread_mutex_unlock(&c->lock);
	}
}

static void
cluster_error(struct cluster *c, const char *err)
{
	pthread_mutex_lock(&c->lock);
	if (strcmp(c->last_error, err) != 0)
		log_warnx("cluster: %s", err);
	snprintf(c->last_error, sizeof(c->last_error), "%s", err);
	pthread_mutex_unlock(&c->lock);
}

/* Publish what waits, oldest first, until done or a publish fails. */
static void
cluster_publish_all(struct cluster *c)
{
	struct cluster_msg m;
	char subject[64], msgid[CLUSTER_NAME_MAX + 48], err[CLUSTER_ERR_MAX];

	for (;;) {
		pthread_mutex_lock(&c->lock);
		if (c->stopping || !q_pop(&c->outq, &m)) {
			pthread_mutex_unlock(&c->lock);
			return;
		}
		pthread_mutex_unlock(&c->lock);
		snprintf(subject, sizeof(subject), CLNATS_SUBJECT_PREFIX "%u", m.shard);
		snprintf(msgid, sizeof(msgid), "%s.%u.%" PRIu64, c->conf.instance, m.shard, m.seq);
		if (clnats_publish(c->nats, subject, m.data, m.len, msgid, err, sizeof(err)) == 0) {
			free(m.data);
			pthread_mutex_lock(&c->lock);
			c->published++;
			pthread_mutex_unlock(&c->lock);
			continue;
		}
		pthread_mutex_lock(&c->lock);
		c->publish_errors++;
		if (!q_unpop(&c->outq, m)) {
			free(m.data);
			c->dropped++;
		}
		pthread_mutex_unlock(&c->lock);
		cluster_error(c, err);
		return;
	}
}

static json_t *cluster_self_json(struct cluster *c);

/* This instance's status into the bucket, everyone's out of it. */
static void
cluster_status_step(struct cluster *c)
{
	json_t *self = cluster_self_json(c);

	if (self == NULL)
		return;
	json_object_set_new(self, "version", json_string(ENGINE_VERSION));
	json_object_set_new(self, "time_ms",
	    json_integer((json_int_t)(clock_now_ns(CLOCK_REALTIME) / 1000000)));
	clstatus_step(c->status, self);
	json_decref(self);
}

static void *
cluster_run(void *arg)
{
	struct cluster *c = arg;
	uint64_t next_lease = 0, next_status = 0;
	char err[CLUSTER_ERR_MAX];

	for (;;) {
		uint64_t now = clock_now_ns(CLOCK_MONOTONIC);
		bool conn = clnats_connected(c->nats), ready;
		struct timespec until;

		pthread_mutex_lock(&c->lock);
		c->connected = conn;
		ready = c->ready;
		if (c->stopping) {
			pthread_mutex_unlock(&c->lock);
			break;
		}
		pthread_mutex_unlock(&c->lock);
		if (!ready && conn) {
			if (clnats_setup(c->nats, err, sizeof(err)) == 0) {
				pthread_mutex_lock(&c->lock);
				c->ready = ready = true;
				c->last_error[0] = '\0';
				pthread_mutex_unlock(&c->lock);
				log_info("cluster: %s %s on NATS (stream " CLNATS_STREAM ", bucket "
				    CLNATS_BUCKET ")", cluster_role_name(c->conf.role), c->conf.instance);
			} else {
				cluster_error(c, err);
			}
		}
		if (ready && conn && c->conf.role == CLUSTER_COLLECT)
			cluster_publish_all(c);
		if (ready && c->conf.role == CLUSTER_ENGINE && now >= next_lease) {
			lease_step(c->lease, now);
			next_lease = now + CLUSTER_NS_PER_S;
		}
		if (ready && conn && c->status != NULL && now >= next_status) {
			cluster_status_step(c);
			next_status = now + CLUSTER_NS_PER_S;
		}
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 250 * 1000000;
		if (until.tv_nsec >= 1000000000) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000;
		}
		pthread_mutex_lock(&c->lock);
		if (!c->stopping && (c->conf.role != CLUSTER_COLLECT || c->outq.n == 0 || !conn))
			pthread_cond_timedwait(&c->cond, &c->lock, &until);
		pthread_mutex_unlock(&c->lock);
	}
	return NULL;
}
#endif

/* ---- the module ---- */

/* The store's key/value namespace: instance name's own. */
static int
cluster_ns(struct store *s, const char *name)
{
	char ns[CLUSTER_NAME_MAX + 16];

	snprintf(ns, sizeof(ns), "cluster/%s", name);
	return store_kv_namespace(s, ns);
}

static void
cluster_free(struct cluster *c)
{
	if (c == NULL)
		return;
	for (uint32_t s = 0; c->enc != NULL && s < c->conf.shards; s++)
		deltas_enc_free(&c->enc[s]);
	free(c->enc);
	free(c->samples);
	free(c->scratch);
	free(c->open);
	free(c->seq);
	free(c->streams);
	merge_free(c->merge);
	free(c->takeovers);
	free(c->epoch);
	clpeers_free(c->peers);
	q_free(&c->outq);
	q_free(&c->inq);
	q_free(&c->spare);
#ifdef HAVE_NATS
	free(c->subs);
#endif
	pthread_cond_destroy(&c->cond);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

int
cluster_init(struct engine *e, void **ret_state)
{
	const struct cluster_conf *cc = settings_ext(engine_settings(e), "cluster");
	struct cluster *c;
	unsigned outcap;
	int r = -ENOMEM;

	*ret_state = NULL;
	if (cc == NULL || cc->role == CLUSTER_ALL)
		return 0;
#ifndef HAVE_NATS
	log_warnx("cluster: role %s needs a moatd built with libnats", cluster_role_name(cc->role));
	return -ENOTSUP;
#endif
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return -ENOMEM;
	c->e = e;
	c->conf = *cc;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->cond, NULL);
	/* The buffer holds `buffer` seconds of every shard (at least one). */
	outcap = (unsigned)(c->conf.buffer_s ? c->conf.buffer_s : 1) * c->conf.shards;
	if (c->conf.role == CLUSTER_COLLECT) {
		if ((c->enc = calloc(c->conf.shards, sizeof(*c->enc))) == NULL ||
		    (c->open = calloc(c->conf.shards, sizeof(*c->open))) == NULL ||
		    (c->seq = calloc(c->conf.shards, sizeof(*c->seq))) == NULL ||
		    (c->samples = calloc(CLUSTER_MAX_SAMPLES, sizeof(*c->samples))) == NULL ||
		    (c->scratch = calloc(CLUSTER_MAX_SAMPLES, sizeof(*c->scratch))) == NULL ||
		    q_init(&c->outq, outcap) < 0)
			goto fail;
	} else {
		struct merge_sink ms = { .reading = cluster_merged_reading,
			.top = cluster_merged_top, .ctx = c };

		if ((r = merge_new(c->conf.shards, c->conf.merge_grace_ms * 1000000u,
		    CLUSTER_LIVE_NS, &ms, &c->merge)) < 0)
			goto fail;
		r = -ENOMEM;
		if ((c->streams = calloc(CLUSTER_MAX_STREAMS, sizeof(*c->streams))) == NULL ||
		    (c->takeovers = calloc(2 * c->conf.shards, sizeof(*c->takeovers))) == NULL ||
		    (c->epoch = calloc(c->conf.shards, sizeof(*c->epoch))) == NULL ||
#ifdef HAVE_NATS
		    (c->subs = calloc(c->conf.shards, sizeof(*c->subs))) == NULL ||
#endif
		    q_init(&c->inq, CLUSTER_INQ_MAX) < 0 || q_init(&c->spare, CLUSTER_INQ_MAX) < 0)
			goto fail;
	}
	/* Instances sharing a PostgreSQL store keep their learned state
	 * (detection, mitigation table) apart, under their instance name. */
	if ((r = cluster_ns(engine_store(e), c->conf.instance)) < 0)
		goto fail;
	*ret_state = c;
	return 0;
fail:
	cluster_free(c);
	return r;
}

int
cluster_start(void *state)
{
#ifdef HAVE_NATS
	struct cluster *c = state;
	char err[CLUSTER_ERR_MAX];
	int r;

	if ((r = clnats_open(&c->conf, &c->nats, err, sizeof(err))) < 0) {
		log_warnx("cluster: %s", err);
		return r;
	}
	if (c->conf.role == CLUSTER_ENGINE &&
	    (r = lease_new(&c->conf, c->nats, cluster_on_lease, c, &c->lease)) < 0)
		return r;
	if (c->lease != NULL)
		lease_on_give(c->lease, cluster_on_give);
	if ((r = clstatus_new(&c->conf, c->nats, &c->status)) < 0)
		return r;
	if ((r = pthread_create(&c->thread, NULL, cluster_run, c)) != 0)
		return -r;
	c->thread_started = true;
	log_info("cluster: role %s, instance %s, %u shards", cluster_role_name(c->conf.role),
	    c->conf.instance, c->conf.shards);
	return 0;
#else
	(void)state;
	return -ENOTSUP;
#endif
}

void
cluster_fini(void *state)
{
	struct cluster *c = state;

	if (c == NULL)
		return;
#ifdef HAVE_NATS
	if (c->thread_started) {
		pthread_mutex_lock(&c->lock);
		c->stopping = true;
		pthread_cond_signal(&c->cond);
		pthread_mutex_unlock(&c->lock);
		pthread_join(c->thread, NULL);
	}
	/* A clean stop gives the shards back at once, so another engine takes
	 * them at its next step rather than after lease_ttl. By now the
	 * modules after this one (detection, mitigation: fini runs in reverse)
	 * have saved their state and left the rules in place, so the taker
	 * adopts the live attacks as from a dead engine. It decides "dead" by
	 * engine.<instance> being absent when it wins a shard: that key goes
	 * first, so no shard is won while it is still there. */
	if (c->lease != NULL && c->ready) {
		char key[CLUSTER_NAME_MAX + 16];

		snprintf(key, sizeof(key), "engine.%s", c->conf.instance);
		(void)clnats_kv_delete(c->nats, key);
	}
	lease_free(c->lease, c->ready);
	clstatus_free(c->status, c->ready);
	for (uint32_t s = 0; c->subs != NULL && s < c->conf.shards; s++)
		clnats_unsubscribe(c->subs[s]);
	clnats_close(c->nats);
	if (c->nats != NULL)
		clnats_library_close();
#endif
	cluster_free(c);
}

/* ---- take-over (loop thread) ---- */

struct cluster_adopt {
	struct cluster *c;
	uint32_t shard;
};

static bool
cluster_adopt_keep(void *ctx, const char *po, uint32_t *ret_po_id)
{
	struct cluster_adopt *a = ctx;

	return cluster_shard_of(po, a->c->conf.shards) == a->shard &&
	    poset_find(engine_pos(a->c->e), po, ret_po_id) != NULL;
}

static bool
cluster_adopt_keep_mit(void *ctx, const char *po)
{
	uint32_t id;

	return cluster_adopt_keep(ctx, po, &id);
}

/* Read key of instance prev's namespace; the store stays in ours. */
static int
cluster_prev_get(struct cluster *c, const char *prev, const char *key, void **ret, size_t *ret_len)
{
	struct store *s = engine_store(c->e);
	int r;

	if ((r = cluster_ns(s, prev)) < 0)
		return r;
	r = store_kv_get(s, key, ret, ret_len);
	(void)cluster_ns(s, c->conf.instance);
	return r;
}

/* Write key in instance prev's namespace; the store stays in ours. */
static int
cluster_prev_put(struct cluster *c, const char *prev, const char *key, const void *val, size_t len)
{
	struct store *s = engine_store(c->e);
	int r;

	if ((r = cluster_ns(s, prev)) < 0)
		return r;
	r = store_kv_put(s, key, val, len);
	(void)cluster_ns(s, c->conf.instance);
	return r;
}

/* The adopted state: the keys under prefix of instance inst's namespace
 * ("": its state; handoff_prefix(): a shard it handed over). */
struct cluster_prev {
	struct cluster *c;
	const char *inst;
	const char *prefix;
};

static int
cluster_prev_get_cb(void *ctx, const char *key, void **ret, size_t *ret_len)
{
	struct cluster_prev *p = ctx;
	char k[HANDOFF_PREFIX_MAX + 64];

	snprintf(k, sizeof(k), "%s%s", p->prefix, key);
	return cluster_prev_get(p->c, p->inst, k, ret, ret_len);
}

static int
cluster_prev_put_cb(void *ctx, const char *key, const void *val, size_t len)
{
	struct cluster_prev *p = ctx;
	char k[HANDOFF_PREFIX_MAX + 64];

	snprintf(k, sizeof(k), "%s%s", p->prefix, key);
	return cluster_prev_put(p->c, p->inst, k, val, len);
}

/*
 * Adopt what instance inst left for the shard under prefix: first the
 * learned baselines of its POs (detection_adopt_learned: the new owner
 * does not learn them again), then its live attacks (they keep their ids),
 * then its mitigations of them (the rules stay; this engine withdraws them
 * when the attacks end). Each is moved: this engine's state is saved, then
 * inst's written back without what was taken, so inst, if it comes back,
 * does not act on them again and nobody adopts them twice. Adds to
 * ret[3]: series, attacks, mitigations.
 *
 * All of it is one store transaction holding inst's namespace
 * (store_kv_lock): two engines taking different shards of one dead engine
 * at once each read-modify-write its blobs, and the second reads what the
 * first wrote back, so neither puts the other's part back.
 */
static void
cluster_adopt_from(struct cluster *c, uint32_t shard, const char *inst, const char *prefix,
    int ret[3])
{
	struct cluster_adopt a = { .c = c, .shard = shard };
	struct cluster_prev p = { .c = c, .inst = inst, .prefix = prefix };
	struct detection_src src = { .get = cluster_prev_get_cb, .put = cluster_prev_put_cb, .ctx = &p };
	void *blob = NULL;
	size_t len = 0;
	uint8_t *rest = NULL;
	size_t rest_len = 0;
	char *text, *mrest = NULL;
	struct store *s = engine_store(c->e);
	bool tx;
	int n = 0, nm = 0, nb, r;

	if ((tx = (r = store_begin(s, STORE_NORMAL)) == 0)) {
		if ((r = cluster_ns(s, inst)) == 0)
			r = store_kv_lock(s);
		(void)cluster_ns(s, c->conf.instance);
		if (r < 0) {
			store_rollback(s);
			tx = false;
		}
	}
	if (r < 0)	/* taken over all the same, without the lock (as if alone) */
		log_warnx("cluster: shard %u: locking the state of %s: %s", shard, inst,
		    strerror(-r));
	if ((nb = detection_adopt_learned(c->det, &src, cluster_adopt_keep, &a)) < 0)
		log_warnx("cluster: shard %u: adopting the baselines of %s: %s", shard, inst,
		    strerror(-nb));
	if (cluster_prev_get_cb(&p, "detect/decision", &blob, &len) == 0) {
		n = detection_adopt(c->det, blob, len, cluster_adopt_keep, &a, &rest, &rest_len);
		if (n > 0 && detection_save(c->det) == 0)
			(void)cluster_prev_put_cb(&p, "detect/decision", rest, rest_len);
		free(rest);
		free(blob);
		blob = NULL;
	}
	if (n > 0 && c->mit != NULL &&
	    cluster_prev_get_cb(&p, "mitigate/state", &blob, &len) == 0 &&
	    (text = malloc(len + 1)) != NULL) {
		memcpy(text, blob, len);
		text[len] = '\0';
		nm = mitigation_adopt(c->mit, text, cluster_adopt_keep_mit, &a, &mrest);
		if (nm > 0 && mrest != NULL)
			(void)cluster_prev_put_cb(&p, "mitigate/state", mrest, strlen(mrest));
		free(mrest);
		free(text);
	}
	free(blob);
	if (tx && (r = store_commit(s)) < 0)
		log_warnx("cluster: shard %u: saving what was taken over from %s: %s", shard, inst,
		    strerror(-r));
	if (n < 0)
		log_warnx("cluster: shard %u: adopting the attacks of %s: %s", shard, inst,
		    strerror(-n));
	ret[0] += nb > 0 ? nb : 0;
	ret[1] += n > 0 ? n : 0;
	ret[2] += nm > 0 ? nm : 0;
}

/* Give shard back (rebalance): hand its state off, then let the lease go. */
static void
cluster_give(struct cluster *c, uint32_t shard)
{
	struct cluster_adopt a = { .c = c, .shard = shard };
	struct handoff_count n;
	int r;

#ifdef HAVE_NATS
	if (!lease_hand_begin(c->lease, shard))
		return;		/* lost meanwhile, or given up waiting */
#endif
	if (c->det != NULL && (r = handoff_give(engine_store(c->e), c->det, c->mit, shard,
	    cluster_adopt_keep, cluster_adopt_keep_mit, &a, &n)) < 0) {
		log_warnx("cluster: shard %u: handing it over: %s; it goes without its state",
		    shard, strerror(-r));
	} else if (c->det != NULL) {
		log_info("cluster: shard %u handed over: %d baseline series, %d live attack(s), "
		    "%d mitigation(s)", shard, n.series, n.attacks, n.mitigations);
		flight_record(engine_flight(c->e), "cluster", "cluster.handoff", NULL,
		    "shard %u handed over: %d baseline series, %d live attack(s), %d mitigation(s)",
		    shard, n.series, n.attacks, n.mitigations);
	}
#ifdef HAVE_NATS
	lease_given(c->lease, shard);
#endif
}

/*
 * A shard won: adopt what was left for it. A hand-off of its previous
 * holder (a shard given back on rebalance), one of this engine's own that
 * nobody took (it gave the shard, the taker died before adopting), and,
 * if the previous holder is dead, what its state holds for the shard.
 */
static void
cluster_take_over(struct cluster *c, const struct cluster_takeover *t)
{
	char prefix[HANDOFF_PREFIX_MAX];
	int n[3] = { 0, 0, 0 };

	if (t->give) {
		cluster_give(c, t->shard);
		return;
	}
	if (c->det == NULL)
		return;
	handoff_prefix(prefix, sizeof(prefix), t->shard);
	cluster_adopt_from(c, t->shard, c->conf.instance, prefix, n);
	if (t->prev[0] != '\0' && strcmp(t->prev, c->conf.instance) != 0)
		cluster_adopt_from(c, t->shard, t->prev, prefix, n);
	if (t->dead)
		cluster_adopt_from(c, t->shard, t->prev, "", n);
	if (!t->dead && n[0] + n[1] + n[2] == 0)
		return;
	log_info("cluster: shard %u taken over from %s: %d baseline series, %d live attack(s), "
	    "%d mitigation(s) adopted", t->shard, t->prev[0] ? t->prev : "(none)", n[0], n[1], n[2]);
	flight_record(engine_flight(c->e), "cluster", "cluster.takeover", NULL,
	    "shard %u taken over from %s: %d baseline series, %d live attack(s), %d mitigation(s) "
	    "adopted", t->shard, t->prev[0] ? t->prev : "(none)", n[0], n[1], n[2]);
	pthread_mutex_lock(&c->lock);
	c->adopted_attacks += (uint64_t)n[1];
	c->adopted_mitigations += (uint64_t)n[2];
	pthread_mutex_unlock(&c->lock);
}

/* A lasting problem becomes a health issue once per tick it grows. */
static void
cluster_report(struct cluster *c)
{
	uint64_t dropped, gaps, in;

	pthread_mutex_lock(&c->lock);
	dropped = c->dropped - c->reported_dropped;
	gaps = c->lost - c->reported_gaps;
	in = c->dropped_in - c->reported_in;
	c->reported_dropped = c->dropped;
	c->reported_gaps = c->lost;
	c->reported_in = c->dropped_in;
	pthread_mutex_unlock(&c->lock);
	if (dropped > 0)
		health_report(engine_health(c->e), "cluster", 0.3,
		    "dropped %" PRIu64 " delta messages: NATS unreachable past the buffer", dropped);
	if (gaps > 0)
		health_report(engine_health(c->e), "cluster", 0.2,
		    "%" PRIu64 " delta messages missing from the collectors' sequences", gaps);
	if (in > 0)
		health_report(engine_health(c->e), "cluster", 0.3,
		    "fell behind: dropped %" PRIu64 " delta messages received", in);
}

/* An engine with live attacks saves them every CLUSTER_PEERS_SAVE_NS, so
 * the deployment's view on the other engines (and a take-over's adoption)
 * is that fresh; the baselines keep their own, slower period. Loop thread. */
static void
cluster_save_for_peers(struct cluster *c)
{
	uint64_t now = clock_mono_ns(engine_clock(c->e));

	if (c->det == NULL || now - c->peers_saved_ns < CLUSTER_PEERS_SAVE_NS ||
	    decision_live_count(detection_decision(c->det)) == 0)
		return;
	c->peers_saved_ns = now;
	(void)detection_save_attacks(c->det);
}

void
cluster_tick(void *state, uint64_t now_ns)
{
	struct cluster *c = state;
	struct cluster_q q;

	(void)now_ns;
	if (c->conf.role == CLUSTER_COLLECT) {
		cluster_add_hosts(c);
		for (uint32_t s = 0; s < c->conf.shards; s++)
			if (c->open[s])
				cluster_close_msg(c, s);
	} else {
		struct cluster_msg m;
		struct cluster_takeover t;

		/* Take-overs first: the adopted attacks see this tick's readings. */
		for (;;) {
			pthread_mutex_lock(&c->lock);
			if (c->ntakeovers == 0) {
				pthread_mutex_unlock(&c->lock);
				break;
			}
			t = c->takeovers[--c->ntakeovers];
			pthread_mutex_unlock(&c->lock);
			cluster_take_over(c, &t);
		}
		/* Take the whole queue (swapped with an empty one), then work
		 * without the lock. */
		pthread_mutex_lock(&c->lock);
		q = c->inq;
		c->inq = c->spare;
		pthread_mutex_unlock(&c->lock);
		while (q_pop(&q, &m)) {
			cluster_consume(c, &m);
			free(m.data);
		}
		q.head = 0;
		c->spare = q;
		(void)merge_flush(c->merge, clock_mono_ns(engine_clock(c->e)), false);
		pthread_mutex_lock(&c->lock);
		merge_stats(c->merge, &c->mstats);
		c->readings_fed = c->fed_loop;
		pthread_mutex_unlock(&c->lock);
		cluster_save_for_peers(c);
	}
	cluster_report(c);
}

bool
cluster_po_owned(struct cluster *c, const char *po_name)
{
	if (c == NULL || c->conf.role != CLUSTER_ENGINE)
		return true;
#ifdef HAVE_NATS
	return lease_holds(c->lease, cluster_shard_of(po_name, c->conf.shards),
	    clock_now_ns(CLOCK_MONOTONIC), NULL);
#else
	return false;
#endif
}

bool
cluster_po_gate(void *ctx, const char *po_name)
{
	return cluster_po_owned(ctx, po_name);
}

bool
cluster_shard_owner(struct cluster *c, const char *po_name, char *ret, size_t len)
{
	ret[0] = '\0';
#ifdef HAVE_NATS
	if (c != NULL && c->status != NULL)
		return clstatus_shard_owner(c->status,
		    cluster_shard_of(po_name, c->conf.shards), ret, len);
#else
	(void)c;
	(void)po_name;
	(void)len;
#endif
	return false;
}

const char *
cluster_instance(const struct cluster *c)
{
	return c->conf.instance;
}

json_t *
cluster_peer_list(struct cluster *c, enum clpeers_kind kind)
{
	json_t *all = NULL, *list;

	if (c == NULL || c->conf.role != CLUSTER_ENGINE)
		return NULL;
#ifdef HAVE_NATS
	if (c->status != NULL)
		all = clstatus_instances(c->status);
#endif
	if (all == NULL || (c->peers == NULL && clpeers_new(&c->peers) < 0)) {
		json_decref(all);
		return NULL;
	}
	list = clpeers_list(c->peers, engine_store(c->e), c->conf.instance, all, kind,
	    clock_mono_ns(engine_clock(c->e)));
	json_decref(all);
	return list;
}

/* This instance's role, shards, lag and counters (any thread). */
static json_t *
cluster_self_json(struct cluster *c)
{
	json_t *o, *owned;

	if ((owned = json_array()) == NULL)
		return NULL;
#ifdef HAVE_NATS
	if (c->lease != NULL) {
		uint32_t list[CLUSTER_MAX_SHARDS];
		unsigned n = lease_owned(c->lease, list, CLUSTER_MAX_SHARDS);

		for (unsigned i = 0; i < n && i < CLUSTER_MAX_SHARDS; i++)
			json_array_append_new(owned, json_integer(list[i]));
	}
#endif
	pthread_mutex_lock(&c->lock);
	o = json_pack("{s:s, s:s, s:i, s:b, s:b, s:s, s:o}", "role", cluster_role_name(c->conf.role),
	    "instance", c->conf.instance, "shards", (int)c->conf.shards, "connected", c->connected,
	    "ready", c->ready, "last_error", c->last_error, "owned", owned);
	if (o != NULL && c->conf.role == CLUSTER_COLLECT) {
		json_object_set_new(o, "published", json_integer((json_int_t)c->published));
		json_object_set_new(o, "buffered", json_integer(c->outq.n));
		json_object_set_new(o, "buffer_max", json_integer(c->outq.cap));
		json_object_set_new(o, "dropped", json_integer((json_int_t)c->dropped));
		json_object_set_new(o, "publish_errors", json_integer((json_int_t)c->publish_errors));
	} else if (o != NULL) {
#ifdef HAVE_NATS
		json_object_set_new(o, "live_engines",
		    json_integer(c->lease != NULL ? lease_live(c->lease) : 0));
#endif
		json_object_set_new(o, "received", json_integer((json_int_t)c->received));
		json_object_set_new(o, "readings", json_integer((json_int_t)c->readings_fed));
		json_object_set_new(o, "lag_ms", json_integer((json_int_t)c->lag_ms));
		json_object_set_new(o, "gaps", json_integer((json_int_t)c->gaps));
		json_object_set_new(o, "lost", json_integer((json_int_t)c->lost));
		json_object_set_new(o, "refused", json_integer((json_int_t)c->refused));
		json_object_set_new(o, "dropped_in", json_integer((json_int_t)c->dropped_in));
		json_object_set_new(o, "merge", json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:i}",
		    "late", (json_int_t)c->mstats.late, "summed", (json_int_t)c->mstats.summed,
		    "holes", (json_int_t)c->mstats.holes,
		    "complete", (json_int_t)c->mstats.complete,
		    "expired", (json_int_t)c->mstats.expired, "forced", (json_int_t)c->mstats.forced,
		    "overflow", (json_int_t)c->mstats.overflow, "grace_ms",
		    (json_int_t)c->conf.merge_grace_ms, "open", (int)c->mstats.open));
		json_object_set_new(o, "adopted_attacks", json_integer((json_int_t)c->adopted_attacks));
		json_object_set_new(o, "adopted_mitigations",
		    json_integer((json_int_t)c->adopted_mitigations));
	}
	pthread_mutex_unlock(&c->lock);
	return o;
}

void
cluster_api_get(struct api_req *r)
{
	struct cluster *c = cluster_get(api_req_engine(r));
	json_t *o, *all = NULL;

	if (c == NULL) {
		api_reply_json(r, 200, json_pack("{s:s}", "role", "all"));
		return;
	}
	if ((o = cluster_self_json(c)) == NULL) {
		api_reply_error(r, 500, NULL, "out of memory");
		return;
	}
	/* Every live instance of the deployment, as each last published itself
	 * (this one included once it has). */
#ifdef HAVE_NATS
	if (c->status != NULL)
		all = clstatus_instances(c->status);
#endif
	if (all == NULL)
		all = json_array();
	if (all != NULL && json_array_size(all) == 0)
		json_array_append_new(all, json_deep_copy(o));
	json_object_set_new(o, "instances", all != NULL ? all : json_array());
	api_reply_json(r, 200, o);
}
