#include "collect/exporter.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "collect/nftmpl.h"
#include "collect/sflow.h"
#include "common/limits.h"

/* Open-addressing index over the slots; twice the cap keeps probes short. */
#define EXP_HASH_SIZE	(2u * LIMIT_COLLECT_EXPORTERS)
#define EXP_HASH_SEED	0x6d6f6174u

struct exp_override {
	struct ipaddr addr;
	uint32_t rate;
};

struct exporter_table {
	struct exporter *slot[LIMIT_COLLECT_EXPORTERS];
	uint16_t hash[EXP_HASH_SIZE];	/* slot + 1; 0 = empty */
	size_t n;
	uint64_t refused;
	struct exp_override ovr[LIMIT_COLLECT_EXPORTERS];
	size_t novr;
	ipfix_conn_fn conn_fn;		/* moat-ins connection events, or NULL */
	void *conn_ctx;

	pthread_mutex_t pub_lock;
	struct exporter_info *pub;	/* LIMIT_COLLECT_EXPORTERS entries */
	size_t npub;
};

static const char *const proto_names[EXPORTER__COUNT] = {
	[EXPORTER_NF5] = "netflow5",
	[EXPORTER_NF9] = "netflow9",
	[EXPORTER_IPFIX] = "ipfix",
	[EXPORTER_SFLOW] = "sflow",
	[EXPORTER_CAPTURE] = "capture",
};

const char *
exporter_proto_name(enum exporter_proto p)
{
	return (unsigned)p < EXPORTER__COUNT ? proto_names[p] : "unknown";
}

struct exporter_table *
exporter_table_new(void)
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
	pthread_mutex_init(&t->pub_lock, NULL);
	return t;
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
	for (size_t i = 0; i < t->n; i++) {
		nftmpl_cache_free(t->slot[i]->tmpl);
		sflow_ifaces_free(t->slot[i]->ifaces);
		free(t->slot[i]);
	}
	pthread_mutex_destroy(&t->pub_lock);
	free(t->pub);
	free(t);
}

static uint32_t
exp_hash(const struct ipaddr *addr, uint32_t domain, uint8_t proto)
{
	uint32_t h = ipaddr_hash(addr, EXP_HASH_SEED);

	h ^= domain * 0x9e3779b1u;
	h ^= (uint32_t)proto << 27;
	h ^= h >> 15;
	return h * 0x85ebca6bu;
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

static struct exporter *
exp_create(struct exporter_table *t, const struct ipaddr *addr, uint32_t domain,
    uint8_t proto, uint64_t now_ns)
{
	struct exporter *e;

	if (t->n >= LIMIT_COLLECT_EXPORTERS)
		return NULL;
	e = calloc(1, sizeof(*e));
	if (e == NULL)
		return NULL;
	e->addr = *addr;
	e->domain = domain;
	e->proto = proto;
	e->index = (uint32_t)t->n;
	e->sampling_override = exp_override_for(t, addr);
	e->first_seen_ns = now_ns;
	t->slot[t->n++] = e;
	return e;
}

struct exporter *
exporter_get(struct exporter_table *t, const struct ipaddr *addr, uint32_t domain,
    enum exporter_proto proto, uint64_t now_ns)
{
	uint32_t i = exp_hash(addr, domain, (uint8_t)proto) % EXP_HASH_SIZE;
	struct exporter *e;

	/* The hash has twice as many buckets as slots, so an empty one exists. */
	for (;;) {
		uint16_t s = t->hash[i];

		if (s == 0)
			break;
		e = t->slot[s - 1];
		if (exp_match(e, addr, domain, (uint8_t)proto)) {
			e->last_seen_ns = now_ns;
			return e;
		}
		i = (i + 1) % EXP_HASH_SIZE;
	}
	e = exp_create(t, addr, domain, (uint8_t)proto, now_ns);
	if (e == NULL)
		return NULL;
	t->hash[i] = (uint16_t)(e->index + 1);
	e->last_seen_ns = now_ns;
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
	for (size_t k = 0; k < t->n; k++)
		if (ipaddr_equal(&t->slot[k]->addr, addr))
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
	return i < t->n ? t->slot[i] : NULL;
}

uint64_t
exporter_table_refused(const struct exporter_table *t)
{
	return t->refused;
}

void
exporter_table_count_refused(struct exporter_table *t)
{
	t->refused++;
}

static void
exp_info(const struct exporter *e, struct exporter_info *ret)
{
	ret->addr = e->addr;
	ret->domain = e->domain;
	ret->proto = e->proto;
	ret->index = e->index;
	ret->sampling = exporter_sampling(e, 0);
	ret->templates = (uint32_t)nftmpl_cache_count(e->tmpl);
	ret->first_seen_ns = e->first_seen_ns;
	ret->last_seen_ns = e->last_seen_ns;
	ret->h = e->h;
}

void
exporter_table_publish(struct exporter_table *t)
{
	pthread_mutex_lock(&t->pub_lock);
	for (size_t i = 0; i < t->n; i++)
		exp_info(t->slot[i], &t->pub[i]);
	t->npub = t->n;
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
