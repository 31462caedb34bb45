/* Unit tests for engine/api/reqhead: the end of a head, the facts read from
 * it, and the ambiguous heads it refuses (request smuggling, folding). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "engine/api/reqhead.h"
#include "engine/api/route.h"

static int
parse(const char *s, struct reqhead *h)
{
	size_t end = reqhead_end(s, strlen(s));

	return reqhead_parse(s, end ? end : strlen(s), h);
}

static bool
eq(struct reqhead_str v, const char *lit)
{
	return v.len == strlen(lit) && memcmp(v.p, lit, v.len) == 0;
}

static void
test_end(void **state)
{
	(void)state;
	assert_int_equal(reqhead_end("GET / HTTP/1.1\r\n", 16), 0);
	assert_int_equal(reqhead_end("GET / HTTP/1.1\r\n\r\nbody", 22), 18);
	assert_int_equal(reqhead_end("GET / HTTP/1.0\n\nx", 17), 16);
	assert_int_equal(reqhead_end("", 0), 0);
	assert_int_equal(reqhead_end("\n", 1), 0);
}

static void
test_fields(void **state)
{
	struct reqhead h;

	(void)state;
	assert_int_equal(parse("POST /api/v1/pos?x=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"
	    "authorization:  Bearer abc \r\nContent-Length: 42\r\nX-Other: y\r\n\r\n", &h), 0);
	assert_int_equal(h.method, API_POST);
	assert_true(eq(h.path, "/api/v1/pos"));
	assert_true(h.has_host && eq(h.host, "127.0.0.1:8080"));
	assert_true(eq(h.authorization, "Bearer abc"));
	assert_true(h.has_length);
	assert_int_equal(h.content_length, 42);
	assert_false(h.chunked_or_other_te);

	assert_int_equal(parse("GET /metrics HTTP/1.0\n\n", &h), 0);
	assert_int_equal(h.method, API_GET);
	assert_false(h.has_host);
	assert_int_equal(h.content_length, 0);
	assert_int_equal(parse("PATCH /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", &h), 0);
	assert_int_equal(h.method, API_OTHER);
	assert_true(h.chunked_or_other_te);
}

static void
test_refused(void **state)
{
	static const char *const bad[] = {
		"GET / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
		"GET / HTTP/1.1\r\nContent-Length: +5\r\n\r\n",
		"GET / HTTP/1.1\r\nContent-Length: 5 5\r\n\r\n",
		"GET / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n",
		"GET / HTTP/1.1\r\nNo colon\r\n\r\n",
		"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n",
		"GET / HTTP/1.1\r\nX: a\001b\r\n\r\n",
		"GET http://evil/ HTTP/1.1\r\n\r\n",
		"GET /a b HTTP/1.1\r\n\r\n",
		"GET / HTTP/1.1 \r\n\r\n",
		"GET / HTTP/1.1\r\n",
		"GET /\r\n\r\n",
		"",
	};
	struct reqhead h;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(parse(bad[i], &h), -EINVAL);
	assert_int_equal(parse("GET / HTTP/2.0\r\n\r\n", &h), -ENOTSUP);
	assert_int_equal(parse("GET / HTTP/1.2\r\n\r\n", &h), -ENOTSUP);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_end),
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
