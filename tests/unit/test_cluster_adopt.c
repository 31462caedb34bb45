/* Unit tests for the take-over of another engine's live attacks
 * (engine/detect/decision.c decision_adopt(), used by engine/cluster): the
 * attacks of the POs asked for move with their ids and PO ids remapped by
 * name, the rest stays in the blob handed back; ids come from each
 * engine's own block, and an adopted id from a higher block (past the
 * engine's next id) survives its save and load. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "engine/detect/decision.h"
#include "engine/detect/params.h"

#define NS 1000000000ULL
#define BLOCK_A (UINT64_C(9) << 32)
#define BLOCK_B (UINT64_C(7) << 32)

static struct dparams params;

static const struct dparams *
h_params(void *ctx, uint32_t po_id)
{
	(void)ctx;
	(void)po_id;
	return &params;
}

/* PO ids of engine "a": po<id>; of engine "b": po<id - 100>. */
static const char *
a_name(void *ctx, uint32_t po_id)
{
	static char name[16];

	(void)ctx;
	snprintf(name, sizeof(name), "po%u", po_id);
	return name;
}

static void
attack(struct decision *dp, uint32_t po, uint64_t t_s)
{
	struct detection d = { .kind = DETECT_ATTACK, .detector = "threshold", .po_id = po,
		.proto = PROTO_UDP, .dir = DIR_IN, .confidence = 90, .time_ns = t_s * NS,
		.expiry_ns = (t_s + 60) * NS };

	strcpy(d.reason, "flood");
	decision_detect(dp, &d);
}

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
	struct decision_hooks hooks = { .params = h_params, .po_name = a_name };
	struct decision *a, *b, *a2;
	const struct decision_attack *x;
	uint8_t *blob, *rest;
	size_t len, rest_len;

	(void)state;
	dparams_default(&params);
	assert_int_equal(decision_new(&hooks, &a), 0);
	assert_int_equal(decision_new(&hooks, &b), 0);
	decision_id_base(a, BLOCK_A);
	decision_id_base(b, BLOCK_B);
	attack(a, 1, 100);
	attack(a, 3, 100);
	attack(b, 7, 100);
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
	attack(a2, 5, 200);
	assert_non_null(decision_get(a2, BLOCK_B + 1));
	decision_free(a2);
	free(blob);

	decision_free(a);
	decision_free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_adopt),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
