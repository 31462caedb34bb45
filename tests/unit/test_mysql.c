/* Unit tests for src/chaff/mysql.c: greeting per version, login parsing, the refusal. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "chaff/mysql.h"

static const uint8_t scramble[20] = "ABCDEFGHIJKLMNOPQRST";

static void
test_greeting(void **state)
{
	uint8_t out[256];
	size_t n = mysql_greeting("8.0.35-0ubuntu0.20.04.1", 42, scramble, out, sizeof(out));
	const uint8_t *b = out + 4, *after;

	(void)state;
	assert_int_equal(out[0] | out[1] << 8, n - 4);
	assert_int_equal(out[3], 0);
	assert_int_equal(b[0], 10);
	assert_string_equal((const char *)b + 1, "8.0.35-0ubuntu0.20.04.1");
	after = b + 1 + strlen("8.0.35-0ubuntu0.20.04.1") + 1;
	assert_int_equal(after[0], 42);
	assert_memory_equal(after + 4, scramble, 8);
	assert_int_equal(after[13] | after[14] << 8, 0xf7ff);	/* no CLIENT_SSL: no TLS here */
	assert_int_equal(after[15], 255);			/* utf8mb4_0900_ai_ci */
	assert_int_equal(after[20], 21);
	assert_memory_equal(after + 31, scramble + 8, 12);
	assert_string_equal((const char *)after + 44, "caching_sha2_password");

	/* 5.1: no plugin, no plugin data length. */
	n = mysql_greeting("5.1.73", 7, scramble, out, sizeof(out));
	after = out + 4 + 1 + 7;
	assert_int_equal(after[20], 0);
	assert_int_equal(n, 4 + 1 + 7 + 4 + 9 + 2 + 1 + 2 + 2 + 1 + 10 + 13);
	/* MariaDB: native password. */
	n = mysql_greeting("5.5.5-10.1.48-MariaDB-0+deb9u2", 7, scramble, out, sizeof(out));
	assert_string_equal((const char *)out + n - 22, "mysql_native_password");
	assert_int_equal(mysql_greeting("8.0.35", 1, scramble, out, 20), 0);
}

static size_t
login(uint8_t *p, const char *user, uint8_t alen)
{
	size_t n = 4;

	memset(p, 0, 256);
	p[n] = 0x01; p[n + 1] = 0x82; p[n + 2] = 0x08;	/* PROTOCOL_41, SECURE_CONN, PLUGIN_AUTH */
	n += 4 + 4 + 1 + 23;
	memcpy(p + n, user, strlen(user) + 1);
	n += strlen(user) + 1;
	p[n++] = alen;
	for (uint8_t i = 0; i < alen; i++)
		p[n++] = (uint8_t)(0xc0 + i);
	p[0] = (uint8_t)(n - 4);
	p[3] = 1;
	return n;
}

static void
test_login(void **state)
{
	uint8_t p[256], out[256];
	struct mysql_login l;
	size_t n = login(p, "root", 20), o;

	(void)state;
	for (size_t i = 0; i < n; i++)
		assert_int_equal(mysql_parse_login(p, i, scramble, &l), 0);
	assert_int_equal(mysql_parse_login(p, n, scramble, &l), (long)n);
	assert_string_equal(l.user, "root");
	assert_true(l.password);
	assert_string_equal(l.hash, "$mysqlna$4142434445464748494a4b4c4d4e4f5051525354*"
			    "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3");
	o = mysql_denied(&l, "198.51.100.1", out, sizeof(out));
	assert_int_equal(out[3], 2);
	assert_int_equal(out[4], 0xff);
	assert_int_equal(out[5] | out[6] << 8, 1045);
	assert_memory_equal(out + 7, "#28000", 6);
	assert_int_equal(o - 13, strlen("Access denied for user 'root'@'198.51.100.1' "
					 "(using password: YES)"));
	/* No password. */
	n = login(p, "admin", 0);
	assert_int_equal(mysql_parse_login(p, n, scramble, &l), (long)n);
	assert_false(l.password);
	assert_string_equal(l.hash, "");
	/* An SSL request (caps only, 32 bytes): not a login. */
	memset(p, 0, 40);
	p[0] = 32;
	p[4] = 0x00; p[5] = 0x8a;
	assert_int_equal(mysql_parse_login(p, 36, scramble, &l), -EINVAL);
	/* A length past its packet's user name: the name ends at the packet. */
	n = login(p, "bob", 20);
	p[0] = (uint8_t)(4 + 4 + 1 + 23 + 2);
	assert_int_equal(mysql_parse_login(p, n, scramble, &l), 4 + 34);
	assert_string_equal(l.user, "bo");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_greeting),
		cmocka_unit_test(test_login),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
