/* Unit tests for cli/outfmt: table layout, cleaning, times and numbers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cli/outfmt.h"

/* Render t into a string (caller frees). */
static char *
render(const struct outfmt_table *t)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	outfmt_table_print(t, f);
	fclose(f);
	return buf;
}

static void
test_table_layout(void **state)
{
	static const char *const hdr[] = { "NAME", "PORTS", "SOURCE" };
	static const char *const r1[] = { "web", "80", "api" };
	static const char *const r2[] = { "mail-servers", "25565", NULL };
	struct outfmt_table *t = outfmt_table_new(3, hdr);
	char *out;

	assert_non_null(t);
	outfmt_table_align_right(t, 1);
	assert_int_equal(outfmt_table_rows(t), 0);
	assert_int_equal(outfmt_table_add(t, r1), 0);
	assert_int_equal(outfmt_table_add(t, r2), 0);
	assert_int_equal(outfmt_table_rows(t), 2);
	out = render(t);
	assert_string_equal(out,
	    "NAME          PORTS  SOURCE\n"
	    "web              80  api\n"
	    "mail-servers  25565  -\n");
	free(out);
	outfmt_table_free(t);
}

static void
test_table_clean_and_utf8(void **state)
{
	static const char *const r1[] = { "\x1b[31mred", "x" };
	static const char *const r2[] = { "h\xc3\xa9", "y" };	/* "hé": 2 columns wide */
	struct outfmt_table *t = outfmt_table_new(2, NULL);
	char *out;

	assert_int_equal(outfmt_table_add(t, r1), 0);
	assert_int_equal(outfmt_table_add(t, r2), 0);
	out = render(t);
	assert_string_equal(out, "?[31mred  x\nh\xc3\xa9        y\n");
	free(out);
	outfmt_table_free(t);
	outfmt_table_free(NULL);
}

static void
test_time(void **state)
{
	char b[48];

	outfmt_time(b, sizeof(b), 1700000000.0, false);
	assert_string_equal(b, "2023-11-14 22:13:20");
	outfmt_time(b, sizeof(b), 1700000000.125, true);
	assert_string_equal(b, "2023-11-14 22:13:20.125");
	outfmt_time(b, sizeof(b), -1, false);
	assert_string_equal(b, "-");
	outfmt_time(b, sizeof(b), 1e300, false);
	assert_string_equal(b, "-");
}

static void
test_duration_si(void **state)
{
	char b[32];

	outfmt_duration(b, sizeof(b), 12);
	assert_string_equal(b, "12s");
	outfmt_duration(b, sizeof(b), 250);
	assert_string_equal(b, "4m10s");
	outfmt_duration(b, sizeof(b), 7200);
	assert_string_equal(b, "2h");
	outfmt_duration(b, sizeof(b), 7500);
	assert_string_equal(b, "2h5m");
	outfmt_duration(b, sizeof(b), 3 * 86400 + 4 * 3600 + 5);
	assert_string_equal(b, "3d4h");
	outfmt_duration(b, sizeof(b), -3);
	assert_string_equal(b, "-");
	outfmt_si(b, sizeof(b), 9999);
	assert_string_equal(b, "9999");
	outfmt_si(b, sizeof(b), 20000);
	assert_string_equal(b, "20k");
	outfmt_si(b, sizeof(b), 1250000);
	assert_string_equal(b, "1.2M");
	outfmt_si(b, sizeof(b), 800000000);
	assert_string_equal(b, "800M");
}

static void
test_json_table(void **state)
{
	static const struct outfmt_col cols[] = {
		{ "NAME", "name", OUTFMT_STR },
		{ "PPS", "rates.pps", OUTFMT_SI },
		{ "PORTS", "ports", OUTFMT_LIST },
		{ "SINCE", "t", OUTFMT_TIME },
	};
	json_t *rows = json_loads("[{\"name\":\"web\",\"rates\":{\"pps\":1250000},"
	    "\"ports\":[80,443,8080,8443],\"t\":1700000000},"
	    "{\"name\":7,\"rates\":\"x\",\"ports\":[]}, 3]", 0, NULL);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(rows);
	assert_int_equal(outfmt_json_table(f, rows, cols, 4, "none"), 3);
	assert_int_equal(outfmt_json_table(f, json_object_get(rows, "x"), cols, 4, "none"), 0);
	fclose(f);
	assert_string_equal(buf,
	    "NAME   PPS  PORTS                SINCE\n"
	    "web   1.2M  80,443,8080 +1 more  2023-11-14 22:13:20\n"
	    "7        -  -                    -\n"
	    "-        -  -                    -\n"
	    "none\n");
	free(buf);
	json_decref(rows);
}

static void
test_json_value(void **state)
{
	json_t *o = json_loads("{\"a\":{\"b\":{\"c\":2.5}},\"t\":true,\"d\":7500}", 0, NULL);
	char b[64];

	assert_true(json_real_value(outfmt_json_path(o, "a.b.c")) == 2.5);
	assert_null(outfmt_json_path(o, "a.x.c"));
	assert_null(outfmt_json_path(o, "t.x"));
	outfmt_json_value(b, sizeof(b), outfmt_json_path(o, "a.b.c"), OUTFMT_FLOAT);
	assert_string_equal(b, "2.50");
	outfmt_json_value(b, sizeof(b), outfmt_json_path(o, "t"), OUTFMT_STR);
	assert_string_equal(b, "yes");
	outfmt_json_value(b, sizeof(b), outfmt_json_path(o, "d"), OUTFMT_DURATION);
	assert_string_equal(b, "2h5m");
	outfmt_json_value(b, sizeof(b), outfmt_json_path(o, "d"), OUTFMT_INT);
	assert_string_equal(b, "7500");
	outfmt_json_value(b, sizeof(b), outfmt_json_path(o, "a"), OUTFMT_JSON);
	assert_string_equal(b, "{\"b\":{\"c\":2.5}}");
	outfmt_json_value(b, 10, outfmt_json_path(o, "a"), OUTFMT_JSON);
	assert_string_equal(b, "{\"b\":{...");
	outfmt_json_value(b, sizeof(b), json_null(), OUTFMT_JSON);
	assert_string_equal(b, "-");
	outfmt_json_value(b, sizeof(b), NULL, OUTFMT_INT);
	assert_string_equal(b, "-");
	json_decref(o);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_layout),
		cmocka_unit_test(test_table_clean_and_utf8),
		cmocka_unit_test(test_time),
		cmocka_unit_test(test_duration_si),
		cmocka_unit_test(test_json_table),
		cmocka_unit_test(test_json_value),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
