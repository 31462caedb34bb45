/* The detection evaluation's goals on a small hold-out set (seed 201; the
 * parameters were tuned on seeds 1 and 2): every generator family (weekly
 * shape with midnight steps and a holiday, a permanent +50 % step, slow
 * growth, organic flash crowds, noisy series, an office closed at
 * weekends), one PO, a week of 1 s readings (two days learning, so the
 * week profile is not used here; the bench covers it) with floods of 2x to
 * 10x during and after learning, through the backtest path with the "moat"
 * preset: no false attack after learning, every >= 2x flood after learning
 * and >= 3x during it declared, none outliving its flood by more than five
 * minutes, no 1.5x flash crowd declared. The Defense4All preset must miss
 * something on the same data (the evaluation can fail). Correctness only:
 * no timing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "deval.h"

#define HOLDOUT_SEED 201

static void
run_family(enum deval_family f)
{
	const struct deval_opts o = { .npos = 1, .learn_days = 2, .days = 7, .small = true };
	struct deval_result r;
	struct dparams p;

	dparams_default(&p);
	p.rate.learn_s = 2 * 86400.0;
	assert_int_equal(deval_run(f, HOLDOUT_SEED, &o, &p, true, &r), 0);
	print_message("%s: found %u/%u, false %u+%u, delay max %u, outlived max %.0f s\n",
	    deval_family_name(f), r.found, r.found + r.missed, r.false_learning, r.false_after,
	    r.delay_max, r.outlive_max);
	assert_true(r.injected > 0);
	assert_int_equal(r.false_after, 0);
	assert_int_equal(r.missed, 0);
	assert_int_equal(r.outlive_over, 0);
	assert_int_equal(r.flash_declared, 0);
	assert_true(deval_goals_met(&r));
}

static void test_weekly(void **state) { run_family(DEVAL_WEEKLY); }
static void test_step(void **state) { run_family(DEVAL_STEP); }
static void test_growth(void **state) { run_family(DEVAL_GROWTH); }
static void test_flash(void **state) { run_family(DEVAL_FLASH); }
static void test_noise(void **state) { run_family(DEVAL_NOISE); }
static void test_office(void **state) { run_family(DEVAL_OFFICE); }

/* The evaluation can fail: the seed's parameters, blind while learning,
 * miss the floods of the learning period. */
static void
test_defense4all_misses(void **state)
{
	const struct deval_opts o = { .npos = 1, .learn_days = 2, .days = 7, .small = true };
	struct deval_result r;
	struct dparams p;

	assert_int_equal(dparams_preset("defense4all", &p), 0);
	p.rate.learn_s = 2 * 86400.0;
	assert_int_equal(deval_run(DEVAL_WEEKLY, HOLDOUT_SEED, &o, &p, false, &r), 0);
	assert_true(r.missed > 0);
	assert_false(deval_goals_met(&r));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_weekly),
		cmocka_unit_test(test_step),
		cmocka_unit_test(test_growth),
		cmocka_unit_test(test_flash),
		cmocka_unit_test(test_noise),
		cmocka_unit_test(test_office),
		cmocka_unit_test(test_defense4all_misses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
