/*
 * deval: the detection evaluation over generator families. Each family is a
 * kind of benign traffic (weekly shape with midnight steps and a holiday, a
 * permanent +50 % step, slow growth, organic flash crowds, noisy low-rate
 * series, an office closed at weekends, a replayed benign capture); each run
 * generates two weeks of 1 s readings for it from a seed, injects floods of
 * 2x to 20x at night and at peak, short and long, during and after the
 * learning period, feeds everything through the backtest path (the same
 * detectors and decision point as moatd) and scores the declared attacks.
 * Used by bench_detect_families (the full table) and by the unit test
 * test_detect_eval (a small hold-out set that asserts the goals).
 */
#ifndef MOAT_BENCH_DEVAL_H
#define MOAT_BENCH_DEVAL_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/detect/params.h"

enum deval_family {
	DEVAL_WEEKLY,		/* web shape, weekends 0.6 and a holiday 0.5 (day learn + 2),
				 * whole days: midnight steps */
	DEVAL_STEP,		/* a permanent +50 % step at noon of day learn + 2 */
	DEVAL_GROWTH,		/* +5 % a day */
	DEVAL_FLASH,		/* organic flash crowds of 1.5x and 2x for minutes, every day */
	DEVAL_NOISE,		/* half the rates, 8 % noise per reading, one-reading bursts of 1.3-1.8x */
	DEVAL_OFFICE,		/* 10 % at night, 07:00 ramp, closed at weekends */
	DEVAL__COUNT
};

struct deval_opts {
	unsigned npos;		/* 1 or 2 protected objects */
	unsigned learn_days;	/* >= 2; the parameters' rate.learn must say the same */
	unsigned days;		/* total length, > learn_days; weekends are days 5, 6, 12, 13 */
	bool small;		/* fewer attacks: short ones only after learning */
};

struct deval_result {
	unsigned found, missed;			/* goal attacks: >= 2x after learning, >= 3x during */
	unsigned found_all, injected;		/* every injection */
	unsigned false_learning, false_after;	/* declared attacks matching no injection */
	unsigned delay_max;			/* readings from the flood's start to declaration */
	double delay_sum;
	double outlive_max;			/* seconds an attack lasted past its flood's end */
	unsigned outlive_over;			/* attacks outliving their flood by > 300 s */
	unsigned flash_declared;		/* false attacks during a 1.5x flash crowd */
	unsigned redeclared;			/* a flood declared again after its attack ended */
	uint64_t readings;
};

const char *deval_family_name(enum deval_family f);
/* Generate family f from seed, run it with params p, score it. */
int deval_run(enum deval_family f, uint64_t seed, const struct deval_opts *o,
    const struct dparams *p, bool verbose, struct deval_result *ret);
/* The goals: nothing false after learning, nothing missed, no attack
 * outliving its flood by more than 5 minutes, no 1.5x flash crowd declared. */
bool deval_goals_met(const struct deval_result *r);

#endif
