/*
 * Unit tests for cli/progpath: which program moat runs for `moat run` and
 * `moat backtest`, and the exit status when it cannot.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "cli/progpath.h"

static char dir[] = "/tmp/test_progpath.XXXXXX";

static void
make_file(const char *name, mode_t mode)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "#!/bin/sh\nexit 0\n", 17), 17);
	close(fd);
	assert_int_equal(chmod(path, mode), 0);
}

static void
test_find_order(void **state)
{
	static const char *const rel[] = { "no-such-sibling", "../no/such" };
	struct progpath p = { .name = "prog", .env = "TEST_PROGPATH", .rel = rel, .nrel = 2,
		.installed = dir };
	char buf[256], want[256];

	(void)state;
	assert_non_null(mkdtemp(dir));
	/* Nothing anywhere: the bare name, for $PATH. */
	unsetenv("TEST_PROGPATH");
	progpath_find(&p, buf, sizeof(buf));
	assert_string_equal(buf, "prog");
	/* A non-executable file in the installed directory does not count. */
	make_file("prog", 0644);
	progpath_find(&p, buf, sizeof(buf));
	assert_string_equal(buf, "prog");
	make_file("prog", 0755);
	progpath_find(&p, buf, sizeof(buf));
	snprintf(want, sizeof(want), "%s/prog", dir);
	assert_string_equal(buf, want);
	/* The variable wins, as given, even over an existing program. */
	setenv("TEST_PROGPATH", "/opt/x/prog", 1);
	progpath_find(&p, buf, sizeof(buf));
	assert_string_equal(buf, "/opt/x/prog");
	/* ... unless empty. */
	setenv("TEST_PROGPATH", "", 1);
	progpath_find(&p, buf, sizeof(buf));
	assert_string_equal(buf, want);
	unsetenv("TEST_PROGPATH");
}

static void
test_exec_failures(void **state)
{
	struct progpath p = { .name = "prog", .env = "TEST_PROGPATH" };
	char missing[256], noexec[256];
	char *av[2] = { missing, NULL };

	(void)state;
	snprintf(missing, sizeof(missing), "%s/missing", dir);
	assert_int_equal(progpath_exec("test", &p, av), 127);
	make_file("noexec", 0644);
	snprintf(noexec, sizeof(noexec), "%s/noexec", dir);
	av[0] = noexec;
	assert_int_equal(progpath_exec("test", &p, av), 126);
}

static int
teardown_all(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_find_order),
		cmocka_unit_test(test_exec_failures),
	};

	return cmocka_run_group_tests(tests, NULL, teardown_all);
}
