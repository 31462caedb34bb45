/* conn: bounded open-addressing TCP connection table. */
#include "chaff/conn.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/wbuf.h"

/* Slots examined for one key: a small window keeps lookups O(1). */
#define CONN_PROBE	8u

int
conn_table_init(struct conn_table *t, size_t want, const struct hash_key *key)
{
	size_t n = 16;

	memset(t, 0, sizeof(*t));
	while (n < want && n < (1u << 30))
		n <<= 1;
	t->v = calloc(n, sizeof(*t->v));
	if (!t->v)
		return -ENOMEM;
	t->mask = (uint32_t)(n - 1);
	t->key = *key;
	return 0;
}

void
conn_table_free(struct conn_table *t)
{
	if (!t)
		return;
	free(t->v);
	memset(t, 0, sizeof(*t));
}

static uint32_t
slot_of(const struct conn_table *t, uint32_t saddr, uint16_t sport, uint32_t daddr,
	uint16_t dport)
{
	uint8_t k[12];

	wb_patch_u32(k, saddr);
	wb_patch_u32(k + 4, daddr);
	wb_patch_u16(k + 8, sport);
	wb_patch_u16(k + 10, dport);
	return (uint32_t)hash_bytes(&t->key, k, sizeof(k)) & t->mask;
}

static bool
same_key(const struct conn *c, uint32_t saddr, uint16_t sport, uint32_t daddr, uint16_t dport)
{
	return c->state != CONN_FREE && c->saddr == saddr && c->sport == sport &&
	       c->daddr == daddr && c->dport == dport;
}

struct conn *
conn_find(struct conn_table *t, uint32_t saddr, uint16_t sport, uint32_t daddr, uint16_t dport)
{
	uint32_t s = slot_of(t, saddr, sport, daddr, dport);

	for (uint32_t i = 0; i < CONN_PROBE; i++) {
		struct conn *c = &t->v[(s + i) & t->mask];

		if (same_key(c, saddr, sport, daddr, dport))
			return c;
	}
	return NULL;
}

struct conn *
conn_add(struct conn_table *t, uint32_t saddr, uint16_t sport, uint32_t daddr,
	 uint16_t dport, uint64_t now_ns, struct conn *ret_evicted, bool *ret_did_evict)
{
	uint32_t s = slot_of(t, saddr, sport, daddr, dport);
	struct conn *victim = NULL, *c;

	*ret_did_evict = false;
	for (uint32_t i = 0; i < CONN_PROBE; i++) {
		c = &t->v[(s + i) & t->mask];
		if (c->state == CONN_FREE || same_key(c, saddr, sport, daddr, dport)) {
			victim = c;
			break;
		}
		/* Prefer recycling half-open entries, then the oldest. */
		if (!victim || (c->state == CONN_SYN_RCVD && victim->state != CONN_SYN_RCVD) ||
		    (c->state == victim->state && c->last_ns < victim->last_ns))
			victim = c;
	}
	if (victim->state != CONN_FREE) {
		if (!same_key(victim, saddr, sport, daddr, dport)) {
			*ret_evicted = *victim;
			*ret_did_evict = true;
		}
		t->used--;
	}
	memset(victim, 0, sizeof(*victim));
	victim->saddr = saddr;
	victim->sport = sport;
	victim->daddr = daddr;
	victim->dport = dport;
	victim->state = CONN_SYN_RCVD;
	victim->session = -1;
	victim->sndbuf = -1;
	victim->start_ns = victim->last_ns = now_ns;
	t->used++;
	return victim;
}

void
conn_del(struct conn_table *t, struct conn *c)
{
	if (c->state == CONN_FREE)
		return;
	memset(c, 0, sizeof(*c));
	t->used--;
}

void
conn_expire(struct conn_table *t, uint64_t now_ns, uint64_t idle_ns,
	    void (*fn)(void *arg, struct conn *c), void *arg)
{
	for (uint32_t i = 0; i <= t->mask; i++) {
		struct conn *c = &t->v[i];

		if (c->state == CONN_FREE || now_ns - c->last_ns < idle_ns)
			continue;
		if (fn)
			fn(arg, c);
		conn_del(t, c);
	}
}
