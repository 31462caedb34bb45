/*
 * cluster/handoff: a shard given back on rebalance hands its state to the
 * engine that takes it, as a dead engine's would be taken over, but
 * without waiting for anything to expire and without losing what the
 * giver learned.
 *
 * The giver (its loop thread, while it still holds the shard's lease,
 * fenced) writes the shard's learned baselines, live attacks and
 * mitigations under handoff/<shard>/ of its own namespace of the store
 * (the same keys as its state: detect/pos, detect/<detector>,
 * detect/decision, mitigate/state) and forgets them, in one transaction:
 * its periodic save never writes them again and it never withdraws the
 * rules it handed over. Only then does it release the lease (lease.h,
 * lease_given()). The taker reads the hand-off at its take-over of the
 * shard and moves what it adopts out of it (cluster/module.c), so
 * whoever holds an attack ends it and withdraws its rule.
 */
#ifndef MOAT_ENGINE_CLUSTER_HANDOFF_H
#define MOAT_ENGINE_CLUSTER_HANDOFF_H

#include <stddef.h>
#include <stdint.h>

#include "engine/detect/module.h"
#include "engine/mitigate/module.h"
#include "engine/store/store.h"

/* "handoff/<shard>/": the prefix of a shard's hand-off keys. */
#define HANDOFF_PREFIX_MAX 32u
void handoff_prefix(char *buf, size_t len, uint32_t shard);

struct handoff_count {
	int series, attacks, mitigations;
};

/*
 * Hand off the state of the POs keep() (and keep_mit(), the same POs)
 * accepts: written under handoff_prefix(shard) in the store's current
 * namespace and dropped from d and m (both saved), all in one
 * transaction. On failure nothing is handed off: whatever was dropped is
 * taken back (the engine keeps its attacks and rules) and a negative errno
 * returned. m may be NULL (no mitigation module).
 */
int handoff_give(struct store *s, struct detection_ctx *d, struct mitigation_ctx *m,
    uint32_t shard, decision_adopt_fn keep, mitigation_gate_fn keep_mit, void *ctx,
    struct handoff_count *ret);

#endif
