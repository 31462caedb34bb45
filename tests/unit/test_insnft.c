/*
 * Unit tests for ins/insnft: the nftables batch a policy amounts to. Only the
 * JSON is checked here (no privileges needed); tests/e2e/test_ins_policy.py
 * checks that the kernel enforces it.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "ins/insnft.h"

static json_t *
batch(const struct policy *p, bool fresh)
{
	char *text = insnft_batch_json(p, fresh);
	json_t *doc, *cmds;

	assert_non_null(text);
	doc = json_loads(text, 0, NULL);
	free(text);
	assert_non_null(doc);
	cmds = json_incref(json_object_get(doc, "nftables"));
	json_decref(doc);
	assert_true(json_is_array(cmds));
	return cmds;
}

/* The verb ("add", "delete", "flush") and kind of command i. */
static void
assert_cmd(json_t *cmds, size_t i, const char *verb, const char *kind)
{
	json_t *c = json_array_get(cmds, i);

	assert_non_null(c);
	assert_non_null(json_object_get(json_object_get(c, verb), kind));
}

/* The rules' expressions, as compact JSON text, concatenated. */
static char *
rules_text(json_t *cmds)
{
	size_t i, len = 0;
	json_t *c;
	char *all = calloc(1, 1);

	json_array_foreach(cmds, i, c) {
		json_t *rule = json_object_get(json_object_get(c, "add"), "rule");
		char *t;

		if (!rule)
			continue;
		t = json_dumps(json_object_get(rule, "expr"), JSON_COMPACT);
		all = realloc(all, len + strlen(t) + 2);
		memcpy(all + len, t, strlen(t));
		len += strlen(t);
		all[len++] = '\n';
		all[len] = '\0';
		free(t);
	}
	return all;
}

static void
test_fresh_replaces_stale_table(void **state)
{
	struct policy p;
	json_t *cmds;

	(void)state;
	policy_default(&p);
	cmds = batch(&p, true);
	assert_cmd(cmds, 0, "add", "table");
	assert_cmd(cmds, 1, "delete", "table");
	assert_cmd(cmds, 2, "add", "table");
	assert_cmd(cmds, 3, "add", "counter");
	assert_cmd(cmds, 4, "add", "chain");
	json_decref(cmds);
}

static void
test_update_flushes_and_keeps_counter(void **state)
{
	struct policy p;
	json_t *cmds;
	size_t i;
	json_t *c;

	(void)state;
	policy_default(&p);
	cmds = batch(&p, false);
	json_array_foreach(cmds, i, c)
		assert_null(json_object_get(c, "delete"));
	assert_cmd(cmds, 3, "flush", "chain");
	json_decref(cmds);
}

static void
test_any_destination(void **state)
{
	struct policy p;
	json_t *cmds;
	char *t;

	(void)state;
	policy_default(&p);
	cmds = batch(&p, true);
	t = rules_text(cmds);
	assert_non_null(strstr(t, "\"op\":\"!=\""));
	assert_non_null(strstr(t, "\"right\":19785"));
	assert_non_null(strstr(t, "established"));
	assert_null(strstr(t, "\"drop\""));	/* everything allowed: nothing dropped */
	free(t);
	json_decref(cmds);
}

static void
test_allow_list_and_udp(void **state)
{
	struct policy p;
	json_t *cmds;
	char *t;

	(void)state;
	policy_default(&p);
	p.allow_udp = false;
	p.mark = 7;
	assert_int_equal(policy_prefix_parse("198.51.100.0/24", &p.connect_allow[0]), 0);
	assert_int_equal(policy_prefix_parse("203.0.113.9", &p.connect_allow[1]), 0);
	assert_int_equal(policy_prefix_parse("2001:db8::/32", &p.connect_allow[2]), 0);
	p.nconnect = 3;
	cmds = batch(&p, true);
	t = rules_text(cmds);
	assert_non_null(strstr(t, "\"right\":7"));
	assert_non_null(strstr(t, "\"right\":\"udp\"}},{\"counter\":\"denied\"},{\"drop\":null}"));
	assert_non_null(strstr(t, "\"protocol\":\"ip\",\"field\":\"daddr\""));
	assert_non_null(strstr(t, "{\"prefix\":{\"addr\":\"198.51.100.0\",\"len\":24}}"));
	assert_non_null(strstr(t, "\"203.0.113.9\""));
	assert_non_null(strstr(t, "{\"prefix\":{\"addr\":\"2001:db8::\",\"len\":32}}"));
	/* The last rules reset TCP and drop the rest, counted. */
	assert_non_null(strstr(t, "{\"counter\":\"denied\"},{\"reject\":{\"type\":\"tcp reset\"}}"));
	assert_non_null(strstr(t, "[{\"counter\":\"denied\"},{\"drop\":null}]\n"));
	free(t);
	json_decref(cmds);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fresh_replaces_stale_table),
		cmocka_unit_test(test_update_flushes_and_keeps_counter),
		cmocka_unit_test(test_any_destination),
		cmocka_unit_test(test_allow_list_and_udp),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
