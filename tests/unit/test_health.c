/* Unit tests for engine/health: decay, status thresholds, soft reset with
 * cooldown, fatal hook. Time is a manual clock. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "engine/core/health.h"

static int resets, fatals;

static void
on_reset(void *arg)
{
	resets++;
}

static void
on_fatal(void *arg)
{
	fatals++;
}

static void
test_decay_and_status(void **state)
{
	struct health_config cfg = HEALTH_DEFAULT_CONFIG;
	struct clock c;
	struct health *h;
	json_t *issues;

	clock_init_manual(&c, 1000 * CLOCK_NS_PER_SEC);
	assert_int_equal(health_new(&c, &cfg, &h), 0);
	assert_int_equal(health_status(h), HEALTH_OK);
	assert_int_equal(health_report(h, "store", 0.5, "write failed: %s", "disk full"), 0);
	assert_int_equal(health_status(h), HEALTH_DEGRADED);
	assert_int_equal(health_report(h, "store", 0.6, "again"), 0);
	assert_int_equal(health_status(h), HEALTH_FAILING);

	/* One half-life later: 1.1 -> 0.55. */
	clock_advance(&c, 300 * CLOCK_NS_PER_SEC);
	assert_true(health_score(h) > 0.54 && health_score(h) < 0.56);
	assert_int_equal(health_status(h), HEALTH_DEGRADED);

	issues = health_issues_json(h);
	assert_int_equal(json_array_size(issues), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(issues, 0), "message")),
	    "again");
	json_decref(issues);

	clock_advance(&c, 3600 * CLOCK_NS_PER_SEC);
	assert_int_equal(health_status(h), HEALTH_OK);
	issues = health_issues_json(h);
	assert_int_equal(json_array_size(issues), 0);
	json_decref(issues);

	assert_int_equal(health_report(h, "x", 0, "zero"), -EINVAL);
	assert_int_equal(health_report(h, "x", 1.5, "big"), -EINVAL);
	health_free(h);
}

static void
test_reset_and_fatal(void **state)
{
	struct health_config cfg = HEALTH_DEFAULT_CONFIG;
	struct clock c;
	struct health *h;

	resets = fatals = 0;
	clock_init_manual(&c, 1000 * CLOCK_NS_PER_SEC);
	assert_int_equal(health_new(&c, &cfg, &h), 0);
	assert_int_equal(health_on_reset(h, on_reset, NULL), 0);
	health_on_fatal(h, on_fatal, NULL);

	for (int i = 0; i < 2; i++)
		health_report(h, "collect", 1.0, "exporter lost");
	assert_int_equal(health_tick(h), HEALTH_FAILING);
	assert_int_equal(resets, 1);
	assert_int_equal(health_tick(h), HEALTH_FAILING);
	assert_int_equal(resets, 1);	/* cooldown */
	assert_int_equal(fatals, 0);

	for (int i = 0; i < 2; i++)
		health_report(h, "collect", 1.0, "exporter lost");
	health_tick(h);
	assert_int_equal(fatals, 1);
	health_tick(h);
	assert_int_equal(fatals, 1);	/* once */

	health_clear(h);
	assert_int_equal(health_status(h), HEALTH_OK);
	health_free(h);
}

static void
test_bad_config(void **state)
{
	struct health_config cfg = HEALTH_DEFAULT_CONFIG;
	struct clock c;
	struct health *h;

	clock_init_real(&c);
	cfg.failing = 0.1;	/* below degraded */
	assert_int_equal(health_new(&c, &cfg, &h), -EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decay_and_status),
		cmocka_unit_test(test_reset_and_fatal),
		cmocka_unit_test(test_bad_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
