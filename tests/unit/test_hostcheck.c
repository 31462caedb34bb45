/* Unit tests for engine/hostcheck: the counters' hosts of an interval go to
 * the threshold detector's host limits once, only for POs (and protocols)
 * with a host limit and ids that are POs; a host's detection makes it the
 * attack's top target; a reading's detection does not. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "collect/counters.h"
#include "engine/detect/hostcheck.h"

#define NS 1000000000ull

struct harness {
	struct dparams p[3];	/* by PO id; 2 is no PO */
	struct lpm *lpm;
	struct counters *cnt;
	void *det[DETECT_NREGISTERED];
	struct decision *dp;
	struct hostcheck hc;
	unsigned emitted;
	struct detection last;
};

static const struct dparams *
h_params(void *ctx, uint32_t po)
{
	struct harness *h = ctx;

	return &h->p[po < 3 ? po : 2];
}

static const struct dparams *
h_host_params(void *ctx, uint32_t po)
{
	return po < 2 ? h_params(ctx, po) : NULL;
}

static void
h_emit(void *ctx, const struct detection *d)
{
	struct harness *h = ctx;

	h->emitted++;
	h->last = *d;
	decision_detect(h->dp, d);
	hostcheck_emitted(&h->hc, d);
}

static void
add_prefix(struct harness *h, const char *s, uint32_t po)
{
	struct prefix p;

	assert_int_equal(prefix_parse(s, &p), 0);
	assert_int_equal(lpm_insert(h->lpm, &p, po), 0);
}

static int
setup(void **state)
{
	struct harness *h = calloc(1, sizeof(*h));
	struct detect_env env = { .params = h_params, .emit = h_emit, .ctx = h };
	struct decision_hooks hooks = { .params = h_params, .ctx = h };

	for (int i = 0; i < 3; i++)
		dparams_default(&h->p[i]);
	h->p[0].host_limits[PROTO_UDP].pps = 100;	/* PO 0: UDP host limit */
	h->p[2].host_limits[PROTO_UDP].pps = 1;		/* no PO: never checked */
	h->lpm = lpm_new();
	assert_non_null(h->lpm);
	add_prefix(h, "192.0.2.0/24", 0);
	add_prefix(h, "198.51.100.0/24", 1);
	add_prefix(h, "203.0.113.0/24", 2);
	assert_int_equal(lpm_build(h->lpm), 0);
	h->cnt = counters_new(4, 1, 1);
	assert_non_null(h->cnt);
	counters_set_lpm(h->cnt, h->lpm);
	counters_set_npos(h->cnt, 3);
	assert_int_equal(decision_new(&hooks, &h->dp), 0);
	for (size_t i = 0; i < DETECT_NREGISTERED; i++)
		assert_int_equal(detect_registry[i]->new(&env, &h->det[i]), 0);
	h->hc = (struct hostcheck){ .det = h->det, .dp = h->dp, .params = h_host_params, .ctx = h };
	counters_tick(h->cnt, 100 * NS, NULL, NULL);	/* start the clock */
	*state = h;
	return 0;
}

static int
teardown(void **state)
{
	struct harness *h = *state;

	for (size_t i = 0; i < DETECT_NREGISTERED; i++)
		detect_registry[i]->free(h->det[i]);
	decision_free(h->dp);
	counters_free(h->cnt);
	lpm_free(h->lpm);
	free(h);
	return 0;
}

static void
add(struct harness *h, const char *dst, uint8_t proto, uint64_t packets)
{
	struct flow_rec r = { .sampling = 1, .proto = proto, .packets = packets,
		.bytes = packets * 100, .dport = 53 };

	assert_int_equal(ipaddr_parse("203.0.113.200", &r.src), 0);
	assert_int_equal(ipaddr_parse(dst, &r.dst), 0);
	counters_add(counters_shard(h->cnt, 0), &r, 1);
}

static void
test_nothing_before_an_interval(void **state)
{
	struct harness *h = *state;

	/* one tick so far: no closed interval yet */
	assert_false(hostcheck_feed(&h->hc, h->cnt, 100 * NS));
	assert_int_equal(h->emitted, 0);
}

static void
test_host_over_limit_is_target(void **state)
{
	struct harness *h = *state;
	const struct decision_attack *a;
	const uint8_t seven[4] = { 192, 0, 2, 7 };

	add(h, "192.0.2.7", 17, 300);		/* over the host limit */
	add(h, "192.0.2.8", 17, 50);		/* under */
	add(h, "192.0.2.9", 6, 1000);		/* TCP: no host limit */
	add(h, "198.51.100.7", 17, 1000);	/* PO 1: no host limit */
	add(h, "203.0.113.7", 17, 1000);	/* id 2: no PO */
	counters_tick(h->cnt, 101 * NS, NULL, NULL);
	assert_true(hostcheck_feed(&h->hc, h->cnt, 5000 * NS));
	assert_int_equal(h->emitted, 1);
	assert_int_equal(h->last.po_id, 0);
	assert_int_equal(h->last.proto, PROTO_UDP);
	assert_int_equal(h->last.port, 0);
	assert_int_equal(h->last.time_ns, 5000 * NS);	/* the owner's clock */
	assert_string_equal(h->last.reason, "host 192.0.2.7: pps 300 over the host limit 100");
	/* once per interval */
	assert_false(hostcheck_feed(&h->hc, h->cnt, 5000 * NS));
	assert_int_equal(h->emitted, 1);

	decision_tick(h->dp, 5000 * NS);
	a = decision_get(h->dp, 1);
	assert_non_null(a);
	assert_int_equal(a->ntop[DECISION_TOP_TARGETS], 1);
	assert_memory_equal(a->top[DECISION_TOP_TARGETS][0].key, seven, 4);
	assert_int_equal(a->top[DECISION_TOP_TARGETS][0].count, 300);

	/* a detection outside a host check names no target */
	hostcheck_emitted(&h->hc, &h->last);
	decision_tick(h->dp, 5001 * NS);
	assert_int_equal(a->top[DECISION_TOP_TARGETS][0].count, 300);

	/* the next interval is checked again */
	add(h, "192.0.2.7", 17, 400);
	counters_tick(h->cnt, 102 * NS, NULL, NULL);
	assert_true(hostcheck_feed(&h->hc, h->cnt, 5001 * NS));
	assert_int_equal(h->emitted, 2);
}

static void
test_limits_any(void **state)
{
	struct dparams_limits l = { 0 };

	assert_false(hostcheck_limits_any(&l));
	l.syn_pps = 1;
	assert_true(hostcheck_limits_any(&l));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_nothing_before_an_interval, setup, teardown),
		cmocka_unit_test_setup_teardown(test_host_over_limit_is_target, setup, teardown),
		cmocka_unit_test(test_limits_any),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
