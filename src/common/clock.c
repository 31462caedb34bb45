#include "common/clock.h"

#include <time.h>

static uint64_t
clock_read(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * CLOCK_NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

void
clock_init_real(struct clock *c)
{
	c->manual = false;
	c->now_ns = 0;
}

void
clock_init_manual(struct clock *c, uint64_t start_ns)
{
	c->manual = true;
	c->now_ns = start_ns;
}

uint64_t
clock_wall_ns(const struct clock *c)
{
	return c->manual ? c->now_ns : clock_read(CLOCK_REALTIME);
}

uint64_t
clock_mono_ns(const struct clock *c)
{
	return c->manual ? c->now_ns : clock_read(CLOCK_MONOTONIC);
}

void
clock_set(struct clock *c, uint64_t now_ns)
{
	if (c->manual && now_ns > c->now_ns)
		c->now_ns = now_ns;
}

void
clock_advance(struct clock *c, uint64_t delta_ns)
{
	if (c->manual)
		c->now_ns += delta_ns;
}
