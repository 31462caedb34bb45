/*
 * rng: the detection benches' random numbers — xorshift64* and Box-Muller,
 * seeded by the caller, so every run of a seed generates the same traffic.
 */
#ifndef MOAT_BENCH_RNG_H
#define MOAT_BENCH_RNG_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>

struct rng {
	uint64_t s;
	bool have;
	double spare;
};

/* Uniform in [0, 1). */
static inline double
rng_u(struct rng *r)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return (double)((r->s * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

/* Standard normal. */
static inline double
rng_n(struct rng *r)
{
	double u, v;

	if (r->have) {
		r->have = false;
		return r->spare;
	}
	u = rng_u(r) + 1e-12;
	v = rng_u(r);
	r->spare = sqrt(-2 * log(u)) * sin(2 * M_PI * v);
	r->have = true;
	return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

#endif
