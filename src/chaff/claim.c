/* claim: unused-address detection from unanswered ARP requests. */
#include "chaff/claim.h"

#include <string.h>

static bool
in_list(const struct decoy_prefix *v, size_t n, uint32_t a)
{
	for (size_t i = 0; i < n; i++) {
		uint32_t mask = v[i].len ? ~0u << (32 - v[i].len) : 0;

		if ((a & mask) == (v[i].base & mask))
			return true;
	}
	return false;
}

void
claim_init(struct claim *c, const struct decoy_prefix *ranges, size_t n_ranges,
	   const struct decoy_prefix *reserved, size_t n_reserved, unsigned after,
	   uint64_t within_ns, size_t max)
{
	memset(c, 0, sizeof(*c));
	c->ranges = ranges;
	c->n_ranges = n_ranges;
	c->reserved = reserved;
	c->n_reserved = n_reserved;
	c->after = after ? after : 1;
	c->within_ns = within_ns;
	c->max = max;
}

static struct claim_pending *
slot_for(struct claim *c, uint32_t a)
{
	struct claim_pending *oldest = &c->pending[0];

	for (size_t i = 0; i < CLAIM_PENDING; i++) {
		struct claim_pending *p = &c->pending[i];

		if (p->used && p->addr == a)
			return p;
	}
	for (size_t i = 0; i < CLAIM_PENDING; i++) {
		struct claim_pending *p = &c->pending[i];

		if (!p->used)
			return p;
		if (p->first_ns < oldest->first_ns)
			oldest = p;
	}
	oldest->used = false;
	return oldest;
}

enum claim_verdict
claim_request(struct claim *c, uint32_t tpa, uint64_t now_ns)
{
	struct claim_pending *p;

	if (c->claimed >= c->max || !in_list(c->ranges, c->n_ranges, tpa) ||
	    in_list(c->reserved, c->n_reserved, tpa))
		return CLAIM_WAIT;
	p = slot_for(c, tpa);
	if (p->used && p->probe_ns != 0) {
		uint64_t since = now_ns - p->probe_ns;

		if (since < CLAIM_PROBE_WAIT_NS)
			return CLAIM_WAIT;
		if (since <= c->within_ns + CLAIM_PROBE_WAIT_NS) {
			p->used = false;
			c->claimed++;
			return CLAIM_NOW;
		}
		p->used = false;	/* a stale probe proves nothing now: start over */
	}
	if (!p->used || now_ns - p->first_ns > c->within_ns) {
		p->used = true;
		p->addr = tpa;
		p->count = 0;
		p->first_ns = now_ns;
		p->probe_ns = 0;
	}
	if (++p->count < c->after)
		return CLAIM_WAIT;
	p->probe_ns = now_ns ? now_ns : 1;
	return CLAIM_PROBE;
}

void
claim_alive(struct claim *c, uint32_t addr)
{
	for (size_t i = 0; i < CLAIM_PENDING; i++)
		if (c->pending[i].used && c->pending[i].addr == addr)
			c->pending[i].used = false;
}
