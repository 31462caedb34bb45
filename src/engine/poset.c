/*
 * poset: PO slots plus a sorted prefix index. The index is rebuilt on every
 * change — changes come from operators at API speed, lookups from every
 * validation — which keeps the structure trivially consistent.
 */
#include "engine/poset.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/limits.h"

struct poset_pfx {
	struct prefix p;
	uint32_t id;
};

struct poset {
	struct po **slots;	/* by id; NULL = free */
	uint32_t nslots;	/* allocated */
	uint32_t limit;		/* one past the highest used id */
	size_t count;
	struct poset_pfx *index;	/* every prefix of every PO, sorted */
	size_t nindex;
};

int
poset_new(struct poset **ret)
{
	struct poset *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
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
	s->count = 0;
	free(s->index);
	s->index = NULL;
	s->nindex = 0;
}

void
poset_free(struct poset *s)
{
	if (!s)
		return;
	poset_clear(s);
	free(s->slots);
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
	for (uint32_t i = 0; i < s->limit; i++) {
		if (s->slots[i] && strcmp(s->slots[i]->name, name) == 0) {
			if (ret_id)
				*ret_id = i;
			return s->slots[i];
		}
	}
	return NULL;
}

static int
poset_pfx_cmp(const void *a, const void *b)
{
	return po_prefix_cmp(&((const struct poset_pfx *)a)->p, &((const struct poset_pfx *)b)->p);
}

static int
poset_reindex(struct poset *s)
{
	struct poset_pfx *idx;
	size_t n = 0, k = 0;

	for (uint32_t i = 0; i < s->limit; i++)
		if (s->slots[i])
			n += s->slots[i]->nprefixes;
	idx = malloc((n ? n : 1) * sizeof(*idx));
	if (!idx)
		return -ENOMEM;
	for (uint32_t i = 0; i < s->limit; i++) {
		const struct po *p = s->slots[i];

		for (size_t j = 0; p && j < p->nprefixes; j++)
			idx[k++] = (struct poset_pfx){ .p = p->prefixes[j], .id = i };
	}
	qsort(idx, n, sizeof(*idx), poset_pfx_cmp);
	free(s->index);
	s->index = idx;
	s->nindex = n;
	return 0;
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
	for (size_t i = 0; s->nindex > 0 && i < p->nprefixes; i++) {
		struct poset_pfx key = { .p = p->prefixes[i] };
		const struct poset_pfx *hit = bsearch(&key, s->index, s->nindex, sizeof(key),
		    poset_pfx_cmp);
		char buf[PREFIX_STRLEN];

		if (hit && hit->id != self) {
			snprintf(err->field, sizeof(err->field), "prefixes");
			snprintf(err->msg, sizeof(err->msg), "prefix %s is already held by PO %s",
			    prefix_format(&p->prefixes[i], buf, sizeof(buf)), s->slots[hit->id]->name);
			return -EEXIST;
		}
	}
	return 0;
}

/* The lowest free id, growing the slot array when all are used. */
static int
poset_free_id(struct poset *s, uint32_t *ret)
{
	for (uint32_t i = 0; i < s->limit; i++) {
		if (!s->slots[i]) {
			*ret = i;
			return 0;
		}
	}
	if (s->limit == s->nslots) {
		uint32_t n = s->nslots ? s->nslots * 2 : 16;
		struct po **slots = realloc(s->slots, n * sizeof(*slots));

		if (!slots)
			return -ENOMEM;
		memset(slots + s->nslots, 0, (n - s->nslots) * sizeof(*slots));
		s->slots = slots;
		s->nslots = n;
	}
	*ret = s->limit;
	return 0;
}

int
poset_put(struct poset *s, struct po *p, uint32_t *ret_id)
{
	uint32_t id, old_limit;
	struct po *old = NULL;
	int r;

	if (poset_find(s, p->name, &id)) {
		old = s->slots[id];
	} else {
		r = poset_free_id(s, &id);
		if (r < 0)
			return r;
	}
	old_limit = s->limit;
	s->slots[id] = p;
	if (id == s->limit)
		s->limit++;
	r = poset_reindex(s);
	if (r < 0) {
		s->slots[id] = old;
		s->limit = old_limit;
		return r;
	}
	po_free(old);
	if (!old)
		s->count++;
	if (ret_id)
		*ret_id = id;
	return 0;
}

int
poset_del(struct poset *s, const char *name)
{
	uint32_t id;
	struct po *old;
	int r;

	if (!poset_find(s, name, &id))
		return -ENOENT;
	old = s->slots[id];
	s->slots[id] = NULL;
	r = poset_reindex(s);
	if (r < 0) {
		s->slots[id] = old;
		return r;
	}
	po_free(old);
	s->count--;
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
	struct lpm *l = lpm_new();

	if (!l)
		return -errno;
	for (size_t i = 0; i < s->nindex; i++) {
		int r = lpm_insert(l, &s->index[i].p, s->index[i].id);

		if (r < 0) {
			lpm_free(l);
			return r;
		}
	}
	/* A failed build leaves lookups exact, only slower: not worth refusing. */
	(void)lpm_build(l);
	*ret = l;
	return 0;
}
