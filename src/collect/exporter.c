#include "collect/exporter.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "collect/nftmpl.h"
#include "collect/sflow.h"
#include "common/limits.h"

/* Open-addressing indexes with four times as many buckets as slots: at a
   quarter load (linear probing clusters) a keyed hash leaves a run of
   LIMIT_COLLECT_PROBES full buckets with a probability around 1e-9 a key. */
#define EXP_HASH_SIZE	(4u * LIMIT_COLLECT_EXPORTERS)
#define EXP_NONE	UINT16_MAX

struct exp_override {
	struct ipaddr addr;
	uint32_t rate;
};

/* Exporters per sender, for the per-sender cap. */
struct exp_sender {
	struct ipaddr addr;
	uint16_t count;		/* 0: bucket empty */
};

struct exporter_table {
	struct hash_key key;
	struct exporter_limits lim;
	struct exporter *slot[LIMIT_COLLECT_EXPORTERS];
	uint16_t free_slots[LIMIT_COLLECT_EXPORTERS];	/* stack of free slot numbers */
	size_t nfree;
	uint16_t hash[EXP_HASH_SIZE];	/* slot number; EXP_NONE = empty */
	struct exp_sender senders[EXP_HASH_SIZE];
	size_t n;
	struct exporter_refusals ref;
	struct exp_override ovr[LIMIT_COLLECT_EXPORTERS];
	size_t novr;
	ipfix_conn_fn conn_fn;		/* moat-ins connection events, or NULL */
	void *conn_ctx;

	pthread_mutex_t pub_lock;
	struct exporter_info *pub;	/* LIMIT_COLLECT_EXPORTERS entries */
	size_t npub;
	struct exporter_refusals pub_ref;
};

static const char *const proto_names[EXPORTER__COUNT] = {
	[EXPORTER_NF5] = "netflow5",
	[EXPORTER_NF9] = "netflow9",
	[EXPORTER_IPFIX] = "ipfix",
	[EXPORTER_SFLOW] = "sflow",
	[EXPORTER_CAPTURE] = "capture",
};

static const char *const refusal_names[EXPORTER_REFUSED__COUNT] = {
	[EXPORTER_REFUSED_NOT_ALLOWED] = "not_allowed",
	[EXPORTER_REFUSED_SENDER_CAP] = "sender_cap",
	[EXPORTER_REFUSED_FULL] = "table_full",
	[EXPORTER_REFUSED_PROBE] = "hash_probe",
	[EXPORTER_REFUSED_TCP_CAP] = "tcp_sender_cap",
	[EXPORTER_REFUSED_TCP_DEADLINE] = "tcp_deadline",
};

const char *
exporter_proto_name(enum exporter_proto p)
{
	return (unsigned)p < EXPORTER__COUNT ? proto_names[p] : "unknown";
}

const char *
exporter_refusal_name(enum exporter_refusal why)
{
	return (unsigned)why < EXPORTER_REFUSED__COUNT ? refusal_names[why] : "unknown";
}

struct exporter_table *
exporter_table_new_keyed(const struct hash_key *key)
{
	struct exporter_table *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	t->pub = calloc(LIMIT_COLLECT_EXPORTERS, sizeof(*t->pub));
	if (t->pub == NULL) {
		free(t);
		errno = ENOMEM;
		return NULL;
	}
	t->key = *key;
	t->lim = (struct exporter_limits){ .per_sender = LIMIT_COLLECT_EXPORTERS_PER_ADDR,
		.idle_ns = EXPORTER_DEFAULT_IDLE_NS, .evict_quiet_ns = EXPORTER_DEFAULT_QUIET_NS };
	memset(t->hash, 0xff, sizeof(t->hash));
	/* Popped from the top: slot 0 first, as before eviction existed. */
	for (size_t i = 0; i < LIMIT_COLLECT_EXPORTERS; i++)
		t->free_slots[i] = (uint16_t)(LIMIT_COLLECT_EXPORTERS - 1 - i);
	t->nfree = LIMIT_COLLECT_EXPORTERS;
	pthread_mutex_init(&t->pub_lock, NULL);
	return t;
}

struct exporter_table *
exporter_table_new(void)
{
	struct hash_key key;

	if (hash_key_init(&key) < 0) {
		errno = EIO;
		return NULL;
	}
	return exporter_table_new_keyed(&key);
}

static void
exp_free(struct exporter *e)
{
	nftmpl_cache_free(e->tmpl);
	sflow_ifaces_free(e->ifaces);
	free(e);
}

void
exporter_table_set_conn_sink(struct exporter_table *t, ipfix_conn_fn fn, void *ctx)
{
	t->conn_fn = fn;
	t->conn_ctx = ctx;
}

ipfix_conn_fn
exporter_table_conn_sink(const struct exporter_table *t, void **ret_ctx)
{
	*ret_ctx = t->conn_ctx;
	return t->conn_fn;
}

void
exporter_table_free(struct exporter_table *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < LIMIT_COLLECT_EXPORTERS; i++)
		if (t->slot[i] != NULL)
			exp_free(t->slot[i]);
	pthread_mutex_destroy(&t->pub_lock);
	free(t->pub);
	free(t);
}

void
exporter_table_set_limits(struct exporter_table *t, const struct exporter_limits *l)
{
	t->lim = *l;
	if (t->lim.per_sender == 0)
		t->lim.per_sender = LIMIT_COLLECT_EXPORTERS_PER_ADDR;
}

/* The address bytes that count: 4 for IPv4, 16 for IPv6. */
static size_t
addr_len(const struct ipaddr *a)
{
	return a->af == AF_INET6 ? 16 : 4;
}

static uint32_t
exp_hash(const struct exporter_table *t, const struct ipaddr *addr, uint32_t domain,
    uint8_t proto)
{
	uint8_t k[16 + 4 + 2];
	size_t al = addr_len(addr);

	memcpy(k, addr->a, al);
	memcpy(k + al, &domain, 4);
	k[al + 4] = proto;
	k[al + 5] = (uint8_t)addr->af;
	return (uint32_t)hash_bytes(&t->key, k, al + 6);
}

static uint32_t
sender_hash(const struct exporter_table *t, const struct ipaddr *addr)
{
	uint8_t k[17];
	size_t al = addr_len(addr);

	memcpy(k, addr->a, al);
	k[al] = (uint8_t)addr->af;
	return (uint32_t)(hash_bytes(&t->key, k, al + 1) >> 32);
}

static bool
exp_match(const struct exporter *e, const struct ipaddr *addr, uint32_t domain, uint8_t proto)
{
	return e->domain == domain && e->proto == proto && ipaddr_equal(&e->addr, addr);
}

static uint32_t
exp_override_for(const struct exporter_table *t, const struct ipaddr *addr)
{
	for (size_t i = 0; i < t->novr; i++)
		if (ipaddr_equal(&t->ovr[i].addr, addr))
			return t->ovr[i].rate;
	return 0;
}

void
exporter_table_refuse(struct exporter_table *t, enum exporter_refusal why,
    const struct ipaddr *sender, uint64_t now_ns)
{
	if ((unsigned)why >= EXPORTER_REFUSED__COUNT)
		return;
	t->ref.n[why]++;
	t->ref.last[why] = *sender;
	t->ref.last_ns[why] = now_ns;
}

/* The sender's bucket, or the empty bucket it would take; NULL when the
   probe limit is reached without either. */
static struct exp_sender *
sender_find(struct exporter_table *t, const struct ipaddr *addr)
{
	uint32_t h = sender_hash(t, addr);

	for (uint32_t p = 0; p < LIMIT_COLLECT_PROBES; p++) {
		struct exp_sender *s = &t->senders[(h + p) % EXP_HASH_SIZE];

		if (s->count == 0 || ipaddr_equal(&s->addr, addr))
			return s;
	}
	return NULL;
}

/* Backward-shift deletion: the entries after a freed bucket move up to keep
   every key reachable within its probe run (never further from home). */
static void
sender_release(struct exporter_table *t, const struct ipaddr *addr)
{
	struct exp_sender *s = sender_find(t, addr);
	uint32_t i, j;

	if (s == NULL || s->count == 0 || --s->count > 0)
		return;
	i = (uint32_t)(s - t->senders);
	for (j = (i + 1) % EXP_HASH_SIZE; t->senders[j].count != 0; j = (j + 1) % EXP_HASH_SIZE) {
		uint32_t home = sender_hash(t, &t->senders[j].addr) % EXP_HASH_SIZE;

		/* Move j into the hole i unless its home lies cyclically in (i, j]. */
		if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
			t->senders[i] = t->senders[j];
			t->senders[j].count = 0;
			i = j;
		}
	}
}

static void
hash_remove(struct exporter_table *t, uint32_t i)
{
	uint32_t j;

	t->hash[i] = EXP_NONE;
	for (j = (i + 1) % EXP_HASH_SIZE; t->hash[j] != EXP_NONE; j = (j + 1) % EXP_HASH_SIZE) {
		const struct exporter *e = t->slot[t->hash[j]];
		uint32_t home = exp_hash(t, &e->addr, e->domain, e->proto) % EXP_HASH_SIZE;

		if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
			t->hash[i] = t->hash[j];
			t->hash[j] = EXP_NONE;
			i = j;
		}
	}
}

/* The bucket holding e (it is in the table). */
static uint32_t
hash_bucket_of(const struct exporter_table *t, const struct exporter *e)
{
	uint32_t i = exp_hash(t, &e->addr, e->domain, e->proto) % EXP_HASH_SIZE;

	while (t->hash[i] != e->index)
		i = (i + 1) % EXP_HASH_SIZE;
	return i;
}

static void
exp_evict(struct exporter_table *t, struct exporter *e)
{
	hash_remove(t, hash_bucket_of(t, e));
	sender_release(t, &e->sender);
	t->slot[e->index] = NULL;
	t->free_slots[t->nfree++] = (uint16_t)e->index;
	t->n--;
	exp_free(e);
}

void
exporter_table_expire(struct exporter_table *t, uint64_t now_ns)
{
	if (t->lim.idle_ns == 0)
		return;
	for (size_t i = 0; i < LIMIT_COLLECT_EXPORTERS; i++) {
		struct exporter *e = t->slot[i];

		if (e != NULL && now_ns > e->last_seen_ns && now_ns - e->last_seen_ns > t->lim.idle_ns) {
			exp_evict(t, e);
			t->ref.evicted_idle++;
		}
	}
}

/* Full table: evict the least recently seen exporter if it has been quiet
   long enough; false if every one is active. O(n), but only on a full
   table, and an active flood of new keys finds nothing to evict quickly. */
static bool
exp_evict_lru(struct exporter_table *t, uint64_t now_ns)
{
	struct exporter *lru = NULL;

	for (size_t i = 0; i < LIMIT_COLLECT_EXPORTERS; i++) {
		struct exporter *e = t->slot[i];

		if (e != NULL && (lru == NULL || e->last_seen_ns < lru->last_seen_ns))
			lru = e;
	}
	if (lru == NULL || now_ns < lru->last_seen_ns ||
	    now_ns - lru->last_seen_ns < t->lim.evict_quiet_ns)
		return false;
	exp_evict(t, lru);
	t->ref.evicted_lru++;
	return true;
}

struct exporter *
exporter_get(struct exporter_table *t, const struct ipaddr *sender, const struct ipaddr *addr,
    uint32_t domain, enum exporter_proto proto, uint64_t now_ns)
{
	uint32_t h = exp_hash(t, addr, domain, (uint8_t)proto), empty = UINT32_MAX;
	struct exp_sender *s;
	struct exporter *e;

	for (uint32_t p = 0; p < LIMIT_COLLECT_PROBES; p++) {
		uint32_t i = (h + p) % EXP_HASH_SIZE;
		uint16_t k = t->hash[i];

		if (k == EXP_NONE) {
			empty = i;
			break;
		}
		e = t->slot[k];
		if (exp_match(e, addr, domain, (uint8_t)proto)) {
			e->last_seen_ns = now_ns;
			return e;
		}
	}
	/* A new exporter. */
	s = sender_find(t, sender);
	if (s == NULL || empty == UINT32_MAX) {
		exporter_table_refuse(t, EXPORTER_REFUSED_PROBE, sender, now_ns);
		return NULL;
	}
	if (s->count >= t->lim.per_sender) {
		exporter_table_refuse(t, EXPORTER_REFUSED_SENDER_CAP, sender, now_ns);
		return NULL;
	}
	if (t->nfree == 0) {
		if (!exp_evict_lru(t, now_ns)) {
			exporter_table_refuse(t, EXPORTER_REFUSED_FULL, sender, now_ns);
			return NULL;
		}
		/* The eviction may have shifted buckets: look for ours again. */
		return exporter_get(t, sender, addr, domain, proto, now_ns);
	}
	e = calloc(1, sizeof(*e));
	if (e == NULL)
		return NULL;
	e->addr = *addr;
	e->sender = *sender;
	e->domain = domain;
	e->proto = (uint8_t)proto;
	e->index = t->free_slots[--t->nfree];
	e->sampling_override = exp_override_for(t, addr);
	e->first_seen_ns = now_ns;
	e->last_seen_ns = now_ns;
	t->slot[e->index] = e;
	t->hash[empty] = (uint16_t)e->index;
	t->n++;
	if (s->count++ == 0)
		s->addr = *sender;
	return e;
}

int
exporter_set_override(struct exporter_table *t, const struct ipaddr *addr, uint32_t rate)
{
	size_t i;

	for (i = 0; i < t->novr; i++)
		if (ipaddr_equal(&t->ovr[i].addr, addr))
			break;
	if (i == t->novr) {
		if (t->novr >= LIMIT_COLLECT_EXPORTERS)
			return -ENOSPC;
		t->ovr[t->novr++].addr = *addr;
	}
	t->ovr[i].rate = rate;
	for (size_t k = 0; k < LIMIT_COLLECT_EXPORTERS; k++)
		if (t->slot[k] != NULL && ipaddr_equal(&t->slot[k]->addr, addr))
			t->slot[k]->sampling_override = rate;
	return 0;
}

void
exporter_seq(struct exporter *e, uint32_t seq, uint32_t count)
{
	if (e->seq_valid && seq != e->seq_next) {
		uint32_t gap = seq - e->seq_next;

		/* Serial arithmetic: a "gap" past half the space is a step back. */
		if (gap < 0x80000000u)
			e->h.seq_gaps += gap;
	}
	e->seq_valid = true;
	e->seq_next = seq + count;
}

size_t
exporter_count(const struct exporter_table *t)
{
	return t->n;
}

struct exporter *
exporter_at(struct exporter_table *t, size_t i)
{
	return i < LIMIT_COLLECT_EXPORTERS ? t->slot[i] : NULL;
}

uint64_t
exporter_table_refused(const struct exporter_table *t)
{
	uint64_t n = 0;

	for (size_t i = 0; i < EXPORTER_REFUSED__COUNT; i++)
		n += t->ref.n[i];
	return n;
}

static void
exp_info(const struct exporter *e, struct exporter_info *ret)
{
	ret->addr = e->addr;
	ret->domain = e->domain;
	ret->proto = e->proto;
	ret->index = e->index;
	ret->sampling = exporter_sampling(e, 0);
	ret->sampling_seen = e->sampling_seen;
	ret->templates = (uint32_t)nftmpl_cache_count(e->tmpl);
	ret->first_seen_ns = e->first_seen_ns;
	ret->last_seen_ns = e->last_seen_ns;
	ret->h = e->h;
}

void
exporter_table_publish(struct exporter_table *t)
{
	size_t n = 0;

	pthread_mutex_lock(&t->pub_lock);
	for (size_t i = 0; i < LIMIT_COLLECT_EXPORTERS; i++)
		if (t->slot[i] != NULL)
			exp_info(t->slot[i], &t->pub[n++]);
	t->npub = n;
	t->pub_ref = t->ref;
	pthread_mutex_unlock(&t->pub_lock);
}

size_t
exporter_table_snapshot(struct exporter_table *t, struct exporter_info *out, size_t max)
{
	size_t n;

	pthread_mutex_lock(&t->pub_lock);
	n = t->npub;
	memcpy(out, t->pub, (n < max ? n : max) * sizeof(*out));
	pthread_mutex_unlock(&t->pub_lock);
	return n;
}

void
exporter_table_refusals(struct exporter_table *t, struct exporter_refusals *ret)
{
	pthread_mutex_lock(&t->pub_lock);
	*ret = t->pub_ref;
	pthread_mutex_unlock(&t->pub_lock);
}
