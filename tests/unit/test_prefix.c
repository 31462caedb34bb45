/* Unit tests for common/prefix: parsing, rejects, formatting round trips, helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "common/prefix.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void
check_prefix(const char *text, uint8_t af, const char *canon, unsigned len)
{
	struct prefix p;
	char buf[PREFIX_STRLEN];

	assert_int_equal(prefix_parse(text, &p), 0);
	assert_int_equal(p.addr.af, af);
	assert_int_equal(p.len, len);
	assert_true(prefix_valid(&p));
	assert_non_null(prefix_format(&p, buf, sizeof(buf)));
	assert_string_equal(buf, canon);
}

static void
test_parse_accepts(void **state)
{
	check_prefix("192.0.2.0/24", AF_INET, "192.0.2.0/24", 24);
	check_prefix("192.0.2.1", AF_INET, "192.0.2.1/32", 32);
	check_prefix("0.0.0.0/0", AF_INET, "0.0.0.0/0", 0);
	check_prefix("203.0.113.255/32", AF_INET, "203.0.113.255/32", 32);
	check_prefix("2001:db8::/32", AF_INET6, "2001:db8::/32", 32);
	check_prefix("2001:DB8:0:0:0:0:0:1", AF_INET6, "2001:db8::1/128", 128);
	check_prefix("::/0", AF_INET6, "::/0", 0);
	check_prefix("::ffff:192.0.2.1/128", AF_INET6, "::ffff:192.0.2.1/128", 128);
	check_prefix("2001:db8:8000::/33", AF_INET6, "2001:db8:8000::/33", 33);
}

static void
test_parse_rejects(void **state)
{
	static const char *const bad[] = {
		"192.0.2.1/24",		/* host bits */
		"2001:db8::1/64",	/* host bits */
		"192.0.2.0/33", "2001:db8::/129", "1.2.3", "1.2.3.4.5", "256.1.1.1",
		"01.2.3.4", "garbage", "", "/24", "192.0.2.0/", "192.0.2.0//24",
		"192.0.2.0/24/1", " 192.0.2.0/24", "192.0.2.0/24 ", "192.0.2.0 /24",
		"192.0.2.0/ 24", "192.0.2.0/024", "192.0.2.0/+24", "192.0.2.0/-1",
		"192.0.2.0/0x18", "192.0.2.0/1000", "fe80::1%eth0", "2001:db8:::/48",
		"2001:db8::/4x", "192.0.2.0/24\n", "::ffff:192.0.2.1/97",
		"1111:2222:3333:4444:5555:6666:7777:8888:9999/128",
		"0000000000000000000000000000000000000000000000000000000000000000::/0",
	};
	struct prefix p = { .len = 77 };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (prefix_parse(bad[i], &p) != -EINVAL)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_int_equal(p.len, 77);	/* untouched on failure */
	}
	assert_int_equal(prefix_parse(NULL, &p), -EINVAL);
}

static void
test_ipaddr_parse(void **state)
{
	struct ipaddr a;

	assert_int_equal(ipaddr_parse("198.51.100.7", &a), 0);
	assert_int_equal(a.af, AF_INET);
	assert_int_equal(ipaddr_v4_host(&a), 0xc6336407u);
	for (int i = 4; i < 16; i++)
		assert_int_equal(a.a[i], 0);
	assert_int_equal(ipaddr_parse("198.51.100.0/24", &a), -EINVAL);
	assert_int_equal(ipaddr_parse("", &a), -EINVAL);
	assert_int_equal(ipaddr_parse(NULL, &a), -EINVAL);
	assert_int_equal(ipaddr_parse("2001:db8::7", &a), 0);
	assert_int_equal(a.af, AF_INET6);
	assert_int_equal(a.a[15], 7);
}

static struct ipaddr
random_addr(uint8_t af)
{
	struct ipaddr a = { .af = af };
	uint64_t r1 = rng(), r2 = rng();

	if (af == AF_INET)
		return ipaddr_v4((uint32_t)r1);
	memcpy(a.a, &r1, 8);
	memcpy(a.a + 8, &r2, 8);
	return a;
}

static void
test_format_round_trip(void **state)
{
	char buf[PREFIX_STRLEN];
	struct prefix p, q;
	struct ipaddr a, b;

	for (int i = 0; i < 20000; i++) {
		uint8_t af = i & 1 ? AF_INET6 : AF_INET;

		a = random_addr(af);
		if (i % 7 == 0)	/* runs of zeros exercise "::" */
			memset(a.a + 2, 0, af == AF_INET6 ? 10 : 1);
		assert_non_null(ipaddr_format(&a, buf, sizeof(buf)));
		assert_int_equal(ipaddr_parse(buf, &b), 0);
		assert_true(ipaddr_equal(&a, &b));
		assert_int_equal(prefix_make(&a, (unsigned)(rng() % (ipaddr_width(af) + 1)), &p), 0);
		assert_true(prefix_valid(&p));
		assert_true(prefix_contains(&p, &a));
		assert_non_null(prefix_format(&p, buf, sizeof(buf)));
		assert_int_equal(prefix_parse(buf, &q), 0);
		assert_true(prefix_equal(&p, &q));
	}
}

static void
test_format_small_buffer(void **state)
{
	struct prefix p;
	char buf[PREFIX_STRLEN];

	assert_int_equal(prefix_parse("2001:db8:1234:5678:9abc:def0:1234:5678", &p), 0);
	errno = 0;
	assert_null(ipaddr_format(&p.addr, buf, 10));
	assert_int_equal(errno, ENOSPC);
	errno = 0;
	assert_null(prefix_format(&p, buf, 41));	/* address fits, "/128" does not */
	assert_int_equal(errno, ENOSPC);
	assert_non_null(prefix_format(&p, buf, 44));
	p.addr.af = 99;
	errno = 0;
	assert_null(prefix_format(&p, buf, sizeof(buf)));
	assert_int_equal(errno, EAFNOSUPPORT);
}

static void
test_make_masks_and_contains(void **state)
{
	struct ipaddr a, in, out;
	struct prefix p;
	char buf[PREFIX_STRLEN];

	assert_int_equal(ipaddr_parse("192.0.2.129", &a), 0);
	assert_int_equal(prefix_make(&a, 25, &p), 0);
	assert_string_equal(prefix_format(&p, buf, sizeof(buf)), "192.0.2.128/25");
	assert_int_equal(prefix_make(&a, 33, &p), -EINVAL);
	assert_int_equal(prefix_make(&a, 0, &p), 0);
	assert_string_equal(prefix_format(&p, buf, sizeof(buf)), "0.0.0.0/0");

	assert_int_equal(prefix_parse("2001:db8:a000::/35", &p), 0);
	assert_int_equal(ipaddr_parse("2001:db8:bfff:ffff::1", &in), 0);
	assert_int_equal(ipaddr_parse("2001:db8:c000::", &out), 0);
	assert_true(prefix_contains(&p, &in));
	assert_false(prefix_contains(&p, &out));
	assert_int_equal(ipaddr_parse("192.0.2.1", &a), 0);
	assert_false(prefix_contains(&p, &a));	/* other family */

	/* prefix_valid catches what a caller could build by hand. */
	p.len = 20;
	assert_false(prefix_valid(&p));	/* host bits now set */
	p.len = 129;
	assert_false(prefix_valid(&p));
	p = (struct prefix){ .addr = ipaddr_v4(0xc0000200u), .len = 24 };
	assert_true(prefix_valid(&p));
	p.addr.a[9] = 1;	/* junk past an IPv4 address */
	assert_false(prefix_valid(&p));
}

static void
test_equal_and_hash(void **state)
{
	struct ipaddr a = ipaddr_v4(0xcb007101u), b = a, c = ipaddr_v4(0xcb007102u);
	struct ipaddr v6a, v6b;
	unsigned differ = 0;

	assert_true(ipaddr_equal(&a, &b));
	assert_false(ipaddr_equal(&a, &c));
	assert_int_equal(ipaddr_hash(&a, 1), ipaddr_hash(&b, 1));
	assert_int_not_equal(ipaddr_hash(&a, 1), ipaddr_hash(&c, 1));
	assert_int_not_equal(ipaddr_hash(&a, 1), ipaddr_hash(&a, 2));
	assert_int_equal(ipaddr_v4_host(&a), 0xcb007101u);

	assert_int_equal(ipaddr_parse("2001:db8::1", &v6a), 0);
	assert_int_equal(ipaddr_parse("2001:db8::1", &v6b), 0);
	assert_true(ipaddr_equal(&v6a, &v6b));
	assert_int_equal(ipaddr_hash(&v6a, 7), ipaddr_hash(&v6b, 7));
	v6b.a[15] ^= 0x80;
	assert_false(ipaddr_equal(&v6a, &v6b));
	/* The IPv4 address 0.0.0.0 is not the IPv6 address ::. */
	a = ipaddr_v4(0);
	assert_int_equal(ipaddr_parse("::", &v6a), 0);
	assert_false(ipaddr_equal(&a, &v6a));

	/* Flipping any one input bit changes the hash (a weak avalanche check). */
	v6a = random_addr(AF_INET6);
	for (int bit = 0; bit < 128; bit++) {
		v6b = v6a;
		v6b.a[bit / 8] ^= (uint8_t)(0x80u >> (bit % 8));
		differ += ipaddr_hash(&v6a, 3) != ipaddr_hash(&v6b, 3);
	}
	assert_int_equal(differ, 128);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_accepts),
		cmocka_unit_test(test_parse_rejects),
		cmocka_unit_test(test_ipaddr_parse),
		cmocka_unit_test(test_format_round_trip),
		cmocka_unit_test(test_format_small_buffer),
		cmocka_unit_test(test_make_masks_and_contains),
		cmocka_unit_test(test_equal_and_hash),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
