/* Unit tests for engine/decision: the attack lifecycle (suspected, declared,
 * ending, ended; suspicions that fade), joining detectors, quiet period and
 * reset, typing from readings and from the source-port sketch, a port
 * attack's own top targets, caps, and the state blob. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "engine/detect/decision.h"

#define NS 1000000000ULL

struct harness {
	struct dparams p;
	struct decision *dp;
	unsigned changes, resets;
	enum decision_state last_old, last_new;
	uint16_t reset_port;
	uint8_t reset_dir;
};

static const struct dparams *
h_params(void *ctx, uint32_t po_id)
{
	return &((struct harness *)ctx)->p;
}

static const char *
h_po_name(void *ctx, uint32_t po_id)
{
	static char name[16];

	snprintf(name, sizeof(name), "po%u", po_id % 10);
	return name;
}

static void
h_changed(void *ctx, const struct decision_attack *a, enum decision_state old)
{
	struct harness *h = ctx;

	h->changes++;
	h->last_old = old;
	h->last_new = a->state;
}

static void
h_reset(void *ctx, uint32_t po_id, uint8_t proto, uint8_t dir, uint16_t port)
{
	struct harness *h = ctx;

	h->resets++;
	h->reset_port = port;
	h->reset_dir = dir;
}

static int
setup(void **state)
{
	struct harness *h = calloc(1, sizeof(*h));
	struct decision_hooks hooks = { .params = h_params, .po_name = h_po_name,
		.changed = h_changed, .reset = h_reset, .ctx = h };

	dparams_default(&h->p);
	h->p.quiet_s = 30;
	assert_int_equal(decision_new(&hooks, &h->dp), 0);
	*state = h;
	return 0;
}

static int
teardown(void **state)
{
	struct harness *h = *state;

	decision_free(h->dp);
	free(h);
	return 0;
}

static void
detect(struct harness *h, enum detect_kind kind, const char *detector, uint32_t po,
    uint8_t proto, uint64_t t_s, uint64_t life_s)
{
	struct detection d = {
		.kind = kind, .detector = detector, .po_id = po, .proto = proto, .dir = DIR_IN,
		.confidence = 80, .time_ns = t_s * NS, .expiry_ns = (t_s + life_s) * NS,
	};

	strcpy(d.reason, "test reason");
	decision_detect(h->dp, &d);
}

static const struct decision_attack *
only_live(struct harness *h)
{
	assert_int_equal(decision_live_count(h->dp), 1);
	return decision_get(h->dp, 1);
}

static void
test_lifecycle(void **state)
{
	struct harness *h = *state;
	const struct decision_attack *a;

	detect(h, DETECT_SUSPECT, "rate", 1, PROTO_UDP, 100, 10);
	a = only_live(h);
	assert_int_equal(a->state, DECISION_SUSPECTED);
	assert_int_equal(h->last_old, DECISION_NONE);
	detect(h, DETECT_ATTACK, "rate", 1, PROTO_UDP, 101, 10);
	assert_int_equal(a->state, DECISION_DECLARED);
	assert_int_equal(a->start_ns, 100 * NS);
	assert_int_equal(a->declared_ns, 101 * NS);
	assert_string_equal(a->reason, "test reason");
	decision_tick(h->dp, 105 * NS);
	assert_int_equal(a->state, DECISION_DECLARED);
	decision_tick(h->dp, 111 * NS);		/* expired: ending, quiet not over */
	assert_int_equal(a->state, DECISION_ENDING);
	detect(h, DETECT_ATTACK, "rate", 1, PROTO_UDP, 112, 10);	/* back */
	assert_int_equal(a->state, DECISION_DECLARED);
	decision_tick(h->dp, 122 * NS);
	assert_int_equal(a->state, DECISION_ENDING);
	assert_int_equal(h->resets, 0);
	decision_tick(h->dp, 141 * NS);		/* 112 + 30 not yet */
	assert_int_equal(decision_live_count(h->dp), 1);
	decision_tick(h->dp, 142 * NS);
	assert_int_equal(decision_live_count(h->dp), 0);
	assert_int_equal(h->resets, 1);
	assert_int_equal(h->last_new, DECISION_ENDED);
	a = decision_get(h->dp, 1);
	assert_non_null(a);
	assert_int_equal(a->state, DECISION_ENDED);
	assert_int_equal(a->end_ns, 142 * NS);
	/* a new attack on the same traffic gets a new id */
	detect(h, DETECT_ATTACK, "rate", 1, PROTO_UDP, 200, 10);
	assert_non_null(decision_get(h->dp, 2));
}

static void
test_suspicion_fades(void **state)
{
	struct harness *h = *state;

	detect(h, DETECT_SUSPECT, "rate", 1, PROTO_TCP, 100, 10);
	decision_tick(h->dp, 111 * NS);
	assert_int_equal(decision_live_count(h->dp), 0);
	assert_null(decision_get(h->dp, 1));	/* never declared: not in history */
	assert_int_equal(h->resets, 0);
}

static void
test_detectors_join(void **state)
{
	struct harness *h = *state;
	const struct decision_attack *a;

	detect(h, DETECT_ATTACK, "threshold", 4, PROTO_TCP, 100, 10);
	detect(h, DETECT_ATTACK, "rate", 4, PROTO_TCP, 101, 60);
	detect(h, DETECT_ATTACK, "rate", 4, PROTO_UDP, 101, 60);	/* another attack */
	assert_int_equal(decision_live_count(h->dp), 2);
	a = decision_get(h->dp, 1);
	assert_int_equal(a->ndet, 2);
	/* threshold expired at 110 but rate holds the attack until 161 */
	decision_tick(h->dp, 120 * NS);
	assert_int_equal(a->state, DECISION_DECLARED);
	/* a suspicion does not hold a declared attack */
	detect(h, DETECT_SUSPECT, "rate", 4, PROTO_TCP, 150, 100);
	decision_tick(h->dp, 160 * NS);
	assert_int_equal(a->state, DECISION_DECLARED);
	decision_tick(h->dp, 161 * NS);	/* expired, and quiet since 101 + 30 */
	a = decision_get(h->dp, 1);
	assert_int_equal(a->state, DECISION_ENDED);
	assert_int_equal(a->end_ns, 161 * NS);
}

static void
test_type_from_readings(void **state)
{
	struct harness *h = *state;
	const struct decision_attack *a;
	struct reading r = {
		.time_ns = 101 * NS, .interval_ns = NS, .po_id = 1, .proto = PROTO_TCP,
		.dir = DIR_IN, .packets = 10000, .bytes = 600000, .syns = 9000,
	};

	detect(h, DETECT_ATTACK, "rate", 1, PROTO_TCP, 100, 10);
	a = only_live(h);
	decision_feed(h->dp, &r);
	assert_int_equal(a->type, DECISION_TYPE_SYN_FLOOD);
	assert_true(a->peak_pps == 10000);
	assert_true(a->peak_bps == 4800000);
	r.packets = 5000;
	r.syns = 0;
	decision_feed(h->dp, &r);	/* lower: type and peak stay */
	assert_int_equal(a->type, DECISION_TYPE_SYN_FLOOD);
	assert_true(a->cur_pps == 5000);
	assert_true(a->peak_pps == 10000);
	r.dir = DIR_OUT;
	r.packets = 90000;
	decision_feed(h->dp, &r);	/* the other direction is not this attack */
	assert_true(a->peak_pps == 10000);
}

/* A source that knows the type says so with the type hint, whatever the
 * detector's name; readings never retype such an attack. */
static void
test_type_from_hint(void **state)
{
	struct harness *h = *state;
	struct detection d = {
		.kind = DETECT_ATTACK, .detector = "ins", .type_hint = DETECT_HINT_SLOW_CONNECTION,
		.po_id = 2, .proto = PROTO_TCP, .dir = DIR_IN, .port = 80, .confidence = 90,
		.time_ns = 100 * NS, .expiry_ns = 160 * NS,
	};
	struct reading r = {
		.time_ns = 101 * NS, .interval_ns = NS, .po_id = 2, .proto = PROTO_TCP,
		.dir = DIR_IN, .port = 80, .packets = 10000, .bytes = 600000, .syns = 9000,
	};
	const struct decision_attack *a;

	decision_detect(h->dp, &d);
	a = only_live(h);
	assert_int_equal(a->type, DECISION_TYPE_SLOWCONN);
	assert_string_equal(decision_type_name(a->type), "slow-connection");
	decision_feed(h->dp, &r);
	assert_int_equal(a->type, DECISION_TYPE_SLOWCONN);
	/* the scan hint, from a detector of any name */
	d.type_hint = DETECT_HINT_SCAN;
	d.detector = "chaff";
	d.po_id = 3;
	d.proto = PROTO_OTHER;
	d.port = 0;
	decision_detect(h->dp, &d);
	assert_int_equal(decision_get(h->dp, 2)->type, DECISION_TYPE_SCAN);
	/* no hint: the name "scan" alone no longer types it */
	d.type_hint = DETECT_HINT_NONE;
	d.detector = "scan";
	d.po_id = 4;
	decision_detect(h->dp, &d);
	assert_int_equal(decision_get(h->dp, 3)->type, DECISION_TYPE_UNKNOWN);
}

static void
test_amplification_from_sketch(void **state)
{
	struct harness *h = *state;
	const struct decision_attack *a;
	struct decision_obs o = { .po_id = 1, .proto = PROTO_UDP, .alen = 4, .packets = 1 };

	detect(h, DETECT_ATTACK, "rate", 1, PROTO_UDP, 100, 10);
	a = only_live(h);
	for (uint32_t i = 0; i < 20000; i++) {
		uint32_t src = 0xcb007100u + i;		/* 203.0.113.x reflectors */

		memcpy(o.src, &src, 4);
		o.dst[3] = (uint8_t)(i % 4 == 0 ? 9 : 10);	/* two targets */
		o.sport = i % 10 < 7 ? 123 : (uint16_t)(1024 + i % 5000);
		o.dport = (uint16_t)(i * 7);
		decision_observe(h->dp, &o);
	}
	decision_tick(h->dp, 101 * NS);
	assert_int_equal(a->type, DECISION_TYPE_AMPLIFICATION);
	assert_int_equal(a->amp_port, 123);
	assert_int_equal(a->ntop[DECISION_TOP_TARGETS], 2);
	assert_int_equal(a->top[DECISION_TOP_TARGETS][0].key[3], 10);
	assert_int_equal(a->top_total[DECISION_TOP_SOURCES], 20000);
	/* per-host counters know only the target */
	o.target_only = true;
	o.dst[3] = 77;
	o.packets = 1000000;
	decision_observe(h->dp, &o);
	decision_tick(h->dp, 102 * NS);
	assert_int_equal(a->top[DECISION_TOP_TARGETS][0].key[3], 77);
	assert_int_equal(a->top_total[DECISION_TOP_SOURCES], 20000);
}

/* A port attack's top targets are the destinations sampled on its port;
 * the protocol's attack keeps the host table's (per protocol) figures. */
static void
test_port_targets(void **state)
{
	struct harness *h = *state;
	struct detection d = { .kind = DETECT_ATTACK, .detector = "rate", .po_id = 1,
		.proto = PROTO_UDP, .dir = DIR_IN, .port = 53, .confidence = 80,
		.time_ns = 100 * NS, .expiry_ns = 110 * NS };
	struct decision_obs o = { .po_id = 1, .proto = PROTO_UDP, .alen = 4, .src = { 203, 0, 113, 5 } };
	const uint8_t a53[4] = { 192, 0, 2, 53 }, b80[4] = { 192, 0, 2, 80 };
	const struct decision_attack *port, *any;

	decision_detect(h->dp, &d);
	d.port = 0;
	decision_detect(h->dp, &d);
	port = decision_get(h->dp, 1);
	any = decision_get(h->dp, 2);
	assert_int_equal(port->port, 53);
	assert_int_equal(any->port, 0);
	for (int i = 0; i < 100; i++) {
		/* host a: port 53, small; host b: port 80, many more bytes and packets */
		memcpy(o.dst, a53, 4);
		o.dport = 53;
		o.packets = 1;
		o.bytes = 80;
		decision_observe(h->dp, &o);
		memcpy(o.dst, b80, 4);
		o.dport = 80;
		o.packets = 20;
		o.bytes = 30000;
		decision_observe(h->dp, &o);
	}
	/* the host table's figures for b (per protocol): a dport does not
	 * make them the port's */
	o = (struct decision_obs){ .po_id = 1, .proto = PROTO_UDP, .alen = 4, .target_only = true,
		.dport = 53, .packets = 1000000, .bytes = 1500000000 };
	memcpy(o.dst, b80, 4);
	decision_observe(h->dp, &o);
	decision_tick(h->dp, 101 * NS);
	assert_int_equal(port->ntop[DECISION_TOP_TARGETS], 1);
	assert_memory_equal(port->top[DECISION_TOP_TARGETS][0].key, a53, 4);
	assert_int_equal(port->top[DECISION_TOP_TARGETS][0].count, 100);
	assert_int_equal(port->top_total[DECISION_TOP_SOURCES], 100);
	assert_int_equal(any->ntop[DECISION_TOP_TARGETS], 2);
	assert_memory_equal(any->top[DECISION_TOP_TARGETS][0].key, b80, 4);
	assert_int_equal(any->top_total[DECISION_TOP_SOURCES], 2100);
}

static void
test_caps(void **state)
{
	struct harness *h = *state;

	for (uint32_t po = 0; po < LIMIT_ATTACKS_LIVE + 5; po++)
		detect(h, DETECT_ATTACK, "rate", po, PROTO_UDP, 100, 1);
	assert_int_equal(decision_live_count(h->dp), LIMIT_ATTACKS_LIVE);
	assert_int_equal(decision_refused(h->dp), 5);
	h->p.quiet_s = 0;
	decision_tick(h->dp, 200 * NS);
	assert_int_equal(decision_live_count(h->dp), 0);
	/* history keeps the newest LIMIT_ATTACKS_HISTORY */
	assert_null(decision_get(h->dp, 1));
	assert_non_null(decision_get(h->dp, LIMIT_ATTACKS_LIVE));
}

static int
count_cb(const struct decision_attack *a, void *arg)
{
	(*(unsigned *)arg)++;
	return 0;
}

static void
test_blob(void **state)
{
	struct harness *h = *state;
	struct decision *other;
	struct decision_hooks hooks = { .params = h_params, .po_name = h_po_name,
		.changed = h_changed, .reset = h_reset, .ctx = h };
	uint8_t *blob, *blob2;
	size_t len, len2;
	unsigned n = 0;

	detect(h, DETECT_ATTACK, "rate", 1, PROTO_UDP, 100, 10);
	detect(h, DETECT_ATTACK, "threshold", 2, PROTO_TCP, 100, 10);
	decision_tick(h->dp, 200 * NS);
	detect(h, DETECT_ATTACK, "rate", 3, PROTO_ICMP, 300, 10);
	assert_int_equal(decision_save(h->dp, &blob, &len), 0);
	assert_int_equal(decision_new(&hooks, &other), 0);
	assert_int_equal(decision_load(other, blob, len), 0);
	assert_int_equal(decision_save(other, &blob2, &len2), 0);
	assert_int_equal(len, len2);
	assert_memory_equal(blob, blob2, len);
	assert_int_equal(decision_walk(other, count_cb, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(decision_get(other, 3)->det[0].name, "rate");
	/* the restored attack goes on ending as if nothing happened */
	decision_tick(other, 341 * NS);
	assert_int_equal(decision_live_count(other), 0);
	/* hostile blobs: every truncation and a bad state are refused */
	for (size_t cut = 0; cut < len; cut++)
		assert_int_equal(decision_load(other, blob, cut), -EINVAL);
	/* magic, next id, counts; the first attack: id, po id, name "po3", proto, dir, port */
	assert_int_equal(blob[20 + 8 + 4 + 4 + 4], DECISION_DECLARED);
	blob[20 + 8 + 4 + 4 + 4] = 9;
	assert_int_equal(decision_load(other, blob, len), -EINVAL);
	n = 0;
	decision_walk(other, count_cb, &n);
	assert_int_equal(n, 3);
	free(blob);
	free(blob2);
	decision_free(other);
}

static void
detect_dir(struct harness *h, uint32_t po, uint8_t proto, uint8_t dir, uint64_t t_s,
    uint64_t life_s)
{
	struct detection d = {
		.kind = DETECT_ATTACK, .detector = "rate", .po_id = po, .proto = proto, .dir = dir,
		.confidence = 80, .time_ns = t_s * NS, .expiry_ns = (t_s + life_s) * NS,
	};

	strcpy(d.reason, dir == DIR_IN ? "in" : "out");
	decision_detect(h->dp, &d);
}

/*
 * An outbound burst and an inbound flood of the same PO and protocol are two
 * attacks: each is typed from its own direction's readings, the outbound
 * one is never mitigated (detect-only), and each ending resets only its
 * own direction.
 */
static void
test_direction_keyed(void **state)
{
	struct harness *h = *state;
	const struct decision_attack *out, *in;
	struct reading r = {
		.time_ns = 102 * NS, .interval_ns = NS, .po_id = 1, .proto = PROTO_TCP,
		.dir = DIR_OUT, .packets = 20000, .bytes = 30000000,
	};

	detect_dir(h, 1, PROTO_TCP, DIR_OUT, 100, 10);
	detect_dir(h, 1, PROTO_TCP, DIR_IN, 101, 100);
	assert_int_equal(decision_live_count(h->dp), 2);
	out = decision_get(h->dp, 1);
	in = decision_get(h->dp, 2);
	assert_int_equal(out->dir, DIR_OUT);
	assert_int_equal(in->dir, DIR_IN);
	assert_true(out->detect_only);
	assert_false(in->detect_only);
	assert_string_equal(in->reason, "in");
	decision_feed(h->dp, &r);			/* the download */
	r.dir = DIR_IN;
	r.packets = 5000;
	r.bytes = 200000;
	r.syns = 4800;
	decision_feed(h->dp, &r);			/* the SYN flood */
	assert_int_equal(out->type, DECISION_TYPE_TCP_OTHER);
	assert_true(out->peak_pps == 20000);
	assert_int_equal(in->type, DECISION_TYPE_SYN_FLOOD);
	assert_true(in->peak_pps == 5000);
	/* an inbound observation never feeds the outbound attack */
	struct decision_obs o = { .po_id = 1, .proto = PROTO_TCP, .alen = 4,
		.src = { 198, 51, 100, 1 }, .dst = { 203, 0, 113, 10 }, .sport = 1234, .dport = 80,
		.packets = 10 };
	decision_observe(h->dp, &o);
	decision_tick(h->dp, 103 * NS);
	assert_int_equal(in->ntop[DECISION_TOP_SOURCES], 1);
	assert_int_equal(out->ntop[DECISION_TOP_SOURCES], 0);
	/* the outbound one ends first, resetting its direction only */
	decision_tick(h->dp, 141 * NS);
	assert_int_equal(h->resets, 1);
	assert_int_equal(h->reset_dir, DIR_OUT);
	assert_int_equal(decision_live_count(h->dp), 1);
	assert_int_equal(decision_get(h->dp, 2)->state, DECISION_DECLARED);
	/* a detection of the other direction with a bad value is refused */
	detect_dir(h, 1, PROTO_TCP, DIR__COUNT, 150, 10);
	assert_int_equal(decision_live_count(h->dp), 1);
	assert_int_equal(decision_refused(h->dp), 1);
}

/*
 * A blob saved before attacks were keyed by direction (the format is the
 * same): an outbound attack that took an inbound SYN flood's detection, not
 * detect-only then. It loads, comes back detect-only (never mitigated), and
 * the flood's next detection opens its own inbound attack.
 */
static const uint8_t old_blob[] = {
	0x4d, 0x44, 0x41, 0x31, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02,
	0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x01, 0x00,
	0x00, 0x02, 0x00, 0x00, 0x00, 0x50, 0x00, 0x00, 0x00, 0x17, 0x48, 0x76,
	0xe8, 0x00, 0x00, 0x00, 0x00, 0x17, 0x48, 0x76, 0xe8, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x17, 0x84, 0x11,
	0xb2, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x09, 0x6f, 0x75, 0x74, 0x20, 0x62,
	0x75, 0x72, 0x73, 0x74, 0x01, 0x04, 0x72, 0x61, 0x74, 0x65, 0x50, 0x00,
	0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x17, 0x48, 0x76, 0xe8, 0x00, 0x00,
	0x00, 0x00, 0x17, 0x84, 0x11, 0xb2, 0x00, 0x00, 0x00, 0x00, 0x25, 0x40,
	0xbe, 0x40, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};

static void
test_blob_before_direction(void **state)
{
	struct harness *h = *state;
	const struct decision_attack *a;

	assert_int_equal(decision_load(h->dp, old_blob, sizeof(old_blob)), 0);
	a = only_live(h);
	assert_int_equal(a->dir, DIR_OUT);
	assert_int_equal(a->state, DECISION_DECLARED);
	assert_true(a->detect_only);
	detect_dir(h, 1, PROTO_TCP, DIR_IN, 102, 10);
	assert_int_equal(decision_live_count(h->dp), 2);
	a = decision_get(h->dp, 2);
	assert_int_equal(a->dir, DIR_IN);
	assert_false(a->detect_only);
	/* both saved and loaded again: two attacks on one (PO, protocol, port) */
	uint8_t *blob;
	size_t len;

	assert_int_equal(decision_save(h->dp, &blob, &len), 0);
	assert_int_equal(decision_load(h->dp, blob, len), 0);
	assert_int_equal(decision_live_count(h->dp), 2);
	for (size_t cut = 0; cut < sizeof(old_blob); cut++)
		assert_int_equal(decision_load(h->dp, old_blob, cut), -EINVAL);
	assert_int_equal(decision_live_count(h->dp), 2);
	free(blob);
}

static void
test_remap(void **state)
{
	struct harness *h = *state;
	uint32_t map[3] = { DECISION_PO_GONE, 0, DECISION_PO_GONE };

	detect(h, DETECT_ATTACK, "rate", 1, PROTO_UDP, 100, 10);
	detect(h, DETECT_ATTACK, "rate", 2, PROTO_UDP, 100, 10);
	assert_string_equal(decision_get(h->dp, 1)->po, "po1");
	h->p.quiet_s = 0;
	detect(h, DETECT_ATTACK, "rate", 0, PROTO_TCP, 100, 1);
	decision_tick(h->dp, 101 * NS);		/* the PO 0 attack ends */
	decision_remap_po(h->dp, map, 3);
	assert_int_equal(decision_live_count(h->dp), 1);
	assert_int_equal(decision_get(h->dp, 1)->po_id, 0);
	assert_null(decision_get(h->dp, 2));	/* live on a deleted PO: dropped */
	assert_int_equal(decision_get(h->dp, 3)->po_id, DECISION_PO_GONE);
	assert_string_equal(decision_get(h->dp, 3)->po, "po0");
}

static void
test_names(void **state)
{
	assert_string_equal(decision_state_name(DECISION_ENDING), "ending");
	assert_string_equal(decision_type_name(DECISION_TYPE_AMPLIFICATION), "amplification");
	assert_string_equal(decision_type_name(DECISION_TYPE__COUNT), "?");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_lifecycle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_suspicion_fades, setup, teardown),
		cmocka_unit_test_setup_teardown(test_detectors_join, setup, teardown),
		cmocka_unit_test_setup_teardown(test_type_from_readings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_type_from_hint, setup, teardown),
		cmocka_unit_test_setup_teardown(test_amplification_from_sketch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_port_targets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_caps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blob, setup, teardown),
		cmocka_unit_test_setup_teardown(test_direction_keyed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blob_before_direction, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remap, setup, teardown),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
