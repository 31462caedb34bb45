/* Unit tests for cli/endpoint: state dir, API URL and token discovery. */
#include <errno.h>
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

#include "cli/endpoint.h"

static char dir[64];

static void
put(const char *name, const char *content, mode_t mode)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_non_null(f = fopen(path, "w"));
	fputs(content, f);
	fclose(f);
	chmod(path, mode);
}

static int
setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/test_endpoint.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	unsetenv("MOAT_STATE");
	unsetenv("MOAT_API");
	unsetenv("MOAT_TOKEN");
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
test_state_dir(void **state)
{
	assert_string_equal(endpoint_state_dir(NULL), ENDPOINT_DEFAULT_STATE);
	setenv("MOAT_STATE", "/srv/moat", 1);
	assert_string_equal(endpoint_state_dir(NULL), "/srv/moat");
	assert_string_equal(endpoint_state_dir("/opt"), "/opt");
	setenv("MOAT_STATE", "", 1);
	assert_string_equal(endpoint_state_dir(""), ENDPOINT_DEFAULT_STATE);
	unsetenv("MOAT_STATE");
}

static void
test_api_url(void **state)
{
	char *u = NULL, path[128];

	/* No api.url: the default. */
	assert_int_equal(endpoint_api_url(NULL, dir, &u), 0);
	assert_string_equal(u, ENDPOINT_DEFAULT_API);
	free(u);
	/* A state "dir" that is not one: the default too. */
	snprintf(path, sizeof(path), "%s/api.url/x", dir);
	put("api.url", "http://[::1]:1\n", 0644);
	assert_int_equal(endpoint_api_url(NULL, path, &u), 0);
	assert_string_equal(u, ENDPOINT_DEFAULT_API);
	free(u);
	/* The file moatd writes, with a newline. */
	put("api.url", "http://[::1]:18080\n", 0644);
	assert_int_equal(endpoint_api_url(NULL, dir, &u), 0);
	assert_string_equal(u, "http://[::1]:18080");
	free(u);
	/* The environment beats the file, the option beats both; '/' trimmed. */
	setenv("MOAT_API", "http://127.0.0.1:9/", 1);
	assert_int_equal(endpoint_api_url(NULL, dir, &u), 0);
	assert_string_equal(u, "http://127.0.0.1:9");
	free(u);
	assert_int_equal(endpoint_api_url("https://h:1", dir, &u), 0);
	assert_string_equal(u, "https://h:1");
	free(u);
	unsetenv("MOAT_API");
	/* Malformed content is an error, not a silent fallback. */
	u = NULL;
	put("api.url", "gopher://x\n", 0644);
	assert_int_equal(endpoint_api_url(NULL, dir, &u), -EINVAL);
	assert_int_equal(endpoint_api_url("127.0.0.1:8080", dir, &u), -EINVAL);
	assert_int_equal(endpoint_api_url("http://a b", dir, &u), -EINVAL);
	assert_null(u);
	/* A file others may write, or another user's, is refused (it could
	 * send the token elsewhere), not replaced by the default. */
	put("api.url", "http://127.0.0.1:9\n", 0666);
	assert_int_equal(endpoint_api_url(NULL, dir, &u), -EPERM);
	put("api.url", "http://127.0.0.1:9\n", 0620);
	assert_int_equal(endpoint_api_url(NULL, dir, &u), -EPERM);
	snprintf(path, sizeof(path), "%s/api.url", dir);
	put("api.url", "http://127.0.0.1:9\n", 0644);
	if (geteuid() == 0) {
		assert_int_equal(chown(path, 65534, 65534), 0);
		assert_int_equal(endpoint_api_url(NULL, dir, &u), -EPERM);
	}
	assert_null(u);
	unlink(path);
}

static void
test_token(void **state)
{
	char *t = NULL;
	char big[600];

	assert_int_equal(endpoint_token(dir, &t), -ENOENT);
	put("api.token", "0123456789abcdef\n", 0600);
	assert_int_equal(endpoint_token(dir, &t), 0);
	assert_string_equal(t, "0123456789abcdef");
	free(t);
	setenv("MOAT_TOKEN", "fromenv", 1);
	assert_int_equal(endpoint_token(dir, &t), 0);
	assert_string_equal(t, "fromenv");
	free(t);
	t = NULL;
	setenv("MOAT_TOKEN", "two words", 1);
	assert_int_equal(endpoint_token(dir, &t), -EINVAL);
	unsetenv("MOAT_TOKEN");
	put("api.token", "x\ty\n", 0600);
	assert_int_equal(endpoint_token(dir, &t), -EINVAL);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	put("api.token", big, 0600);
	assert_int_equal(endpoint_token(dir, &t), -EINVAL);
	put("api.token", "", 0600);
	assert_int_equal(endpoint_token(dir, &t), -EINVAL);
	put("api.token", "0123456789abcdef\n", 0602);
	assert_int_equal(endpoint_token(dir, &t), -EPERM);
	assert_null(t);
}

static void
test_read_line(void **state)
{
	char path[128], *s = NULL;

	put("f", "abc  \r\nsecond line\n", 0644);
	snprintf(path, sizeof(path), "%s/f", dir);
	assert_int_equal(endpoint_read_line(path, 64, &s), 0);
	assert_string_equal(s, "abc");
	free(s);
	s = NULL;
	assert_int_equal(endpoint_read_line(path, 8, &s), -EFBIG);
	assert_null(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_state_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_api_url, setup, teardown),
		cmocka_unit_test_setup_teardown(test_token, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_line, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
