/*
 * obs: the broker's observer of handed-off connections. Once per
 * policy.observe_ms it dumps every TCP connection of the namespace through
 * sock_diag (one dump per family), keeps per-connection history for the
 * connections accepted on the application's listeners, asks the slow judge
 * (slow.h) about each, destroys offenders (SOCK_DESTROY) and counts them
 * against their source (srctab: enough drops deny the source).
 * History lives in a fixed pool of LIMIT_INS_OBSERVED entries.
 *
 * It knows its owner only through struct obs_env (given at init) and the
 * event callback: it calls into no other module of moat-ins but diag, slow,
 * srctab and policy, so the listeners (lsn.h) may tell it of handoffs.
 */
#ifndef MOAT_INS_OBS_H
#define MOAT_INS_OBS_H

#include <stdbool.h>
#include <stdint.h>

#include "ins/diag.h"
#include "ins/slow.h"

struct clock;
struct obs;
struct policy;
struct srctab;

struct obs_stats {
	uint64_t rounds, seen, tracked, untracked, destroyed, destroy_failed, closed_events;
	uint64_t denied_shed;		/* open connections of a denied source destroyed */
	uint64_t verdicts[4];		/* by enum slow_verdict */
	uint64_t last_round_us;		/* duration of the last round */
	uint64_t round_tracked;		/* connections tracked in the last round */
	uint64_t max_tracked, max_round_us;	/* the largest round, and how long it took */
	uint64_t handoffs_tracked;	/* entries created at handoff (obs_track_handoff) */
	uint64_t close_unknown;		/* destroy events of connections not tracked */
};

enum obs_event { OBS_OPEN, OBS_CLOSE, OBS_SHED, OBS_UPDATE };

/* What the observer knows of a connection when it reports an event. */
struct obs_report {
	enum obs_event event;
	enum slow_verdict verdict;	/* OBS_SHED */
	const struct diag_sock *s;	/* the latest sample (for OBS_CLOSE: the last one seen) */
	uint64_t first_ms;		/* first seen, monotonic ms */
	uint64_t in_delta, pkts_delta;	/* since the previous report of this connection */
};

/* Called for connection events (shedding, close — from the kernel's destroy
 * broadcast or, without it, disappearance from a round — and every
 * OBS_UPDATE_MS for long ones), for telemetry. Opens are reported by the
 * listener at handoff, where every connection is seen. */
typedef void (*obs_event_fn)(void *ctx, const struct obs_report *r);

/* Whether a connection with this local address was accepted for the
   application (lsn_owns_local): only those are judged and destroyed. */
typedef bool (*obs_owns_fn)(void *ctx, const struct ins_addr *local);

/* What the observer uses of its owner's; all of it must outlive the observer. */
struct obs_env {
	struct srctab *src;		/* sheds counted per source; live counts per round */
	const struct policy *pol;	/* slow rules and denies, read at each round */
	const struct clock *clk;	/* round durations */
	obs_owns_fn owns;
	void *owns_ctx;
};

/* Long-lived connections are reported this often. */
#define OBS_UPDATE_MS 60000u

int obs_init(const struct obs_env *env, struct obs **ret);
/*
 * The descriptor of the destroy-event subscription (-1 if unavailable: then
 * closes are only noticed by the next round, with the figures last known).
 * When it is readable, call obs_read_events(). With it, every handed-off
 * connection's CLOSE carries the kernel's final figures, however short the
 * connection; rounds read pending events before they sweep, and give a
 * connection missing from one round one more round for its event.
 */
int obs_events_fd(const struct obs *o);
void obs_read_events(struct obs *o, uint64_t now_ms);
void obs_free(struct obs *o);
/* Report events to fn(ctx, ...) from now on; fn NULL: to nobody. */
void obs_set_event_fn(struct obs *o, obs_event_fn fn, void *ctx);
/*
 * The listener handed connection `cookie` (its SO_COOKIE) to the application
 * at t0_ms (monotonic). It is tracked from now on, so one that closes before
 * the next round still gets its CLOSE event — from the destroy broadcast, or
 * when that round no longer sees it — with the figures last known (zero
 * when no round saw it). at: its TCP_INFO figures at handoff (at->t_ms = now),
 * from which the slow judge starts, so that the first window is judged
 * max(grace, window) after handoff; NULL if unknown (the first round starts
 * it). Counted as untracked when the pool is full.
 */
void obs_track_handoff(struct obs *o, uint64_t cookie, const struct ins_addr *peer,
		       const struct ins_addr *local, uint64_t t0_ms, const struct slow_sample *at);
/* One round at now_ms; errors are counted and logged (rate-limited), never fatal. */
void obs_round(struct obs *o, uint64_t now_ms);
const struct obs_stats *obs_stats(const struct obs *o);
/* The number of the last completed round (srctab live counts refer to it). */
uint32_t obs_gen(const struct obs *o);

#endif
