/* Unit tests for engine/token: creation with mode 0600, reload, the
 * permission policy, and the comparison. */
#include <errno.h>
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

#include "engine/core/token.h"

static void
test_create_and_reload(void **state)
{
	char dir[] = "/tmp/moat-test-token-XXXXXX", path[128], a[TOKEN_HEX_LEN + 1],
	    b[TOKEN_HEX_LEN + 1], cmd[160];
	struct stat st;
	bool fixed;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/%s", dir, TOKEN_FILE);
	assert_int_equal(token_load_or_create(dir, a, &fixed), 0);
	assert_int_equal(strlen(a), TOKEN_HEX_LEN);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(token_load_or_create(dir, b, &fixed), 0);
	assert_string_equal(a, b);
	assert_false(fixed);

	/* Readable by others: fixed, same token. */
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(token_load_or_create(dir, b, &fixed), 0);
	assert_true(fixed);
	assert_string_equal(a, b);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	/* Writable by others: refused. */
	assert_int_equal(chmod(path, 0666), 0);
	assert_int_equal(token_load_or_create(dir, b, &fixed), -EPERM);

	/* A symlink is refused. */
	unlink(path);
	assert_int_equal(symlink("/etc/hostname", path), 0);
	assert_int_equal(token_load_or_create(dir, b, &fixed), -EPERM);

	/* Garbage content. */
	unlink(path);
	{
		int fd = open(path, O_WRONLY | O_CREAT, 0600);

		assert_true(write(fd, "short\n", 6) == 6);
		close(fd);
	}
	assert_int_equal(token_load_or_create(dir, b, &fixed), -EINVAL);

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static void
test_equal(void **state)
{
	assert_true(token_equal("abc", "abc"));
	assert_false(token_equal("abc", "abd"));
	assert_false(token_equal("abc", "ab"));
	assert_false(token_equal("abc", "abcd"));
	assert_false(token_equal("abc", ""));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_and_reload),
		cmocka_unit_test(test_equal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
