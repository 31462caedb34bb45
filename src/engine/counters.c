#include "engine/counters.h"

#include <errno.h>
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/limits.h"

#define NCOMBO		(DIR__COUNT * PROTO__COUNT)
#define PER_KEY		(NCOMBO * CNT__COUNT)	/* counters per PO or location */
#define NEMA		2			/* 10 s and 60 s */
#define HOST_TAB_SIZE	(2u * LIMIT_COLLECT_HOSTS)	/* power of two */
#define HOST_MASK	(HOST_TAB_SIZE - 1u)

_Static_assert((HOST_TAB_SIZE & HOST_MASK) == 0, "host table size must be a power of two");

typedef _Atomic uint64_t cnt_t;

struct host_ent {
	_Atomic uint32_t used;	/* key written before used is set (release) */
	uint32_t tag;		/* the key's full hash: most mismatches end here */
	uint32_t po;
	struct ipaddr addr;
	_Atomic uint64_t bytes, packets;
};

/* One interval's host breakdown of one shard. */
struct host_tab {
	struct host_ent *e;		/* HOST_TAB_SIZE */
	uint32_t *used;			/* indices of used entries */
	_Atomic uint32_t nused;
	_Atomic uint64_t dropped;
};

/* One interval's sampled inbound records of one shard. */
struct obs_buf {
	struct counters_obs *o;		/* LIMIT_COLLECT_OBS */
	_Atomic uint32_t n;		/* entries below n are written (release) */
};

struct counters_shard {
	struct counters *c;
	cnt_t *po;			/* max_pos * PER_KEY, cumulative */
	cnt_t *loc;			/* max_loc * PER_KEY, cumulative */
	cnt_t unmatched[CNT__COUNT];	/* traffic that matched no PO */
	struct host_tab hosts[2];	/* indexed by epoch & 1 */
	struct obs_buf obs[2];		/* indexed by epoch & 1, like hosts */
	uint32_t obs_countdown;		/* records until the next sample */
	uint32_t obs_rng;		/* xorshift state: sample gaps vary */
	uint32_t epoch_local;
	_Atomic uint32_t epoch_seen;
	_Atomic(const struct lpm *) lpm_in_use;
} __attribute__((aligned(64)));

/* The reader's view of one key: what was summed at the last tick. */
struct cnt_view {
	uint64_t *total;		/* n * PER_KEY */
	uint64_t *last;			/* n * PER_KEY */
	float *ema;			/* n * PER_KEY * NEMA */
};

struct merged_host {
	bool used;
	uint32_t po;
	struct ipaddr addr;
	uint64_t bytes, packets;
};

struct counters {
	uint32_t max_pos, max_loc, npos;
	unsigned nshards;
	struct counters_shard *shards;
	_Atomic(const struct lpm *) lpm;
	_Atomic uint32_t epoch;

	/* reader side */
	struct cnt_view pov, locv;
	bool started;
	uint64_t last_tick_ns;
	double interval_s;
	struct merged_host *mh;		/* HOST_TAB_SIZE */
	uint32_t *mh_used;
	uint32_t nmh;
	uint64_t hosts_dropped;
	counters_obs_fn obs_fn;
	void *obs_ctx;
};

static const double ema_window_s[NEMA] = { 10.0, 60.0 };

enum proto_class
counters_proto_class(uint8_t proto)
{
	switch (proto) {
	case 6:
		return PROTO_TCP;
	case 17:
		return PROTO_UDP;
	case 1:
	case 58:
		return PROTO_ICMP;
	default:
		return PROTO_OTHER;
	}
}

static size_t
key_index(uint32_t key, unsigned dir, unsigned proto)
{
	return ((size_t)key * NCOMBO + dir * PROTO__COUNT + proto) * CNT__COUNT;
}

/* ---- allocation ---- */

static int
host_tab_init(struct host_tab *h)
{
	h->e = calloc(HOST_TAB_SIZE, sizeof(*h->e));
	h->used = calloc(LIMIT_COLLECT_HOSTS, sizeof(*h->used));
	return h->e && h->used ? 0 : -ENOMEM;
}

static void
host_tab_free(struct host_tab *h)
{
	free(h->e);
	free(h->used);
}

static int
view_init(struct cnt_view *v, uint32_t n)
{
	v->total = calloc((size_t)n * PER_KEY, sizeof(*v->total));
	v->last = calloc((size_t)n * PER_KEY, sizeof(*v->last));
	v->ema = calloc((size_t)n * PER_KEY * NEMA, sizeof(*v->ema));
	return v->total && v->last && v->ema ? 0 : -ENOMEM;
}

static void
view_free(struct cnt_view *v)
{
	free(v->total);
	free(v->last);
	free(v->ema);
}

static int
shard_init(struct counters *c, struct counters_shard *s)
{
	s->c = c;
	s->po = calloc((size_t)c->max_pos * PER_KEY, sizeof(*s->po));
	s->loc = calloc((size_t)c->max_loc * PER_KEY, sizeof(*s->loc));
	if (s->po == NULL || s->loc == NULL)
		return -ENOMEM;
	if (host_tab_init(&s->hosts[0]) < 0 || host_tab_init(&s->hosts[1]) < 0)
		return -ENOMEM;
	for (int i = 0; i < 2; i++)
		if ((s->obs[i].o = calloc(LIMIT_COLLECT_OBS, sizeof(*s->obs[i].o))) == NULL)
			return -ENOMEM;
	s->obs_rng = 0x9e3779b9u ^ (uint32_t)(uintptr_t)s;
	s->obs_countdown = 1;
	return 0;
}

static void
shard_free(struct counters_shard *s)
{
	free(s->po);
	free(s->loc);
	host_tab_free(&s->hosts[0]);
	host_tab_free(&s->hosts[1]);
	free(s->obs[0].o);
	free(s->obs[1].o);
}

void
counters_free(struct counters *c)
{
	if (c == NULL)
		return;
	for (unsigned i = 0; c->shards && i < c->nshards; i++)
		shard_free(&c->shards[i]);
	free(c->shards);
	view_free(&c->pov);
	view_free(&c->locv);
	free(c->mh);
	free(c->mh_used);
	free(c);
}

struct counters *
counters_new(uint32_t max_pos, uint32_t max_locations, unsigned nshards)
{
	struct counters *c;

	if (nshards == 0 || max_pos == 0 || max_locations == 0) {
		errno = EINVAL;
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->max_pos = c->npos = max_pos;
	c->max_loc = max_locations;
	c->nshards = nshards;
	c->shards = aligned_alloc(64, sizeof(*c->shards) * nshards);
	if (c->shards == NULL)
		goto fail;
	memset(c->shards, 0, sizeof(*c->shards) * nshards);
	for (unsigned i = 0; i < nshards; i++)
		if (shard_init(c, &c->shards[i]) < 0)
			goto fail;
	c->mh = calloc(HOST_TAB_SIZE, sizeof(*c->mh));
	c->mh_used = calloc(LIMIT_COLLECT_HOSTS, sizeof(*c->mh_used));
	if (view_init(&c->pov, max_pos) < 0 || view_init(&c->locv, max_locations) < 0 ||
	    c->mh == NULL || c->mh_used == NULL)
		goto fail;
	return c;
fail:
	counters_free(c);
	errno = ENOMEM;
	return NULL;
}

unsigned
counters_nshards(const struct counters *c)
{
	return c->nshards;
}

struct counters_shard *
counters_shard(struct counters *c, unsigned i)
{
	return i < c->nshards ? &c->shards[i] : NULL;
}

void
counters_set_lpm(struct counters *c, const struct lpm *l)
{
	atomic_store(&c->lpm, l);
}

bool
counters_lpm_idle(const struct counters *c, const struct lpm *old)
{
	for (unsigned i = 0; i < c->nshards; i++)
		if (atomic_load(&c->shards[i].lpm_in_use) == old)
			return false;
	return true;
}

void
counters_set_npos(struct counters *c, uint32_t n)
{
	c->npos = n < c->max_pos ? n : c->max_pos;
}

/* ---- writer side ---- */

/* Single writer per shard: a relaxed load and store, no locked instruction. */
static inline void
cnt_add(cnt_t *base, const uint64_t v[CNT__COUNT])
{
	for (unsigned k = 0; k < CNT__COUNT; k++)
		if (v[k])
			atomic_store_explicit(&base[k],
			    atomic_load_explicit(&base[k], memory_order_relaxed) + v[k],
			    memory_order_relaxed);
}

static inline uint32_t
lookup(const struct lpm *l, const struct ipaddr *a)
{
	if (l == NULL)
		return LPM_NONE;
	if (a->af == AF_INET)
		return lpm_lookup4(l, ipaddr_v4_host(a));
	if (a->af == AF_INET6)
		return lpm_lookup6(l, a->a);
	return LPM_NONE;
}

/* Add to the entry for (po, a), whose hash is tag. */
static void
host_add(struct host_tab *h, uint32_t tag, uint32_t po, const struct ipaddr *a, uint64_t bytes,
    uint64_t packets)
{
	uint32_t i = tag & HOST_MASK;

	for (;;) {
		struct host_ent *e = &h->e[i];

		if (!atomic_load_explicit(&e->used, memory_order_relaxed)) {
			uint32_t n = atomic_load_explicit(&h->nused, memory_order_relaxed);

			if (n >= LIMIT_COLLECT_HOSTS) {
				atomic_store_explicit(&h->dropped,
				    atomic_load_explicit(&h->dropped, memory_order_relaxed) + 1,
				    memory_order_relaxed);
				return;
			}
			e->tag = tag;
			e->po = po;
			e->addr = *a;
			atomic_store_explicit(&e->bytes, bytes, memory_order_relaxed);
			atomic_store_explicit(&e->packets, packets, memory_order_relaxed);
			atomic_store_explicit(&e->used, 1, memory_order_release);
			h->used[n] = i;
			atomic_store_explicit(&h->nused, n + 1, memory_order_release);
			return;
		}
		if (e->tag == tag && e->po == po && ipaddr_equal(&e->addr, a)) {
			atomic_store_explicit(&e->bytes,
			    atomic_load_explicit(&e->bytes, memory_order_relaxed) + bytes,
			    memory_order_relaxed);
			atomic_store_explicit(&e->packets,
			    atomic_load_explicit(&e->packets, memory_order_relaxed) + packets,
			    memory_order_relaxed);
			return;
		}
		i = (i + 1) & HOST_MASK;	/* the table is never more than half full */
	}
}

static void
host_tab_clear(struct host_tab *h)
{
	uint32_t n = atomic_load_explicit(&h->nused, memory_order_relaxed);

	for (uint32_t k = 0; k < n; k++)
		atomic_store_explicit(&h->e[h->used[k]].used, 0, memory_order_relaxed);
	atomic_store_explicit(&h->nused, 0, memory_order_release);
	atomic_store_explicit(&h->dropped, 0, memory_order_relaxed);
}

/* Start a batch: follow the interval epoch and pin the current lpm. */
static const struct lpm *
shard_enter(struct counters_shard *s)
{
	struct counters *c = s->c;
	uint32_t e = atomic_load_explicit(&c->epoch, memory_order_acquire);
	const struct lpm *l;

	if (e != s->epoch_local) {
		host_tab_clear(&s->hosts[e & 1]);
		atomic_store_explicit(&s->obs[e & 1].n, 0, memory_order_release);
		s->epoch_local = e;
		atomic_store_explicit(&s->epoch_seen, e, memory_order_release);
	}
	/* Publish what we use, then make sure it is still current. */
	do {
		l = atomic_load(&c->lpm);
		atomic_store(&s->lpm_in_use, l);
	} while (l != atomic_load(&c->lpm));
	return l;
}

static void
scaled(const struct flow_rec *r, uint64_t v[CNT__COUNT])
{
	uint64_t scale = r->sampling ? r->sampling : 1;

	v[CNT_BYTES] = r->bytes * scale;
	v[CNT_PACKETS] = r->packets * scale;
	v[CNT_FLOWS] = (r->flags & FLOWREC_PACKET) ? 0 : scale;
	v[CNT_SYNS] = (uint64_t)r->syns * scale;
	v[CNT_FRAGS] = (r->flags & FLOWREC_FRAG) ? v[CNT_PACKETS] : 0;
}

/*
 * Sample one inbound record of PO po now and then. The gap between samples
 * is drawn from 1..2*COUNTERS_OBS_EVERY-1 so periodic traffic cannot hide
 * in step with it. A full buffer skips the sample: a flood costs nothing.
 */
static void
obs_sample(struct counters_shard *s, uint32_t po, uint8_t proto, const struct flow_rec *r,
    const uint64_t v[CNT__COUNT])
{
	struct obs_buf *b;
	uint32_t n;

	if (--s->obs_countdown != 0)
		return;
	s->obs_rng ^= s->obs_rng << 13;
	s->obs_rng ^= s->obs_rng >> 17;
	s->obs_rng ^= s->obs_rng << 5;
	s->obs_countdown = 1 + s->obs_rng % (2 * COUNTERS_OBS_EVERY - 1);
	b = &s->obs[s->epoch_local & 1];
	n = atomic_load_explicit(&b->n, memory_order_relaxed);
	if (n >= LIMIT_COLLECT_OBS)
		return;
	b->o[n] = (struct counters_obs){ .po = po, .proto = proto, .src = r->src, .dst = r->dst,
		.sport = r->sport, .dport = r->dport, .bytes = v[CNT_BYTES],
		.packets = v[CNT_PACKETS] };
	atomic_store_explicit(&b->n, n + 1, memory_order_release);
}

/* Where one record lands; computed for a whole chunk before any add. */
struct add_plan {
	uint32_t din, sout;	/* PO ids or >= max_pos */
	uint32_t host;		/* hash of (din, destination): tag and first slot */
	uint8_t proto;
};

#define ADD_CHUNK 32u

/*
 * Two passes per chunk: look up and prefetch every counter line and host
 * slot the chunk will touch, then add. With 100k POs the counters are tens
 * of MiB, so each record is a cache miss; overlapping them is what makes
 * the add path fast.
 */
static void
plan_chunk(const struct counters_shard *s, const struct lpm *l, const struct flow_rec *recs,
    unsigned n, struct add_plan *plan)
{
	const struct counters *c = s->c;
	const struct host_tab *h = &s->hosts[s->epoch_local & 1];

	for (unsigned i = 0; i < n; i++) {
		const struct flow_rec *r = &recs[i];
		struct add_plan *p = &plan[i];

		p->proto = (uint8_t)counters_proto_class(r->proto);
		p->din = lookup(l, &r->dst);
		p->sout = lookup(l, &r->src);
		if (p->din < c->max_pos) {
			p->host = ipaddr_hash(&r->dst, p->din);
			__builtin_prefetch(&s->po[key_index(p->din, DIR_IN, p->proto)], 1);
			__builtin_prefetch(&h->e[p->host & HOST_MASK], 1);
		}
		if (p->sout < c->max_pos)
			__builtin_prefetch(&s->po[key_index(p->sout, DIR_OUT, p->proto)], 1);
	}
}

void
counters_add(struct counters_shard *s, const struct flow_rec *recs, unsigned n)
{
	struct counters *c = s->c;
	const struct lpm *l = shard_enter(s);
	struct host_tab *h = &s->hosts[s->epoch_local & 1];
	struct add_plan plan[ADD_CHUNK];

	for (unsigned base = 0; base < n; base += ADD_CHUNK) {
		unsigned m = n - base < ADD_CHUNK ? n - base : ADD_CHUNK;

		plan_chunk(s, l, recs + base, m, plan);
		for (unsigned i = 0; i < m; i++) {
			const struct flow_rec *r = &recs[base + i];
			const struct add_plan *p = &plan[i];
			unsigned locdir = DIR_IN;
			uint64_t v[CNT__COUNT];

			scaled(r, v);
			if (p->din < c->max_pos) {
				cnt_add(&s->po[key_index(p->din, DIR_IN, p->proto)], v);
				host_add(h, p->host, p->din, &r->dst, v[CNT_BYTES], v[CNT_PACKETS]);
				obs_sample(s, p->din, p->proto, r, v);
			}
			if (p->sout < c->max_pos) {
				cnt_add(&s->po[key_index(p->sout, DIR_OUT, p->proto)], v);
				if (p->din >= c->max_pos)
					locdir = DIR_OUT;
			}
			if (p->din >= c->max_pos && p->sout >= c->max_pos)
				cnt_add(s->unmatched, v);
			if (r->location < c->max_loc)
				cnt_add(&s->loc[key_index(r->location, locdir, p->proto)], v);
		}
	}
	atomic_store_explicit(&s->lpm_in_use, NULL, memory_order_release);
}

void
counters_sink(void *shard, const struct flow_rec *recs, unsigned n)
{
	counters_add(shard, recs, n);
}

/* ---- reader side ---- */

static uint64_t
shard_sum(const struct counters *c, bool po, size_t idx)
{
	uint64_t sum = 0;

	for (unsigned i = 0; i < c->nshards; i++) {
		const cnt_t *base = po ? c->shards[i].po : c->shards[i].loc;

		sum += atomic_load_explicit(&base[idx], memory_order_relaxed);
	}
	return sum;
}

static void
ema_update(float *ema, double rate, const double alpha[NEMA])
{
	for (unsigned w = 0; w < NEMA; w++) {
		double e = ema[w];

		e += alpha[w] * (rate - e);
		/* Let idle keys fall to exactly zero so their pages stay untouched. */
		ema[w] = e < 1e-3 ? 0.0f : (float)e;
	}
}

/* Sum one (key, combo) over the shards into the view; true if it changed. */
static bool
view_update(struct counters *c, struct cnt_view *v, bool po, size_t idx, const double alpha[NEMA])
{
	bool busy = false;

	for (unsigned k = 0; k < CNT__COUNT; k++) {
		uint64_t sum = shard_sum(c, po, idx + k);
		uint64_t d = sum - v->total[idx + k];
		float *ema = &v->ema[(idx + k) * NEMA];

		if (d == 0 && v->last[idx + k] == 0 && ema[0] == 0.0f && ema[1] == 0.0f)
			continue;
		busy = true;
		v->total[idx + k] = sum;
		v->last[idx + k] = d;
		ema_update(ema, (double)d / c->interval_s, alpha);
	}
	return busy;
}

static void
emit(const struct counters *c, const struct cnt_view *v, uint32_t po, unsigned dir,
    unsigned proto, uint64_t now_ns, counters_reading_fn fn, void *ctx)
{
	size_t idx = key_index(po, dir, proto);
	struct reading r = {
		.time_ns = now_ns,
		.interval_ns = (uint64_t)(c->interval_s * 1e9),
		.po_id = po,
		.proto = (uint8_t)proto,
		.dir = (uint8_t)dir,
		.bytes = v->last[idx + CNT_BYTES],
		.packets = v->last[idx + CNT_PACKETS],
		.flows = v->last[idx + CNT_FLOWS],
		.syns = v->last[idx + CNT_SYNS],
		.frags = v->last[idx + CNT_FRAGS],
	};

	fn(ctx, &r);
}

static void
merge_clear(struct counters *c)
{
	for (uint32_t k = 0; k < c->nmh; k++)
		c->mh[c->mh_used[k]].used = false;
	c->nmh = 0;
	c->hosts_dropped = 0;
}

static void
merge_one(struct counters *c, const struct host_ent *e)
{
	uint32_t i = ipaddr_hash(&e->addr, e->po) & HOST_MASK;
	uint64_t bytes = atomic_load_explicit(&e->bytes, memory_order_relaxed);
	uint64_t packets = atomic_load_explicit(&e->packets, memory_order_relaxed);

	for (;;) {
		struct merged_host *m = &c->mh[i];

		if (!m->used) {
			if (c->nmh >= LIMIT_COLLECT_HOSTS) {
				c->hosts_dropped++;
				return;
			}
			*m = (struct merged_host){ true, e->po, e->addr, bytes, packets };
			c->mh_used[c->nmh++] = i;
			return;
		}
		if (m->po == e->po && ipaddr_equal(&m->addr, &e->addr)) {
			m->bytes += bytes;
			m->packets += packets;
			return;
		}
		i = (i + 1) & HOST_MASK;
	}
}

void
counters_set_observer(struct counters *c, counters_obs_fn fn, void *ctx)
{
	c->obs_fn = fn;
	c->obs_ctx = ctx;
}

/*
 * Did shard sh write its epoch-`epoch` tables? It did if it saw that epoch,
 * or has just moved on to the next one (between the epoch bump and this
 * read); those tables are then intact until it enters the epoch after.
 * Otherwise it was idle all interval and the tables hold older data.
 */
static bool
shard_wrote_epoch(const struct counters_shard *sh, uint32_t epoch)
{
	uint32_t seen = atomic_load_explicit(&sh->epoch_seen, memory_order_acquire);

	return seen == epoch || seen == epoch + 1;
}

/* Hand the samples the shards took during interval `epoch` to the observer. */
static void
deliver_obs(struct counters *c, uint32_t epoch)
{
	if (c->obs_fn == NULL)
		return;
	for (unsigned s = 0; s < c->nshards; s++) {
		const struct counters_shard *sh = &c->shards[s];
		const struct obs_buf *b = &sh->obs[epoch & 1];
		uint32_t n;

		if (!shard_wrote_epoch(sh, epoch))
			continue;	/* idle all interval: its buffer is stale */
		n = atomic_load_explicit(&b->n, memory_order_acquire);
		for (uint32_t k = 0; k < n && k < LIMIT_COLLECT_OBS; k++)
			c->obs_fn(c->obs_ctx, &b->o[k]);
	}
}

/* Merge the host tables the shards filled during interval `epoch`. */
static void
merge_hosts(struct counters *c, uint32_t epoch)
{
	merge_clear(c);
	for (unsigned s = 0; s < c->nshards; s++) {
		struct counters_shard *sh = &c->shards[s];
		const struct host_tab *h = &sh->hosts[epoch & 1];
		uint32_t n;

		if (!shard_wrote_epoch(sh, epoch))
			continue;	/* idle all interval: its table is stale */
		n = atomic_load_explicit(&h->nused, memory_order_acquire);
		c->hosts_dropped += atomic_load_explicit(&h->dropped, memory_order_relaxed);
		for (uint32_t k = 0; k < n; k++) {
			const struct host_ent *e = &h->e[h->used[k]];

			if (atomic_load_explicit(&e->used, memory_order_acquire))
				merge_one(c, e);
		}
	}
}

void
counters_tick(struct counters *c, uint64_t now_ns, counters_reading_fn fn, void *ctx)
{
	uint32_t epoch;
	double alpha[NEMA];

	if (!c->started || now_ns <= c->last_tick_ns) {
		c->started = true;
		c->last_tick_ns = now_ns;
		return;
	}
	c->interval_s = (double)(now_ns - c->last_tick_ns) / 1e9;
	c->last_tick_ns = now_ns;
	for (unsigned w = 0; w < NEMA; w++)
		alpha[w] = 1.0 - exp(-c->interval_s / ema_window_s[w]);

	/* Writers move to the other host table; read the one they leave. */
	epoch = atomic_fetch_add(&c->epoch, 1);
	merge_hosts(c, epoch);

	for (uint32_t po = 0; po < c->npos; po++)
		for (unsigned dir = 0; dir < DIR__COUNT; dir++)
			for (unsigned proto = 0; proto < PROTO__COUNT; proto++) {
				view_update(c, &c->pov, true, key_index(po, dir, proto), alpha);
				if (fn)
					emit(c, &c->pov, po, dir, proto, now_ns, fn, ctx);
			}
	for (uint32_t loc = 0; loc < c->max_loc; loc++)
		for (unsigned combo = 0; combo < NCOMBO; combo++)
			view_update(c, &c->locv, false, ((size_t)loc * NCOMBO + combo) * CNT__COUNT,
			    alpha);
	/* After the readings: an attack they just declared gets this interval's
	 * samples for its top lists before anyone (mitigation) reads them. */
	deliver_obs(c, epoch);
}

static void
fill_stat(const struct counters *c, const struct cnt_view *v, size_t idx, struct counters_stat *ret)
{
	for (unsigned k = 0; k < CNT__COUNT; k++) {
		ret->total[k] = v->total[idx + k];
		ret->last[k] = v->last[idx + k];
		ret->rate[CNT_W1][k] = c->interval_s > 0 ? (double)ret->last[k] / c->interval_s : 0;
		ret->rate[CNT_W10][k] = v->ema[(idx + k) * NEMA];
		ret->rate[CNT_W60][k] = v->ema[(idx + k) * NEMA + 1];
	}
}

int
counters_po_stat(const struct counters *c, uint32_t po, enum proto_class proto,
    enum direction dir, struct counters_stat *ret)
{
	if (po >= c->max_pos || (unsigned)proto >= PROTO__COUNT || (unsigned)dir >= DIR__COUNT)
		return -ERANGE;
	fill_stat(c, &c->pov, key_index(po, dir, proto), ret);
	return 0;
}

int
counters_location_stat(const struct counters *c, uint32_t loc, enum proto_class proto,
    enum direction dir, struct counters_stat *ret)
{
	if (loc >= c->max_loc || (unsigned)proto >= PROTO__COUNT || (unsigned)dir >= DIR__COUNT)
		return -ERANGE;
	fill_stat(c, &c->locv, key_index(loc, dir, proto), ret);
	return 0;
}

void
counters_unmatched(const struct counters *c, uint64_t *ret_bytes, uint64_t *ret_packets)
{
	uint64_t b = 0, p = 0;

	for (unsigned i = 0; i < c->nshards; i++) {
		b += atomic_load_explicit(&c->shards[i].unmatched[CNT_BYTES], memory_order_relaxed);
		p += atomic_load_explicit(&c->shards[i].unmatched[CNT_PACKETS], memory_order_relaxed);
	}
	*ret_bytes = b;
	*ret_packets = p;
}

/* Keep out[] sorted by bytes, descending; insert h if it makes the cut. */
static size_t
top_insert(struct counters_host *out, size_t n, size_t max, const struct merged_host *m)
{
	size_t i;

	if (n == max && (max == 0 || out[n - 1].bytes >= m->bytes))
		return n;
	if (n < max)
		n++;
	for (i = n - 1; i > 0 && out[i - 1].bytes < m->bytes; i--)
		out[i] = out[i - 1];
	out[i] = (struct counters_host){ m->addr, m->bytes, m->packets };
	return n;
}

size_t
counters_top_hosts(const struct counters *c, uint32_t po, struct counters_host *out, size_t max)
{
	size_t n = 0;

	for (uint32_t k = 0; k < c->nmh; k++) {
		const struct merged_host *m = &c->mh[c->mh_used[k]];

		if (m->po == po)
			n = top_insert(out, n, max, m);
	}
	return n;
}

uint64_t
counters_hosts_dropped(const struct counters *c)
{
	return c->hosts_dropped;
}
