/*
 * sketch: weighted Space-Saving over a min-heap (to find the key to evict
 * in O(log k)) and an open-addressing hash index with linear probing and
 * backward-shift deletion (to find a key in O(1)). All arrays are sized at
 * creation; sketch_add() never allocates.
 */
#include "engine/detect/sketch.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "common/limits.h"

struct sketch {
	unsigned k;		/* capacity */
	unsigned n;		/* keys held */
	uint32_t mask;		/* index slots - 1 (a power of two >= 2k) */
	uint64_t seed;
	uint64_t total;
	struct sketch_item *items;	/* [k] */
	uint32_t *heap;		/* [k] item numbers, min-heap by count */
	uint32_t *hpos;		/* [k] item number -> heap position */
	uint32_t *index;	/* [mask + 1] item number + 1, 0 = free */
};

static uint64_t
sketch_hash(const struct sketch *s, const uint8_t *key, size_t len)
{
	uint64_t h = s->seed ^ (len * 0x9e3779b97f4a7c15ULL);

	for (size_t i = 0; i < len; i++) {
		h ^= key[i];
		h *= 0x100000001b3ULL;
		h ^= h >> 29;
	}
	h ^= h >> 32;
	h *= 0xd6e8feb86659fd93ULL;
	h ^= h >> 32;
	return h;
}

static uint64_t
sketch_seed(void)
{
	uint64_t seed;

	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != (ssize_t)sizeof(seed))
		seed = 0x5bd1e9955bd1e995ULL;
	return seed;
}

int
sketch_new(unsigned k, struct sketch **ret)
{
	struct sketch *s;
	uint32_t slots = 2;

	if (k == 0 || k > LIMIT_SKETCH_K)
		return -EINVAL;
	while (slots < 2 * k)
		slots <<= 1;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return -ENOMEM;
	s->k = k;
	s->mask = slots - 1;
	s->seed = sketch_seed();
	s->items = calloc(k, sizeof(*s->items));
	s->heap = calloc(k, sizeof(*s->heap));
	s->hpos = calloc(k, sizeof(*s->hpos));
	s->index = calloc(slots, sizeof(*s->index));
	if (s->items == NULL || s->heap == NULL || s->hpos == NULL || s->index == NULL) {
		sketch_free(s);
		return -ENOMEM;
	}
	*ret = s;
	return 0;
}

void
sketch_free(struct sketch *s)
{
	if (s == NULL)
		return;
	free(s->items);
	free(s->heap);
	free(s->hpos);
	free(s->index);
	free(s);
}

void
sketch_reset(struct sketch *s)
{
	s->n = 0;
	s->total = 0;
	memset(s->index, 0, (size_t)(s->mask + 1) * sizeof(*s->index));
}

uint64_t
sketch_total(const struct sketch *s)
{
	return s->total;
}

unsigned
sketch_size(const struct sketch *s)
{
	return s->n;
}

static bool
sketch_key_eq(const struct sketch_item *it, const uint8_t *key, size_t len)
{
	return it->key_len == len && memcmp(it->key, key, len) == 0;
}

/* Index slot holding key, or the free slot where it would go. */
static uint32_t
sketch_slot(const struct sketch *s, const uint8_t *key, size_t len)
{
	uint32_t i = (uint32_t)sketch_hash(s, key, len) & s->mask;

	while (s->index[i] != 0 && !sketch_key_eq(&s->items[s->index[i] - 1], key, len))
		i = (i + 1) & s->mask;
	return i;
}

/* Remove slot i from the index, shifting later members of its probe run
 * back so lookups never meet a hole before their key. */
static void
sketch_index_del(struct sketch *s, uint32_t i)
{
	uint32_t j = i;

	for (;;) {
		uint32_t home;
		const struct sketch_item *it;

		s->index[i] = 0;
		for (;;) {
			j = (j + 1) & s->mask;
			if (s->index[j] == 0)
				return;
			it = &s->items[s->index[j] - 1];
			home = (uint32_t)sketch_hash(s, it->key, it->key_len) & s->mask;
			/* keep j where it is if its home lies cyclically in (i, j] */
			if (i <= j ? (i < home && home <= j) : (i < home || home <= j))
				continue;
			break;
		}
		s->index[i] = s->index[j];
		i = j;
	}
}

static void
sketch_heap_swap(struct sketch *s, uint32_t a, uint32_t b)
{
	uint32_t t = s->heap[a];

	s->heap[a] = s->heap[b];
	s->heap[b] = t;
	s->hpos[s->heap[a]] = a;
	s->hpos[s->heap[b]] = b;
}

/* Counts only grow, so an item only ever moves down the min-heap. */
static void
sketch_heap_down(struct sketch *s, uint32_t p)
{
	for (;;) {
		uint32_t l = 2 * p + 1, r = l + 1, m = p;

		if (l < s->n && s->items[s->heap[l]].count < s->items[s->heap[m]].count)
			m = l;
		if (r < s->n && s->items[s->heap[r]].count < s->items[s->heap[m]].count)
			m = r;
		if (m == p)
			return;
		sketch_heap_swap(s, p, m);
		p = m;
	}
}

static void
sketch_heap_up(struct sketch *s, uint32_t p)
{
	while (p > 0) {
		uint32_t parent = (p - 1) / 2;

		if (s->items[s->heap[parent]].count <= s->items[s->heap[p]].count)
			return;
		sketch_heap_swap(s, p, parent);
		p = parent;
	}
}

static uint64_t
sat_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

void
sketch_add(struct sketch *s, const void *key, size_t len, uint64_t w)
{
	const uint8_t *k = key;
	struct sketch_item *it;
	uint32_t slot, num;

	if (len == 0 || w == 0)
		return;
	if (len > SKETCH_KEY_MAX)
		len = SKETCH_KEY_MAX;
	s->total = sat_add(s->total, w);
	slot = sketch_slot(s, k, len);
	if (s->index[slot] != 0) {
		num = s->index[slot] - 1;
		s->items[num].count = sat_add(s->items[num].count, w);
		sketch_heap_down(s, s->hpos[num]);
		return;
	}
	if (s->n < s->k) {
		num = s->n++;
		it = &s->items[num];
		memcpy(it->key, k, len);
		it->key_len = (uint8_t)len;
		it->count = w;
		it->err = 0;
		s->heap[num] = num;
		s->hpos[num] = num;
		s->index[slot] = num + 1;
		sketch_heap_up(s, num);
		return;
	}
	/* Full: the minimum's slot is taken over by the newcomer. */
	num = s->heap[0];
	it = &s->items[num];
	sketch_index_del(s, sketch_slot(s, it->key, it->key_len));
	memcpy(it->key, k, len);
	it->key_len = (uint8_t)len;
	it->err = it->count;
	it->count = sat_add(it->count, w);
	s->index[sketch_slot(s, k, len)] = num + 1;
	sketch_heap_down(s, 0);
}

static int
sketch_item_cmp(const void *a, const void *b)
{
	const struct sketch_item *x = a, *y = b;

	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return 0;
}

unsigned
sketch_top(const struct sketch *s, struct sketch_item *out, unsigned max)
{
	struct sketch_item *all;
	unsigned n;

	if (max == 0 || s->n == 0)
		return 0;
	all = malloc((size_t)s->n * sizeof(*all));
	if (all == NULL) {
		/* Without scratch space, return the heap's unsorted prefix. */
		n = max < s->n ? max : s->n;
		for (unsigned i = 0; i < n; i++)
			out[i] = s->items[i];
		return n;
	}
	memcpy(all, s->items, (size_t)s->n * sizeof(*all));
	qsort(all, s->n, sizeof(*all), sketch_item_cmp);
	n = max < s->n ? max : s->n;
	memcpy(out, all, (size_t)n * sizeof(*out));
	free(all);
	return n;
}
