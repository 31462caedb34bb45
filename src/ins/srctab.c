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

/* Seeded 64-bit mix of the address (splitmix-style finaliser per word). */
static size_t
srctab_hash(const struct srctab *t, uint8_t family, const uint8_t addr[16])
{
	uint64_t h = t->seed ^ family, w[2];

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

struct srctab_entry *
srctab_get(struct srctab *t, uint8_t family, const uint8_t addr[16], bool create, uint64_t now_ms)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	uint8_t v4[16] = { 0 };
	size_t b;
	struct srctab_entry *e;

	if (!t->buckets)
		return NULL;
	/* A client seen through a dual-stack listener is the same IPv4 source. */
	if (family == SRCTAB_AF6 && memcmp(addr, mapped, sizeof(mapped)) == 0) {
		memcpy(v4, addr + 12, 4);
		family = SRCTAB_AF4;
		addr = v4;
	}
	b = srctab_hash(t, family, addr);
	for (e = t->buckets[b]; e; e = e->next) {
		if (e->family == family && memcmp(e->addr, addr, 16) == 0) {
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
	memcpy(e->addr, addr, 16);
	e->last_ms = now_ms;
	e->next = t->buckets[b];
	t->buckets[b] = e;
	t->used++;
	return e;
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
