/* Unit tests for the take-over of another engine's live attacks
 * (engine/detect/decision.c decision_adopt(), used by engine/cluster): the
 * attacks of the POs asked for move with their ids and PO ids remapped by
 * name, the rest stays in the blob handed back; ids come from each
 * engine's own block, and an adopted id from a higher block (past the
 * engine's next id) survives its save and load. And of its learned
 * baselines (the rate detector's adopt op, detection_adopt_map()): a PO's
 * series move with their numbers intact and stay learned, the others and
 * POs the adopter does not know stay behind, adopting twice moves nothing
 * twice, a malformed blob or names map is refused whole, and a series the
 * adopter learned itself more recently is kept. A hand-over on rebalance
 * (decision_save_some(), decision_drop()): the giver's attacks of the
 * shard leave it without a state change and arrive with their ids. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "decision_test.h"
#include <errno.h>

#include "engine/detect/decision.h"
#include "engine/detect/module.h"
#include "engine/detect/params.h"
#include "engine/detect/registry.h"

#define NS 1000000000ULL
#define BLOCK_A (UINT64_C(9) << 32)
#define BLOCK_B (UINT64_C(7) << 32)


/* Engine b knows po1 and po3 as ids 101 and 103; only po1 is in the shard. */
static bool
keep_po1(void *ctx, const char *po, uint32_t *ret_po_id)
{
	(void)ctx;
	if (strcmp(po, "po1") != 0)
		return false;
	*ret_po_id = 101;
	return true;
}

static void
test_adopt(void **state)
{
	struct decision_hooks hooks = { .params = dt_params_of, .po_name = dt_po_name };
	struct decision *a, *b, *a2;
	const struct decision_attack *x;
	uint8_t *blob, *rest;
	size_t len, rest_len;

	(void)state;
	dparams_default(&dt_params);
	assert_int_equal(decision_new(&hooks, &a), 0);
	assert_int_equal(decision_new(&hooks, &b), 0);
	decision_id_base(a, BLOCK_A);
	decision_id_base(b, BLOCK_B);
	dt_attack(a, 1, 100);
	dt_attack(a, 3, 100);
	dt_attack(b, 7, 100);
	assert_non_null(decision_get(a, BLOCK_A));
	assert_non_null(decision_get(a, BLOCK_A + 1));
	assert_non_null(decision_get(b, BLOCK_B));

	/* b adopts a's attack on po1 (shard of po1), keeps its id, maps its PO. */
	assert_int_equal(decision_save(a, &blob, &len), 0);
	assert_int_equal(decision_adopt(b, blob, len, keep_po1, NULL, &rest, &rest_len), 1);
	x = decision_get(b, BLOCK_A);
	assert_non_null(x);
	assert_int_equal(x->po_id, 101);
	assert_string_equal(x->po, "po1");
	assert_int_equal(x->state, DECISION_DECLARED);
	assert_int_equal(decision_live_count(b), 2);
	/* Adopting again changes nothing (the id is there already). */
	free(rest);
	assert_int_equal(decision_adopt(b, blob, len, keep_po1, NULL, &rest, &rest_len), 0);
	free(rest);
	free(blob);

	/* What stays in a's blob: only po3's attack. */
	assert_int_equal(decision_save(a, &blob, &len), 0);
	assert_int_equal(decision_adopt(b, blob, len, keep_po1, NULL, &rest, &rest_len), 0);
	free(blob);
	assert_int_equal(decision_new(&hooks, &a2), 0);
	assert_int_equal(decision_adopt(a2, rest, rest_len, keep_po1, NULL, &blob, &len), 0);
	free(blob);
	decision_free(a2);
	free(rest);

	/* b's own blob, holding an id of a's block, loads back: the adopted id
	 * is no id b hands out. A new attack on b takes b's next id. */
	assert_int_equal(decision_save(b, &blob, &len), 0);
	assert_int_equal(decision_new(&hooks, &a2), 0);
	decision_id_base(a2, BLOCK_B);
	assert_int_equal(decision_load(a2, blob, len), 0);
	assert_non_null(decision_get(a2, BLOCK_A));
	dt_attack(a2, 5, 200);
	assert_non_null(decision_get(a2, BLOCK_B + 1));
	decision_free(a2);
	free(blob);

	decision_free(a);
	decision_free(b);
}

static unsigned changes;

static void
h_changed(void *ctx, const struct decision_attack *a, enum decision_state old)
{
	(void)ctx;
	(void)a;
	(void)old;
	changes++;
}

/* A hand-over: the giver writes the shard's live attacks alone
 * (decision_save_some()) and drops them without a word (decision_drop():
 * no state change reaches mitigation, so no rule is withdrawn); the taker
 * adopts them with their ids, the giver's other attacks stay. */
static void
test_hand_over_attacks(void **state)
{
	struct decision_hooks hooks = { .params = dt_params_of, .po_name = dt_po_name,
		.changed = h_changed };
	struct decision *a, *b;
	const struct decision_attack *x;
	uint8_t *blob, *rest;
	size_t len, rest_len;
	unsigned before;

	(void)state;
	dparams_default(&dt_params);
	assert_int_equal(decision_new(&hooks, &a), 0);
	assert_int_equal(decision_new(&hooks, &b), 0);
	decision_id_base(a, BLOCK_A);
	decision_id_base(b, BLOCK_B);
	dt_attack(a, 1, 100);
	dt_attack(a, 3, 100);
	assert_int_equal(decision_save_some(a, keep_po1, NULL, &blob, &len), 1);
	before = changes;
	assert_int_equal(decision_drop(a, keep_po1, NULL), 1);
	assert_int_equal(changes, before);
	assert_int_equal(decision_live_count(a), 1);
	assert_null(decision_get(a, BLOCK_A));
	assert_non_null(decision_get(a, BLOCK_A + 1));
	/* the taker (ids of its own block) adopts it under a's id */
	assert_int_equal(decision_adopt(b, blob, len, keep_po1, NULL, &rest, &rest_len), 1);
	x = decision_get(b, BLOCK_A);
	assert_non_null(x);
	assert_int_equal(x->po_id, 101);
	assert_int_equal(x->state, DECISION_DECLARED);
	free(rest);
	free(blob);
	/* nothing left of po1 to hand over twice */
	assert_int_equal(decision_save_some(a, keep_po1, NULL, &blob, &len), 0);
	assert_int_equal(decision_adopt(b, blob, len, keep_po1, NULL, &rest, &rest_len), 0);
	free(rest);
	free(blob);
	decision_free(a);
	decision_free(b);
}

/* ---- learned baselines: the rate detector ---- */

#define T0 (1700000000ULL * NS)

struct rh {
	struct dparams p;
	void *st;
	unsigned attacks, learned;
};

static const struct dparams *
rh_params(void *ctx, uint32_t po_id)
{
	(void)po_id;
	return &((struct rh *)ctx)->p;
}

static void
rh_emit(void *ctx, const struct detection *d)
{
	if (d->kind == DETECT_ATTACK)
		((struct rh *)ctx)->attacks++;
}

static void
rh_learned(void *ctx, uint32_t po_id, uint8_t proto, uint8_t dir, uint16_t port)
{
	(void)po_id;
	(void)proto;
	(void)dir;
	(void)port;
	((struct rh *)ctx)->learned++;
}

static struct rh *
rh_new(void)
{
	struct rh *h = calloc(1, sizeof(*h));
	struct detect_env env = { .params = rh_params, .emit = rh_emit, .learned = rh_learned };

	assert_non_null(h);
	dparams_default(&h->p);
	h->p.rate.warmup_s = 10;
	h->p.rate.learn_s = 300;
	h->p.rate.profile = false;
	env.ctx = h;
	assert_int_equal(detect_rate_ops.new(&env, &h->st), 0);
	return h;
}

static void
rh_free(struct rh *h)
{
	detect_rate_ops.free(h->st);
	free(h);
}

/* Seconds [from, to) of `pps` UDP packets/s of 500 bytes into PO po. */
static void
rh_run(struct rh *h, uint32_t po, unsigned from, unsigned to, double pps)
{
	for (unsigned s = from; s < to; s++) {
		struct reading r = { .time_ns = T0 + (uint64_t)(s + 1) * NS, .interval_ns = NS,
			.po_id = po, .proto = PROTO_UDP, .dir = DIR_IN, .packets = (uint64_t)pps,
			.bytes = (uint64_t)pps * 500, .flows = (uint64_t)pps / 10 };

		detect_rate_ops.feed(h->st, &r);
	}
}

/* Seconds [from, to) of a flood on top of 1000 packets/s: `pps` more
 * packets/s of 60 bytes, each a new flow (spoofed sources). */
static void
rh_flood(struct rh *h, uint32_t po, unsigned from, unsigned to, double pps)
{
	for (unsigned s = from; s < to; s++) {
		struct reading r = { .time_ns = T0 + (uint64_t)(s + 1) * NS, .interval_ns = NS,
			.po_id = po, .proto = PROTO_UDP, .dir = DIR_IN,
			.packets = 1000 + (uint64_t)pps, .bytes = 500000 + (uint64_t)pps * 60,
			.flows = 100 + (uint64_t)pps };

		detect_rate_ops.feed(h->st, &r);
	}
}

static void
rh_save(struct rh *h, uint8_t **ret, size_t *ret_len)
{
	assert_int_equal(detect_rate_ops.save(h->st, ret, ret_len), 0);
}

/* Engine a's PO ids: 1 = po1 (in the shard), 3 = po3 (not); engine b
 * knows po1 as 11. */
static const uint32_t map_po1[4] = { DETECT_PO_GONE, 11, DETECT_PO_GONE, DETECT_PO_GONE };

static void
test_baseline_moves(void **state)
{
	struct rh *a = rh_new(), *b = rh_new(), *want = rh_new();
	uint8_t *blob, *rest, *got, *exp, *rest2;
	size_t len, rest_len, got_len, exp_len, rest2_len;
	uint32_t remap[4] = { DETECT_PO_GONE, 11, DETECT_PO_GONE, DETECT_PO_GONE };

	(void)state;
	rh_run(a, 1, 0, 600, 1000);
	rh_run(a, 3, 0, 600, 50);
	assert_int_equal(a->learned, 2);
	rh_save(a, &blob, &len);

	/* b takes po1's series: exactly a's numbers under b's id. */
	assert_int_equal(detect_rate_ops.adopt(b->st, blob, len, map_po1, 4, &rest, &rest_len), 1);
	assert_non_null(rest);
	assert_int_equal(detect_rate_ops.load(want->st, blob, len), 0);
	detect_rate_ops.remap_po(want->st, remap, 4);
	rh_save(want, &exp, &exp_len);
	rh_save(b, &got, &got_len);
	assert_int_equal(got_len, exp_len);
	assert_memory_equal(got, exp, exp_len);
	free(got);
	free(exp);

	/* It is learned: a flood is declared at once, no learning period. */
	rh_flood(b, 11, 600, 603, 3000);
	assert_int_equal(b->attacks, 1);
	assert_int_equal(b->learned, 0);

	/* The rest is a's state without po1: po3's series, untouched. */
	rh_free(want);
	want = rh_new();
	assert_int_equal(detect_rate_ops.load(want->st, blob, len), 0);
	detect_rate_ops.forget_po(want->st, 1);
	rh_save(want, &exp, &exp_len);
	assert_int_equal(rest_len, exp_len);
	assert_memory_equal(rest, exp, exp_len);
	free(exp);

	/* Adopting from the rest moves nothing twice. */
	rh_save(b, &exp, &exp_len);
	assert_int_equal(detect_rate_ops.adopt(b->st, rest, rest_len, map_po1, 4, &rest2,
	    &rest2_len), 0);
	assert_null(rest2);
	rh_save(b, &got, &got_len);
	assert_int_equal(got_len, exp_len);
	assert_memory_equal(got, exp, exp_len);
	free(got);
	free(exp);
	free(rest);
	free(blob);
	rh_free(a);
	rh_free(b);
	rh_free(want);
}

static void
test_baseline_own_learned(void **state)
{
	struct rh *a = rh_new(), *b = rh_new(), *c = rh_new();
	uint8_t *blob, *rest, *before, *after;
	size_t len, rest_len, before_len, after_len;

	(void)state;
	rh_run(a, 1, 0, 600, 1000);
	rh_save(a, &blob, &len);

	/* b learned po1 itself, later than a's last reading: b keeps its own,
	 * and the series still leaves a's blob. */
	rh_run(b, 11, 0, 700, 200);
	rh_save(b, &before, &before_len);
	assert_int_equal(detect_rate_ops.adopt(b->st, blob, len, map_po1, 4, &rest, &rest_len), 1);
	rh_save(b, &after, &after_len);
	assert_int_equal(before_len, after_len);
	assert_memory_equal(before, after, after_len);
	free(before);
	free(after);
	free(rest);

	/* c had a few seconds of its own (warming up on a flood): a's
	 * baseline wins, so the flood is declared at once. */
	rh_flood(c, 11, 590, 600, 3000);
	assert_int_equal(detect_rate_ops.adopt(c->st, blob, len, map_po1, 4, &rest, &rest_len), 1);
	free(rest);
	rh_flood(c, 11, 600, 603, 3000);
	assert_int_equal(c->attacks, 1);
	free(blob);
	rh_free(a);
	rh_free(b);
	rh_free(c);
}

static void
test_baseline_hostile(void **state)
{
	struct rh *a = rh_new(), *b = rh_new();
	uint8_t *blob, *rest, *before, *after;
	size_t len, rest_len, before_len, after_len;

	(void)state;
	rh_run(a, 1, 0, 400, 1000);
	rh_run(b, 5, 0, 400, 100);
	rh_save(a, &blob, &len);
	rh_save(b, &before, &before_len);
	/* Every truncation, a bad magic, a bad protocol: refused whole. */
	for (size_t cut = 0; cut < len; cut += 131)
		assert_int_equal(detect_rate_ops.adopt(b->st, blob, cut, map_po1, 4, &rest,
		    &rest_len), -EINVAL);
	blob[0] ^= 1;
	assert_int_equal(detect_rate_ops.adopt(b->st, blob, len, map_po1, 4, &rest, &rest_len),
	    -EINVAL);
	blob[0] ^= 1;
	blob[8 + 4] = 9;
	assert_int_equal(detect_rate_ops.adopt(b->st, blob, len, map_po1, 4, &rest, &rest_len),
	    -EINVAL);
	assert_null(rest);
	rh_save(b, &after, &after_len);
	assert_int_equal(before_len, after_len);
	assert_memory_equal(before, after, after_len);
	free(before);
	free(after);
	free(blob);
	rh_free(a);
	rh_free(b);
}

/* Engine b knows po1 (id 11) and po2 (id 12, another shard); not po3. */
static bool
keep_b(void *ctx, const char *po, uint32_t *ret_po_id)
{
	unsigned *asked = ctx;

	(*asked)++;
	if (strcmp(po, "po1") == 0) {
		*ret_po_id = 11;
		return true;
	}
	return false;
}

static void
test_names_map(void **state)
{
	/* a's names by id: 0 unused, 1 po1, 2 po3 (b does not know it). */
	static const uint8_t names[] = { 0, 0, 0, 3, 0, 'p', 'o', '1', 0, 'p', 'o', '3', 0 };
	uint32_t *map, n;
	unsigned asked = 0;
	uint8_t bad[sizeof(names)];

	(void)state;
	assert_int_equal(detection_adopt_map(names, sizeof(names), keep_b, &asked, &map, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(asked, 2);		/* the unused id is not asked for */
	assert_int_equal(map[0], DETECT_PO_GONE);
	assert_int_equal(map[1], 11);
	assert_int_equal(map[2], DETECT_PO_GONE);
	free(map);
	/* Truncated, a count past the bytes, trailing bytes, a name too long. */
	for (size_t cut = 0; cut < sizeof(names); cut++)
		assert_int_equal(detection_adopt_map(names, cut, keep_b, &asked, &map, &n), -EINVAL);
	memcpy(bad, names, sizeof(names));
	bad[3] = 200;
	assert_int_equal(detection_adopt_map(bad, sizeof(bad), keep_b, &asked, &map, &n), -EINVAL);
	bad[3] = 2;
	assert_int_equal(detection_adopt_map(bad, sizeof(bad), keep_b, &asked, &map, &n), -EINVAL);
	assert_null(map);
}

/* A PO the adopter does not know (map says gone) stays behind whole. */
static void
test_baseline_unknown_po(void **state)
{
	struct rh *a = rh_new(), *b = rh_new();
	uint32_t none[4] = { DETECT_PO_GONE, DETECT_PO_GONE, DETECT_PO_GONE, DETECT_PO_GONE };
	uint8_t *blob, *rest;
	size_t len, rest_len;

	(void)state;
	rh_run(a, 3, 0, 400, 1000);
	rh_save(a, &blob, &len);
	assert_int_equal(detect_rate_ops.adopt(b->st, blob, len, none, 4, &rest, &rest_len), 0);
	assert_null(rest);
	/* ids past the map stay too */
	assert_int_equal(detect_rate_ops.adopt(b->st, blob, len, map_po1, 2, &rest, &rest_len), 0);
	assert_null(rest);
	rh_flood(b, 3, 400, 403, 3000);
	assert_int_equal(b->attacks, 0);	/* nothing learned: b warms up */
	free(blob);
	rh_free(a);
	rh_free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_adopt),
		cmocka_unit_test(test_hand_over_attacks),
		cmocka_unit_test(test_baseline_moves),
		cmocka_unit_test(test_baseline_own_learned),
		cmocka_unit_test(test_baseline_hostile),
		cmocka_unit_test(test_names_map),
		cmocka_unit_test(test_baseline_unknown_po),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
