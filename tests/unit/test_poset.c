/* Unit tests for engine/poset: stable ids, prefix conflicts, LPM build. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "engine/po/poset.h"

static struct po *
mk(const char *json)
{
	struct po_error err;
	struct po *p = NULL;

	assert_int_equal(po_from_text(json, strlen(json), NULL, PO_IN_API, &p, &err), 0);
	return p;
}

static void
test_ids_conflicts_lpm(void **state)
{
	struct poset *s;
	struct po_error err;
	struct po *a = mk("{\"name\":\"a\",\"prefixes\":[\"192.0.2.0/24\"]}");
	struct po *b = mk("{\"name\":\"b\",\"prefixes\":[\"192.0.2.128/25\",\"2001:db8::/32\"]}");
	struct po *c = mk("{\"name\":\"c\",\"prefixes\":[\"2001:db8::/32\"]}");
	struct po *a2 = mk("{\"name\":\"a\",\"prefixes\":[\"192.0.2.0/24\",\"203.0.113.0/24\"]}");
	const struct po **sorted;
	struct lpm *l;
	uint32_t id;
	size_t n;

	assert_int_equal(poset_new(&s), 0);
	assert_int_equal(poset_check(s, a, &err), 0);
	assert_int_equal(poset_put(s, a, &id), 0);
	assert_int_equal(id, 0);
	assert_int_equal(poset_check(s, b, &err), 0);
	assert_int_equal(poset_put(s, b, &id), 0);
	assert_int_equal(id, 1);

	/* c claims b's IPv6 prefix. */
	assert_int_equal(poset_check(s, c, &err), -EEXIST);
	assert_string_equal(err.field, "prefixes");
	assert_non_null(strstr(err.msg, "2001:db8::/32"));
	po_free(c);

	/* Replacing a keeps its id and may keep its own prefixes. */
	assert_int_equal(poset_check(s, a2, &err), 0);
	assert_int_equal(poset_put(s, a2, &id), 0);
	assert_int_equal(id, 0);
	assert_int_equal(poset_count(s), 2);

	assert_int_equal(poset_build_lpm(s, &l), 0);
	assert_int_equal(lpm_lookup4(l, 0xc0000201), 0);	/* 192.0.2.1 -> a */
	assert_int_equal(lpm_lookup4(l, 0xc0000281), 1);	/* 192.0.2.129 -> b (longer) */
	assert_int_equal(lpm_lookup4(l, 0xcb007101), 0);	/* 203.0.113.1 -> a */
	assert_int_equal(lpm_lookup4(l, 0x0a000001), LPM_NONE);
	lpm_free(l);

	assert_int_equal(poset_sorted(s, &sorted, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(sorted[0]->name, "a");
	free(sorted);

	assert_int_equal(poset_del(s, "a"), 0);
	assert_int_equal(poset_del(s, "a"), -ENOENT);
	assert_null(poset_find(s, "a", NULL));
	assert_non_null(poset_find(s, "b", &id));
	assert_int_equal(id, 1);
	assert_null(poset_at(s, 0));
	/* The freed id is reused. */
	assert_int_equal(poset_put(s, mk("{\"name\":\"d\",\"prefixes\":[\"198.51.100.0/24\"]}"),
	    &id), 0);
	assert_int_equal(id, 0);
	poset_free(s);
}


/* Many POs: replay-sized loads stay consistent through adds, replaces and
 * deletes (the indexes rehash several times on the way). */
static void
test_many(void **state)
{
	struct poset *s;
	struct po_error err;
	char json[160];
	uint32_t id;

	assert_int_equal(poset_new(&s), 0);
	for (unsigned i = 0; i < 3000; i++) {
		struct po *p;

		snprintf(json, sizeof(json), "{\"name\":\"po%u\",\"prefixes\":[\"10.%u.%u.0/24\","
		    "\"2001:db8:%x::/48\"]}", i, i / 256, i % 256, i);
		p = mk(json);
		assert_int_equal(poset_check(s, p, &err), 0);
		assert_int_equal(poset_put(s, p, &id), 0);
		assert_int_equal(id, i);
	}
	for (unsigned i = 0; i < 3000; i += 2) {
		snprintf(json, sizeof(json), "po%u", i);
		assert_int_equal(poset_del(s, json), 0);
	}
	assert_int_equal(poset_count(s), 1500);
	/* A deleted PO's prefix is free again; a live one's is not. */
	{
		struct po *free_pfx = mk("{\"name\":\"n\",\"prefixes\":[\"10.0.0.0/24\"]}");
		struct po *held_pfx = mk("{\"name\":\"n\",\"prefixes\":[\"10.0.1.0/24\"]}");

		assert_int_equal(poset_check(s, free_pfx, &err), 0);
		assert_int_equal(poset_check(s, held_pfx, &err), -EEXIST);
		assert_non_null(strstr(err.msg, "po1"));
		po_free(free_pfx);
		po_free(held_pfx);
	}
	/* The lowest free id is reused first. */
	assert_int_equal(poset_put(s, mk("{\"name\":\"n\",\"prefixes\":[\"10.0.0.0/24\"]}"), &id),
	    0);
	assert_int_equal(id, 0);
	assert_non_null(poset_find(s, "po2999", &id));
	assert_int_equal(id, 2999);
	assert_null(poset_find(s, "po2998", NULL));
	poset_clear(s);
	assert_int_equal(poset_count(s), 0);
	assert_null(poset_find(s, "po2999", NULL));
	assert_int_equal(poset_put(s, mk("{\"name\":\"a\",\"prefixes\":[\"10.0.1.0/24\"]}"), &id),
	    0);
	assert_int_equal(id, 0);
	poset_free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ids_conflicts_lpm),
		cmocka_unit_test(test_many),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
