/* Unit tests for engine/detect_threshold: each limit fires from the first
 * reading, only over the limit, for the right protocol; no state; the
 * registry finds both detectors. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "engine/detect/registry.h"

#define NS 1000000000ULL

struct harness {
	struct dparams p;
	void *st;
	unsigned n;
	struct detection last;
};

static const struct dparams *
h_params(void *ctx, uint32_t po_id)
{
	return &((struct harness *)ctx)->p;
}

static void
h_emit(void *ctx, const struct detection *d)
{
	struct harness *h = ctx;

	h->n++;
	h->last = *d;
}

static int
setup(void **state)
{
	struct harness *h = calloc(1, sizeof(*h));
	struct detect_env env = { .params = h_params, .emit = h_emit, .ctx = h };

	dparams_default(&h->p);
	h->p.limits[PROTO_TCP].pps = 1000;
	h->p.limits[PROTO_TCP].syn_pps = 100;
	h->p.limits[PROTO_UDP].bps = 8e6;
	h->p.limits[PROTO_UDP].flows_ps = 50;
	assert_int_equal(detect_threshold_ops.new(&env, &h->st), 0);
	*state = h;
	return 0;
}

static int
teardown(void **state)
{
	struct harness *h = *state;

	detect_threshold_ops.free(h->st);
	free(h);
	return 0;
}

static void
feed(struct harness *h, uint8_t proto, uint64_t interval_s, uint64_t pk, uint64_t bytes,
    uint64_t flows, uint64_t syns)
{
	struct reading r = {
		.time_ns = 1000 * NS, .interval_ns = interval_s * NS, .po_id = 3, .proto = proto,
		.dir = DIR_IN, .packets = pk, .bytes = bytes, .flows = flows, .syns = syns,
	};

	detect_threshold_ops.feed(h->st, &r);
}

static void
test_pps_first_reading(void **state)
{
	struct harness *h = *state;

	feed(h, PROTO_TCP, 1, 1000, 0, 0, 0);	/* at the limit: fine */
	assert_int_equal(h->n, 0);
	feed(h, PROTO_TCP, 1, 1001, 0, 0, 0);
	assert_int_equal(h->n, 1);
	assert_int_equal(h->last.kind, DETECT_ATTACK);
	assert_int_equal(h->last.confidence, 100);
	assert_string_equal(h->last.detector, "threshold");
	assert_int_equal(h->last.po_id, 3);
	assert_int_equal(h->last.expiry_ns, 1000 * NS + 10 * NS);
	assert_non_null(strstr(h->last.reason, "pps"));
	feed(h, PROTO_TCP, 2, 1500, 0, 0, 0);	/* 750/s over two seconds */
	assert_int_equal(h->n, 1);
}

static void
test_other_limits(void **state)
{
	struct harness *h = *state;

	feed(h, PROTO_TCP, 1, 10, 0, 0, 101);
	assert_int_equal(h->n, 1);
	assert_non_null(strstr(h->last.reason, "syn/s"));
	feed(h, PROTO_UDP, 1, 10, 1000001, 0, 0);	/* 8 000 008 bit/s */
	assert_int_equal(h->n, 2);
	assert_non_null(strstr(h->last.reason, "bps"));
	feed(h, PROTO_UDP, 1, 10, 0, 51, 0);
	assert_int_equal(h->n, 3);
	feed(h, PROTO_ICMP, 1, 1000000, 1000000000, 0, 0);	/* no limits for icmp */
	assert_int_equal(h->n, 3);
}

static void
test_ignores_bad_readings(void **state)
{
	struct harness *h = *state;

	feed(h, PROTO_TCP, 0, 5000, 0, 0, 0);	/* no interval */
	feed(h, 9, 1, 5000, 0, 0, 0);		/* no such protocol */
	assert_int_equal(h->n, 0);
}

/* PO limits are checked on port 0 only: a port series is part of it. */
static void
test_po_limits_not_per_port(void **state)
{
	struct harness *h = *state;
	struct reading r = {
		.time_ns = 1000 * NS, .interval_ns = NS, .po_id = 3, .proto = PROTO_TCP,
		.dir = DIR_IN, .port = 80, .packets = 5000,
	};

	detect_threshold_ops.feed(h->st, &r);
	assert_int_equal(h->n, 0);
	r.port = 0;
	detect_threshold_ops.feed(h->st, &r);
	assert_int_equal(h->n, 1);
}

static void
feed_host(struct harness *h, uint8_t proto, const char *addr, uint64_t pk, uint64_t bytes,
    uint64_t syns)
{
	struct detect_host x = {
		.po_id = 3, .proto = proto, .alen = 4, .time_ns = 1000 * NS, .interval_ns = 2 * NS,
		.packets = pk, .bytes = bytes, .syns = syns,
	};
	unsigned a, b, c, d;

	assert_int_equal(sscanf(addr, "%u.%u.%u.%u", &a, &b, &c, &d), 4);
	x.addr[0] = (uint8_t)a, x.addr[1] = (uint8_t)b, x.addr[2] = (uint8_t)c;
	x.addr[3] = (uint8_t)d;
	detect_threshold_ops.feed_host(h->st, &x);
}

/* Host limits: each host against its own limit, per protocol, named in the
 * reason; the detection is for (PO, protocol, any port), inbound; the PO's
 * limits do not apply to one host. */
static void
test_host_limits(void **state)
{
	struct harness *h = *state;

	assert_non_null(detect_threshold_ops.feed_host);
	h->p.host_limits[PROTO_UDP].pps = 100;
	h->p.host_limits[PROTO_TCP].syn_pps = 10;
	feed_host(h, PROTO_UDP, "192.0.2.10", 200, 0, 0);	/* 100/s over 2 s: at the limit */
	assert_int_equal(h->n, 0);
	feed_host(h, PROTO_UDP, "192.0.2.10", 202, 0, 0);
	assert_int_equal(h->n, 1);
	assert_int_equal(h->last.proto, PROTO_UDP);
	assert_int_equal(h->last.port, 0);
	assert_int_equal(h->last.dir, DIR_IN);
	assert_int_equal(h->last.po_id, 3);
	assert_int_equal(h->last.kind, DETECT_ATTACK);
	assert_true(h->last.pps > 100.0 && h->last.pps < 102.0);
	assert_non_null(strstr(h->last.reason, "host 192.0.2.10"));
	assert_non_null(strstr(h->last.reason, "host limit 100"));
	feed_host(h, PROTO_TCP, "192.0.2.11", 5000, 0, 21);	/* 10.5 SYN/s; tcp pps is not a host limit */
	assert_int_equal(h->n, 2);
	assert_non_null(strstr(h->last.reason, "syn/s"));
	assert_non_null(strstr(h->last.reason, "192.0.2.11"));
	feed_host(h, PROTO_ICMP, "192.0.2.12", 1000000, 0, 0);	/* no icmp host limit */
	assert_int_equal(h->n, 2);
	h->p.host_limits[PROTO_UDP].pps = 0;
	feed_host(h, PROTO_UDP, "192.0.2.10", 1000000, 0, 0);	/* limits gone */
	assert_int_equal(h->n, 2);
}

/* The configuration / backtest keys for host limits. */
static void
test_host_limit_keys(void **state)
{
	struct dparams p;

	dparams_default(&p);
	assert_int_equal(dparams_set(&p, "host_limits.udp.pps", "250"), 0);
	assert_true(p.host_limits[PROTO_UDP].pps == 250);
	assert_true(p.limits[PROTO_UDP].pps == 0);
	assert_int_equal(dparams_set(&p, "host_limits.tcp.syn_pps", "40"), 0);
	assert_true(p.host_limits[PROTO_TCP].syn_pps == 40);
	assert_int_equal(dparams_set(&p, "limits.tcp.pps", "9"), 0);
	assert_true(p.limits[PROTO_TCP].pps == 9 && p.host_limits[PROTO_TCP].pps == 0);
	assert_int_equal(dparams_set(&p, "host_limits.sctp.pps", "1"), -ENOENT);
	assert_int_equal(dparams_set(&p, "host_limits.udp.pps.x", "1"), -ENOENT);
	assert_int_equal(dparams_set(&p, "hostlimits.udp.pps", "1"), -ENOENT);
	assert_int_equal(dparams_set(&p, "host_limits.udp.pps", "-1"), -ERANGE);
}

static void
test_stateless_blob(void **state)
{
	struct harness *h = *state;
	uint8_t *blob = (uint8_t *)"x";
	size_t len = 1;

	assert_int_equal(detect_threshold_ops.save(h->st, &blob, &len), 0);
	assert_int_equal(len, 0);
	assert_int_equal(detect_threshold_ops.load(h->st, NULL, 0), 0);
	assert_int_equal(detect_threshold_ops.load(h->st, (const uint8_t *)"x", 1), -EINVAL);
}

static void
test_registry(void **state)
{
	assert_ptr_equal(detect_find("threshold"), &detect_threshold_ops);
	assert_ptr_equal(detect_find("rate"), &detect_rate_ops);
	assert_null(detect_find("nope"));
	for (unsigned i = 0; i < DETECT_NREGISTERED; i++)
		assert_non_null(detect_registry[i]);
	assert_null(detect_registry[DETECT_NREGISTERED]);
	assert_string_equal(detect_proto_name(PROTO_ICMP), "icmp");
	assert_string_equal(detect_proto_name(77), "?");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pps_first_reading, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ignores_bad_readings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_po_limits_not_per_port, setup, teardown),
		cmocka_unit_test_setup_teardown(test_host_limits, setup, teardown),
		cmocka_unit_test(test_host_limit_keys),
		cmocka_unit_test_setup_teardown(test_stateless_blob, setup, teardown),
		cmocka_unit_test(test_registry),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
