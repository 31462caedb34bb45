/* Unit tests for engine/flight: recording, category and time filters,
 * retention, and parsing of query bounds. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/limits.h"
#include "engine/core/flight.h"

#define T0_NS (1700000000ULL * CLOCK_NS_PER_SEC)

struct fixture {
	char dir[64];
	struct store *store;
	struct clock clock;
	struct flight *f;
};

static int
setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	struct flight_config cfg = { .max_age_s = 3600, .max_rows = 3 };
	char db[128];

	strcpy(fx->dir, "/tmp/moat-test-flight-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(db, sizeof(db), "%s/moat.db", fx->dir);
	assert_int_equal(store_open("sqlite", db, &fx->store), 0);
	clock_init_manual(&fx->clock, T0_NS);
	assert_int_equal(flight_new(fx->store, &fx->clock, &cfg, &fx->f), 0);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;
	char cmd[128];

	flight_free(fx->f);
	store_close(fx->store);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
	assert_int_equal(system(cmd), 0);
	free(fx);
	return 0;
}

static json_t *
query_all(struct flight *f)
{
	struct flight_query q = { .since_ms = 0, .until_ms = INT64_MAX, .limit = 100 };
	json_t *arr = NULL;

	assert_int_equal(flight_query(f, &q, &arr), 0);
	return arr;
}

static void
test_record_and_query(void **state)
{
	struct fixture *fx = *state;
	json_t *detail = json_pack("{s:s}", "name", "web");
	json_t *arr, *e;

	assert_int_equal(flight_record(fx->f, "config", "po.add", detail, "PO %s added", "web"), 0);
	json_decref(detail);
	clock_advance(&fx->clock, 1500 * 1000000ULL);
	assert_int_equal(flight_record(fx->f, "lifecycle", "start", NULL, "started"), 0);
	assert_int_equal(flight_record(fx->f, "nonsense", "x", NULL, "x"), -EINVAL);

	arr = query_all(fx->f);
	assert_int_equal(json_array_size(arr), 2);
	e = json_array_get(arr, 0);
	assert_string_equal(json_string_value(json_object_get(e, "event")), "start");
	assert_true(json_real_value(json_object_get(e, "time")) == 1700000001.5);
	e = json_array_get(arr, 1);
	assert_string_equal(json_string_value(json_object_get(e, "message")), "PO web added");
	assert_string_equal(json_string_value(json_object_get(json_object_get(e, "detail"), "name")), "web");
	json_decref(arr);
}

static void
test_category_filter(void **state)
{
	struct fixture *fx = *state;
	struct flight_query q = { .since_ms = 0, .until_ms = INT64_MAX, .limit = 100 };
	char buf[] = "config,store";
	json_t *arr = NULL;

	flight_record(fx->f, "config", "a", NULL, "a");
	flight_record(fx->f, "lifecycle", "b", NULL, "b");
	flight_record(fx->f, "store", "c", NULL, "c");
	assert_int_equal(flight_parse_categories(buf, &q), 0);
	assert_int_equal(q.ncategories, 2);
	assert_int_equal(flight_query(fx->f, &q, &arr), 0);
	assert_int_equal(json_array_size(arr), 2);
	json_decref(arr);
}

static void
test_retention(void **state)
{
	struct fixture *fx = *state;
	json_t *arr;

	flight_record(fx->f, "config", "old", NULL, "old");
	clock_advance(&fx->clock, 7200 * CLOCK_NS_PER_SEC);
	for (int i = 0; i < 5; i++)
		flight_record(fx->f, "config", "new", NULL, "new %d", i);
	assert_int_equal(flight_prune(fx->f), 3);
	arr = query_all(fx->f);
	assert_int_equal(json_array_size(arr), 3);	/* max_rows */
	assert_string_equal(json_string_value(json_object_get(json_array_get(arr, 0), "message")), "new 4");
	json_decref(arr);
}

/* A spray from one source is written LIMIT_FLIGHT_BURST times singly, then
   counted and summarised when its window closes; another source and the
   operator's categories keep their own entries. */
static void
test_aggregation(void **state)
{
	struct fixture *fx = *state;
	json_t *a = json_pack("{s:s}", "src", "203.0.113.9");
	json_t *b = json_pack("{s:s}", "src", "198.51.100.7");
	json_t *arr, *last;

	for (int i = 0; i < 3200; i++)
		assert_int_equal(flight_record(fx->f, "decoy", "decoy.contact", a, "login %d", i), 0);
	flight_record(fx->f, "decoy", "decoy.contact", b, "other");
	flight_record(fx->f, "config", "po.add", NULL, "operator");
	assert_int_equal(flight_suppressed(fx->f), 3200 - LIMIT_FLIGHT_BURST);
	arr = query_all(fx->f);
	assert_int_equal(json_array_size(arr), LIMIT_FLIGHT_BURST + 2);
	json_decref(arr);
	clock_advance(&fx->clock, (LIMIT_FLIGHT_WINDOW_S + 1) * CLOCK_NS_PER_SEC);
	assert_int_equal(flight_tick(fx->f), 0);
	arr = query_all(fx->f);
	last = json_array_get(arr, 0);
	assert_string_equal(json_string_value(json_object_get(last, "event")), "decoy.contact");
	assert_non_null(strstr(json_string_value(json_object_get(last, "message")), "203.0.113.9"));
	assert_int_equal(json_integer_value(json_object_get(json_object_get(last, "detail"), "count")),
	    3200);
	json_decref(arr);
	/* A new window writes singly again. */
	assert_int_equal(flight_record(fx->f, "decoy", "decoy.contact", a, "again"), 0);
	arr = query_all(fx->f);
	assert_string_equal(json_string_value(json_object_get(json_array_get(arr, 0), "message")),
	    "again");
	json_decref(arr);
	json_decref(a);
	json_decref(b);
}

/* Past LIMIT_FLIGHT_WRITES_PER_S in one second, even distinct sources are
   counted rather than written. */
static void
test_rate(void **state)
{
	struct fixture *fx = *state;
	char src[32];

	for (int i = 0; i < 200; i++) {
		json_t *d;

		snprintf(src, sizeof(src), "192.0.2.%d", i);
		d = json_pack("{s:s}", "src", src);
		flight_record(fx->f, "decoy", "decoy.contact", d, "contact %d", i);
		json_decref(d);
	}
	assert_int_equal(flight_suppressed(fx->f), 200 - LIMIT_FLIGHT_WRITES_PER_S);
	assert_int_equal(flight_flush(fx->f, true), 0);
}

static void
test_parse_time(void **state)
{
	int64_t t = 0;
	const int64_t now = 1700000000000;

	assert_int_equal(flight_parse_time("1700000000", now, false, &t), 0);
	assert_int_equal(t, 1700000000000);
	assert_int_equal(flight_parse_time("1700000000", now, true, &t), 0);
	assert_int_equal(t, 1700000000999);
	assert_int_equal(flight_parse_time("1700000000.25", now, false, &t), 0);
	assert_int_equal(t, 1700000000250);
	assert_int_equal(flight_parse_time("1h", now, false, &t), 0);
	assert_int_equal(t, now - 3600000);
	assert_int_equal(flight_parse_time("2d", now, false, &t), 0);
	assert_int_equal(t, now - 2 * 86400000);
	assert_int_equal(flight_parse_time("soon", now, false, &t), -EINVAL);
	assert_int_equal(flight_parse_time("-5", now, false, &t), -EINVAL);
	assert_int_equal(flight_parse_time("", now, false, &t), -EINVAL);
}

static void
test_parse_categories(void **state)
{
	struct flight_query q = { 0 };
	char a[] = "config,bogus", b[] = "", c[] = "config,,store";

	assert_int_equal(flight_parse_categories(a, &q), -EINVAL);
	assert_int_equal(flight_parse_categories(b, &q), -EINVAL);
	assert_int_equal(flight_parse_categories(c, &q), 0);
	assert_int_equal(q.ncategories, 2);
}

static void
test_query_limits(void **state)
{
	struct fixture *fx = *state;
	struct flight_query q = { .since_ms = 0, .until_ms = INT64_MAX, .limit = 0 };
	json_t *arr = NULL;

	assert_int_equal(flight_query(fx->f, &q, &arr), -EINVAL);
	q.limit = 10001;
	assert_int_equal(flight_query(fx->f, &q, &arr), -EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_record_and_query, setup, teardown),
		cmocka_unit_test_setup_teardown(test_category_filter, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retention, setup, teardown),
		cmocka_unit_test_setup_teardown(test_aggregation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rate, setup, teardown),
		cmocka_unit_test(test_parse_time),
		cmocka_unit_test(test_parse_categories),
		cmocka_unit_test_setup_teardown(test_query_limits, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
