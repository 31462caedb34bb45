/* Unit tests for ins/srctab: lookup, fixed pool, deny and sweep. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "proto/insproto.h"
#include "ins/srctab.h"

static void
addr_of(uint32_t i, uint8_t a[16])
{
	memset(a, 0, 16);
	a[0] = 192;
	a[1] = 0;
	a[2] = (uint8_t)(i >> 8);
	a[3] = (uint8_t)i;
}

static void
test_get_and_pool(void **state)
{
	struct srctab t;
	uint8_t a[16];

	assert_int_equal(srctab_init(&t, 4, 42), 0);
	for (uint32_t i = 0; i < 4; i++) {
		addr_of(i, a);
		assert_non_null(srctab_get(&t, INS_AF_INET, a, true, 0));
	}
	addr_of(99, a);
	assert_null(srctab_get(&t, INS_AF_INET, a, true, 0));	/* pool exhausted */
	addr_of(2, a);
	assert_non_null(srctab_get(&t, INS_AF_INET, a, false, 0));
	assert_null(srctab_get(&t, INS_AF_INET6, a, false, 0));	/* family is part of the key */
	assert_int_equal(t.used, 4);
	{
		uint8_t m[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 0, 2 };

		/* ::ffff:192.0.0.2 is the IPv4 source 192.0.0.2 */
		assert_ptr_equal(srctab_get(&t, INS_AF_INET6, m, false, 0),
				 srctab_get(&t, INS_AF_INET, a, false, 0));
	}
	srctab_free(&t);
}

static void
test_deny_and_sweep(void **state)
{
	struct srctab t;
	struct srctab_entry *e;
	uint8_t a[16];

	assert_int_equal(srctab_init(&t, 8, 1), 0);
	addr_of(1, a);
	e = srctab_get(&t, INS_AF_INET, a, true, 1000);
	assert_false(srctab_note_drop(e, 3, 5000, 1000));
	assert_false(srctab_note_drop(e, 3, 5000, 1000));
	assert_true(srctab_note_drop(e, 3, 5000, 1000));
	assert_true(srctab_denied(e, 1001));
	assert_false(srctab_denied(e, 6000));
	e->held = 1;
	assert_int_equal(srctab_sweep(&t, 100000, 10), 0);	/* still holding */
	e->held = 0;
	assert_int_equal(srctab_sweep(&t, 3000, 10), 0);	/* still denied */
	assert_int_equal(srctab_sweep(&t, 100000, 10), 1);
	assert_int_equal(t.used, 0);
	assert_null(srctab_get(&t, INS_AF_INET, a, false, 0));
	srctab_free(&t);
}

static const uint8_t lens4[] = { 32, 24 }, lens6[] = { 64, 48 };
static const struct srctab_prefixes pfx = { .n4 = 2, .n6 = 2, .len4 = lens4, .len6 = lens6 };

/* 2001:db8:0:N::M */
static void
v6_of(uint16_t net, uint16_t host, uint8_t a[16])
{
	memset(a, 0, 16);
	a[0] = 0x20;
	a[1] = 0x01;
	a[2] = 0x0d;
	a[3] = 0xb8;
	a[6] = (uint8_t)(net >> 8);
	a[7] = (uint8_t)net;
	a[14] = (uint8_t)(host >> 8);
	a[15] = (uint8_t)host;
}

static void
test_prefix_rotation_is_one_source(void **state)
{
	struct srctab t;
	struct srctab_set s, first;
	uint8_t a[16];

	assert_int_equal(srctab_init(&t, 64, 7), 0);
	/* 40 addresses of one /64, each holding one connection: one /64 and one /48 entry */
	for (uint16_t i = 1; i <= 40; i++) {
		v6_of(5, i, a);
		srctab_lookup(&t, &pfx, INS_AF_INET6, a, true, 0, &s);
		assert_int_equal(s.n, 2);
		assert_int_equal(s.e[0]->len, 64);
		assert_int_equal(s.e[1]->len, 48);
		srctab_set_held(&s, 1);
		if (i == 1)
			first = s;
		assert_ptr_equal(s.e[0], first.e[0]);
	}
	assert_int_equal(t.used, 2);
	assert_int_equal(srctab_set_max_held(&s), 40);
	/* another /64 of the same /48: its own /64, the shared /48 */
	v6_of(6, 1, a);
	srctab_lookup(&t, &pfx, INS_AF_INET6, a, true, 0, &s);
	assert_ptr_not_equal(s.e[0], first.e[0]);
	assert_ptr_equal(s.e[1], first.e[1]);
	assert_int_equal(s.e[0]->held, 0);
	assert_int_equal(srctab_set_max_held(&s), 40);	/* the /48 is capped as one */
	/* drops anywhere in the /48 add up; at the threshold the /48 is denied */
	for (int i = 0; i < 3; i++) {
		v6_of((uint16_t)(10 + i), 1, a);
		srctab_lookup(&t, &pfx, INS_AF_INET6, a, true, 100, &s);
		assert_int_equal(srctab_set_note_drop(&s, 3, 5000, 100), i == 2);
	}
	v6_of(99, 7, a);
	srctab_lookup(&t, &pfx, INS_AF_INET6, a, true, 200, &s);
	assert_true(srctab_set_denied(&s, 200));
	assert_false(srctab_set_denied(&s, 6000));
	/* another /48 is not */
	a[5] = 1;
	srctab_lookup(&t, &pfx, INS_AF_INET6, a, true, 200, &s);
	assert_false(srctab_set_denied(&s, 200));
	srctab_free(&t);
}

static void
test_prefix_v4_and_exact_deny(void **state)
{
	struct srctab t;
	struct srctab_set s;
	struct srctab_entry *e;
	uint8_t a[16], m[16] = { 0 };

	assert_int_equal(srctab_init(&t, 64, 9), 0);
	addr_of(0x0105, a);	/* 192.0.1.5 */
	srctab_lookup(&t, &pfx, INS_AF_INET, a, true, 0, &s);
	assert_int_equal(s.n, 2);	/* the /32 is a level: no separate exact entry */
	assert_ptr_equal(s.e[0], srctab_get(&t, INS_AF_INET, a, false, 0));
	assert_int_equal(s.e[1]->len, 24);
	/* the IPv4-mapped form is the same source */
	m[10] = m[11] = 0xff;
	memcpy(m + 12, a, 4);
	{
		struct srctab_set s2;

		srctab_lookup(&t, &pfx, INS_AF_INET6, m, true, 0, &s2);
		assert_ptr_equal(s2.e[0], s.e[0]);
		assert_ptr_equal(s2.e[1], s.e[1]);
	}
	/* an administrator's deny of one IPv6 address applies although /128 is no level */
	v6_of(3, 3, a);
	e = srctab_get(&t, INS_AF_INET6, a, true, 0);
	e->deny_until_ms = 1000;
	srctab_lookup(&t, &pfx, INS_AF_INET6, a, true, 0, &s);
	assert_int_equal(s.n, 3);
	assert_true(srctab_set_denied(&s, 10));
	v6_of(3, 4, a);	/* its neighbour is not denied */
	srctab_lookup(&t, &pfx, INS_AF_INET6, a, true, 0, &s);
	assert_int_equal(s.n, 2);
	assert_false(srctab_set_denied(&s, 10));
	/* held never goes below zero */
	srctab_set_held(&s, -1);
	assert_int_equal(srctab_set_max_held(&s), 0);
	srctab_free(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get_and_pool),
		cmocka_unit_test(test_deny_and_sweep),
		cmocka_unit_test(test_prefix_rotation_is_one_source),
		cmocka_unit_test(test_prefix_v4_and_exact_deny),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
