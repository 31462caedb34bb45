/*
 * cluster/merge: summing several collectors' seconds (see merge.h).
 */
#include "engine/cluster/merge.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/limits.h"
#include "engine/cluster/conf.h"

#define MERGE_NS_PER_S INT64_C(1000000000)
#define MERGE_NONE (-1)

struct merge_top_e {
	uint32_t po_id;
	struct deltas_host h;
};

/* The readings and entries of one shard's second, from every collector. */
struct merge_bucket {
	int64_t sec;
	uint32_t shard;
	int32_t next;		/* the shard's next (later) bucket, MERGE_NONE */
	uint64_t first_ns;	/* monotonic arrival of its first message */
	uint64_t time_ns, interval_ns;	/* of its first message */
	uint32_t nsenders;		/* collectors that sent into it */
	struct reading *r;
	uint32_t nr, capr;
	struct merge_top_e *t;
	uint32_t nt, capt;
};

/* One collector on one shard: the latest second it sent, and when. */
struct merge_stream {
	char instance[CLUSTER_NAME_MAX + 1];
	uint32_t shard;
	int64_t first_sec, last_sec;	/* the earliest and latest seconds it sent */
	int64_t sent_sec;		/* the second it sent into last */
	uint64_t seen_ns;
};

struct merge {
	uint32_t shards;
	uint64_t grace_ns, live_ns;
	struct merge_sink sink;
	struct merge_bucket *b;		/* [LIMIT_MERGE_BUCKETS] */
	int32_t *free;			/* free bucket indexes (a stack) */
	unsigned nfree;
	int32_t *head;			/* [shards]: earliest open bucket */
	int64_t *released;		/* [shards]: latest second released */
	bool *any_released;		/* [shards] */
	int64_t *minlive;		/* [shards]: scratch of merge_flush */
	struct merge_stream *st;	/* [LIMIT_MERGE_STREAMS] */
	unsigned nst;
	int32_t cur;			/* the bucket of the message begun last */
	size_t nreadings, ntops;	/* waiting in all buckets */
	struct merge_stats stats;
};

int
merge_new(uint32_t shards, uint64_t grace_ns, uint64_t live_ns, const struct merge_sink *sink,
    struct merge **ret)
{
	struct merge *m;

	*ret = NULL;
	if (shards == 0 || shards > CLUSTER_MAX_SHARDS || sink == NULL)
		return -EINVAL;
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return -ENOMEM;
	m->shards = shards;
	m->grace_ns = grace_ns;
	m->live_ns = live_ns;
	m->sink = *sink;
	m->cur = MERGE_NONE;
	if ((m->b = calloc(LIMIT_MERGE_BUCKETS, sizeof(*m->b))) == NULL ||
	    (m->free = calloc(LIMIT_MERGE_BUCKETS, sizeof(*m->free))) == NULL ||
	    (m->head = calloc(shards, sizeof(*m->head))) == NULL ||
	    (m->released = calloc(shards, sizeof(*m->released))) == NULL ||
	    (m->any_released = calloc(shards, sizeof(*m->any_released))) == NULL ||
	    (m->minlive = calloc(shards, sizeof(*m->minlive))) == NULL ||
	    (m->st = calloc(LIMIT_MERGE_STREAMS, sizeof(*m->st))) == NULL) {
		merge_free(m);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < LIMIT_MERGE_BUCKETS; i++)
		m->free[m->nfree++] = (int32_t)(LIMIT_MERGE_BUCKETS - 1 - i);
	for (uint32_t s = 0; s < shards; s++)
		m->head[s] = MERGE_NONE;
	*ret = m;
	return 0;
}

void
merge_free(struct merge *m)
{
	if (m == NULL)
		return;
	for (unsigned i = 0; m->b != NULL && i < LIMIT_MERGE_BUCKETS; i++) {
		free(m->b[i].r);
		free(m->b[i].t);
	}
	free(m->b);
	free(m->free);
	free(m->head);
	free(m->released);
	free(m->any_released);
	free(m->minlive);
	free(m->st);
	free(m);
}

/* ---- release ---- */

static int
merge_cmp_reading(const void *a, const void *b)
{
	const struct reading *x = a, *y = b;

	if (x->po_id != y->po_id)
		return x->po_id < y->po_id ? -1 : 1;
	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	if (x->proto != y->proto)
		return x->proto < y->proto ? -1 : 1;
	if (x->dir != y->dir)
		return x->dir < y->dir ? -1 : 1;
	return 0;
}

/* The identity of an entry: PO, list, protocol and address (or port). */
static int
merge_cmp_top_key(const struct merge_top_e *x, const struct merge_top_e *y)
{
	if (x->po_id != y->po_id)
		return x->po_id < y->po_id ? -1 : 1;
	if (x->h.kind != y->h.kind)
		return x->h.kind < y->h.kind ? -1 : 1;
	if (x->h.proto != y->h.proto)
		return x->h.proto < y->h.proto ? -1 : 1;
	if (x->h.alen != y->h.alen)
		return x->h.alen < y->h.alen ? -1 : 1;
	if (x->h.port != y->h.port)
		return x->h.port < y->h.port ? -1 : 1;
	return memcmp(x->h.addr, y->h.addr, x->h.alen);
}

static int
merge_cmp_top(const void *a, const void *b)
{
	return merge_cmp_top_key(a, b);
}

/* Within a list, busiest first (packets, then bytes, then the key). */
static int
merge_cmp_busy(const void *a, const void *b)
{
	const struct merge_top_e *x = a, *y = b;

	if (x->po_id != y->po_id)
		return x->po_id < y->po_id ? -1 : 1;
	if (x->h.kind != y->h.kind)
		return x->h.kind < y->h.kind ? -1 : 1;
	if (x->h.proto != y->h.proto)
		return x->h.proto < y->h.proto ? -1 : 1;
	if (x->h.packets != y->h.packets)
		return x->h.packets > y->h.packets ? -1 : 1;
	if (x->h.bytes != y->h.bytes)
		return x->h.bytes > y->h.bytes ? -1 : 1;
	return merge_cmp_top_key(x, y);
}

static void
merge_emit(struct merge *m, struct merge_bucket *b)
{
	uint32_t n = 0;

	if (b->nr > 0) {
		qsort(b->r, b->nr, sizeof(*b->r), merge_cmp_reading);
		for (uint32_t i = 1; i < b->nr; i++) {
			struct reading *o = &b->r[n], *x = &b->r[i];

			if (merge_cmp_reading(o, x) == 0) {
				o->bytes += x->bytes;
				o->packets += x->packets;
				o->flows += x->flows;
				o->syns += x->syns;
				o->frags += x->frags;
				m->stats.summed++;
			} else {
				b->r[++n] = *x;
			}
		}
		n++;
		for (uint32_t i = 0; i < n && m->sink.reading != NULL; i++) {
			b->r[i].time_ns = b->time_ns;
			b->r[i].interval_ns = b->interval_ns;
			m->sink.reading(m->sink.ctx, &b->r[i]);
		}
	}
	if (b->nt > 0) {
		unsigned kept = 0;

		qsort(b->t, b->nt, sizeof(*b->t), merge_cmp_top);
		n = 0;
		for (uint32_t i = 1; i < b->nt; i++) {
			if (merge_cmp_top_key(&b->t[n], &b->t[i]) == 0) {
				b->t[n].h.packets += b->t[i].h.packets;
				b->t[n].h.bytes += b->t[i].h.bytes;
			} else {
				b->t[++n] = b->t[i];
			}
		}
		n++;
		qsort(b->t, n, sizeof(*b->t), merge_cmp_busy);
		for (uint32_t i = 0; i < n; i++) {
			const struct merge_top_e *x = &b->t[i], *p = i ? &b->t[i - 1] : NULL;

			if (p == NULL || p->po_id != x->po_id || p->h.kind != x->h.kind ||
			    p->h.proto != x->h.proto)
				kept = 0;
			if (kept++ < MERGE_TOP && m->sink.top != NULL)
				m->sink.top(m->sink.ctx, x->po_id, &x->h);
		}
	}
}

/* Release the earliest open bucket of shard: to the sink, unless feed is
 * false (a second with a hole: dropped whole). */
static void
merge_release_head(struct merge *m, uint32_t shard, bool feed)
{
	int32_t i = m->head[shard];
	struct merge_bucket *b = &m->b[i];

	m->head[shard] = b->next;
	m->released[shard] = b->sec;
	m->any_released[shard] = true;
	if (m->cur == i)
		m->cur = MERGE_NONE;
	if (feed)
		merge_emit(m, b);
	m->nreadings -= b->nr;
	m->ntops -= b->nt;
	free(b->r);
	free(b->t);
	memset(b, 0, sizeof(*b));
	m->free[m->nfree++] = i;
	m->stats.released++;
}

/* Make room: release the earliest bucket of all (not the one being filled,
 * nor one queued behind it). false when there is none. */
static bool
merge_force(struct merge *m)
{
	int32_t best = MERGE_NONE;

	for (uint32_t s = 0; s < m->shards; s++) {
		int32_t h = m->head[s];

		if (h == MERGE_NONE || h == m->cur)
			continue;
		if (best == MERGE_NONE || m->b[h].sec < m->b[best].sec ||
		    (m->b[h].sec == m->b[best].sec && m->b[h].first_ns < m->b[best].first_ns))
			best = h;
	}
	if (best == MERGE_NONE)
		return false;
	merge_release_head(m, m->b[best].shard, true);
	m->stats.forced++;
	return true;
}

/* ---- intake ---- */

static int64_t
merge_sec(uint64_t time_ns)
{
	return (int64_t)((time_ns + (uint64_t)MERGE_NS_PER_S / 2) / (uint64_t)MERGE_NS_PER_S);
}

static struct merge_stream *
merge_seen(struct merge *m, const char *instance, uint32_t shard, int64_t sec, uint64_t now_ns)
{
	struct merge_stream *st = NULL, *oldest = NULL;

	for (unsigned i = 0; i < m->nst; i++) {
		struct merge_stream *x = &m->st[i];

		if (x->shard == shard && strcmp(x->instance, instance) == 0) {
			st = x;
			break;
		}
		if (oldest == NULL || x->seen_ns < oldest->seen_ns)
			oldest = x;
	}
	if (st == NULL) {
		if (m->nst < LIMIT_MERGE_STREAMS)
			st = &m->st[m->nst++];
		else if (oldest != NULL && oldest->seen_ns + m->live_ns <= now_ns)
			st = oldest;	/* a collector gone quiet makes room */
		else
			return NULL;	/* untracked: its seconds wait for the grace */
		snprintf(st->instance, sizeof(st->instance), "%s", instance);
		st->shard = shard;
		st->first_sec = st->last_sec = sec;
		st->sent_sec = INT64_MIN;
	}
	if (sec > st->last_sec)
		st->last_sec = sec;
	if (sec < st->first_sec)
		st->first_sec = sec;
	st->seen_ns = now_ns;
	return st;
}

int
merge_begin(struct merge *m, const char *instance, uint32_t shard, uint64_t time_ns,
    uint64_t interval_ns, uint64_t now_ns)
{
	int64_t sec = merge_sec(time_ns);
	int32_t *link, i;
	struct merge_bucket *b;
	struct merge_stream *st;

	m->cur = MERGE_NONE;
	if (shard >= m->shards)
		return -EINVAL;
	st = merge_seen(m, instance, shard, sec, now_ns);
	if (m->any_released[shard] && sec <= m->released[shard]) {
		m->stats.late++;
		return -ESTALE;
	}
	for (link = &m->head[shard]; *link != MERGE_NONE && m->b[*link].sec < sec;
	    link = &m->b[*link].next)
		;
	if (*link != MERGE_NONE && m->b[*link].sec == sec) {
		m->cur = *link;
		goto sent;
	}
	if (m->nfree == 0) {
		/* The earliest of all goes; if it was this shard's, link moved. */
		if (!merge_force(m))
			return -ENOSPC;
		if (m->any_released[shard] && sec <= m->released[shard]) {
			m->stats.late++;
			return -ESTALE;
		}
		for (link = &m->head[shard]; *link != MERGE_NONE && m->b[*link].sec < sec;
		    link = &m->b[*link].next)
			;
	}
	i = m->free[--m->nfree];
	b = &m->b[i];
	memset(b, 0, sizeof(*b));
	b->sec = sec;
	b->shard = shard;
	b->first_ns = now_ns;
	b->time_ns = time_ns;
	b->interval_ns = interval_ns;
	b->next = *link;
	*link = i;
	m->cur = i;
sent:
	/* One more collector in it (a second split over messages counts once). */
	if (st != NULL && st->sent_sec != sec) {
		st->sent_sec = sec;
		m->b[m->cur].nsenders++;
	}
	m->stats.messages++;
	return 0;
}

/*
 * Has bucket b a hole: a collector live on its shard, that had started
 * before that second and has sent it or a later one, did not send into it?
 * Its part of that second is lost (a gap in its sequence), so the sum
 * would read as a drop in traffic: the second is dropped whole instead
 * (detection sees a missing second, as with one collector). A collector
 * that stopped or lags (nothing past that second yet) is no hole: the sum
 * of the others goes on after the grace.
 */
static bool
merge_hole(const struct merge *m, const struct merge_bucket *b, uint64_t now_ns)
{
	uint32_t expected = 0;

	for (unsigned i = 0; i < m->nst; i++) {
		const struct merge_stream *x = &m->st[i];

		if (x->shard == b->shard && x->seen_ns + m->live_ns > now_ns &&
		    x->first_sec <= b->sec && x->last_sec >= b->sec)
			expected++;
	}
	return b->nsenders < expected;
}

/* Room for one more entry in all (releasing the earliest if needed). */
static bool
merge_room(struct merge *m, const size_t *n, size_t max)
{
	while (*n >= max)
		if (!merge_force(m))
			return false;
	return true;
}

/* arr (n elements of size, capacity *cap) with room for one more: as it is,
 * or reallocated to twice the capacity (first when empty); NULL when out of
 * memory (arr is still valid). The LIMIT_MERGE_* caps keep the counts far
 * from overflowing. */
static void *
merge_grow(void *arr, uint32_t *cap, uint32_t n, uint32_t first, size_t size)
{
	uint32_t ncap;
	void *p;

	if (n < *cap)
		return arr;
	ncap = *cap ? *cap * 2 : first;
	if ((p = realloc(arr, (size_t)ncap * size)) != NULL)
		*cap = ncap;
	return p;
}

void
merge_add(struct merge *m, const struct reading *r)
{
	struct merge_bucket *b;
	void *p;

	if (m->cur == MERGE_NONE)
		return;
	if (!merge_room(m, &m->nreadings, LIMIT_MERGE_READINGS)) {
		m->stats.overflow++;
		return;
	}
	b = &m->b[m->cur];
	if ((p = merge_grow(b->r, &b->capr, b->nr, 64, sizeof(*b->r))) == NULL) {
		m->stats.overflow++;
		return;
	}
	b->r = p;
	b->r[b->nr++] = *r;
	m->nreadings++;
}

void
merge_top(struct merge *m, uint32_t po_id, const struct deltas_host *h)
{
	struct merge_bucket *b;
	void *p;

	if (m->cur == MERGE_NONE)
		return;
	if (!merge_room(m, &m->ntops, LIMIT_MERGE_TOPS)) {
		m->stats.overflow++;
		return;
	}
	b = &m->b[m->cur];
	if ((p = merge_grow(b->t, &b->capt, b->nt, 16, sizeof(*b->t))) == NULL) {
		m->stats.overflow++;
		return;
	}
	b->t = p;
	b->t[b->nt].po_id = po_id;
	b->t[b->nt].h = *h;
	b->nt++;
	m->ntops++;
}

unsigned
merge_flush(struct merge *m, uint64_t now_ns, bool all)
{
	unsigned n = 0;

	m->cur = MERGE_NONE;
	for (uint32_t s = 0; s < m->shards; s++)
		m->minlive[s] = INT64_MAX;
	for (unsigned i = 0; i < m->nst; i++) {
		const struct merge_stream *x = &m->st[i];

		if (x->seen_ns + m->live_ns > now_ns && x->last_sec < m->minlive[x->shard])
			m->minlive[x->shard] = x->last_sec;
	}
	for (uint32_t s = 0; s < m->shards; s++) {
		int64_t upto = INT64_MIN;

		/* The latest bucket that may go; the earlier ones go with it. */
		for (int32_t i = m->head[s]; i != MERGE_NONE; i = m->b[i].next) {
			const struct merge_bucket *b = &m->b[i];

			if (all || m->minlive[s] >= b->sec || now_ns >= b->first_ns + m->grace_ns)
				upto = b->sec;
		}
		while (m->head[s] != MERGE_NONE && m->b[m->head[s]].sec <= upto) {
			const struct merge_bucket *b = &m->b[m->head[s]];

			bool hole = !all && merge_hole(m, b, now_ns);

			if (hole)
				m->stats.holes++;
			else if (m->minlive[s] >= b->sec)
				m->stats.complete++;
			else if (all)
				m->stats.forced++;
			else
				m->stats.expired++;
			merge_release_head(m, s, !hole);
			n++;
		}
	}
	return n;
}

void
merge_stats(const struct merge *m, struct merge_stats *ret)
{
	*ret = m->stats;
	ret->open = LIMIT_MERGE_BUCKETS - m->nfree;
}
