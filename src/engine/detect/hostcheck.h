/*
 * hostcheck: the counters' per-host figures of one interval into detection.
 * moatd's detection module and the pcap backtest both go through it, so a
 * host limit fires (and names its host) the same way live and in a replay:
 *
 *  - every (PO, protocol, destination host) of the interval the counters
 *    closed last goes to the detectors with a feed_host op, for POs whose
 *    protocol has a host limit (the counters bound the hosts at
 *    LIMIT_COLLECT_HOSTS per shard and count what they drop);
 *  - a detection emitted while one host is being checked makes that host
 *    the attack's target: the owner's emit callback passes it on with
 *    hostcheck_emitted() after decision_detect().
 *
 * Not thread-safe: it runs on the counters' reader thread (the engine's, or
 * the backtest's), which owns the detectors and the decision point.
 */
#ifndef MOAT_ENGINE_HOSTCHECK_H
#define MOAT_ENGINE_HOSTCHECK_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/detect/decision.h"
#include "engine/detect/registry.h"
#include "engine/detect/params.h"

struct counters;

struct hostcheck {
	/* The detectors' states, by registry index (DETECT_NREGISTERED). */
	void *const *det;
	struct decision *dp;
	/* The parameters of a PO, or NULL for an id that is no PO now. */
	const struct dparams *(*params)(void *ctx, uint32_t po_id);
	void *ctx;
	/* Private: the host being checked, and the interval checked last. */
	const struct detect_host *cur;
	uint64_t checked_ns;
};

/* True if l sets any host (or PO) limit, i.e. the threshold detector would
   check against it. */
bool hostcheck_limits_any(const struct dparams_limits *l);

/*
 * Check every host of the interval cnt closed last, once per interval
 * (nothing before the counters' second tick). time_ns is that interval's
 * end on the owner's clock (moatd: wall time; the backtest: packet time),
 * which the detections carry. Returns true if an interval was checked.
 */
bool hostcheck_feed(struct hostcheck *hc, const struct counters *cnt, uint64_t time_ns);

/* Call from the detectors' emit callback after decision_detect(d): if d
   came from a host check, that host becomes a top target of its attack. */
void hostcheck_emitted(const struct hostcheck *hc, const struct detection *d);

#endif
