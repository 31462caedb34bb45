/*
 * Unit tests for rofs (moat-ins's read-only file access): in a forked child
 * that enters the Landlock domain, files cannot be made, written, truncated
 * or removed anywhere but where a rule allows a removal; reading still works
 * and descriptors opened before keep working. Skipped where the kernel has
 * no Landlock (rofs_enter says -EOPNOTSUPP, which is what moat-ins logs).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ins/rofs.h"

#define CHECK(cond)                                                                     \
	do {                                                                            \
		if (!(cond)) {                                                          \
			dprintf(2, "child check failed: %s (line %d, errno %d)\n", #cond, \
				__LINE__, errno);                                       \
			_exit(__LINE__ % 250 + 1);                                      \
		}                                                                       \
	} while (0)

/* A scratch tree: base/keep (a removable file in it), base/other/file, base/dir. */
struct tree {
	char base[64], keep[96], keepf[128], other[96], otherf[128], dir[96];
};

static void
tree_make(struct tree *t)
{
	int fd;

	snprintf(t->base, sizeof(t->base), "/tmp/moat-rofs-test.XXXXXX");
	assert_non_null(mkdtemp(t->base));
	snprintf(t->keep, sizeof(t->keep), "%s/keep", t->base);
	snprintf(t->keepf, sizeof(t->keepf), "%s/sock", t->keep);
	snprintf(t->other, sizeof(t->other), "%s/other", t->base);
	snprintf(t->otherf, sizeof(t->otherf), "%s/file", t->other);
	snprintf(t->dir, sizeof(t->dir), "%s/dir", t->base);
	assert_int_equal(mkdir(t->keep, 0700), 0);
	assert_int_equal(mkdir(t->other, 0700), 0);
	assert_int_equal(mkdir(t->dir, 0700), 0);
	fd = open(t->keepf, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
	fd = open(t->otherf, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "data\n", 5), 5);
	close(fd);
}

static void
tree_remove(const struct tree *t)
{
	unlink(t->keepf);
	unlink(t->otherf);
	rmdir(t->keep);
	rmdir(t->other);
	rmdir(t->dir);
	rmdir(t->base);
}

static bool
landlock_available(void)
{
	char err[128];
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0)
		_exit(rofs_enter(NULL, err, sizeof(err)) == -EOPNOTSUPP ? 3 : 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return !(WIFEXITED(status) && WEXITSTATUS(status) == 3);
}

static void
test_writes_refused_removal_kept(void **state)
{
	struct tree t;
	int status;
	pid_t pid;

	(void)state;
	if (!landlock_available())
		skip();
	tree_make(&t);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		const struct rofs_rule rules[] = {
			{ .path = t.keep, .allow = ROFS_REMOVE_FILE },
			{ .path = t.base, .allow = ROFS_REMOVE_DIR },
			{ .path = NULL },
		};
		char err[128] = "", buf[8], buf2[160];
		int before = open(t.otherf, O_WRONLY | O_APPEND | O_CLOEXEC);
		int fd;

		CHECK(before >= 0);
		CHECK(rofs_enter(rules, err, sizeof(err)) >= 1);
		CHECK(rofs_verify(t.base) == 0);
		/* Make, write, truncate: refused everywhere, rules or not. */
		CHECK(open("/tmp/moat-rofs-new", O_WRONLY | O_CREAT | O_CLOEXEC, 0600) < 0 &&
		      errno == EACCES);
		CHECK(open(t.otherf, O_WRONLY | O_CLOEXEC) < 0 && errno == EACCES);
		CHECK(open(t.keepf, O_WRONLY | O_CLOEXEC) < 0 && errno == EACCES);
		CHECK(truncate(t.otherf, 0) < 0 && errno == EACCES);
		snprintf(buf2, sizeof(buf2), "%s/newdir", t.keep);
		CHECK(mkdir(buf2, 0700) < 0 && errno == EACCES);
		snprintf(buf2, sizeof(buf2), "%s/fifo", t.base);
		CHECK(mkfifo(buf2, 0600) < 0 && errno == EACCES);
		CHECK(rename(t.otherf, t.keepf) < 0);
		/* Remove: only where a rule says. */
		CHECK(unlink(t.otherf) < 0 && errno == EACCES);
		CHECK(rmdir(t.dir) == 0);
		CHECK(unlink(t.keepf) == 0);
		/* Read: still everywhere; a descriptor opened before still writes. */
		fd = open(t.otherf, O_RDONLY | O_CLOEXEC);
		CHECK(fd >= 0 && read(fd, buf, sizeof(buf)) == 5);
		close(fd);
		CHECK(write(before, "more\n", 5) == 5);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(access(t.dir, F_OK), -1);
	assert_int_equal(access(t.keepf, F_OK), -1);
	assert_int_equal(access(t.otherf, F_OK), 0);
	tree_remove(&t);
}

/* Outside a domain the probe succeeds (and cleans up): rofs_verify can fail. */
static void
test_verify_fails_unconfined(void **state)
{
	(void)state;
	assert_int_equal(rofs_verify("/tmp"), -EPERM);
}

static void
test_bad_rule_path(void **state)
{
	int status;
	pid_t pid;

	(void)state;
	if (!landlock_available())
		skip();
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		const struct rofs_rule rules[] = {
			{ .path = "/nonexistent/moat-rofs", .allow = ROFS_REMOVE_FILE },
			{ .path = NULL },
		};
		char err[128] = "";

		CHECK(rofs_enter(rules, err, sizeof(err)) == -ENOENT);
		CHECK(strstr(err, "/nonexistent/moat-rofs") != NULL);
		/* Nothing enforced after a failure. */
		CHECK(rofs_verify("/tmp") == -EPERM);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_writes_refused_removal_kept),
		cmocka_unit_test(test_verify_fails_unconfined),
		cmocka_unit_test(test_bad_rule_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
