/*
 * clock: the one way moat code reads time, so tests and replays can drive it.
 *
 * A struct clock is either the real clock (CLOCK_REALTIME for wall time,
 * CLOCK_MONOTONIC for intervals) or a manual clock whose time only moves when
 * clock_set()/clock_advance() say so — the backtest and pcap replay paths run
 * the engine on packet or record timestamps this way. Times are nanoseconds.
 */
#ifndef MOAT_CLOCK_H
#define MOAT_CLOCK_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#define CLOCK_NS_PER_SEC 1000000000ULL

struct clock {
	bool manual;
	uint64_t now_ns;	/* manual clocks: wall time in ns since the epoch */
};

/* Read a kernel clock (CLOCK_MONOTONIC, CLOCK_REALTIME, CLOCK_THREAD_CPUTIME_ID,
   ...) in ns, outside any struct clock: for pacing and benchmarks. */
uint64_t clock_now_ns(clockid_t id);

/* A real clock. */
void clock_init_real(struct clock *c);
/* A manual clock starting at start_ns (wall time, ns since the epoch). */
void clock_init_manual(struct clock *c, uint64_t start_ns);

/* Wall time in ns since the epoch. */
uint64_t clock_wall_ns(const struct clock *c);
/* Monotonic time in ns; for manual clocks the same as clock_wall_ns(). */
uint64_t clock_mono_ns(const struct clock *c);
static inline uint64_t
clock_wall_s(const struct clock *c)
{
	return clock_wall_ns(c) / CLOCK_NS_PER_SEC;
}

/* Manual clocks only; never moves time backwards. */
void clock_set(struct clock *c, uint64_t now_ns);
void clock_advance(struct clock *c, uint64_t delta_ns);

/*
 * clock_step: the handshake between a thread that reads timestamped input
 * (a pcap replay on packet time) and the engine thread that owns the manual
 * clock. The reader offers each interval boundary it reaches, after handing
 * over everything before it, and blocks until the engine has moved its clock
 * there and finished that tick. So the reader never runs ahead of the tick
 * and every interval holds exactly the input stamped before its boundary,
 * whatever the replay speed. The clock itself is only touched by the engine
 * thread. The wake descriptor (an eventfd) is readable while a boundary is
 * on offer, for the engine's event loop.
 */
struct clock_step {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int wake_fd;
	uint64_t offered_ns;	/* boundary waiting for the engine; 0: none */
	uint64_t done_ns;	/* last boundary the engine finished */
	bool cancelled;
};

/* 0 or a negative errno (the eventfd). */
int clock_step_init(struct clock_step *s);
/* Accepts a step that failed init (wake_fd < 0) if it was zeroed first. */
void clock_step_fini(struct clock_step *s);
int clock_step_fd(const struct clock_step *s);
/* Reader: offer boundary_ns (> 0) and wait until the engine is done with
   it. 0, or -ECANCELED once the step is cancelled (also while waiting). */
int clock_step_offer(struct clock_step *s, uint64_t boundary_ns);
/* Engine: the boundary on offer, if any (drains the wake descriptor). */
bool clock_step_take(struct clock_step *s, uint64_t *ret_ns);
/* Engine: the tick for boundary_ns is finished; the reader goes on. */
void clock_step_done(struct clock_step *s, uint64_t boundary_ns);
/* Release the reader for good (stop): every offer returns -ECANCELED. */
void clock_step_cancel(struct clock_step *s);

#endif
