/* Unit tests for engine/cluster/peers: the other engines' live attacks and
 * mitigations read from their namespaces of the store (a SQLite store
 * here: the namespaces are the same on both backends). An engine's saved
 * decision blob lists its live attacks (not the ended ones) with its
 * instance; the mitigation table lists its well-formed entries; a blob
 * that does not decode lists nothing; this instance and collectors are
 * not read; the store's namespace goes back to this instance's; a listing
 * is cached for a second. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "decision_test.h"

#include "engine/cluster/peers.h"
#include "engine/detect/decision.h"
#include "engine/detect/params.h"

#define NS 1000000000ULL


/* A decision blob with live attacks on po1 and po2 (ids from base). */
static void
blob_of(uint64_t base, uint8_t **ret, size_t *ret_len)
{
	struct decision_hooks hooks = { .params = dt_params_of, .po_name = dt_po_name };
	struct decision *dp;

	dparams_default(&dt_params);
	assert_int_equal(decision_new(&hooks, &dp), 0);
	decision_id_base(dp, base);
	dt_attack(dp, 1, 100);
	dt_attack(dp, 2, 100);
	assert_int_equal(decision_save(dp, ret, ret_len), 0);
	decision_free(dp);
}

static void
test_decode_attacks(void **state)
{
	json_t *out = json_array();
	uint8_t *blob;
	size_t len;

	(void)state;
	blob_of(UINT64_C(5) << 32, &blob, &len);
	assert_int_equal(clpeers_decode_attacks(blob, len, "eng-b", out), 2);
	assert_int_equal(json_array_size(out), 2);
	for (size_t i = 0; i < 2; i++) {
		json_t *o = json_array_get(out, i);

		assert_string_equal(json_string_value(json_object_get(o, "instance")), "eng-b");
		assert_true((uint64_t)json_integer_value(json_object_get(o, "id")) >> 32 == 5);
	}
	/* Every truncation is refused and adds nothing. */
	for (size_t cut = 0; cut < len; cut++)
		assert_int_equal(clpeers_decode_attacks(blob, cut, "eng-b", out), -EINVAL);
	assert_int_equal(json_array_size(out), 2);
	free(blob);
	json_decref(out);
}

static void
test_decode_mitigations(void **state)
{
	static const char *const bad[] = { "", "[]", "{}", "{\"mitigations\": 1}", "nope",
		"{\"mitigations\": [], \"mitigations\": []}" };
	const char *good = "{\"version\":1,\"next_id\":9,\"mitigations\":["
	    "{\"id\":7,\"status\":\"mitigating\",\"request\":{\"po\":\"web\",\"attack_id\":3}},"
	    "{\"id\":0,\"request\":{\"po\":\"web\"}},"
	    "{\"id\":8,\"request\":{\"po\":5}},"
	    "{\"id\":9},"
	    "[1,2]]}";
	json_t *out = json_array(), *o;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(clpeers_decode_mitigations(bad[i], strlen(bad[i]), "x", out), -EINVAL);
	assert_int_equal(clpeers_decode_mitigations(good, strlen(good), "eng-c", out), 1);
	o = json_array_get(out, 0);
	assert_int_equal(json_integer_value(json_object_get(o, "id")), 7);
	assert_string_equal(json_string_value(json_object_get(o, "instance")), "eng-c");
	assert_string_equal(json_string_value(json_object_get(o, "status")), "mitigating");
	json_decref(out);
}

static void
put_in(struct store *s, const char *ns, const char *key, const void *v, size_t len)
{
	assert_int_equal(store_kv_namespace(s, ns), 0);
	assert_int_equal(store_kv_put(s, key, v, len), 0);
}

static void
test_list(void **state)
{
	char dir[] = "/tmp/moat-test-peers-XXXXXX", path[64], cmd[96];
	const char *mits = "{\"mitigations\":[{\"id\":7,\"request\":{\"po\":\"po1\"}}]}";
	struct clpeers *p;
	struct store *s;
	json_t *inst, *l, *l2;
	uint8_t *blob, *own;
	size_t len, own_len;
	void *v;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/moat.db", dir);
	assert_int_equal(store_open("sqlite", path, &s), 0);
	blob_of(UINT64_C(5) << 32, &blob, &len);
	blob_of(UINT64_C(6) << 32, &own, &own_len);
	put_in(s, "cluster/eng-b", "detect/decision", blob, len);
	put_in(s, "cluster/eng-b", "mitigate/state", mits, strlen(mits));
	put_in(s, "cluster/eng-c", "detect/decision", "junk", 4);
	put_in(s, "cluster/col-1", "detect/decision", blob, len);
	put_in(s, "cluster/eng-a", "detect/decision", own, own_len);
	free(blob);
	free(own);
	inst = json_loads("[{\"instance\":\"col-1\",\"role\":\"collect\"},"
	    "{\"instance\":\"eng-a\",\"role\":\"engine\"},{\"instance\":\"eng-b\",\"role\":\"engine\"},"
	    "{\"instance\":\"eng-c\",\"role\":\"engine\"},{\"instance\":\"eng-d\",\"role\":\"engine\"},"
	    "{\"role\":\"engine\"}]", 0, NULL);
	assert_non_null(inst);
	assert_int_equal(clpeers_new(&p), 0);
	l = clpeers_list(p, s, "eng-a", inst, CLPEERS_ATTACKS, 10 * NS);
	assert_non_null(l);
	/* eng-b's two; not ours, not the collector's, nothing of the junk. */
	assert_int_equal(json_array_size(l), 2);
	for (size_t i = 0; i < 2; i++)
		assert_string_equal(json_string_value(json_object_get(json_array_get(l, i),
		    "instance")), "eng-b");
	/* The store is back in our namespace. */
	assert_int_equal(store_kv_get(s, "detect/decision", &v, &len), 0);
	assert_int_equal(len, own_len);
	free(v);
	l2 = clpeers_list(p, s, "eng-a", inst, CLPEERS_MITIGATIONS, 10 * NS);
	assert_int_equal(json_array_size(l2), 1);
	/* One by id (the API's GET .../{id} on a non-owner): found with its
	 * instance, absent ids not. */
	assert_non_null(clpeers_find(l2, 7));
	assert_string_equal(json_string_value(json_object_get(clpeers_find(l2, 7), "instance")),
	    "eng-b");
	assert_null(clpeers_find(l2, 8));
	assert_null(clpeers_find(NULL, 7));
	json_decref(l2);
	/* The full view of the same attacks: what GET /api/v1/attacks/{id}
	 * shows (detectors, top lists), with the instance. */
	l2 = clpeers_list(p, s, "eng-a", inst, CLPEERS_ATTACKS_FULL, 10 * NS);
	assert_int_equal(json_array_size(l2), 2);
	for (size_t i = 0; i < 2; i++) {
		json_t *a = json_array_get(l2, i), *b;
		uint64_t id = (uint64_t)json_integer_value(json_object_get(a, "id"));

		assert_non_null(json_object_get(a, "detectors"));
		assert_null(json_object_get(json_array_get(l, i), "detectors"));
		assert_string_equal(json_string_value(json_object_get(a, "instance")), "eng-b");
		b = clpeers_find(l, id);
		assert_non_null(b);
		assert_string_equal(json_string_value(json_object_get(b, "po")),
		    json_string_value(json_object_get(a, "po")));
	}
	json_decref(l2);
	/* Cached for a second: a change shows after it. */
	put_in(s, "cluster/eng-b", "mitigate/state", "{\"mitigations\":[]}", 18);
	assert_int_equal(store_kv_namespace(s, "cluster/eng-a"), 0);
	l2 = clpeers_list(p, s, "eng-a", inst, CLPEERS_MITIGATIONS, 10 * NS + NS / 2);
	assert_int_equal(json_array_size(l2), 1);
	json_decref(l2);
	l2 = clpeers_list(p, s, "eng-a", inst, CLPEERS_MITIGATIONS, 11 * NS + 1);
	assert_int_equal(json_array_size(l2), 0);
	json_decref(l2);
	json_decref(l);
	clpeers_free(p);
	json_decref(inst);
	store_close(s);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode_attacks),
		cmocka_unit_test(test_decode_mitigations),
		cmocka_unit_test(test_list),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
