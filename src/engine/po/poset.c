/*
 * poset: PO slots plus two chained hash indexes — name -> id and prefix ->
 * id — updated incrementally, so adding, replacing or deleting a PO costs
 * its own prefix count, and replaying N POs at start is linear. Capacity is
 * reserved before anything is modified, so a failed change leaves the set
 * exactly as it was.
 */
#include "engine/po/poset.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"
#include "common/limits.h"

#define POSET_END UINT32_MAX

/* One prefix of one PO in the prefix index. */
struct poset_pent {
	struct prefix p;
	uint32_t id;
	uint32_t next;		/* chain, or free list */
};

struct poset {
	struct po **slots;	/* by id; NULL = free */
	uint32_t *name_next;	/* by id: the name chain */
	uint32_t nslots;	/* allocated */
	uint32_t limit;		/* one past the highest used id */
	uint32_t free_hint;	/* no free id below this */
	size_t count;
	uint32_t *name_heads;
	uint32_t nname_heads;	/* power of two, or 0 */
	uint32_t *pfx_heads;
	uint32_t npfx_heads;	/* power of two, or 0 */
	struct poset_pent *pents;
	uint32_t npents;	/* entries ever used (live + free) */
	uint32_t pents_cap;
	uint32_t pfree;		/* free list of entries */
	size_t nprefixes;	/* live entries */
	struct hash_key key;	/* of the name chains */
};

/* Names come from the API and backups: keyed, so no one can choose names
 * that share a chain. */
static uint32_t
poset_name_hash(const struct poset *s, const char *name)
{
	return (uint32_t)hash_bytes(&s->key, name, strlen(name));
}

static uint32_t
poset_pfx_hash(const struct prefix *p)
{
	return ipaddr_hash(&p->addr, 0x9e3779b9u ^ p->len);
}

static bool
poset_pfx_equal(const struct prefix *a, const struct prefix *b)
{
	return a->len == b->len && ipaddr_equal(&a->addr, &b->addr);
}

int
poset_new(struct poset **ret)
{
	struct poset *s = calloc(1, sizeof(*s));

	int r;

	if (!s)
		return -ENOMEM;
	if ((r = hash_key_init(&s->key)) < 0) {
		free(s);
		return r;
	}
	s->pfree = POSET_END;
	*ret = s;
	return 0;
}

void
poset_clear(struct poset *s)
{
	for (uint32_t i = 0; i < s->limit; i++) {
		po_free(s->slots[i]);
		s->slots[i] = NULL;
	}
	s->limit = 0;
	s->free_hint = 0;
	s->count = 0;
	if (s->name_heads)
		memset(s->name_heads, 0xff, s->nname_heads * sizeof(*s->name_heads));
	if (s->pfx_heads)
		memset(s->pfx_heads, 0xff, s->npfx_heads * sizeof(*s->pfx_heads));
	s->npents = 0;
	s->pfree = POSET_END;
	s->nprefixes = 0;
}

void
poset_free(struct poset *s)
{
	if (!s)
		return;
	poset_clear(s);
	free(s->slots);
	free(s->name_next);
	free(s->name_heads);
	free(s->pfx_heads);
	free(s->pents);
	free(s);
}

size_t
poset_count(const struct poset *s)
{
	return s->count;
}

uint32_t
poset_id_limit(const struct poset *s)
{
	return s->limit;
}

const struct po *
poset_at(const struct poset *s, uint32_t id)
{
	return id < s->limit ? s->slots[id] : NULL;
}

const struct po *
poset_find(const struct poset *s, const char *name, uint32_t *ret_id)
{
	if (s->nname_heads == 0)
		return NULL;
	for (uint32_t i = s->name_heads[poset_name_hash(s, name) & (s->nname_heads - 1)];
	    i != POSET_END; i = s->name_next[i]) {
		if (strcmp(s->slots[i]->name, name) == 0) {
			if (ret_id)
				*ret_id = i;
			return s->slots[i];
		}
	}
	return NULL;
}

/* The index entry holding exactly p, or POSET_END. */
static uint32_t
poset_pfx_find(const struct poset *s, const struct prefix *p)
{
	if (s->npfx_heads == 0)
		return POSET_END;
	for (uint32_t i = s->pfx_heads[poset_pfx_hash(p) & (s->npfx_heads - 1)];
	    i != POSET_END; i = s->pents[i].next)
		if (poset_pfx_equal(&s->pents[i].p, p))
			return i;
	return POSET_END;
}

int
poset_check(const struct poset *s, const struct po *p, struct po_error *err)
{
	uint32_t self = POSET_NONE;

	if (!poset_find(s, p->name, &self) && s->count >= LIMIT_POS) {
		snprintf(err->field, sizeof(err->field), "name");
		snprintf(err->msg, sizeof(err->msg), "too many POs (at most %u)", LIMIT_POS);
		return -ENOSPC;
	}
	for (size_t i = 0; i < p->nprefixes; i++) {
		uint32_t hit = poset_pfx_find(s, &p->prefixes[i]);
		char buf[PREFIX_STRLEN];

		if (hit != POSET_END && s->pents[hit].id != self) {
			snprintf(err->field, sizeof(err->field), "prefixes");
			snprintf(err->msg, sizeof(err->msg), "prefix %s is already held by PO %s",
			    prefix_format(&p->prefixes[i], buf, sizeof(buf)),
			    s->slots[s->pents[hit].id]->name);
			return -EEXIST;
		}
	}
	return 0;
}

/* Smallest power of two >= n (n >= 1), at least 16. */
static uint32_t
poset_pow2(size_t n)
{
	uint32_t v = 16;

	while (v < n && v < (1u << 31))
		v <<= 1;
	return v;
}

/* Rebuild the prefix chains for nheads buckets. */
static int
poset_pfx_rehash(struct poset *s, uint32_t nheads)
{
	uint32_t *heads = malloc(nheads * sizeof(*heads));

	if (!heads)
		return -ENOMEM;
	memset(heads, 0xff, nheads * sizeof(*heads));
	/* Live entries are exactly those on the old chains: relink them. */
	for (uint32_t b = 0; b < s->npfx_heads; b++) {
		uint32_t i = s->pfx_heads[b];

		while (i != POSET_END) {
			uint32_t next = s->pents[i].next;
			uint32_t nb = poset_pfx_hash(&s->pents[i].p) & (nheads - 1);

			s->pents[i].next = heads[nb];
			heads[nb] = i;
			i = next;
		}
	}
	free(s->pfx_heads);
	s->pfx_heads = heads;
	s->npfx_heads = nheads;
	return 0;
}

static int
poset_name_rehash(struct poset *s, uint32_t nheads)
{
	uint32_t *heads = malloc(nheads * sizeof(*heads));

	if (!heads)
		return -ENOMEM;
	memset(heads, 0xff, nheads * sizeof(*heads));
	for (uint32_t id = 0; id < s->limit; id++) {
		uint32_t b;

		if (!s->slots[id])
			continue;
		b = poset_name_hash(s, s->slots[id]->name) & (nheads - 1);
		s->name_next[id] = heads[b];
		heads[b] = id;
	}
	free(s->name_heads);
	s->name_heads = heads;
	s->nname_heads = nheads;
	return 0;
}

/* Make room for one more PO (a slot, its name chain) and `extra` more
 * prefix entries, so that the change that follows cannot fail. */
static int
poset_reserve(struct poset *s, size_t extra)
{
	size_t need_pents = (size_t)s->npents + extra;
	int r;

	if (s->limit == s->nslots) {
		uint32_t n = s->nslots ? s->nslots * 2 : 16;
		struct po **slots = realloc(s->slots, n * sizeof(*slots));
		uint32_t *next;

		if (!slots)
			return -ENOMEM;
		memset(slots + s->nslots, 0, (n - s->nslots) * sizeof(*slots));
		s->slots = slots;
		next = realloc(s->name_next, n * sizeof(*next));
		if (!next)
			return -ENOMEM;
		s->name_next = next;
		s->nslots = n;
	}
	if (s->count + 1 > s->nname_heads) {
		r = poset_name_rehash(s, poset_pow2(s->count + 1));
		if (r < 0)
			return r;
	}
	if (need_pents > UINT32_MAX - 1)
		return -ENOSPC;
	if (need_pents > s->pents_cap) {
		size_t cap = s->pents_cap ? s->pents_cap : 64;
		struct poset_pent *pe;

		while (cap < need_pents)
			cap *= 2;
		pe = realloc(s->pents, cap * sizeof(*pe));
		if (!pe)
			return -ENOMEM;
		s->pents = pe;
		s->pents_cap = (uint32_t)(cap > UINT32_MAX - 1 ? UINT32_MAX - 1 : cap);
	}
	if (s->nprefixes + extra > s->npfx_heads) {
		r = poset_pfx_rehash(s, poset_pow2(s->nprefixes + extra));
		if (r < 0)
			return r;
	}
	return 0;
}

/* Cannot fail after poset_reserve(). */
static void
poset_pfx_add(struct poset *s, const struct prefix *p, uint32_t id)
{
	uint32_t i, b = poset_pfx_hash(p) & (s->npfx_heads - 1);

	if (s->pfree != POSET_END) {
		i = s->pfree;
		s->pfree = s->pents[i].next;
	} else {
		i = s->npents++;
	}
	s->pents[i] = (struct poset_pent){ .p = *p, .id = id, .next = s->pfx_heads[b] };
	s->pfx_heads[b] = i;
	s->nprefixes++;
}

static void
poset_pfx_del(struct poset *s, const struct prefix *p)
{
	uint32_t *link = &s->pfx_heads[poset_pfx_hash(p) & (s->npfx_heads - 1)];

	for (uint32_t i = *link; i != POSET_END; link = &s->pents[i].next, i = *link) {
		if (poset_pfx_equal(&s->pents[i].p, p)) {
			*link = s->pents[i].next;
			s->pents[i].next = s->pfree;
			s->pfree = i;
			s->nprefixes--;
			return;
		}
	}
}

static void
poset_name_link(struct poset *s, uint32_t id)
{
	uint32_t b = poset_name_hash(s, s->slots[id]->name) & (s->nname_heads - 1);

	s->name_next[id] = s->name_heads[b];
	s->name_heads[b] = id;
}

static void
poset_name_unlink(struct poset *s, uint32_t id)
{
	uint32_t *link = &s->name_heads[poset_name_hash(s, s->slots[id]->name) & (s->nname_heads - 1)];

	while (*link != id)
		link = &s->name_next[*link];
	*link = s->name_next[id];
}

/* The lowest free id (ids stay dense, so per-PO arrays elsewhere stay small). */
static uint32_t
poset_free_id(struct poset *s)
{
	uint32_t i = s->free_hint;

	while (i < s->limit && s->slots[i])
		i++;
	s->free_hint = i + 1;
	return i;
}

int
poset_put(struct poset *s, struct po *p, uint32_t *ret_id)
{
	struct po *old = NULL;
	uint32_t id;
	int r;

	r = poset_reserve(s, p->nprefixes);
	if (r < 0)
		return r;
	if (poset_find(s, p->name, &id)) {
		old = s->slots[id];
		for (size_t i = 0; i < old->nprefixes; i++)
			poset_pfx_del(s, &old->prefixes[i]);
		poset_name_unlink(s, id);
	} else {
		id = poset_free_id(s);
		if (id == s->limit)
			s->limit++;
		s->count++;
	}
	s->slots[id] = p;
	poset_name_link(s, id);
	for (size_t i = 0; i < p->nprefixes; i++)
		poset_pfx_add(s, &p->prefixes[i], id);
	po_free(old);
	if (ret_id)
		*ret_id = id;
	return 0;
}

int
poset_del(struct poset *s, const char *name)
{
	struct po *old;
	uint32_t id;

	if (!poset_find(s, name, &id))
		return -ENOENT;
	old = s->slots[id];
	for (size_t i = 0; i < old->nprefixes; i++)
		poset_pfx_del(s, &old->prefixes[i]);
	poset_name_unlink(s, id);
	s->slots[id] = NULL;
	po_free(old);
	s->count--;
	if (id < s->free_hint)
		s->free_hint = id;
	while (s->limit > 0 && !s->slots[s->limit - 1])
		s->limit--;
	return 0;
}

static int
poset_name_cmp(const void *a, const void *b)
{
	return strcmp((*(const struct po *const *)a)->name, (*(const struct po *const *)b)->name);
}

int
poset_sorted(const struct poset *s, const struct po ***ret, size_t *ret_n)
{
	const struct po **arr = NULL;
	size_t n = 0;

	if (s->count > 0) {
		arr = malloc(s->count * sizeof(*arr));
		if (!arr)
			return -ENOMEM;
		for (uint32_t i = 0; i < s->limit; i++)
			if (s->slots[i])
				arr[n++] = s->slots[i];
		qsort(arr, n, sizeof(*arr), poset_name_cmp);
	}
	*ret = arr;
	*ret_n = n;
	return 0;
}

int
poset_build_lpm(const struct poset *s, struct lpm **ret)
{
	size_t n = 0, cap = s->nprefixes ? s->nprefixes : 1;
	struct prefix *ps = malloc(cap * sizeof(*ps));
	uint32_t *ids = malloc(cap * sizeof(*ids));
	struct lpm *l = lpm_new();
	int r = -ENOMEM;

	if (!ps || !ids || !l)
		goto fail;
	for (uint32_t id = 0; id < s->limit; id++) {
		const struct po *p = s->slots[id];

		for (size_t i = 0; p && i < p->nprefixes; i++) {
			ps[n] = p->prefixes[i];
			ids[n++] = id;
		}
	}
	/* One bulk insert: the LPM orders the work by address. */
	r = lpm_insert_many(l, ps, ids, n);
	if (r < 0)
		goto fail;
	/* A failed build leaves lookups exact, only slower: not worth refusing. */
	(void)lpm_build(l);
	free(ps);
	free(ids);
	*ret = l;
	return 0;
fail:
	lpm_free(l);
	free(ps);
	free(ids);
	return r;
}
