/* Unit tests for cli/cli: the command table, help pages, option stripping,
 * and the exit codes of usage errors and of an unreachable moatd. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cli/cli.h"
#include "cli/cmd.h"

/* Run cli_main on a copy of the given words (it may permute argv). */
static int
run(const char *first, ...)
{
	char *argv[32], *owned[32];
	int argc = 0;
	va_list ap;

	argv[argc++] = (char *)(uintptr_t)"moat";
	va_start(ap, first);
	for (const char *w = first; w != NULL && argc < 31; w = va_arg(ap, const char *))
		owned[argc] = argv[argc] = strdup(w), argc++;
	va_end(ap);
	argv[argc] = NULL;
	int rc = cli_main(&cmd_table, argc, argv);
	for (int i = 1; i < argc; i++)
		free(owned[i]);
	return rc;
}

static void
test_table_complete(void **state)
{
	static const char *const sections[] = { "NAME\n", "SYNOPSIS\n", "DESCRIPTION\n",
		"EXIT STATUS\n", "EXAMPLES\n" };
	const struct cli cli_ = { .cmds = &cmd_table }, *cli = &cli_;

	assert_true(cli_ncmds(cli) >= 7);
	for (size_t i = 0; i < cli_ncmds(cli); i++) {
		const struct cli_cmd *c = cli_cmd_at(cli, i);

		assert_non_null(c->name);
		assert_non_null(c->run);
		assert_non_null(c->summary);
		assert_ptr_equal(cli_find(cli, c->name), c);
		for (size_t s = 0; s < sizeof(sections) / sizeof(sections[0]); s++)
			if (strstr(c->help, sections[s]) == NULL)
				fail_msg("help of %s lacks %s", c->name, sections[s]);
	}
	assert_null(cli_cmd_at(cli, cli_ncmds(cli)));
	assert_null(cli_find(cli, "nonesuch"));
	assert_non_null(cli_find(cli, "po"));
}

static void
test_strip_common(void **state)
{
	char a0[] = "po", a1[] = "list", a2[] = "--json", a3[] = "--", a4[] = "--help";
	char *argv[] = { a0, a1, a2, a3, a4, NULL };
	struct cli cli = { 0 };
	bool help = true;
	int argc;

	argc = cli_strip_common(&cli, 5, argv, &help);
	assert_int_equal(argc, 4);
	assert_true(cli.json);
	assert_false(help);	/* after "--" it is an argument */
	assert_string_equal(argv[1], "list");
	assert_string_equal(argv[2], "--");
	assert_string_equal(argv[3], "--help");
	assert_null(argv[4]);

	char b0[] = "status", b1[] = "-h";
	char *argv2[] = { b0, b1, NULL };
	cli.json = false;
	argc = cli_strip_common(&cli, 2, argv2, &help);
	assert_int_equal(argc, 1);
	assert_true(help);
	assert_false(cli.json);
}

static void
test_usage_exit_codes(void **state)
{
	assert_int_equal(run(NULL), 2);
	assert_int_equal(run("bogus", NULL), 2);
	assert_int_equal(run("--bogus", "status", NULL), 2);
	assert_int_equal(run("status", "extra", NULL), 2);
	assert_int_equal(run("po", NULL), 2);
	assert_int_equal(run("po", "frob", NULL), 2);
	assert_int_equal(run("po", "add", "web", NULL), 2);	/* no --prefix */
	assert_int_equal(run("po", "add", "web", "--prefix", "192.0.2.0/24", "--port", "0", NULL), 2);
	assert_int_equal(run("po", "show", "bad/name", NULL), 2);
	assert_int_equal(run("po", "rm", NULL), 2);
	assert_int_equal(run("reset", NULL), 2);	/* no --yes */
	assert_int_equal(run("flight", "--since", "yesterday", NULL), 2);
	assert_int_equal(run("flight", "--limit", "0", NULL), 2);
	assert_int_equal(run("flight", "--category", "Config", NULL), 2);
	assert_int_equal(run("backup", NULL), 2);
	assert_int_equal(run("restore", "a", "b", NULL), 2);
	assert_int_equal(run("help", "nonesuch", NULL), 2);
	assert_int_equal(run("--api", "ftp://127.0.0.1:1", "status", NULL), 2);
}

static void
test_help_exit_codes(void **state)
{
	assert_int_equal(run("--help", NULL), 0);
	assert_int_equal(run("--version", NULL), 0);
	assert_int_equal(run("help", NULL), 0);
	assert_int_equal(run("help", "po", NULL), 0);
	assert_int_equal(run("po", "add", "--help", NULL), 0);
	assert_int_equal(run("flight", "-h", NULL), 0);
}

/* Port 1 on loopback: nothing listens there, the kernel refuses at once. */
static void
test_unreachable(void **state)
{
	assert_int_equal(run("--api", "http://127.0.0.1:1", "status", NULL), 3);
	assert_int_equal(run("--api", "http://127.0.0.1:1", "po", "list", NULL), 3);
	setenv("MOAT_TOKEN", "00ff", 1);
	assert_int_equal(run("--api", "http://127.0.0.1:1", "po", "rm", "web", NULL), 3);
	unsetenv("MOAT_TOKEN");
}

/* A mutating call with no readable token fails with 4 before any request. */
static void
test_no_token(void **state)
{
	unsetenv("MOAT_TOKEN");
	assert_int_equal(run("--state", "/nonexistent/moat", "--api", "http://127.0.0.1:1",
	    "po", "rm", "web", NULL), 4);
	setenv("MOAT_TOKEN", "bad token\r\nX-Evil: 1", 1);
	assert_int_equal(run("--api", "http://127.0.0.1:1", "reset", "--yes", NULL), 4);
	unsetenv("MOAT_TOKEN");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_complete),
		cmocka_unit_test(test_strip_common),
		cmocka_unit_test(test_usage_exit_codes),
		cmocka_unit_test(test_help_exit_codes),
		cmocka_unit_test(test_unreachable),
		cmocka_unit_test(test_no_token),
	};

	unsetenv("MOAT_API");
	unsetenv("MOAT_STATE");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
