/* Unit tests for engine/api_history: the rings fed from real counters and a
 * real PO table — wrap-around, ?seconds bounds, a deleted PO, the PO cap. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "collect/counters.h"
#include "common/limits.h"
#include "engine/api/history.h"
#include "engine/po/poset.h"

#define NS 1000000000ULL
#define T0 1700000000ULL	/* wall time of the first point, seconds */

struct fix {
	struct poset *set;
	struct lpm *lpm;
	struct lpm *old[8];	/* replaced ones: freed at teardown, when no shard can hold them */
	size_t nold;
	struct counters *cnt;
	struct api_history *h;
	uint64_t now;		/* seconds */
};

static void
add_po(struct fix *f, const char *name, const char *prefix)
{
	char json[256];
	struct po_error err;
	struct po *p = NULL;

	snprintf(json, sizeof(json), "{\"name\":\"%s\",\"prefixes\":[\"%s\"]}", name, prefix);
	assert_int_equal(po_from_text(json, strlen(json), NULL, PO_IN_API, &p, &err), 0);
	assert_int_equal(poset_check(f->set, p, &err), 0);
	assert_int_equal(poset_put(f->set, p, NULL), 0);
}

/* Publish the table to the counters, as the engine does after a change. */
static void
publish(struct fix *f)
{
	struct lpm *l;

	assert_int_equal(poset_build_lpm(f->set, &l), 0);
	counters_set_lpm(f->cnt, l);
	if (f->lpm) {
		assert_true(f->nold < sizeof(f->old) / sizeof(f->old[0]));
		f->old[f->nold++] = f->lpm;
	}
	f->lpm = l;
	counters_set_npos(f->cnt, poset_id_limit(f->set));
}

static int
setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(poset_new(&f->set), 0);
	f->cnt = counters_new(128, 1, 1);
	assert_non_null(f->cnt);
	assert_int_equal(api_history_new(&f->h), 0);
	f->now = T0;
	counters_tick(f->cnt, f->now * NS, NULL, NULL);	/* starts the counters' clock */
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fix *f = *state;

	api_history_free(f->h);
	counters_free(f->cnt);
	lpm_free(f->lpm);
	for (size_t i = 0; i < f->nold; i++)
		lpm_free(f->old[i]);
	poset_free(f->set);
	free(f);
	return 0;
}

/* `packets` inbound packets to dst (with `syns` SYNs when TCP) in the next
 * second, then close the interval and record a point at its end. */
static void
second(struct fix *f, const char *dst, uint8_t proto, uint64_t packets, uint32_t syns)
{
	struct flow_rec r;

	if (packets > 0) {
		memset(&r, 0, sizeof(r));
		assert_int_equal(ipaddr_parse("203.0.113.200", &r.src), 0);
		assert_int_equal(ipaddr_parse(dst, &r.dst), 0);
		r.proto = proto;
		r.packets = packets;
		r.bytes = packets * 100;
		r.syns = syns;
		r.sampling = 1;
		counters_add(counters_shard(f->cnt, 0), &r, 1);
	}
	f->now++;
	counters_tick(f->cnt, f->now * NS, NULL, NULL);
	api_history_record(f->h, f->set, f->cnt, f->now * NS);
}

static size_t
npoints(const struct api_history *h, const char *name)
{
	json_t *o = api_history_json(h, name, LIMIT_HISTORY_POINTS);
	size_t n;

	assert_non_null(o);
	n = json_array_size(json_object_get(o, "t"));
	/* every series has as many points as t */
	assert_int_equal(json_array_size(json_object_get(json_object_get(o, "udp"), "pps")), n);
	assert_int_equal(json_array_size(json_object_get(json_object_get(o, "tcp"), "avg_pps")),
	    n);
	json_decref(o);
	return n;
}

static double
at(json_t *o, const char *proto, const char *key, size_t i)
{
	json_t *a = proto ? json_object_get(json_object_get(o, proto), key) : json_object_get(o, key);

	assert_true(i < json_array_size(a));
	return json_real_value(json_array_get(a, i));
}

static void
test_wrap_around(void **state)
{
	struct fix *f = *state;
	const uint32_t total = LIMIT_HISTORY_POINTS + 10;
	json_t *o;

	add_po(f, "web", "192.0.2.0/24");
	publish(f);
	/* second k (1-based) carries k UDP packets and one TCP SYN */
	for (uint32_t k = 1; k <= total; k++) {
		if (k % 2)
			second(f, "192.0.2.1", 17, k, 0);
		else
			second(f, "192.0.2.1", 6, k, 1);
	}
	o = api_history_json(f->h, "web", LIMIT_HISTORY_POINTS);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "name")), "web");
	assert_int_equal(json_array_size(json_object_get(o, "t")), LIMIT_HISTORY_POINTS);
	/* the oldest 10 are gone; the rest in order, oldest first */
	assert_true(at(o, NULL, "t", 0) == (double)(T0 + 11));
	assert_true(at(o, NULL, "t", LIMIT_HISTORY_POINTS - 1) == (double)(T0 + total));
	assert_true(at(o, "udp", "pps", 0) == 11.0);
	assert_true(at(o, "tcp", "pps", 0) == 0.0);
	assert_true(at(o, "tcp", "pps", 1) == 12.0);
	assert_true(at(o, "tcp", "syn_pps", 1) == 1.0);
	assert_true(at(o, "tcp", "bps", 1) == 12.0 * 100 * 8);
	assert_true(at(o, "udp", "pps", LIMIT_HISTORY_POINTS - 2) == (double)(total - 1));
	assert_true(at(o, "icmp", "pps", 5) == 0.0);
	assert_true(at(o, "udp", "avg_pps", LIMIT_HISTORY_POINTS - 2) > 0.0);
	json_decref(o);

	/* ?seconds picks the newest points */
	o = api_history_json(f->h, "web", 5);
	assert_non_null(o);
	assert_int_equal(json_array_size(json_object_get(o, "t")), 5);
	assert_true(at(o, NULL, "t", 0) == (double)(T0 + total - 4));
	assert_true(at(o, NULL, "t", 4) == (double)(T0 + total));
	json_decref(o);
}

static void
test_seconds_bounds(void **state)
{
	struct fix *f = *state;
	uint32_t s = 0;
	json_t *o;

	assert_int_equal(api_history_seconds(NULL, &s), 0);
	assert_int_equal(s, LIMIT_HISTORY_POINTS);
	assert_int_equal(api_history_seconds("1", &s), 0);
	assert_int_equal(s, 1);
	assert_int_equal(api_history_seconds("300", &s), 0);
	assert_int_equal(s, 300);
	assert_int_equal(api_history_seconds("0", &s), -EINVAL);
	assert_int_equal(api_history_seconds("301", &s), -EINVAL);
	assert_int_equal(api_history_seconds("-1", &s), -EINVAL);
	assert_int_equal(api_history_seconds("", &s), -EINVAL);
	assert_int_equal(api_history_seconds("5s", &s), -EINVAL);
	assert_int_equal(api_history_seconds("99999999999999999999999", &s), -EINVAL);

	/* asking for more than there is gives what there is */
	add_po(f, "web", "192.0.2.0/24");
	publish(f);
	for (int k = 0; k < 3; k++)
		second(f, "192.0.2.1", 17, 10, 0);
	o = api_history_json(f->h, "web", LIMIT_HISTORY_POINTS);
	assert_int_equal(json_array_size(json_object_get(o, "t")), 3);
	json_decref(o);
	o = api_history_json(f->h, "web", 1);
	assert_int_equal(json_array_size(json_object_get(o, "t")), 1);
	json_decref(o);
	/* no history (not running) is an empty one, not an error */
	o = api_history_json(NULL, "web", 10);
	assert_non_null(o);
	assert_int_equal(json_array_size(json_object_get(o, "t")), 0);
	assert_int_equal(json_array_size(json_object_get(json_object_get(o, "other"), "bps")), 0);
	json_decref(o);
}

static void
test_deleted_po(void **state)
{
	struct fix *f = *state;

	add_po(f, "a", "192.0.2.0/25");
	add_po(f, "b", "192.0.2.128/25");
	publish(f);
	for (int k = 0; k < 3; k++)
		second(f, "192.0.2.1", 17, 10, 0);
	assert_int_equal(npoints(f->h, "a"), 3);
	assert_int_equal(npoints(f->h, "b"), 3);

	/* pos_changed prunes at once, before the next point */
	assert_int_equal(poset_del(f->set, "a"), 0);
	publish(f);
	api_history_prune(f->h, f->set);
	assert_int_equal(npoints(f->h, "a"), 0);
	assert_int_equal(npoints(f->h, "b"), 3);

	/* a PO of the same name later starts afresh */
	add_po(f, "a", "192.0.2.0/25");
	publish(f);
	second(f, "192.0.2.1", 17, 10, 0);
	assert_int_equal(npoints(f->h, "a"), 1);
	assert_int_equal(npoints(f->h, "b"), 4);
}

static void
test_po_cap(void **state)
{
	struct fix *f = *state;
	const unsigned n = LIMIT_HISTORY_POS + 6;
	char name[16], prefix[32];

	for (unsigned i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "po%u", i);
		snprintf(prefix, sizeof(prefix), "2001:db8:%x::/48", i + 1);
		add_po(f, name, prefix);
	}
	publish(f);
	second(f, "2001:db8:1::1", 17, 10, 0);
	second(f, "2001:db8:1::1", 17, 10, 0);
	/* the lowest ids have a history, the others an empty one */
	for (unsigned i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "po%u", i);
		assert_int_equal(npoints(f->h, name), i < LIMIT_HISTORY_POS ? 2 : 0);
	}
	/* one of them goes: the next PO by id gets a ring from the next point */
	assert_int_equal(poset_del(f->set, "po3"), 0);
	publish(f);
	api_history_prune(f->h, f->set);
	second(f, "2001:db8:1::1", 17, 10, 0);
	assert_int_equal(npoints(f->h, "po3"), 0);
	snprintf(name, sizeof(name), "po%u", LIMIT_HISTORY_POS);
	assert_int_equal(npoints(f->h, name), 1);
	snprintf(name, sizeof(name), "po%u", LIMIT_HISTORY_POS + 1);
	assert_int_equal(npoints(f->h, name), 0);
	assert_int_equal(npoints(f->h, "po0"), 3);
	assert_int_equal(npoints(f->h, "no-such-po"), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_wrap_around, setup, teardown),
		cmocka_unit_test_setup_teardown(test_seconds_bounds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deleted_po, setup, teardown),
		cmocka_unit_test_setup_teardown(test_po_cap, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
