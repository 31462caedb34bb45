/*
 * claim: LaBrea-style claiming of unused addresses.
 *
 * When ARP requests for an address in the claim ranges go unanswered — at
 * least `after` requests within `within_ns`, with no ARP from that address
 * seen meanwhile — the address is probed, and only when the probe too goes
 * unanswered is it judged unused and handed to the caller to become a
 * decoy. The probe is what makes this safe on a switched segment: there
 * moat-chaff sees the broadcast requests but never a live host's unicast
 * replies to them, so unanswered-looking requests alone would claim live
 * hosts (two MACs answering for one address). The probe (RFC 5227: sender
 * 0.0.0.0, from the would-be decoy's MAC) is answered to that MAC, which
 * the switch sends to us. Addresses in the reserved list are never claimed, and at
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
/* How long a probe waits for the owner's answer: a live host answers ARP
 * within milliseconds; RFC 5227's PROBE_WAIT (1 s) is about start-up. */
#define CLAIM_PROBE_WAIT_NS 500000000ULL

struct claim_pending {
	uint32_t addr;
	uint16_t count;
	bool used;
	uint64_t first_ns;
	uint64_t probe_ns;	/* when the probe went out; 0: not probed yet */
};

enum claim_verdict {
	CLAIM_WAIT,	/* not (yet) judged unused */
	CLAIM_PROBE,	/* probe the address now (claim_probe_mac's MAC, sender 0.0.0.0) */
	CLAIM_NOW,	/* the probe went unanswered: claim it */
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

/* An ARP request for tpa (not a decoy) was seen at now_ns. CLAIM_PROBE:
 * the caller sends the probe; CLAIM_NOW, at a later request at least
 * CLAIM_PROBE_WAIT_NS after an unanswered probe: the caller makes tpa a
 * decoy (counted). */
enum claim_verdict claim_request(struct claim *c, uint32_t tpa, uint64_t now_ns);

/* addr showed it is alive (it sent ARP): never claim it from this evidence. */
void claim_alive(struct claim *c, uint32_t addr);

#endif
