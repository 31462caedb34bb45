/*
 * cluster/merge: an engine's sum of several collectors' readings of one
 * second, before detection sees them (docs/scale.md, "Several collectors").
 *
 * Each consumed deltas message opens (or joins) the bucket of its shard and
 * second; the second is the collector's interval end (wall clock) rounded to
 * the nearest whole second, so collectors whose ticks are out of phase by
 * less than half a second meet in one bucket. Its readings are kept as they
 * come; when the bucket is released, readings of the same PO, protocol,
 * direction and port are summed, and the top-list entries (busiest
 * destination hosts, top sources, top source ports) are summed per address
 * (or port) and cut to the top MERGE_TOP per PO, list and protocol.
 *
 * A bucket is released (handed to the sink, its shard's older buckets first)
 * at the first merge_flush() where either every collector live on its shard
 * (one whose message came within live_ns) has sent that second or a later
 * one, or grace_ns has passed since its first message arrived (a collector
 * that stopped or lags does not stall detection). A message for a second
 * its shard already released is late: merge_begin() counts it and refuses
 * it, so nothing is fed twice. A second one collector's part of which is
 * lost (a gap: the collector, live, sent a later second but not that one)
 * is dropped whole rather than fed as a partial sum (a drop in traffic
 * that never was); nothing is ever made up.
 *
 * Memory is bounded: at most LIMIT_MERGE_BUCKETS open (shard, second)
 * buckets and LIMIT_MERGE_READINGS / LIMIT_MERGE_TOPS entries in all; past a
 * bound the oldest bucket is released at once (counted as forced), and what
 * still does not fit is dropped and counted (overflow). One thread only.
 */
#ifndef MOAT_ENGINE_CLUSTER_MERGE_H
#define MOAT_ENGINE_CLUSTER_MERGE_H

#include <stdbool.h>
#include <stdint.h>

#include "collect/reading.h"
#include "engine/cluster/deltas.h"

/* Entries per PO, list and protocol kept after summing (the collectors
 * send as many). */
#define MERGE_TOP 3u

/* Where released seconds go: readings (po_id set, time_ns and interval_ns
 * those of the second's first message, wall clock), then top-list entries.
 * Either may be NULL. */
struct merge_sink {
	void (*reading)(void *ctx, const struct reading *r);
	void (*top)(void *ctx, uint32_t po_id, const struct deltas_host *h);
	void *ctx;
};

struct merge_stats {
	uint64_t messages;	/* accepted by merge_begin */
	uint64_t late;		/* refused: their second was already released */
	uint64_t released;	/* buckets released */
	uint64_t complete;	/* ... because every live collector had sent them */
	uint64_t expired;	/* ... because the grace had passed */
	uint64_t forced;	/* ... early, because a bound was reached */
	uint64_t holes;		/* ... and not fed: a collector's part was lost */
	uint64_t summed;	/* readings that were added into another's */
	uint64_t overflow;	/* readings and entries dropped past the bounds */
	unsigned open;		/* buckets open now */
};

struct merge;

/* A merge for shards shards (1..CLUSTER_MAX_SHARDS); grace_ns and live_ns
 * as above. -EINVAL, -ENOMEM. */
int merge_new(uint32_t shards, uint64_t grace_ns, uint64_t live_ns, const struct merge_sink *sink,
    struct merge **ret);
void merge_free(struct merge *m);

/*
 * A message from collector instance on shard, for the interval ending at
 * time_ns (wall) of interval_ns, arrived at now_ns (monotonic): the
 * readings and entries added next go to its bucket. 0; -ESTALE when the
 * second was already released (late: counted; add nothing); -EINVAL for a
 * shard out of range. May release the oldest bucket to make room.
 */
int merge_begin(struct merge *m, const char *instance, uint32_t shard, uint64_t time_ns,
    uint64_t interval_ns, uint64_t now_ns);
/* A reading (po_id set) of the message begun last. */
void merge_add(struct merge *m, const struct reading *r);
/* A top-list entry of PO po_id of the message begun last. */
void merge_top(struct merge *m, uint32_t po_id, const struct deltas_host *h);

/* Release every bucket that is complete or past its grace at now_ns (or
 * every bucket when all). Returns the buckets released. */
unsigned merge_flush(struct merge *m, uint64_t now_ns, bool all);

void merge_stats(const struct merge *m, struct merge_stats *ret);

#endif
