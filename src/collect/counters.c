#include "collect/counters.h"

#include <errno.h>
#include <math.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/hash.h"
#include "common/limits.h"

#define NCOMBO		(DIR__COUNT * PROTO__COUNT)
#define PER_KEY		(NCOMBO * CNT__COUNT)	/* counters per PO or location */
#define NEMA		2			/* 10 s and 60 s */
#define HOST_TAB_SIZE	(2u * LIMIT_COLLECT_HOSTS)	/* power of two */
#define HOST_MASK	(HOST_TAB_SIZE - 1u)
#define HOST_NV		4			/* bytes, packets, flows, syns: CNT_ order */
#define PORT_PROTOS	2			/* TCP and UDP: the classes with ports */
#define PORT_COMBO	(DIR__COUNT * PORT_PROTOS)
#define PER_PORT	(PORT_COMBO * CNT__COUNT)	/* counters per (PO, port) */
#define NO_SLOT		UINT32_MAX
#define RETIRED_PORTS	4			/* replaced port tables awaiting idle shards */
#define FLOW_BITS	LIMIT_COLLECT_FLOW_BITS
#define FLOW_WORDS	(FLOW_BITS / 64u)
#define FLOW_AGE_NS	((uint64_t)COUNTERS_FLOW_AGE_S * 1000000000ull)

_Static_assert(CNT_BYTES == 0 && CNT_PACKETS == 1 && CNT_FLOWS == 2 && CNT_SYNS == 3,
    "host entries keep the first HOST_NV counter fields");
_Static_assert(PROTO_TCP == 0 && PROTO_UDP == 1, "port series are indexed by proto class");

_Static_assert((HOST_TAB_SIZE & HOST_MASK) == 0, "host table size must be a power of two");
_Static_assert((FLOW_BITS & (FLOW_BITS - 1u)) == 0 && FLOW_BITS >= 1024u &&
    FLOW_BITS <= (1u << 24), "the flow bitmap is a power of two; its weights fit 64 bits");

typedef _Atomic uint64_t cnt_t;

/* One (PO, protocol, destination host) of one interval. */
struct host_ent {
	_Atomic uint32_t used;	/* key written before used is set (release) */
	uint32_t tag;		/* the key's full hash: most mismatches end here */
	uint32_t po;
	uint8_t proto;
	struct ipaddr addr;
	cnt_t v[HOST_NV];
} __attribute__((aligned(64)));	/* one cache line: the prefetch in plan_chunk covers it */

_Static_assert(sizeof(struct host_ent) == 64, "a host entry is one cache line");

/* One interval's host breakdown of one shard. */
struct host_tab {
	struct host_ent *e;		/* HOST_TAB_SIZE, line-aligned */
	void *e_mem;			/* what to free */
	uint32_t *used;			/* indices of used entries */
	_Atomic uint32_t nused;
	_Atomic uint64_t dropped;
};

/* One interval's sampled inbound records of one shard. */
struct obs_buf {
	struct counters_obs *o;		/* LIMIT_COLLECT_OBS */
	_Atomic uint32_t n;		/* entries below n are written (release) */
};

/* The reader's view of one key: what was summed at the last tick. */
struct cnt_view {
	uint64_t *total;		/* the shards' sum at the last tick */
	uint64_t *last;			/* change during the last interval */
	float *ema;			/* NEMA per counter */
	/* Port series only (NULL otherwise): the total shown (it survives a
	 * table swap, the shards' sums do not) and what the old table counted
	 * after its last tick, added to the next interval. */
	uint64_t *acc;
	uint64_t *carry;
};

/*
 * Which keys (POs, port slots) were written since the tick last looked: a
 * bit per key and shard. The tick sums only those and the live ones (a
 * rate still decaying, written the tick before), not every key: most are
 * quiet, and summing one means reading every shard's counters and the
 * view's arrays, tens of MiB at 100k POs.
 */
struct dirty_set {
	unsigned nshards;
	_Atomic uint64_t **bits;	/* per shard, set by its writer, taken by the reader */
	void **mem;			/* what to free */
	uint64_t *live;			/* reader side: sum at the next tick */
};

/*
 * The configured ports of the POs, immutable once published. A (PO, port)
 * is a slot; the slots of one PO are contiguous with their ports ascending,
 * so the writer finds one with a bitmap test and a short binary search.
 * Counters live with the table (one array per shard): a new table starts
 * from zero and the reader carries the old one's figures over.
 */
struct port_tab {
	uint32_t npos;			/* ids >= npos have no ports */
	uint64_t *has;			/* bitmap over ids: has ports */
	uint64_t *mask;			/* npos: bit (port & 63) of each of the id's ports */
	uint32_t *off;			/* npos + 1: slots of id are off[id] .. off[id + 1] - 1 */
	uint16_t *port;			/* per slot */
	uint32_t *slot_po;		/* per slot */
	uint32_t nslots;
	unsigned nshards;
	cnt_t **cnt;			/* per shard: nslots * PER_PORT, cumulative */
	struct dirty_set dirty;		/* over slots */
	struct cnt_view view;		/* reader side */
};

/*
 * New flows of a shard's packet input: a packet whose 5-tuple is in neither
 * generation's bitmap starts a flow. Two generations give the aging: the
 * current one turns over (the older is cleared and becomes current) after
 * COUNTERS_FLOW_AGE_S of packet time or when half its bits are set (both
 * are cleared after two quiet ages), so a flow is remembered for one to two
 * ages while it is quiet. A new flow whose bits happen to be set (a
 * collision) is missed; each counted one weighs the inverse of the chance
 * that a new flow is counted (its bit still clear in both generations),
 * which keeps the count unbiased however full the bitmaps are (linear
 * counting with a historic-inverse-probability weight). Only the shard's
 * writer thread touches this.
 */
struct flow_seen {
	uint64_t *bits[2];		/* FLOW_WORDS each */
	uint32_t nset[2];		/* bits set in each */
	unsigned cur;			/* the generation being filled */
	bool started;
	uint64_t gen_start_ns;		/* packet time the current generation began */
	uint64_t rng;			/* xorshift64: rounding of the weights */
	double weight;			/* of a new flow, as of weight_at bits set */
	uint32_t weight_at;		/* nset[cur] + nset[cur ^ 1] when computed; 0: stale */
	struct hash_key key;		/* per table: a sender cannot aim collisions */
};

struct counters_shard {
	struct counters *c;
	unsigned index;
	cnt_t *po;			/* max_pos * PER_KEY, cumulative */
	cnt_t *loc;			/* max_loc * PER_KEY, cumulative */
	cnt_t unmatched[CNT__COUNT];	/* traffic that matched no PO */
	struct host_tab hosts[2];	/* indexed by epoch & 1 */
	struct obs_buf obs[2];		/* indexed by epoch & 1, like hosts */
	uint32_t obs_countdown;		/* records until the next sample */
	uint32_t obs_rng;		/* xorshift state: sample gaps vary */
	struct flow_seen flows;		/* new flows of packet input */
	uint32_t epoch_local;
	_Atomic uint32_t epoch_seen;
	_Atomic(const struct lpm *) lpm_in_use;
	_Atomic(const struct port_tab *) ports_in_use;
} __attribute__((aligned(64)));

struct merged_host {
	bool used;
	uint8_t proto;
	uint32_t po;
	struct ipaddr addr;
	uint64_t v[HOST_NV];
};

struct counters {
	uint32_t max_pos, max_loc, npos;
	unsigned nshards;
	struct counters_shard *shards;
	_Atomic(const struct lpm *) lpm;
	_Atomic(struct port_tab *) ports;	/* NULL: no PO has ports */
	_Atomic uint32_t epoch;

	/* reader side */
	struct cnt_view pov, locv;
	struct dirty_set po_dirty;	/* over PO ids */
	bool started;
	uint64_t last_tick_ns;
	double interval_s;
	struct port_tab *retired[RETIRED_PORTS];
	struct merged_host *mh;		/* HOST_TAB_SIZE */
	uint32_t *mh_used;
	uint32_t nmh;
	uint64_t hosts_dropped;
	uint64_t hkey;			/* host-table hash key, random per process */
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

/* proto is PROTO_TCP or PROTO_UDP (they index the port series). */
static size_t
port_index(uint32_t slot, unsigned dir, unsigned proto)
{
	return ((size_t)slot * PORT_COMBO + dir * PORT_PROTOS + proto) * CNT__COUNT;
}

static inline uint64_t
host_mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	return h ^ (h >> 33);
}

/*
 * The host tables' hash: destination addresses are chosen by whoever sends
 * the traffic, so the mix starts from a 64-bit key drawn per process (an
 * attacker cannot aim a flood of addresses at one run of buckets without
 * it), and probes stop after LIMIT_COLLECT_HOST_PROBES (the entry counts as
 * dropped, which the engine reports). A multiply-xorshift rather than
 * SipHash: this runs per record on the hot path; the key is never exposed.
 */
static inline uint32_t
host_hash(const struct counters *c, const struct ipaddr *a, uint32_t po, unsigned proto)
{
	uint64_t h = host_mix(c->hkey ^ ((uint64_t)(po * PROTO__COUNT + proto) << 8 | a->af));
	uint64_t w;

	if (a->af == AF_INET6) {
		memcpy(&w, a->a, 8);
		h = host_mix(h ^ w);
		memcpy(&w, a->a + 8, 8);
		h = host_mix(h ^ w ^ c->hkey);
	} else {
		uint32_t v4;

		memcpy(&v4, a->a, 4);
		h = host_mix(h ^ v4);
	}
	return (uint32_t)(h ^ h >> 32);
}

/* ---- allocation ---- */

/*
 * n zeroed bytes starting on a cache line; *ret_mem is what to free.
 * calloc's large blocks start 16 bytes into a page, which would split every
 * 64-byte entry over two lines; aligned_alloc + memset would touch every
 * page, calloc leaves the untouched ones unbacked.
 */
static void *
calloc_lines(size_t n, void **ret_mem)
{
	unsigned char *p = calloc(1, n + 63);

	*ret_mem = p;
	return p == NULL ? NULL : p + ((64 - (uintptr_t)p % 64) % 64);
}

static size_t
bitmap_words(size_t nbits)
{
	return (nbits + 63) / 64;
}

static void
dirty_set_free(struct dirty_set *d)
{
	for (unsigned i = 0; d->mem && i < d->nshards; i++)
		free(d->mem[i]);
	free(d->bits);
	free(d->mem);
	free(d->live);
}

/* Bits for nkeys keys (>= 1) and nshards shards. -ENOMEM (free with
   dirty_set_free() either way). */
static int
dirty_set_init(struct dirty_set *d, unsigned nshards, size_t nkeys)
{
	size_t words = bitmap_words(nkeys);

	d->nshards = nshards;
	d->bits = calloc(nshards, sizeof(*d->bits));
	d->mem = calloc(nshards, sizeof(*d->mem));
	d->live = calloc(words, sizeof(*d->live));
	if (d->bits == NULL || d->mem == NULL || d->live == NULL)
		return -ENOMEM;
	/* Whole lines: one shard's bits share no cache line with another's. */
	for (unsigned i = 0; i < nshards; i++)
		if ((d->bits[i] = calloc_lines((words * 8 + 63) / 64 * 64, &d->mem[i])) == NULL)
			return -ENOMEM;
	return 0;
}

static int
host_tab_init(struct host_tab *h)
{
	h->e = calloc_lines(HOST_TAB_SIZE * sizeof(*h->e), &h->e_mem);
	h->used = calloc(LIMIT_COLLECT_HOSTS, sizeof(*h->used));
	return h->e && h->used ? 0 : -ENOMEM;
}

static void
host_tab_free(struct host_tab *h)
{
	free(h->e_mem);
	free(h->used);
}

/* A view of n counters; with_acc for port series. */
static int
view_init(struct cnt_view *v, size_t n, bool with_acc)
{
	size_t k = n ? n : 1;

	v->total = calloc(k, sizeof(*v->total));
	v->last = calloc(k, sizeof(*v->last));
	v->ema = calloc(k * NEMA, sizeof(*v->ema));
	if (with_acc) {
		v->acc = calloc(k, sizeof(*v->acc));
		v->carry = calloc(k, sizeof(*v->carry));
		if (v->acc == NULL || v->carry == NULL)
			return -ENOMEM;
	}
	return v->total && v->last && v->ema ? 0 : -ENOMEM;
}

static void
view_free(struct cnt_view *v)
{
	free(v->total);
	free(v->last);
	free(v->ema);
	free(v->acc);
	free(v->carry);
}

static void
port_tab_free(struct port_tab *pt)
{
	if (pt == NULL)
		return;
	for (unsigned i = 0; pt->cnt && i < pt->nshards; i++)
		free(pt->cnt[i]);
	free(pt->cnt);
	dirty_set_free(&pt->dirty);
	free(pt->has);
	free(pt->mask);
	free(pt->off);
	free(pt->port);
	free(pt->slot_po);
	view_free(&pt->view);
	free(pt);
}

static struct port_tab *
port_tab_new(uint32_t npos, uint32_t nslots, unsigned nshards)
{
	struct port_tab *pt = calloc(1, sizeof(*pt));
	size_t n = nslots ? nslots : 1;

	if (pt == NULL)
		return NULL;
	pt->npos = npos;
	pt->nslots = nslots;
	pt->nshards = nshards;
	pt->has = calloc((npos + 63) / 64 + 1, sizeof(*pt->has));
	pt->mask = calloc((size_t)npos + 1, sizeof(*pt->mask));
	pt->off = calloc((size_t)npos + 1, sizeof(*pt->off));
	pt->port = calloc(n, sizeof(*pt->port));
	pt->slot_po = calloc(n, sizeof(*pt->slot_po));
	pt->cnt = calloc(nshards, sizeof(*pt->cnt));
	if (pt->has == NULL || pt->off == NULL || pt->port == NULL || pt->slot_po == NULL ||
	    pt->cnt == NULL || pt->mask == NULL || dirty_set_init(&pt->dirty, nshards, n) < 0 ||
	    view_init(&pt->view, (size_t)nslots * PER_PORT, true) < 0)
		goto fail;
	for (unsigned i = 0; i < nshards; i++)
		if ((pt->cnt[i] = calloc(n * PER_PORT, sizeof(*pt->cnt[i]))) == NULL)
			goto fail;
	return pt;
fail:
	port_tab_free(pt);
	return NULL;
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
	for (int i = 0; i < 2; i++)
		if ((s->flows.bits[i] = calloc(FLOW_WORDS, sizeof(uint64_t))) == NULL)
			return -ENOMEM;
	if (hash_key_init(&s->flows.key) < 0)
		return -EIO;
	s->flows.rng = (s->flows.key.k0 ^ s->flows.key.k1) | 1u;
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
	free(s->flows.bits[0]);
	free(s->flows.bits[1]);
}

void
counters_free(struct counters *c)
{
	if (c == NULL)
		return;
	for (unsigned i = 0; c->shards && i < c->nshards; i++)
		shard_free(&c->shards[i]);
	free(c->shards);
	port_tab_free(atomic_load(&c->ports));
	for (unsigned i = 0; i < RETIRED_PORTS; i++)
		port_tab_free(c->retired[i]);
	view_free(&c->pov);
	view_free(&c->locv);
	dirty_set_free(&c->po_dirty);
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
	{
		struct hash_key k;

		if (hash_key_init(&k) < 0)
			goto fail;
		c->hkey = k.k0 ^ k.k1;
	}
	c->max_pos = c->npos = max_pos;
	c->max_loc = max_locations;
	c->nshards = nshards;
	c->shards = aligned_alloc(64, sizeof(*c->shards) * nshards);
	if (c->shards == NULL)
		goto fail;
	memset(c->shards, 0, sizeof(*c->shards) * nshards);
	for (unsigned i = 0; i < nshards; i++) {
		c->shards[i].index = i;
		if (shard_init(c, &c->shards[i]) < 0)
			goto fail;
	}
	c->mh = calloc(HOST_TAB_SIZE, sizeof(*c->mh));
	c->mh_used = calloc(LIMIT_COLLECT_HOSTS, sizeof(*c->mh_used));
	if (view_init(&c->pov, (size_t)max_pos * PER_KEY, false) < 0 ||
	    dirty_set_init(&c->po_dirty, nshards, max_pos) < 0 ||
	    view_init(&c->locv, (size_t)max_locations * PER_KEY, false) < 0 ||
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
cnt_add_n(cnt_t *base, const uint64_t *v, unsigned n)
{
	for (unsigned k = 0; k < n; k++)
		if (v[k])
			atomic_store_explicit(&base[k],
			    atomic_load_explicit(&base[k], memory_order_relaxed) + v[k],
			    memory_order_relaxed);
}

static inline void
cnt_add(cnt_t *base, const uint64_t v[CNT__COUNT])
{
	cnt_add_n(base, v, CNT__COUNT);
}

/*
 * Mark slot written, after its counters. A locked instruction only the
 * first time per interval (the reader clears the bits); the reader also
 * sums a slot at the tick after the one that saw its bit, so an add whose
 * store was still in flight when the bit was cleared is still counted.
 */
static inline void
dirty_mark(_Atomic uint64_t *bits, uint32_t slot)
{
	_Atomic uint64_t *w = &bits[slot >> 6];
	uint64_t bit = 1ull << (slot & 63);

	if (!(atomic_load_explicit(w, memory_order_relaxed) & bit))
		atomic_fetch_or_explicit(w, bit, memory_order_release);
}

/*
 * The slot of (po, port) in pt, or NO_SLOT. POs without ports (most) cost
 * one bit test in a bitmap that stays in cache; a port none of the PO's
 * ports shares its low 6 bits with (most ephemeral ports) one more test.
 * The search is branch-free (its loop count depends only on how many ports
 * the PO has): ports of random traffic would mispredict a branchy one.
 */
static inline uint32_t
port_slot(const struct port_tab *pt, uint32_t po, uint16_t port)
{
	const uint16_t *b;
	uint32_t n;

	if (pt == NULL || po >= pt->npos || port == 0 || !((pt->has[po >> 6] >> (po & 63)) & 1) ||
	    !((pt->mask[po] >> (port & 63)) & 1))
		return NO_SLOT;
	b = &pt->port[pt->off[po]];
	n = pt->off[po + 1] - pt->off[po];	/* >= 1: the bit says it has ports */
	while (n > 1) {
		uint32_t half = n / 2;

		b = b[half] <= port ? b + half : b;
		n -= half;
	}
	return *b == port ? (uint32_t)(b - pt->port) : NO_SLOT;
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

/* Add v (its first HOST_NV fields) to the entry for (po, proto, a), whose
   hash is tag. */
static void
host_add(struct host_tab *h, uint32_t tag, uint32_t po, uint8_t proto, const struct ipaddr *a,
    const uint64_t v[CNT__COUNT])
{
	uint32_t i = tag & HOST_MASK;

	for (unsigned probe = 0;; probe++) {
		struct host_ent *e = &h->e[i];

		if (probe == LIMIT_COLLECT_HOST_PROBES) {
			atomic_store_explicit(&h->dropped,
			    atomic_load_explicit(&h->dropped, memory_order_relaxed) + 1,
			    memory_order_relaxed);
			return;
		}
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
			e->proto = proto;
			e->addr = *a;
			for (unsigned k = 0; k < HOST_NV; k++)
				atomic_store_explicit(&e->v[k], v[k], memory_order_relaxed);
			atomic_store_explicit(&e->used, 1, memory_order_release);
			h->used[n] = i;
			atomic_store_explicit(&h->nused, n + 1, memory_order_release);
			return;
		}
		if (e->tag == tag && e->po == po && e->proto == proto && ipaddr_equal(&e->addr, a)) {
			cnt_add_n(e->v, v, HOST_NV);
			return;
		}
		i = (i + 1) & HOST_MASK;
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

/* Start a batch: follow the interval epoch and pin the current lpm and
   port table. */
static const struct lpm *
shard_enter(struct counters_shard *s, const struct port_tab **ret_pt)
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
	do {
		*ret_pt = atomic_load(&c->ports);
		atomic_store(&s->ports_in_use, *ret_pt);
	} while (*ret_pt != atomic_load(&c->ports));
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

static void
flow_turn_over(struct flow_seen *f, uint64_t now_ns)
{
	f->cur ^= 1u;
	memset(f->bits[f->cur], 0, FLOW_WORDS * sizeof(uint64_t));
	f->nset[f->cur] = 0;
	f->gen_start_ns = now_ns;
	f->weight_at = 0;
}

/* Bits set between two computations of a new flow's weight: it moves by
   at most 256 / 2^18 (0.1 %) meanwhile, and a divide per packet of a
   spoofed flood costs more than its hash. */
#define FLOW_WEIGHT_EVERY 256u

/*
 * The flow of a packet is its ordered 5-tuple, one per direction, as a
 * flow exporter's. Hashed with the host tables' keyed multiply-xorshift
 * (a 128-bit key from hash_key_init() per shard), not SipHash: this runs on
 * every captured packet, where SipHash-2-4 cost 17 % of the pcap path's
 * throughput in the collect benchmark. The bitmap and the key are never
 * exposed, so a sender cannot aim tuples at set bits; a hidden flow only
 * lowers the count by one weight.
 */
static inline uint64_t
flow_hash(const struct flow_seen *f, const struct flow_rec *r)
{
	uint64_t w0, w1, h;

	w1 = (uint64_t)r->sport | (uint64_t)r->dport << 16 | (uint64_t)r->proto << 32 |
	    (uint64_t)r->src.af << 40;
	if (r->src.af == AF_INET6) {
		uint64_t a[4];

		memcpy(a, r->src.a, 16);
		memcpy(a + 2, r->dst.a, 16);
		h = host_mix(f->key.k0 ^ a[0]);
		h = host_mix(h ^ a[1]);
		h = host_mix(h ^ a[2] ^ f->key.k1);
		w0 = a[3];
	} else {
		uint32_t s4, d4;

		memcpy(&s4, r->src.a, 4);
		memcpy(&d4, r->dst.a, 4);
		h = f->key.k0;
		w0 = (uint64_t)s4 | (uint64_t)d4 << 32;
	}
	h = host_mix(h ^ w0);
	return host_mix(h ^ w1 ^ f->key.k1);
}

static inline size_t
flow_word(uint64_t h)
{
	return (size_t)(h >> 6) & (FLOW_WORDS - 1);
}

/*
 * The new flows one unsampled packet, whose flow_hash() is h, stands for:
 * 0 for a packet of a flow seen lately, else the weight of a new one (1
 * while the bitmaps are nearly empty, up to 4 when both are half full).
 */
static uint64_t
flow_new(struct flow_seen *f, const struct flow_rec *r, uint64_t h)
{
	uint64_t bit, w, num = (uint64_t)FLOW_BITS * FLOW_BITS;
	uint32_t set;
	size_t word;
	double wf;
	unsigned prev;

	if (!f->started) {
		f->started = true;
		f->gen_start_ns = r->time_ns;
	} else if (r->time_ns >= f->gen_start_ns + 2 * FLOW_AGE_NS ||
	    r->time_ns + FLOW_AGE_NS < f->gen_start_ns) {
		/* Quiet for two ages (or the clock stepped back): forget all. */
		flow_turn_over(f, r->time_ns);
		flow_turn_over(f, r->time_ns);
	} else if (r->time_ns >= f->gen_start_ns + FLOW_AGE_NS || f->nset[f->cur] >= FLOW_BITS / 2) {
		flow_turn_over(f, r->time_ns);
	}
	bit = 1ull << (h & 63);
	word = flow_word(h);
	prev = f->cur ^ 1u;
	if (f->bits[f->cur][word] & bit)
		return 0;
	f->bits[f->cur][word] |= bit;
	f->nset[f->cur]++;
	if (f->bits[prev][word] & bit)
		return 0;	/* seen in the older generation: still the same flow */
	set = f->nset[f->cur] + f->nset[prev] - 1;	/* before this flow's bit */
	if (set == 0)
		return 1;
	if (f->weight_at == 0 || set - f->weight_at >= FLOW_WEIGHT_EVERY) {
		/* 1 / the chance a new flow is counted: both its bits clear */
		uint64_t d = (uint64_t)(FLOW_BITS - (f->nset[f->cur] - 1)) *
		    (FLOW_BITS - f->nset[prev]);

		f->weight = (double)num / (double)d;
		f->weight_at = set;
	}
	/* Rounded at random so the sum keeps the fraction. */
	wf = f->weight;
	w = (uint64_t)wf;
	f->rng ^= f->rng << 13;
	f->rng ^= f->rng >> 7;
	f->rng ^= f->rng << 17;
	if ((double)(f->rng >> 11) * 0x1p-53 < wf - (double)w)
		w++;
	return w;
}

/* Where one record lands; computed for a whole chunk before any add. */
struct add_plan {
	uint32_t din, sout;	/* PO ids or >= max_pos */
	uint32_t pin, pout;	/* port slots (destination / source port) or NO_SLOT */
	uint32_t host;		/* hash of (din, proto, destination): tag and first slot */
	uint8_t proto;
	bool flow;		/* an unsampled packet of a PO: counts new flows */
	uint64_t flow_hash;	/* its flow_hash() */
};

#define ADD_CHUNK 32u

/* The CNT__COUNT counters of one (key, direction, protocol) are 40 bytes:
   half of them cross a cache line, so fetch both ends. */
static inline void
prefetch_group(const cnt_t *g)
{
	__builtin_prefetch(g, 1);
	__builtin_prefetch(g + CNT__COUNT - 1, 1);
}

/*
 * Two passes per chunk: look up and prefetch every counter line and host
 * slot the chunk will touch, then add. With 100k POs the counters are tens
 * of MiB, so each record is a cache miss; overlapping them is what makes
 * the add path fast.
 */
static void
plan_chunk(const struct counters_shard *s, const struct lpm *l, const struct port_tab *pt,
    const struct flow_rec *recs, unsigned n, struct add_plan *plan)
{
	const struct counters *c = s->c;
	const struct host_tab *h = &s->hosts[s->epoch_local & 1];

	for (unsigned i = 0; i < n; i++) {
		const struct flow_rec *r = &recs[i];
		struct add_plan *p = &plan[i];
		bool ported;

		p->proto = (uint8_t)counters_proto_class(r->proto);
		ported = pt != NULL && p->proto < PORT_PROTOS;
		p->din = lookup(l, &r->dst);
		p->sout = lookup(l, &r->src);
		p->pin = p->pout = NO_SLOT;
		if (p->din < c->max_pos) {
			p->host = host_hash(c, &r->dst, p->din, p->proto);
			prefetch_group(&s->po[key_index(p->din, DIR_IN, p->proto)]);
			__builtin_prefetch(&h->e[p->host & HOST_MASK], 1);
			if (ported && (p->pin = port_slot(pt, p->din, r->dport)) != NO_SLOT)
				prefetch_group(&pt->cnt[s->index][port_index(p->pin, DIR_IN,
				    p->proto)]);
		}
		p->flow = (r->flags & FLOWREC_PACKET) && r->sampling <= 1 &&
		    (p->din < c->max_pos || p->sout < c->max_pos);
		if (p->flow) {
			size_t w;

			p->flow_hash = flow_hash(&s->flows, r);
			w = flow_word(p->flow_hash);
			__builtin_prefetch(&s->flows.bits[0][w]);
			__builtin_prefetch(&s->flows.bits[1][w]);
		}
		if (p->sout < c->max_pos) {
			prefetch_group(&s->po[key_index(p->sout, DIR_OUT, p->proto)]);
			if (ported && (p->pout = port_slot(pt, p->sout, r->sport)) != NO_SLOT)
				prefetch_group(&pt->cnt[s->index][port_index(p->pout, DIR_OUT,
				    p->proto)]);
		}
	}
}

void
counters_add(struct counters_shard *s, const struct flow_rec *recs, unsigned n)
{
	struct counters *c = s->c;
	const struct port_tab *pt;
	const struct lpm *l = shard_enter(s, &pt);
	struct host_tab *h = &s->hosts[s->epoch_local & 1];
	cnt_t *pcnt = pt != NULL ? pt->cnt[s->index] : NULL;
	_Atomic uint64_t *pdirty = pt != NULL ? pt->dirty.bits[s->index] : NULL;
	_Atomic uint64_t *podirty = c->po_dirty.bits[s->index];
	struct add_plan plan[ADD_CHUNK];

	for (unsigned base = 0; base < n; base += ADD_CHUNK) {
		unsigned m = n - base < ADD_CHUNK ? n - base : ADD_CHUNK;

		plan_chunk(s, l, pt, recs + base, m, plan);
		for (unsigned i = 0; i < m; i++) {
			const struct flow_rec *r = &recs[base + i];
			const struct add_plan *p = &plan[i];
			unsigned locdir = DIR_IN;
			uint64_t v[CNT__COUNT];

			scaled(r, v);
			if (p->flow)
				v[CNT_FLOWS] = flow_new(&s->flows, r, p->flow_hash);
			if (p->din < c->max_pos) {
				cnt_add(&s->po[key_index(p->din, DIR_IN, p->proto)], v);
				dirty_mark(podirty, p->din);
				if (p->pin != NO_SLOT) {
					cnt_add(&pcnt[port_index(p->pin, DIR_IN, p->proto)], v);
					dirty_mark(pdirty, p->pin);
				}
				host_add(h, p->host, p->din, p->proto, &r->dst, v);
				obs_sample(s, p->din, p->proto, r, v);
			}
			if (p->sout < c->max_pos) {
				cnt_add(&s->po[key_index(p->sout, DIR_OUT, p->proto)], v);
				dirty_mark(podirty, p->sout);
				if (p->pout != NO_SLOT) {
					cnt_add(&pcnt[port_index(p->pout, DIR_OUT, p->proto)], v);
					dirty_mark(pdirty, p->pout);
				}
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
	atomic_store_explicit(&s->ports_in_use, NULL, memory_order_release);
}

void
counters_sink(void *shard, const struct flow_rec *recs, unsigned n)
{
	counters_add(shard, recs, n);
}

/* ---- reader side ---- */

/* What a view sums: the POs', the locations' or a port table's counters. */
struct cnt_src {
	bool po;
	const struct port_tab *pt;	/* not NULL: port series */
};

static uint64_t
shard_sum(const struct counters *c, struct cnt_src src, size_t idx)
{
	uint64_t sum = 0;

	for (unsigned i = 0; i < c->nshards; i++) {
		const cnt_t *base = src.pt ? src.pt->cnt[i] : src.po ? c->shards[i].po : c->shards[i].loc;

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
view_update(struct counters *c, struct cnt_view *v, struct cnt_src src, size_t idx,
    const double alpha[NEMA])
{
	bool busy = false;

	for (unsigned k = 0; k < CNT__COUNT; k++) {
		uint64_t sum = shard_sum(c, src, idx + k);
		uint64_t d = sum - v->total[idx + k];
		float *ema = &v->ema[(idx + k) * NEMA];

		/* Written only when set: a store per counter per tick would
		 * dirty the whole carry array every interval. */
		if (v->carry != NULL && v->carry[idx + k] != 0) {
			d += v->carry[idx + k];
			v->carry[idx + k] = 0;
		}
		if (d == 0 && v->last[idx + k] == 0 && ema[0] == 0.0f && ema[1] == 0.0f)
			continue;
		busy = true;
		v->total[idx + k] = sum;
		v->last[idx + k] = d;
		if (v->acc != NULL)
			v->acc[idx + k] += d;
		ema_update(ema, (double)d / c->interval_s, alpha);
	}
	return busy;
}

/* The reading of the counters at idx of view v (NULL: an idle series, all zero). */
static void
emit(const struct counters *c, const struct cnt_view *v, size_t idx, uint32_t po, unsigned dir,
    unsigned proto, uint16_t port, uint64_t now_ns, counters_reading_fn fn, void *ctx)
{
	struct reading r = {
		.time_ns = now_ns,
		.interval_ns = (uint64_t)(c->interval_s * 1e9),
		.po_id = po,
		.proto = (uint8_t)proto,
		.dir = (uint8_t)dir,
		.port = port,
	};

	if (v != NULL) {
		r.bytes = v->last[idx + CNT_BYTES];
		r.packets = v->last[idx + CNT_PACKETS];
		r.flows = v->last[idx + CNT_FLOWS];
		r.syns = v->last[idx + CNT_SYNS];
		r.frags = v->last[idx + CNT_FRAGS];
	}
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
	uint32_t i = host_hash(c, &e->addr, e->po, e->proto) & HOST_MASK;
	uint64_t v[HOST_NV];

	for (unsigned k = 0; k < HOST_NV; k++)
		v[k] = atomic_load_explicit(&e->v[k], memory_order_relaxed);
	for (unsigned probe = 0;; probe++) {
		struct merged_host *m = &c->mh[i];

		if (probe == LIMIT_COLLECT_HOST_PROBES) {
			c->hosts_dropped++;
			return;
		}
		if (!m->used) {
			if (c->nmh >= LIMIT_COLLECT_HOSTS) {
				c->hosts_dropped++;
				return;
			}
			*m = (struct merged_host){ .used = true, .proto = e->proto, .po = e->po,
				.addr = e->addr };
			memcpy(m->v, v, sizeof(v));
			c->mh_used[c->nmh++] = i;
			return;
		}
		if (m->po == e->po && m->proto == e->proto && ipaddr_equal(&m->addr, &e->addr)) {
			for (unsigned k = 0; k < HOST_NV; k++)
				m->v[k] += v[k];
			return;
		}
		i = (i + 1) & HOST_MASK;
	}
}

/* The merged entry of (po, proto, a), or NULL. */
static const struct merged_host *
merged_find(const struct counters *c, uint32_t po, unsigned proto, const struct ipaddr *a)
{
	uint32_t i = host_hash(c, a, po, proto) & HOST_MASK;

	for (unsigned probe = 0; probe < LIMIT_COLLECT_HOST_PROBES; probe++) {
		const struct merged_host *m = &c->mh[i];

		if (!m->used)
			return NULL;
		if (m->po == po && m->proto == proto && ipaddr_equal(&m->addr, a))
			return m;
		i = (i + 1) & HOST_MASK;
	}
	return NULL;
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

/* The keys of bitmap word w written since the last tick, by any shard
   (taking their bits). */
static uint64_t
dirty_take(struct dirty_set *d, size_t w)
{
	uint64_t bits = 0;

	for (unsigned i = 0; i < d->nshards; i++)
		if (atomic_load_explicit(&d->bits[i][w], memory_order_relaxed) != 0)
			bits |= atomic_exchange_explicit(&d->bits[i][w], 0, memory_order_acq_rel);
	return bits;
}

/* One tick's constants. */
struct tick_arg {
	uint64_t now_ns;
	double alpha[NEMA];
	counters_reading_fn fn;
	void *ctx;
};

enum key_tick { KEY_SKIPPED, KEY_IDLE, KEY_BUSY };

/* Sum one key into its view if sum (else it is idle: its readings are
   zero) and emit its readings. KEY_SKIPPED: beyond the npos limit, left
   for later; KEY_BUSY: a series changed or still has a rate to decay. */
typedef enum key_tick (*key_tick_fn)(struct counters *c, uint32_t key, bool sum,
    const struct tick_arg *t);

static enum key_tick
tick_po(struct counters *c, uint32_t po, bool sum, const struct tick_arg *t)
{
	bool busy = false;

	if (po >= c->npos)
		return KEY_SKIPPED;
	for (unsigned dir = 0; dir < DIR__COUNT; dir++)
		for (unsigned proto = 0; proto < PROTO__COUNT; proto++) {
			size_t idx = key_index(po, dir, proto);

			if (sum)
				busy |= view_update(c, &c->pov, (struct cnt_src){ .po = true }, idx,
				    t->alpha);
			if (t->fn)
				emit(c, sum ? &c->pov : NULL, idx, po, dir, proto, 0, t->now_ns, t->fn,
				    t->ctx);
		}
	return busy ? KEY_BUSY : KEY_IDLE;
}

static enum key_tick
tick_port_slot(struct counters *c, uint32_t slot, bool sum, const struct tick_arg *t)
{
	struct port_tab *pt = atomic_load_explicit(&c->ports, memory_order_relaxed);
	bool busy = false;

	if (pt->slot_po[slot] >= c->npos)
		return KEY_SKIPPED;
	for (unsigned dir = 0; dir < DIR__COUNT; dir++)
		for (unsigned proto = 0; proto < PORT_PROTOS; proto++) {
			size_t idx = port_index(slot, dir, proto);

			if (sum)
				busy |= view_update(c, &pt->view, (struct cnt_src){ .pt = pt }, idx,
				    t->alpha);
			if (t->fn)
				emit(c, sum ? &pt->view : NULL, idx, pt->slot_po[slot], dir, proto,
				    pt->port[slot], t->now_ns, t->fn, t->ctx);
		}
	return busy ? KEY_BUSY : KEY_IDLE;
}

/*
 * Keys 0 .. nkeys - 1 in order: sum those written since the last tick or
 * live, emit every one. A key stays live while busy, the tick after it was
 * written (an add whose store was still in flight when its bit was taken
 * is summed then), and while skipped with something to sum.
 */
static void
tick_keys(struct counters *c, struct dirty_set *d, uint32_t nkeys, key_tick_fn fn,
    const struct tick_arg *t)
{
	for (size_t w = 0; w < bitmap_words(nkeys); w++) {
		uint64_t dirty = dirty_take(d, w), todo = dirty | d->live[w], live = 0;
		uint32_t end = nkeys - (uint32_t)w * 64 < 64 ? nkeys - (uint32_t)w * 64 : 64;

		for (uint32_t b = 0; b < end; b++) {
			uint64_t bit = 1ull << b;

			switch (fn(c, (uint32_t)w * 64 + b, (todo & bit) != 0, t)) {
			case KEY_SKIPPED:
				live |= todo & bit;
				break;
			case KEY_BUSY:
				live |= bit;
				break;
			case KEY_IDLE:
				live |= dirty & bit;
				break;
			}
		}
		d->live[w] = live;
	}
}

static bool
ports_idle(const struct counters *c, const struct port_tab *old)
{
	for (unsigned i = 0; i < c->nshards; i++)
		if (atomic_load(&c->shards[i].ports_in_use) == old)
			return false;
	return true;
}

/* Free the replaced port tables no shard uses any more. */
static void
retire_idle_ports(struct counters *c)
{
	for (unsigned i = 0; i < RETIRED_PORTS; i++)
		if (c->retired[i] != NULL && ports_idle(c, c->retired[i])) {
			port_tab_free(c->retired[i]);
			c->retired[i] = NULL;
		}
}

/* Keep old until no shard uses it; with every slot busy, wait for the
 * oldest (a batch takes microseconds). */
static void
retire_ports(struct counters *c, struct port_tab *old)
{
	unsigned i;

	if (old == NULL)
		return;
	retire_idle_ports(c);
	for (i = 0; i < RETIRED_PORTS && c->retired[i] != NULL; i++)
		;
	if (i == RETIRED_PORTS) {
		while (!ports_idle(c, c->retired[0]))
			sched_yield();
		port_tab_free(c->retired[0]);
		i = 0;
	}
	c->retired[i] = old;
}

/* Check the list and count its slots. */
static int
ports_list_check(const struct counters *c, const struct counters_po_ports *list, size_t n,
    uint32_t *ret_nslots)
{
	uint64_t nslots = 0;

	for (size_t i = 0; i < n; i++) {
		const struct counters_po_ports *e = &list[i];

		if (e->po >= c->max_pos || (i > 0 && e->po <= list[i - 1].po) ||
		    e->nports > LIMIT_PO_PORTS)
			return -EINVAL;
		for (size_t k = 0; k < e->nports; k++)
			if (e->ports[k] == 0 || (k > 0 && e->ports[k] <= e->ports[k - 1]))
				return -EINVAL;
		nslots += e->nports;
	}
	if (nslots > UINT32_MAX / PER_PORT)
		return -EINVAL;
	*ret_nslots = (uint32_t)nslots;
	return 0;
}

/* Give the new table's series what the old one had for the same (PO,
 * port): shown totals and rates, and what the shards counted since the
 * last tick (so nothing counted before the swap is lost). */
static void
ports_carry(const struct counters *c, const struct port_tab *old, struct port_tab *pt)
{
	for (uint32_t slot = 0; old != NULL && slot < pt->nslots; slot++) {
		uint32_t os = port_slot(old, pt->slot_po[slot], pt->port[slot]);

		if (os == NO_SLOT)
			continue;
		pt->dirty.live[slot >> 6] |= 1ull << (slot & 63);	/* its carry, last and rates */
		for (unsigned k = 0; k < PER_PORT; k++) {
			size_t ni = (size_t)slot * PER_PORT + k, oi = (size_t)os * PER_PORT + k;

			pt->view.carry[ni] = shard_sum(c, (struct cnt_src){ .pt = old }, oi) -
			    old->view.total[oi] + old->view.carry[oi];
			pt->view.last[ni] = old->view.last[oi];
			pt->view.acc[ni] = old->view.acc[oi];
			memcpy(&pt->view.ema[ni * NEMA], &old->view.ema[oi * NEMA],
			    NEMA * sizeof(float));
		}
	}
}

int
counters_set_ports(struct counters *c, const struct counters_po_ports *list, size_t n)
{
	struct port_tab *pt, *old = atomic_load(&c->ports);
	uint32_t nslots, slot = 0;
	int r;

	if ((r = ports_list_check(c, list, n, &nslots)) < 0)
		return r;
	if (nslots == 0) {
		atomic_store(&c->ports, NULL);
		retire_ports(c, old);
		return 0;
	}
	pt = port_tab_new(list[n - 1].po + 1, nslots, c->nshards);
	if (pt == NULL)
		return -ENOMEM;
	for (size_t i = 0, id = 0; i < n; i++) {
		const struct counters_po_ports *e = &list[i];

		for (; id <= e->po; id++)
			pt->off[id] = slot;
		for (size_t k = 0; k < e->nports; k++) {
			pt->mask[e->po] |= 1ull << (e->ports[k] & 63);
			pt->port[slot] = e->ports[k];
			pt->slot_po[slot++] = e->po;
		}
		if (e->nports > 0)
			pt->has[e->po >> 6] |= 1ull << (e->po & 63);
	}
	pt->off[pt->npos] = slot;
	ports_carry(c, old, pt);
	atomic_store(&c->ports, pt);
	retire_ports(c, old);
	return 0;
}

void
counters_tick(struct counters *c, uint64_t now_ns, counters_reading_fn fn, void *ctx)
{
	uint32_t epoch;
	struct tick_arg t = { .now_ns = now_ns, .fn = fn, .ctx = ctx };
	struct port_tab *pt = atomic_load_explicit(&c->ports, memory_order_relaxed);

	if (!c->started || now_ns <= c->last_tick_ns) {
		c->started = true;
		c->last_tick_ns = now_ns;
		return;
	}
	c->interval_s = (double)(now_ns - c->last_tick_ns) / 1e9;
	c->last_tick_ns = now_ns;
	for (unsigned w = 0; w < NEMA; w++)
		t.alpha[w] = 1.0 - exp(-c->interval_s / ema_window_s[w]);

	/* Writers move to the other host table; read the one they leave. */
	epoch = atomic_fetch_add(&c->epoch, 1);
	merge_hosts(c, epoch);

	tick_keys(c, &c->po_dirty, c->max_pos, tick_po, &t);
	if (pt != NULL)
		tick_keys(c, &pt->dirty, pt->nslots, tick_port_slot, &t);
	for (uint32_t loc = 0; loc < c->max_loc; loc++)
		for (unsigned combo = 0; combo < NCOMBO; combo++)
			view_update(c, &c->locv, (struct cnt_src){ .po = false },
			    ((size_t)loc * NCOMBO + combo) * CNT__COUNT, t.alpha);
	retire_idle_ports(c);
	/* After the readings: an attack they just declared gets this interval's
	 * samples for its top lists before anyone (mitigation) reads them. */
	deliver_obs(c, epoch);
}

static void
fill_stat(const struct counters *c, const struct cnt_view *v, size_t idx, struct counters_stat *ret)
{
	for (unsigned k = 0; k < CNT__COUNT; k++) {
		ret->total[k] = v->acc != NULL ? v->acc[idx + k] : v->total[idx + k];
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

int
counters_port_stat(const struct counters *c, uint32_t po, enum proto_class proto,
    enum direction dir, uint16_t port, struct counters_stat *ret)
{
	const struct port_tab *pt = atomic_load_explicit(&c->ports, memory_order_relaxed);
	uint32_t slot;

	if (po >= c->max_pos || (unsigned)proto >= PROTO__COUNT || (unsigned)dir >= DIR__COUNT)
		return -ERANGE;
	if ((unsigned)proto >= PORT_PROTOS || (slot = port_slot(pt, po, port)) == NO_SLOT)
		return -ENOENT;
	fill_stat(c, &pt->view, port_index(slot, dir, proto), ret);
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

static struct counters_host
host_of(const struct merged_host *m)
{
	return (struct counters_host){ .addr = m->addr, .bytes = m->v[CNT_BYTES],
		.packets = m->v[CNT_PACKETS], .flows = m->v[CNT_FLOWS], .syns = m->v[CNT_SYNS] };
}

/* Keep out[] sorted by bytes, descending; insert h if it makes the cut. */
static size_t
top_insert(struct counters_host *out, size_t n, size_t max, const struct counters_host *h)
{
	size_t i;

	if (n == max && (max == 0 || out[n - 1].bytes >= h->bytes))
		return n;
	if (n < max)
		n++;
	for (i = n - 1; i > 0 && out[i - 1].bytes < h->bytes; i--)
		out[i] = out[i - 1];
	out[i] = *h;
	return n;
}

/* A host's figures over all protocols, from the entry m of its first
 * protocol; false if m is not that entry (the host is summed elsewhere). */
static bool
host_all_protos(const struct counters *c, const struct merged_host *m, struct counters_host *ret)
{
	*ret = host_of(m);
	for (unsigned p = 0; p < m->proto; p++)
		if (merged_find(c, m->po, p, &m->addr) != NULL)
			return false;
	for (unsigned p = m->proto + 1u; p < PROTO__COUNT; p++) {
		const struct merged_host *o = merged_find(c, m->po, p, &m->addr);

		if (o == NULL)
			continue;
		ret->bytes += o->v[CNT_BYTES];
		ret->packets += o->v[CNT_PACKETS];
		ret->flows += o->v[CNT_FLOWS];
		ret->syns += o->v[CNT_SYNS];
	}
	return true;
}

size_t
counters_top_hosts(const struct counters *c, uint32_t po, struct counters_host *out, size_t max)
{
	size_t n = 0;

	for (uint32_t k = 0; k < c->nmh; k++) {
		const struct merged_host *m = &c->mh[c->mh_used[k]];
		struct counters_host h;

		if (m->po == po && host_all_protos(c, m, &h))
			n = top_insert(out, n, max, &h);
	}
	return n;
}

size_t
counters_top_hosts_proto(const struct counters *c, uint32_t po, enum proto_class proto,
    struct counters_host *out, size_t max)
{
	size_t n = 0;

	for (uint32_t k = 0; k < c->nmh; k++) {
		const struct merged_host *m = &c->mh[c->mh_used[k]];
		struct counters_host h;

		if (m->po != po || m->proto != (uint8_t)proto)
			continue;
		h = host_of(m);
		n = top_insert(out, n, max, &h);
	}
	return n;
}

void
counters_walk_hosts(const struct counters *c, counters_host_fn fn, void *ctx)
{
	for (uint32_t k = 0; k < c->nmh; k++) {
		const struct merged_host *m = &c->mh[c->mh_used[k]];
		struct counters_host h = host_of(m);

		fn(ctx, m->po, (enum proto_class)m->proto, &h);
	}
}

uint64_t
counters_last_tick_ns(const struct counters *c)
{
	return c->interval_s > 0 ? c->last_tick_ns : 0;
}

uint64_t
counters_interval_ns(const struct counters *c)
{
	return (uint64_t)(c->interval_s * 1e9);
}

uint64_t
counters_hosts_dropped(const struct counters *c)
{
	return c->hosts_dropped;
}
