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

#include <stdbool.h>
#include <stdint.h>

#define CLOCK_NS_PER_SEC 1000000000ULL

struct clock {
	bool manual;
	uint64_t now_ns;	/* manual clocks: wall time in ns since the epoch */
};

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

#endif
