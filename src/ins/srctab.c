/*
 * srctab: fixed-pool hash table of source addresses. See srctab.h.
 */
#include "ins/srctab.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int
srctab_init(struct srctab *t, size_t cap, uint64_t seed)
{
	size_t nb = 1;

	memset(t, 0, sizeof(*t));
	while (nb < cap)
		nb <<= 1;
	t->pool = calloc(cap ? cap : 1, sizeof(*t->pool));
	t->buckets = calloc(nb, sizeof(*t->buckets));
	if (!t->pool || !t->buckets) {
		srctab_free(t);
		return -ENOMEM;
	}
	for (size_t i = 0; i < cap; i++) {
		t->pool[i].next = t->free_list;
		t->free_list = &t->pool[i];
	}
	t->nbuckets = nb;
	t->cap = cap;
	t->seed = seed | 1;
	return 0;
}

void
srctab_free(struct srctab *t)
{
	free(t->pool);
	free(t->buckets);
	memset(t, 0, sizeof(*t));
}

/* Seeded 64-bit mix of the key (splitmix-style finaliser per word). */
static size_t
srctab_hash(const struct srctab *t, uint8_t family, uint8_t len, const uint8_t addr[16])
{
	uint64_t h = t->seed ^ family ^ (uint64_t)len << 8, w[2];

	memcpy(w, addr, 16);
	for (int i = 0; i < 2; i++) {
		h ^= w[i];
		h *= 0x9e3779b97f4a7c15ull;
		h ^= h >> 31;
		h *= 0xbf58476d1ce4e5b9ull;
		h ^= h >> 29;
	}
	return (size_t)h & (t->nbuckets - 1);
}

/* family 4 / 6 as in insproto (INS_AF_INET / INS_AF_INET6), without including it. */
enum { SRCTAB_AF4 = 4, SRCTAB_AF6 = 6 };

/* A client seen through a dual-stack listener is the same IPv4 source. */
static void
srctab_unmap(uint8_t *family, const uint8_t **addr, uint8_t v4[16])
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	if (*family == SRCTAB_AF6 && memcmp(*addr, mapped, sizeof(mapped)) == 0) {
		memset(v4, 0, 16);
		memcpy(v4, *addr + 12, 4);
		*family = SRCTAB_AF4;
		*addr = v4;
	}
}

static unsigned
srctab_width(uint8_t family)
{
	return family == SRCTAB_AF4 ? 32 : 128;
}

/* The key of (family, addr, len): host bits and bytes beyond the family's width zeroed. */
static void
srctab_mask(uint8_t family, const uint8_t addr[16], unsigned len, uint8_t out[16])
{
	unsigned width = srctab_width(family);

	if (len > width)
		len = width;
	memset(out, 0, 16);
	memcpy(out, addr, len / 8);
	if (len % 8)
		out[len / 8] = addr[len / 8] & (uint8_t)(0xff << (8 - len % 8));
}

/* The entry for an already unmapped family/addr at len. */
static struct srctab_entry *
srctab_find(struct srctab *t, uint8_t family, const uint8_t addr[16], uint8_t len, bool create,
	    uint64_t now_ms)
{
	uint8_t key[16];
	size_t b;
	struct srctab_entry *e;

	if (!t->buckets)
		return NULL;
	if (len > srctab_width(family))
		len = (uint8_t)srctab_width(family);
	srctab_mask(family, addr, len, key);
	b = srctab_hash(t, family, len, key);
	for (e = t->buckets[b]; e; e = e->next) {
		if (e->family == family && e->len == len && memcmp(e->addr, key, 16) == 0) {
			e->last_ms = now_ms;
			return e;
		}
	}
	if (!create || !t->free_list)
		return NULL;
	e = t->free_list;
	t->free_list = e->next;
	memset(e, 0, sizeof(*e));
	e->family = family;
	e->len = len;
	memcpy(e->addr, key, 16);
	e->last_ms = now_ms;
	e->next = t->buckets[b];
	t->buckets[b] = e;
	t->used++;
	return e;
}

struct srctab_entry *
srctab_get_prefix(struct srctab *t, uint8_t family, const uint8_t addr[16], uint8_t len,
		  bool create, uint64_t now_ms)
{
	uint8_t v4[16];

	srctab_unmap(&family, &addr, v4);
	return srctab_find(t, family, addr, len, create, now_ms);
}

struct srctab_entry *
srctab_get(struct srctab *t, uint8_t family, const uint8_t addr[16], bool create, uint64_t now_ms)
{
	uint8_t v4[16];

	srctab_unmap(&family, &addr, v4);
	return srctab_find(t, family, addr, (uint8_t)srctab_width(family), create, now_ms);
}

void
srctab_lookup(struct srctab *t, const struct srctab_prefixes *p, uint8_t family,
	      const uint8_t addr[16], bool create, uint64_t now_ms, struct srctab_set *ret)
{
	uint8_t v4[16];
	const uint8_t *lens;
	unsigned n, width;
	bool exact_level = false;

	memset(ret, 0, sizeof(*ret));
	srctab_unmap(&family, &addr, v4);
	width = srctab_width(family);
	lens = family == SRCTAB_AF4 ? p->len4 : p->len6;
	n = family == SRCTAB_AF4 ? p->n4 : p->n6;
	if (n > SRCTAB_PREFIXES)
		n = SRCTAB_PREFIXES;
	for (unsigned i = 0; i < n; i++) {
		struct srctab_entry *e = srctab_find(t, family, addr, lens[i], create, now_ms);

		if (lens[i] >= width)
			exact_level = true;
		if (e)
			ret->e[ret->n++] = e;
	}
	if (!exact_level) {
		/* The address's own entry only if an administrator made one. */
		struct srctab_entry *e = srctab_find(t, family, addr, (uint8_t)width, false, now_ms);

		if (e)
			ret->e[ret->n++] = e;
	}
}

bool
srctab_set_denied(const struct srctab_set *s, uint64_t now_ms)
{
	for (unsigned i = 0; i < s->n; i++)
		if (srctab_denied(s->e[i], now_ms))
			return true;
	return false;
}

bool
srctab_set_note_drop(struct srctab_set *s, uint32_t threshold, uint64_t deny_ms, uint64_t now_ms)
{
	bool denied = false;

	for (unsigned i = 0; i < s->n; i++)
		denied |= srctab_note_drop(s->e[i], threshold, deny_ms, now_ms);
	return denied;
}

void
srctab_set_held(struct srctab_set *s, int delta)
{
	for (unsigned i = 0; i < s->n; i++) {
		if (delta < 0 && s->e[i]->held < (uint32_t)-delta)
			s->e[i]->held = 0;
		else
			s->e[i]->held += (uint32_t)delta;
	}
}

uint32_t
srctab_set_max_held(const struct srctab_set *s)
{
	uint32_t m = 0;

	for (unsigned i = 0; i < s->n; i++)
		if (s->e[i]->held > m)
			m = s->e[i]->held;
	return m;
}

uint32_t
srctab_set_max_open(const struct srctab_set *s, uint32_t gen)
{
	uint32_t m = 0;

	for (unsigned i = 0; i < s->n; i++) {
		uint32_t o = s->e[i]->held + srctab_open_conns(s->e[i], gen);

		if (o > m)
			m = o;
	}
	return m;
}

void
srctab_set_count_live(struct srctab_set *s, uint32_t gen)
{
	for (unsigned i = 0; i < s->n; i++)
		srctab_count_live(s->e[i], gen);
}

void
srctab_set_count_handoff(struct srctab_set *s, uint32_t gen)
{
	for (unsigned i = 0; i < s->n; i++)
		srctab_count_handoff(s->e[i], gen);
}

bool
srctab_note_drop(struct srctab_entry *e, uint32_t threshold, uint64_t deny_ms, uint64_t now_ms)
{
	if (!e)
		return false;
	e->last_ms = now_ms;
	if (++e->drops < threshold)
		return false;
	e->drops = 0;
	e->deny_until_ms = now_ms + deny_ms;
	return true;
}

static bool
srctab_idle(const struct srctab_entry *e, uint64_t now_ms, uint64_t idle_ms)
{
	return e->held == 0 && now_ms >= e->deny_until_ms && now_ms - e->last_ms >= idle_ms;
}

size_t
srctab_sweep(struct srctab *t, uint64_t now_ms, uint64_t idle_ms)
{
	size_t freed = 0;

	for (size_t b = 0; b < t->nbuckets; b++) {
		struct srctab_entry **pp = &t->buckets[b];

		while (*pp) {
			struct srctab_entry *e = *pp;

			if (!srctab_idle(e, now_ms, idle_ms)) {
				pp = &e->next;
				continue;
			}
			*pp = e->next;
			e->next = t->free_list;
			t->free_list = e;
			t->used--;
			freed++;
		}
	}
	return freed;
}
