/* Unit tests for src/chaff/redis.c: RESP and inline parsing, answers per version. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "chaff/redis.h"

static const struct svcver v5 = { "8.0", "5.0.7", "Linux 5.4.0 x86_64", "9.3.0", "3.4.13" };
static const struct svcver v3 = { "5.7", "3.2.6", "Linux 4.9.0 x86_64", "6.3.0", "3.1.15" };

static void
test_parse(void **state)
{
	static const char auth[] = "*3\r\n$4\r\nAUTH\r\n$5\r\nadmin\r\n$7\r\nhunter2\r\n";
	struct redis_cmd c;

	(void)state;
	for (size_t i = 0; i < sizeof(auth) - 1; i++)
		assert_int_equal(redis_parse((const uint8_t *)auth, i, &c), 0);
	assert_int_equal(redis_parse((const uint8_t *)auth, sizeof(auth) - 1, &c),
			 sizeof(auth) - 1);
	assert_int_equal(c.argc, 3);
	assert_string_equal(c.argv[0], "AUTH");
	assert_string_equal(c.argv[2], "hunter2");
	/* Inline. */
	assert_int_equal(redis_parse((const uint8_t *)"  PING  x\r\nrest", 15, &c), 11);
	assert_int_equal(c.argc, 2);
	assert_string_equal(c.argv[1], "x");
	/* Protocol errors. */
	assert_int_equal(redis_parse((const uint8_t *)"*1\r\n+OK\r\n", 9, &c), -EINVAL);
	assert_int_equal(redis_parse((const uint8_t *)"*x\r\n", 4, &c), -EINVAL);
	assert_int_equal(redis_parse((const uint8_t *)"*1\r\n$2\r\nabcd", 12, &c), -EINVAL);
	assert_int_equal(redis_parse((const uint8_t *)"*1\r\n$99999999\r\n", 15, &c), -EINVAL);
	/* Binary in an argument is kept printable. */
	assert_int_equal(redis_parse((const uint8_t *)"*1\r\n$3\r\na\0b\r\n", 13, &c), 13);
	assert_string_equal(c.argv[0], "a?b");
}

static void
test_answers(void **state)
{
	struct redis_cmd c = { 0 };
	char out[2048];
	bool close = false;
	size_t n;

	(void)state;
	c.argc = 1;
	snprintf(c.argv[0], sizeof(c.argv[0]), "ping");
	n = redis_answer(&c, &v5, 100, out, sizeof(out), &close);
	assert_int_equal(n, 7);
	assert_memory_equal(out, "+PONG\r\n", 7);
	snprintf(c.argv[0], sizeof(c.argv[0]), "INFO");
	n = redis_answer(&c, &v3, 100000, out, sizeof(out), &close);
	assert_non_null(strstr(out, "redis_version:3.2.6\r\n"));
	assert_non_null(strstr(out, "uptime_in_days:1\r\n"));
	assert_int_equal(atoi(out + 1), n - (size_t)(strchr(out, '\n') - out + 1) - 2);
	c.argc = 2;
	snprintf(c.argv[0], sizeof(c.argv[0]), "AUTH");
	snprintf(c.argv[1], sizeof(c.argv[1]), "pw");
	redis_answer(&c, &v3, 1, out, sizeof(out), &close);
	assert_string_equal(out, "-ERR Client sent AUTH, but no password is set\r\n");
	redis_answer(&c, &v5, 1, out, sizeof(out), &close);
	assert_string_equal(out, "-ERR Client sent AUTH, but no password is set\r\n");
	{
		const struct svcver v7 = { "8.0", "7.2.4", "Linux", "12", "3.7" };

		redis_answer(&c, &v7, 1, out, sizeof(out), &close);
		assert_non_null(strstr(out, "without any password configured"));
	}
	c.argc = 1;
	snprintf(c.argv[0], sizeof(c.argv[0]), "quit");
	redis_answer(&c, &v5, 1, out, sizeof(out), &close);
	assert_true(close);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_answers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
