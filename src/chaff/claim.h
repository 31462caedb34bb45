/*
 * claim: LaBrea-style claiming of unused addresses.
 *
 * When ARP requests for an address in the claim ranges go unanswered — at
 * least `after` requests within `within_ns`, with no ARP from that address
 * seen meanwhile — the address is judged unused and handed to the caller to
 * become a decoy. Addresses in the reserved list are never claimed, and at
 * most `max` addresses are. Pending addresses live in a fixed table
 * (CLAIM_PENDING slots, the oldest recycled), so an ARP storm costs no memory.
 */
#ifndef MOAT_CHAFF_CLAIM_H
#define MOAT_CHAFF_CLAIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chaff/decoy.h"

#define CLAIM_PENDING 1024

struct claim_pending {
	uint32_t addr;
	uint16_t count;
	bool used;
	uint64_t first_ns;
};

struct claim {
	const struct decoy_prefix *ranges, *reserved;
	size_t n_ranges, n_reserved;
	unsigned after;
	uint64_t within_ns;
	size_t max, claimed;
	struct claim_pending pending[CLAIM_PENDING];
};

void claim_init(struct claim *c, const struct decoy_prefix *ranges, size_t n_ranges,
		const struct decoy_prefix *reserved, size_t n_reserved, unsigned after,
		uint64_t within_ns, size_t max);

/* An ARP request for tpa (not a decoy) was seen at now_ns: true when tpa
 * should be claimed now (the caller makes it a decoy and counts it). */
bool claim_request(struct claim *c, uint32_t tpa, uint64_t now_ns);

/* addr showed it is alive (it sent ARP): never claim it from this evidence. */
void claim_alive(struct claim *c, uint32_t addr);

#endif
