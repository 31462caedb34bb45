/*
 * obs: the broker's observer of handed-off connections. Once per
 * policy.observe_ms it dumps every TCP connection of the namespace through
 * sock_diag (one dump per family), keeps per-connection history for the
 * connections accepted on the application's listeners, asks the slow judge
 * (slow.h) about each, destroys offenders (SOCK_DESTROY) and counts them
 * against their source (srctab: enough drops deny the source).
 * History lives in a fixed pool of LIMIT_INS_OBSERVED entries.
 */
#ifndef MOAT_INS_OBS_H
#define MOAT_INS_OBS_H

#include <stdint.h>

#include "ins/diag.h"
#include "ins/slow.h"

struct broker;
struct obs;

struct obs_stats {
	uint64_t rounds, seen, tracked, untracked, destroyed, destroy_failed;
	uint64_t verdicts[4];		/* by enum slow_verdict */
	uint64_t last_round_us;		/* duration of the last round */
};

/*
 * Called for every connection event the observer sees (first sight, each
 * verdict, disappearance), for telemetry. kind: "open", "close" or a verdict name.
 */
typedef void (*obs_event_fn)(struct broker *b, const char *kind, const struct diag_sock *s,
			     uint64_t first_ms);

int obs_init(struct obs **ret);
void obs_free(struct obs *o);
void obs_set_event_fn(struct obs *o, obs_event_fn fn);
/* One round at now_ms; errors are counted and logged (rate-limited), never fatal. */
void obs_round(struct broker *b, struct obs *o, uint64_t now_ms);
const struct obs_stats *obs_stats(const struct obs *o);
/* The number of the last completed round (srctab live counts refer to it). */
uint32_t obs_gen(const struct obs *o);

#endif
