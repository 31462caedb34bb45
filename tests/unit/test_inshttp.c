/* Unit tests for ins/inshttp: complete, incomplete and non-HTTP inputs. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "ins/inshttp.h"

static enum inshttp_state
scan(const char *s, size_t *len)
{
	*len = 0;
	return inshttp_scan((const uint8_t *)s, strlen(s), len);
}

static void
test_complete(void **state)
{
	size_t n;

	assert_int_equal(scan("GET / HTTP/1.1\r\nHost: a\r\n\r\n", &n), INSHTTP_COMPLETE);
	assert_int_equal(n, strlen("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
	assert_int_equal(scan("GET / HTTP/1.0\n\nBODY", &n), INSHTTP_COMPLETE);
	assert_int_equal(n, strlen("GET / HTTP/1.0\n\n"));
	assert_int_equal(scan("POST /x HTTP/1.1\r\nContent-Length: 5\r\n\r\nab", &n), INSHTTP_COMPLETE);
}

static void
test_incomplete(void **state)
{
	size_t n;

	assert_int_equal(scan("", &n), INSHTTP_INCOMPLETE);
	assert_int_equal(scan("GE", &n), INSHTTP_INCOMPLETE);
	assert_int_equal(scan("GET / HTTP/1.1\r\n", &n), INSHTTP_INCOMPLETE);
	assert_int_equal(scan("GET / HTTP/1.1\r\nHost: a\r\n", &n), INSHTTP_INCOMPLETE);
	assert_int_equal(scan("GET / HTTP/1.1\r\nHost: a\r\n\r", &n), INSHTTP_INCOMPLETE);
	/* slowloris: headers that keep coming */
	assert_int_equal(scan("GET / HTTP/1.1\r\nX-a: b\r\nX-c: d\r\nX-e:", &n), INSHTTP_INCOMPLETE);
	assert_int_equal(n, 0);
}

static void
test_invalid(void **state)
{
	size_t n;

	assert_int_equal(scan("\x16\x03\x01", &n), INSHTTP_INVALID);	/* TLS ClientHello */
	assert_int_equal(scan(" GET /", &n), INSHTTP_INVALID);
	assert_int_equal(scan("get / HTTP/1.1", &n), INSHTTP_INVALID);
	assert_int_equal(scan("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", &n), INSHTTP_INVALID);
	assert_int_equal(inshttp_scan((const uint8_t *)"GET /\0\n\n", 8, &n), INSHTTP_INVALID);
}

static int
clen_of(const char *h, uint64_t *ret)
{
	return inshttp_content_length((const uint8_t *)h, strlen(h), ret);
}

static void
test_content_length(void **state)
{
	uint64_t v = 0;

	assert_int_equal(clen_of("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 8192\r\n\r\n", &v), 0);
	assert_int_equal(v, 8192);
	assert_int_equal(clen_of("POST / HTTP/1.1\ncontent-LENGTH:\t12 \n\n", &v), 0);
	assert_int_equal(v, 12);
	assert_int_equal(clen_of("GET / HTTP/1.1\r\nHost: x\r\n\r\n", &v), -ENOENT);
	/* unknown to us: chunked, repeated, malformed, huge, or only in a value */
	assert_int_equal(clen_of("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
				 "Content-Length: 5\r\n\r\n", &v), -ENOENT);
	assert_int_equal(clen_of("POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
				 &v), -ENOENT);
	assert_int_equal(clen_of("POST / HTTP/1.1\r\nContent-Length: 5x\r\n\r\n", &v), -ENOENT);
	assert_int_equal(clen_of("POST / HTTP/1.1\r\nContent-Length: \r\n\r\n", &v), -ENOENT);
	assert_int_equal(clen_of("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n",
				 &v), -ENOENT);
	assert_int_equal(clen_of("POST / HTTP/1.1\r\nX-A: Content-Length: 5\r\n\r\n", &v), -ENOENT);
	assert_int_equal(clen_of("POST /Content-Length: 5 HTTP/1.1\r\n\r\n", &v), -ENOENT);
	/* cut short */
	assert_int_equal(clen_of("POST / HTTP/1.1\r\nContent-Len", &v), -ENOENT);
	assert_int_equal(clen_of("POST / HTTP/1.1\r\nContent-Length: 7", &v), -ENOENT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_complete),
		cmocka_unit_test(test_incomplete),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_content_length),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
