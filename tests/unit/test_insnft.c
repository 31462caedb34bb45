/*
 * Unit tests for ins/insnft: the nftables batch a policy amounts to, the
 * table's name and the mark claims. Only the JSON and lock files in a
 * private directory are checked here (no privileges needed);
 * tests/e2e/test_ins_policy.py checks that the kernel enforces it.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

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

/* Every command names the mark's own table, never another instance's. */
static void
test_table_named_after_mark(void **state)
{
	char name[INSNFT_TABLE_LEN];
	struct policy p;
	json_t *cmds, *c;
	size_t i;

	(void)state;
	insnft_table_name(0x4d490000u, name);
	assert_string_equal(name, "moat_ins_4d490000");
	insnft_table_name(7, name);
	assert_string_equal(name, "moat_ins_00000007");
	insnft_table_name(UINT32_MAX, name);
	assert_string_equal(name, "moat_ins_ffffffff");
	policy_default(&p);
	p.mark = POLICY_MARK_BASE + 3;
	cmds = batch(&p, true);
	json_array_foreach(cmds, i, c) {
		json_t *verb = json_object_get(c, "add");
		json_t *obj;
		const char *kind, *field;

		if (!verb)
			verb = json_object_get(c, "delete");
		if (!verb)
			verb = json_object_get(c, "flush");
		assert_non_null(verb);
		kind = json_object_iter_key(json_object_iter(verb));
		obj = json_object_get(verb, kind);
		field = strcmp(kind, "table") == 0 ? "name" : "table";
		assert_string_equal(json_string_value(json_object_get(obj, field)),
				    "moat_ins_4d490003");
	}
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
	assert_non_null(strstr(t, "\"right\":1296629760"));	/* POLICY_MARK_BASE */
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

/* A private lock directory (0700, ours), removed with its files by rm_dir. */
static void
make_dir(char *buf, size_t len)
{
	snprintf(buf, len, "%s/insnft.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	assert_non_null(mkdtemp(buf));
	strncat(buf, "/run", len - strlen(buf) - 1);	/* made by the claim */
}

static void
rm_dir(const char *dir)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%.*s'", (int)(strrchr(dir, '/') - dir), dir);
	assert_int_equal(system(cmd), 0);
}

static void
test_lock_path_and_netns(void **state)
{
	char buf[PATH_MAX];
	uint64_t ns = 0;

	(void)state;
	assert_int_equal(insnft_lock_path(buf, sizeof(buf), "/run/moat-ins", 4026531840u,
					  0x4d490001u), 0);
	assert_string_equal(buf, "/run/moat-ins/net-4026531840-mark-4d490001.lock");
	assert_int_equal(insnft_lock_path(buf, 20, "/run/moat-ins", 1, 2), -ENAMETOOLONG);
	assert_int_equal(insnft_netns(&ns), 0);
	assert_true(ns != 0);
}

/* The default range: first free mark, each claim its own; a released mark is free again. */
static void
test_claim_first_free(void **state)
{
	struct insnft_claim a, b, c;
	char dir[PATH_MAX];
	struct stat st;
	pid_t holder = -1;

	(void)state;
	make_dir(dir, sizeof(dir));
	assert_int_equal(insnft_mark_claim(dir, 42, 0, true, &a, &holder), 0);
	assert_int_equal(a.mark, POLICY_MARK_BASE);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(fcntl(a.fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	/* flock is per open file: a second claim in this process contends like another process. */
	assert_int_equal(insnft_mark_claim(dir, 42, 0, true, &b, &holder), 0);
	assert_int_equal(b.mark, POLICY_MARK_BASE + 1);
	/* Another network namespace has marks of its own. */
	assert_int_equal(insnft_mark_claim(dir, 43, 0, true, &c, &holder), 0);
	assert_int_equal(c.mark, POLICY_MARK_BASE);
	insnft_mark_release(&c);
	insnft_mark_release(&a);
	assert_int_equal(a.fd, -1);
	assert_int_equal(access(a.path, F_OK), -1);	/* no litter */
	insnft_mark_release(&a);			/* twice is fine */
	assert_int_equal(insnft_mark_claim(dir, 42, 0, true, &a, &holder), 0);
	assert_int_equal(a.mark, POLICY_MARK_BASE);
	assert_int_equal(holder, -1);	/* untouched on success */
	insnft_mark_release(&a);
	insnft_mark_release(&b);
	rm_dir(dir);
}

/* An explicit mark held by a live process: -EBUSY naming its pid; free once it is gone. */
static void
test_claim_explicit_held(void **state)
{
	struct insnft_claim a, b;
	char dir[PATH_MAX];
	pid_t holder = 0, child;
	int pipefd[2], status;
	char c;

	(void)state;
	make_dir(dir, sizeof(dir));
	assert_int_equal(pipe(pipefd), 0);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		close(pipefd[0]);
		if (insnft_mark_claim(dir, 42, 4242, false, &a, &holder) < 0)
			_exit(1);
		if (write(pipefd[1], "x", 1) != 1)
			_exit(1);
		pause();	/* dies holding it: the kernel drops the lock */
		_exit(0);
	}
	close(pipefd[1]);
	assert_int_equal(read(pipefd[0], &c, 1), 1);
	close(pipefd[0]);
	assert_int_equal(insnft_mark_claim(dir, 42, 4242, false, &b, &holder), -EBUSY);
	assert_int_equal(holder, child);
	/* The default range does not skip to it nor trip over it. */
	assert_int_equal(insnft_mark_claim(dir, 42, 0, true, &b, &holder), 0);
	assert_int_equal(b.mark, POLICY_MARK_BASE);
	insnft_mark_release(&b);
	kill(child, SIGKILL);
	assert_int_equal(waitpid(child, &status, 0), child);
	/* Killed: its file stays, its lock does not, so the mark is ours (and its table stale). */
	assert_int_equal(insnft_mark_claim(dir, 42, 4242, false, &b, &holder), 0);
	assert_int_equal(b.mark, 4242);
	insnft_mark_release(&b);
	rm_dir(dir);
}

/* Every mark of the range held: -EADDRINUSE, nothing claimed. */
static void
test_claim_range_exhausted(void **state)
{
	struct insnft_claim held[POLICY_MARK_COUNT], extra;
	char dir[PATH_MAX];
	pid_t holder = 0;

	(void)state;
	make_dir(dir, sizeof(dir));
	for (unsigned i = 0; i < POLICY_MARK_COUNT; i++) {
		assert_int_equal(insnft_mark_claim(dir, 42, 0, true, &held[i], &holder), 0);
		assert_int_equal(held[i].mark, POLICY_MARK_BASE + i);
	}
	assert_int_equal(insnft_mark_claim(dir, 42, 0, true, &extra, &holder), -EADDRINUSE);
	for (unsigned i = 0; i < POLICY_MARK_COUNT; i++)
		insnft_mark_release(&held[i]);
	rm_dir(dir);
}

/* A lock directory others may write to is refused: they could hold every mark. */
static void
test_claim_refuses_open_dir(void **state)
{
	struct insnft_claim a;
	char dir[PATH_MAX];
	pid_t holder = 0;

	(void)state;
	make_dir(dir, sizeof(dir));
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_int_equal(chmod(dir, 0777), 0);
	assert_int_equal(insnft_mark_claim(dir, 42, 0, true, &a, &holder), -EPERM);
	rm_dir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fresh_replaces_stale_table),
		cmocka_unit_test(test_table_named_after_mark),
		cmocka_unit_test(test_update_flushes_and_keeps_counter),
		cmocka_unit_test(test_any_destination),
		cmocka_unit_test(test_allow_list_and_udp),
		cmocka_unit_test(test_lock_path_and_netns),
		cmocka_unit_test(test_claim_first_free),
		cmocka_unit_test(test_claim_explicit_held),
		cmocka_unit_test(test_claim_range_exhausted),
		cmocka_unit_test(test_claim_refuses_open_dir),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
