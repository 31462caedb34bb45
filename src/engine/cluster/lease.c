/*
 * cluster/lease: shard ownership through JetStream KV leases (see lease.h).
 */
#include "engine/cluster/lease.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

#define LEASE_NS_PER_S UINT64_C(1000000000)
/* A hand-off the engine's loop has not finished in this long is abandoned
 * (the shard is given back without it): a stalled loop must not keep a
 * shard from the engine that joined. */
#define LEASE_GIVE_MAX_S 10u

struct lease_shard {
	bool owned;
	uint64_t rev;		/* the revision we wrote last: the fencing token */
	uint64_t renewed_ns;	/* when that write was acknowledged */
	char holder[CLUSTER_NAME_MAX + 1];	/* not owned: who held it last we looked */
	bool giving;		/* owned, fenced, its state being handed off */
	bool handing;		/* ... the hand-off has begun: wait for it */
	bool given;		/* ... and handed off: delete the key */
	uint64_t giving_ns;	/* when the hand-off was asked for */
};

struct lease {
	const struct cluster_conf *cc;
	struct clnats *n;
	lease_change_fn fn;
	lease_give_fn give_fn;
	void *ctx;
	uint64_t ttl_ns;
	uint64_t hb_rev;
	unsigned live;
	pthread_mutex_t lock;	/* guards shard[] and live for the other threads */
	struct lease_shard *shard;
};

int
lease_new(const struct cluster_conf *cc, struct clnats *n, lease_change_fn fn, void *ctx,
    struct lease **ret)
{
	struct lease *l = calloc(1, sizeof(*l));

	*ret = NULL;
	if (l == NULL || (l->shard = calloc(cc->shards, sizeof(*l->shard))) == NULL) {
		free(l);
		return -ENOMEM;
	}
	l->cc = cc;
	l->n = n;
	l->fn = fn;
	l->ctx = ctx;
	l->ttl_ns = (uint64_t)cc->lease_ttl_s * LEASE_NS_PER_S;
	l->live = 1;
	pthread_mutex_init(&l->lock, NULL);
	*ret = l;
	return 0;
}

static void
lease_key(char *key, size_t len, uint32_t shard)
{
	snprintf(key, len, "shard.%u", shard);
}

static void
lease_set(struct lease *l, uint32_t s, bool owned, uint64_t rev, uint64_t now_ns)
{
	bool was;

	pthread_mutex_lock(&l->lock);
	was = l->shard[s].owned;
	l->shard[s].owned = owned;
	if (!owned)
		l->shard[s].giving = l->shard[s].handing = l->shard[s].given = false;
	l->shard[s].rev = rev;
	l->shard[s].renewed_ns = now_ns;
	pthread_mutex_unlock(&l->lock);
	if (was != owned) {
		log_info("cluster: %s shard %u (lease revision %llu)", owned ? "owns" : "gave up",
		    s, (unsigned long long)rev);
		l->fn(l->ctx, s, owned, strcmp(l->shard[s].holder, l->cc->instance) == 0 ?
		    "" : l->shard[s].holder);
	}
}

void
lease_free(struct lease *l, bool release)
{
	char key[CLUSTER_NAME_MAX + 16];

	if (l == NULL)
		return;
	for (uint32_t s = 0; s < l->cc->shards; s++) {
		if (!l->shard[s].owned)
			continue;
		lease_set(l, s, false, 0, 0);
		lease_key(key, sizeof(key), s);
		if (release)
			(void)clnats_kv_delete(l->n, key);
	}
	if (release) {
		snprintf(key, sizeof(key), "engine.%s", l->cc->instance);
		(void)clnats_kv_delete(l->n, key);
	}
	pthread_mutex_destroy(&l->lock);
	free(l->shard);
	free(l);
}

/* engine.<instance>: announce this engine, and count the live ones. */
static void
lease_heartbeat(struct lease *l)
{
	char key[CLUSTER_NAME_MAX + 16];
	unsigned live = 0;
	int r;

	snprintf(key, sizeof(key), "engine.%s", l->cc->instance);
	r = l->hb_rev ? clnats_kv_update(l->n, key, l->cc->instance, l->hb_rev, &l->hb_rev) : -ESTALE;
	if (r == -ESTALE || r == -EEXIST) {
		l->hb_rev = 0;
		if (clnats_kv_create(l->n, key, l->cc->instance, &l->hb_rev) < 0)
			l->hb_rev = 0;
	}
	if (clnats_kv_count(l->n, "engine.", &live) == 0) {
		pthread_mutex_lock(&l->lock);
		l->live = live ? live : 1;
		pthread_mutex_unlock(&l->lock);
	}
}

void
lease_step(struct lease *l, uint64_t now_ns)
{
	uint32_t n = l->cc->shards, owned = 0, want, start;
	char key[32];
	uint64_t rev;
	int r;

	lease_heartbeat(l);
	want = (n + lease_live(l) - 1) / lease_live(l);
	/* Renew: a refused update means another engine holds the key now. */
	for (uint32_t s = 0; s < n; s++) {
		if (!l->shard[s].owned)
			continue;
		lease_key(key, sizeof(key), s);
		r = clnats_kv_update(l->n, key, l->cc->instance, l->shard[s].rev, &rev);
		if (r == 0)
			lease_set(l, s, true, rev, now_ns);
		else if (r == -ESTALE || now_ns - l->shard[s].renewed_ns + LEASE_NS_PER_S >= l->ttl_ns)
			lease_set(l, s, false, 0, 0);
		if (l->shard[s].owned)
			owned++;
	}
	/* Give one back while holding more than the fair share; with a
	 * hand-off, once its state is handed off (or the wait is over). */
	for (uint32_t s = 0; s < n; s++) {
		bool giving, given;

		pthread_mutex_lock(&l->lock);
		giving = l->shard[s].owned && l->shard[s].giving;
		given = l->shard[s].given || (!l->shard[s].handing &&
		    now_ns - l->shard[s].giving_ns >= (uint64_t)LEASE_GIVE_MAX_S * LEASE_NS_PER_S);
		if (given)
			l->shard[s].giving = false;	/* a late lease_hand_begin() says no */
		pthread_mutex_unlock(&l->lock);
		if (!giving)
			continue;
		if (given) {
			lease_set(l, s, false, 0, 0);
			lease_key(key, sizeof(key), s);
			(void)clnats_kv_delete(l->n, key);
			owned--;
		}
		goto take;	/* one at a time */
	}
	for (uint32_t s = 0; s < n && owned > want; s++) {
		if (!l->shard[s].owned)
			continue;
		if (l->give_fn != NULL) {
			pthread_mutex_lock(&l->lock);
			l->shard[s].giving = true;
			l->shard[s].handing = l->shard[s].given = false;
			l->shard[s].giving_ns = now_ns;
			pthread_mutex_unlock(&l->lock);
			log_info("cluster: handing shard %u over (more than the fair share)", s);
			l->give_fn(l->ctx, s);
			break;
		}
		lease_set(l, s, false, 0, 0);
		lease_key(key, sizeof(key), s);
		(void)clnats_kv_delete(l->n, key);
		owned--;
		break;
	}
take:
	/* Take free shards up to the fair share, each engine starting at a
	 * place of its own so they do not all race for shard 0. */
	start = cluster_shard_of(l->cc->instance, n);
	for (uint32_t i = 0; i < n && owned < want; i++) {
		uint32_t s = (start + i) % n;

		if (l->shard[s].owned)
			continue;
		lease_key(key, sizeof(key), s);
		if (clnats_kv_create(l->n, key, l->cc->instance, &rev) == 0) {
			lease_set(l, s, true, rev, now_ns);
			owned++;
		}
	}
	/* Who holds the others, for a take-over later. */
	for (uint32_t s = 0; s < n; s++) {
		char holder[CLUSTER_NAME_MAX + 1];

		lease_key(key, sizeof(key), s);
		if (!l->shard[s].owned && clnats_kv_get(l->n, key, holder, sizeof(holder)) == 0)
			memcpy(l->shard[s].holder, holder, sizeof(holder));
	}
}

void
lease_on_give(struct lease *l, lease_give_fn fn)
{
	l->give_fn = fn;
}

bool
lease_hand_begin(struct lease *l, uint32_t shard)
{
	bool ok;

	if (shard >= l->cc->shards)
		return false;
	pthread_mutex_lock(&l->lock);
	ok = l->shard[shard].owned && l->shard[shard].giving;
	l->shard[shard].handing = ok;
	pthread_mutex_unlock(&l->lock);
	return ok;
}

void
lease_given(struct lease *l, uint32_t shard)
{
	if (shard >= l->cc->shards)
		return;
	pthread_mutex_lock(&l->lock);
	if (l->shard[shard].giving)
		l->shard[shard].given = true;
	pthread_mutex_unlock(&l->lock);
}

bool
lease_holds(struct lease *l, uint32_t shard, uint64_t now_ns, uint64_t *ret_rev)
{
	bool ok;

	if (shard >= l->cc->shards)
		return false;
	pthread_mutex_lock(&l->lock);
	ok = l->shard[shard].owned && !l->shard[shard].giving &&
	    now_ns - l->shard[shard].renewed_ns + LEASE_NS_PER_S < l->ttl_ns;
	if (ret_rev != NULL)
		*ret_rev = ok ? l->shard[shard].rev : 0;
	pthread_mutex_unlock(&l->lock);
	return ok;
}

unsigned
lease_owned(struct lease *l, uint32_t *out, unsigned max)
{
	unsigned k = 0;

	pthread_mutex_lock(&l->lock);
	for (uint32_t s = 0; s < l->cc->shards; s++)
		if (l->shard[s].owned) {
			if (k < max)
				out[k] = s;
			k++;
		}
	pthread_mutex_unlock(&l->lock);
	return k;
}

unsigned
lease_live(struct lease *l)
{
	unsigned live;

	pthread_mutex_lock(&l->lock);
	live = l->live;
	pthread_mutex_unlock(&l->lock);
	return live;
}
