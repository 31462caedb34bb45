/* Unit tests for cli/cliarg: numbers, ports, times, thresholds, names. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cli/cliarg.h"

static void
test_uint(void **state)
{
	uint64_t v = 7;

	assert_int_equal(cliarg_uint("42", 0, 100, false, &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(cliarg_uint("20k", 0, UINT64_MAX, true, &v), 0);
	assert_int_equal(v, 20000);
	assert_int_equal(cliarg_uint("8G", 0, UINT64_MAX, true, &v), 0);
	assert_int_equal(v, 8000000000ull);
	assert_int_equal(cliarg_uint("20k", 0, UINT64_MAX, false, &v), -EINVAL);
	assert_int_equal(cliarg_uint("010", 0, 100, false, &v), -EINVAL);
	assert_int_equal(cliarg_uint("0x10", 0, 100, false, &v), -EINVAL);
	assert_int_equal(cliarg_uint("-1", 0, 100, false, &v), -EINVAL);
	assert_int_equal(cliarg_uint("k", 0, 100, true, &v), -EINVAL);
	assert_int_equal(cliarg_uint("", 0, 100, false, &v), -EINVAL);
	assert_int_equal(cliarg_uint("101", 0, 100, false, &v), -ERANGE);
	assert_int_equal(cliarg_uint("99999999999999999999G", 0, UINT64_MAX, true, &v), -ERANGE);
	assert_int_equal(v, 8000000000ull);	/* untouched on failure */
	assert_int_equal(cliarg_uint("0", 0, 100, false, &v), 0);
	assert_int_equal(v, 0);
}

static void
test_port(void **state)
{
	uint16_t p = 9;

	assert_int_equal(cliarg_port("443", &p), 0);
	assert_int_equal(p, 443);
	assert_int_equal(cliarg_port("0", &p), -ERANGE);
	assert_int_equal(cliarg_port("65536", &p), -ERANGE);
	assert_int_equal(cliarg_port("http", &p), -EINVAL);
	assert_int_equal(p, 443);
}

static void
test_time(void **state)
{
	const int64_t now = 1700000000;
	int64_t t = 0;

	assert_int_equal(cliarg_time("1699999000", now, &t), 0);
	assert_int_equal(t, 1699999000);
	assert_int_equal(cliarg_time("now", now, &t), 0);
	assert_int_equal(t, now);
	assert_int_equal(cliarg_time("1h", now, &t), 0);
	assert_int_equal(t, now - 3600);
	assert_int_equal(cliarg_time("30m", now, &t), 0);
	assert_int_equal(t, now - 1800);
	assert_int_equal(cliarg_time("2d", now, &t), 0);
	assert_int_equal(t, now - 172800);
	assert_int_equal(cliarg_time("h", now, &t), -EINVAL);
	assert_int_equal(cliarg_time("1y", now, &t), -EINVAL);
	assert_int_equal(cliarg_time("-1h", now, &t), -EINVAL);
	assert_int_equal(cliarg_time("", now, &t), -EINVAL);
	assert_int_equal(cliarg_time("100000w", now, &t), -ERANGE);
	assert_int_equal(t, now - 172800);
}

static void
test_threshold(void **state)
{
	json_t *th = json_object();

	assert_int_equal(cliarg_threshold("tcp.pps=100k", th), 0);
	assert_int_equal(cliarg_threshold("tcp.syn_pps=20000", th), 0);
	assert_int_equal(cliarg_threshold("udp.bps=800M", th), 0);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(th, "tcp"), "pps")), 100000);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(th, "tcp"), "syn_pps")), 20000);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(th, "udp"), "bps")), 800000000);
	assert_int_equal(cliarg_threshold("tcp.pp=1", th), -EINVAL);
	assert_int_equal(cliarg_threshold("tcpx.pps=1", th), -EINVAL);
	assert_int_equal(cliarg_threshold("tcp.pps", th), -EINVAL);
	assert_int_equal(cliarg_threshold("tcp=1", th), -EINVAL);
	assert_int_equal(cliarg_threshold("tcp.pps=x", th), -EINVAL);
	assert_int_equal(cliarg_threshold(".pps=1", th), -EINVAL);
	assert_int_equal(json_object_size(th), 2);
	json_decref(th);
}

static void
test_names(void **state)
{
	assert_true(cliarg_po_name_ok("web"));
	assert_true(cliarg_po_name_ok("a.b-c_D9"));
	assert_true(cliarg_po_name_ok("1234567890123456789012345678901234567890123456789012345678901234"));
	assert_false(cliarg_po_name_ok("12345678901234567890123456789012345678901234567890123456789012345"));
	assert_false(cliarg_po_name_ok(""));
	assert_false(cliarg_po_name_ok("."));
	assert_false(cliarg_po_name_ok(".."));
	assert_false(cliarg_po_name_ok("a/b"));
	assert_false(cliarg_po_name_ok("a b"));
	assert_false(cliarg_po_name_ok("a?x=1"));

	assert_true(cliarg_categories_ok("config"));
	assert_true(cliarg_categories_ok("config,lifecycle,store"));
	assert_false(cliarg_categories_ok(""));
	assert_false(cliarg_categories_ok("config,"));
	assert_false(cliarg_categories_ok(",config"));
	assert_false(cliarg_categories_ok("a,,b"));
	assert_false(cliarg_categories_ok("Config"));
	assert_false(cliarg_categories_ok("config&limit=1"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uint),
		cmocka_unit_test(test_port),
		cmocka_unit_test(test_time),
		cmocka_unit_test(test_threshold),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
