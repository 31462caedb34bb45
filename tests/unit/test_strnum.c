/* Unit tests for common/strnum: range checks, garbage, durations. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/strnum.h"

static void
test_i64(void **state)
{
	int64_t v = 7;

	assert_int_equal(strnum_i64("42", 0, 100, &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(strnum_i64("101", 0, 100, &v), -ERANGE);
	assert_int_equal(strnum_i64("4x", 0, 100, &v), -EINVAL);
	assert_int_equal(strnum_i64("", 0, 100, &v), -EINVAL);
	assert_int_equal(strnum_i64(" 4", 0, 100, &v), -EINVAL);
	assert_int_equal(strnum_i64("99999999999999999999", 0, INT64_MAX, &v), -ERANGE);
	assert_int_equal(v, 42);
}

static void
test_u64(void **state)
{
	uint64_t v;

	assert_int_equal(strnum_u64("-1", 0, 10, &v), -EINVAL);
	assert_int_equal(strnum_u64("0x10", 0, 100, &v), -EINVAL);
	assert_int_equal(strnum_u64("010", 0, 100, &v), 0);
	assert_int_equal(v, 10);
}

static void
test_duration(void **state)
{
	int64_t s;

	assert_int_equal(strnum_duration("90", 0, INT64_MAX, &s), 0);
	assert_int_equal(s, 90);
	assert_int_equal(strnum_duration("5m", 0, INT64_MAX, &s), 0);
	assert_int_equal(s, 300);
	assert_int_equal(strnum_duration("1w", 0, INT64_MAX, &s), 0);
	assert_int_equal(s, 604800);
	assert_int_equal(strnum_duration("m", 0, INT64_MAX, &s), -EINVAL);
	assert_int_equal(strnum_duration("2h", 0, 3600, &s), -ERANGE);
}

static void
test_double(void **state)
{
	double d;

	assert_int_equal(strnum_double("1.5", 0, 2, &d), 0);
	assert_true(d == 1.5);
	assert_int_equal(strnum_double("nan", 0, 2, &d), -EINVAL);
	assert_int_equal(strnum_double("3", 0, 2, &d), -ERANGE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_i64),
		cmocka_unit_test(test_u64),
		cmocka_unit_test(test_duration),
		cmocka_unit_test(test_double),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
