/* Unit tests for cli/cmd_po: building the PO JSON from `moat po add` argv. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "cli/cmd.h"

/* Build from a space-separated command line (test words have no spaces). */
static int
build(const char *line, json_t **ret)
{
	char *copy = strdup(line), *argv[32], *save = NULL;
	int argc = 0, rc;

	for (char *w = strtok_r(copy, " ", &save); w && argc < 31; w = strtok_r(NULL, " ", &save))
		argv[argc++] = w;
	argv[argc] = NULL;
	rc = cmd_po_build(argc, argv, ret);
	free(copy);
	return rc;
}

static void
test_build_flags(void **state)
{
	json_t *po = NULL, *want;

	assert_int_equal(build("add web --prefix 192.0.2.0/24 --prefix 2001:db8:1::/48 "
	    "--port 80 --port 443 --driver nft --driver notify --threshold tcp.syn_pps=20k "
	    "--host-threshold udp.pps=300 --host-threshold udp.bps=1M", &po), 0);
	want = json_pack("{s:s, s:[s,s], s:[i,i], s:[s,s], s:{s:{s:i}}, s:{s:{s:i, s:i}}}",
	    "name", "web", "prefixes", "192.0.2.0/24", "2001:db8:1::/48",
	    "ports", 80, 443, "drivers", "nft", "notify",
	    "thresholds", "tcp", "syn_pps", 20000,
	    "host_thresholds", "udp", "pps", 300, "bps", 1000000);
	assert_true(json_equal(po, want));
	json_decref(want);
	json_decref(po);

	/* Options before the name are fine too. */
	assert_int_equal(build("add --prefix 198.51.100.0/24 dns", &po), 0);
	assert_string_equal(json_string_value(json_object_get(po, "name")), "dns");
	json_decref(po);
}

static void
test_build_errors(void **state)
{
	json_t *po = (json_t *)(uintptr_t)1;

	assert_int_equal(build("add web", &po), 2);
	assert_int_equal(build("add --prefix 192.0.2.0/24", &po), 2);
	assert_int_equal(build("add web extra --prefix 192.0.2.0/24", &po), 2);
	assert_int_equal(build("add we/b --prefix 192.0.2.0/24", &po), 2);
	assert_int_equal(build("add web --prefix 192.0.2.0/24 --port 70000", &po), 2);
	assert_int_equal(build("add web --prefix 192.0.2.0/24 --threshold tcp.qps=1", &po), 2);
	assert_int_equal(build("add web --prefix 192.0.2.0/24 --host-threshold udp=1", &po), 2);
	assert_int_equal(build("add web --prefix 192.0.2.0/24 --bogus", &po), 2);
	assert_int_equal(build("add web --prefix", &po), 2);
	assert_int_equal(build("add web --prefix 192.0.2.0/24 --file x.json", &po), 2);
	assert_int_equal(build("add web --prefix 192.0.2.0/24 --driver \xff", &po), 2);
	assert_int_equal(build("add web --prefix \xc3", &po), 2);
	assert_ptr_equal(po, (json_t *)(uintptr_t)1);	/* untouched */
}

static void
test_build_file(void **state)
{
	char path[] = "/tmp/test_cmd_po.XXXXXX", line[128];
	json_t *po = NULL;
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");

	fputs("{\"name\":\"web\",\"prefixes\":[\"192.0.2.0/24\"],\"ports\":[80]}", f);
	fclose(f);
	snprintf(line, sizeof(line), "add --file %s", path);
	assert_int_equal(build(line, &po), 0);
	assert_string_equal(json_string_value(json_object_get(po, "name")), "web");
	json_decref(po);
	/* NAME on the command line overrides the file's. */
	snprintf(line, sizeof(line), "add web2 --file %s", path);
	assert_int_equal(build(line, &po), 0);
	assert_string_equal(json_string_value(json_object_get(po, "name")), "web2");
	json_decref(po);

	f = fopen(path, "w");
	fputs("{\"name\":\"web\",", f);	/* truncated JSON */
	fclose(f);
	snprintf(line, sizeof(line), "add --file %s", path);
	assert_int_equal(build(line, &po), 2);
	f = fopen(path, "w");
	fputs("[1,2]", f);
	fclose(f);
	assert_int_equal(build(line, &po), 2);
	unlink(path);
	assert_int_equal(build(line, &po), 1);	/* unreadable file */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build_flags),
		cmocka_unit_test(test_build_errors),
		cmocka_unit_test(test_build_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
