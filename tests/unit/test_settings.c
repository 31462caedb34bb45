/* Unit tests for engine/settings: defaults, every engine section, bad
 * configurations whose errors must name file:line:column, and the sections
 * taken from the module table's rows. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "engine/conntab/conntab.h"
#include "engine/core/modules.h"
#include "engine/core/settings.h"

static int
load(const char *yaml, struct settings **ret, struct cfg_error *err)
{
	memset(err, 0, sizeof(*err));
	return settings_load_buffer("t.yaml", yaml, strlen(yaml), engine_modules, 1700000000, ret, err);
}

/* yaml must be refused with an error starting with `where`. */
static void
expect_error(const char *yaml, const char *where)
{
	struct cfg_error err;
	struct settings *c = NULL;

	assert_int_not_equal(load(yaml, &c, &err), 0);
	assert_null(c);
	if (strncmp(err.msg, where, strlen(where)) != 0)
		fail_msg("expected '%s...', got '%s'", where, err.msg);
}

static void
test_defaults(void **state)
{
	struct cfg_error err;
	struct settings *c = NULL;

	assert_int_equal(settings_load_buffer("<defaults>", settings_defaults_yaml,
	    strlen(settings_defaults_yaml), engine_modules, 0, &c, &err), 0);
	assert_int_equal(c->log.level, LOG_LVL_INFO);
	assert_int_equal(c->log.target, LOG_DEST_STDERR);
	assert_string_equal(c->api.listen, "127.0.0.1:8080");
	assert_int_equal(c->api.port, 8080);
	assert_string_equal(c->store.backend, "sqlite");
	assert_null(c->store.path);
	assert_null(c->state_dir);
	assert_int_equal(c->npos, 0);
	assert_int_equal(c->flight.max_age_s, FLIGHT_DEFAULT_MAX_AGE_S);
	settings_free(c);

	/* An empty file is all defaults too. */
	assert_int_equal(load("# nothing\n", &c, &err), 0);
	assert_string_equal(c->api.listen, "127.0.0.1:8080");
	settings_free(c);
}

static void
test_full(void **state)
{
	const char *yaml =
	    "log: {level: debug, target: syslog, json: true}\n"
	    "state_dir: /srv/moat\n"
	    "api:\n  listen: \"[::1]:9090\"\n"
	    "store: {backend: sqlite, path: /srv/moat/x.db}\n"
	    "flight: {retention: 7d, max_rows: 5000}\n"
	    "health: {half_life: 1m, degraded: 0.5, failing: 1, reset: 3, fatal: 5, reset_cooldown: 1h}\n"
	    "pos:\n"
	    "  - name: web\n"
	    "    prefixes: [192.0.2.0/24, \"2001:db8:1::/48\"]\n"
	    "    ports: [443, 80]\n"
	    "    thresholds:\n"
	    "      tcp: {pps: 100000, syn_pps: 20000}\n"
	    "    drivers: [nft, notify]\n"
	    "  - name: \"123\"\n"
	    "    prefixes: [198.51.100.0/24]\n";
	struct cfg_error err;
	struct settings *c = NULL;

	if (load(yaml, &c, &err) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(c->log.level, LOG_LVL_DEBUG);
	assert_int_equal(c->log.target, LOG_DEST_SYSLOG);
	assert_true(c->log.json);
	assert_string_equal(c->state_dir, "/srv/moat");
	assert_int_equal(c->api.addr.af, AF_INET6);
	assert_int_equal(c->api.port, 9090);
	assert_string_equal(c->store.path, "/srv/moat/x.db");
	assert_int_equal(c->flight.max_age_s, 7 * 86400);
	assert_int_equal(c->flight.max_rows, 5000);
	assert_true(c->health.half_life_s == 60);
	assert_int_equal(c->health.reset_cooldown_s, 3600);
	assert_int_equal(c->npos, 2);
	assert_string_equal(c->pos[0]->name, "web");
	assert_int_equal(c->pos[0]->source, PO_SOURCE_CONFIG);
	assert_int_equal(c->pos[0]->created_at, 1700000000);
	assert_int_equal(c->pos[0]->ports[0], 80);
	assert_int_equal(c->pos[0]->thresholds[PROTO_TCP].syn_pps, 20000);
	assert_string_equal(c->pos[1]->name, "123");
	settings_free(c);
}

static void
test_bad_positions(void **state)
{
	expect_error("lgo: {}\n", "t.yaml:1:1:");
	expect_error("log:\n  level: loud\n", "t.yaml:2:10:");
	expect_error("log:\n  colour: red\n", "t.yaml:2:3:");
	expect_error("api:\n  listen: 127.0.0.1\n", "t.yaml:2:11:");
	expect_error("api:\n  listen: \"[::1]:0\"\n", "t.yaml:2:11:");
	expect_error("api:\n  listen: \"::1:80\"\n", "t.yaml:2:11:");
	expect_error("store: {backend: oracle}\n", "t.yaml:1:18:");
	expect_error("store: {backend: postgres}\n", "t.yaml:1:8:");	/* no conninfo */
	expect_error("store: {backend: postgres, conninfo: \"dbname=m password=x\"}\n",
	    "t.yaml:1:38:");
	expect_error("store: {conninfo: \"dbname=m\"}\n", "t.yaml:1:19:");
	expect_error("state_dir: relative/dir\n", "t.yaml:1:12:");
	expect_error("flight: {retention: forever}\n", "t.yaml:1:21:");
	expect_error("health: {degraded: 2, failing: 1}\n", "t.yaml:1:9:");
	expect_error("pos: {name: a}\n", "t.yaml:1:6:");
	/* PO errors point at the field po_from_json blames. */
	expect_error("pos:\n  - name: a\n    prefixes: [192.0.2.1/24]\n", "t.yaml:3:15:");
	expect_error("pos:\n  - name: a\n    prefixes: [192.0.2.0/24]\n    ports: [http]\n",
	    "t.yaml:4:12:");
	expect_error("pos:\n  - name: a\n    prefixes: [192.0.2.0/24]\n    thresholds:\n"
	    "      tcp: {pps: lots}\n", "t.yaml:5:18:");
	expect_error("pos:\n  - name: a\n    prefixes: [192.0.2.0/24]\n    colour: red\n",
	    "t.yaml:4:13:");
	expect_error("pos:\n  - name: a\n    prefixes: [192.0.2.0/24]\n"
	    "  - name: a\n    prefixes: [198.51.100.0/24]\n", "t.yaml:4:11:");
	expect_error("pos:\n  - name: a\n    prefixes: [192.0.2.0/24]\n"
	    "  - name: b\n    prefixes: [192.0.2.0/24]\n", "t.yaml:5:15:");
	expect_error("pos:\n  - name: a\n    prefixes: [192.0.2.0/24]\n    source: api\n",
	    "t.yaml:2:5:");
	expect_error("log: [\n", "t.yaml:");
}

static void
test_listen_parse(void **state)
{
	struct settings_api a;

	assert_int_equal(settings_listen_parse("0.0.0.0:1", &a), 0);
	assert_int_equal(a.port, 1);
	assert_int_equal(settings_listen_parse("[2001:db8::1]:65535", &a), 0);
	assert_int_equal(settings_listen_parse("[192.0.2.1]:80", &a), -EINVAL);
	assert_int_equal(settings_listen_parse("192.0.2.1:65536", &a), -EINVAL);
	assert_int_equal(settings_listen_parse("192.0.2.1:+80", &a), -EINVAL);
	assert_int_equal(settings_listen_parse("localhost:80", &a), -EINVAL);
	assert_int_equal(settings_listen_parse(":80", &a), -EINVAL);
}

/* Every module row's sections are top-level keys (the unknown-key error
 * names them all), fit SETTINGS_MAX_SECTIONS, and modules read theirs back. */
static void
test_module_sections(void **state)
{
	static const char *const names[] = { "log", "state_dir", "api", "store", "flight",
		"health", "pos", "connections", "collect", "cluster", "detection", "mitigate" };
	const struct conntab_settings *cs;
	struct cfg_error err;
	struct settings *c = NULL;
	size_t n = 0;

	for (size_t m = 0; m < ENGINE_NMODS; m++)
		for (const struct settings_section *sec = engine_modules[m].sections;
		    sec != NULL && sec->name != NULL; sec++)
			n++;
	assert_int_equal(n, sizeof(names) / sizeof(names[0]));
	assert_true(n <= SETTINGS_MAX_SECTIONS);
	assert_int_not_equal(load("lgo: {}\n", &c, &err), 0);
	for (size_t i = 0; i < n; i++)
		if (strstr(err.msg, names[i]) == NULL)
			fail_msg("%s not in \"%s\"", names[i], err.msg);
	assert_int_equal(load("connections: {retention: 60s}\n", &c, &err), 0);
	cs = settings_ext(c, "connections");
	assert_non_null(cs);
	assert_int_equal(cs->retention_s, 60);
	assert_non_null(settings_ext(c, "mitigate"));
	assert_null(settings_ext(c, "log"));	/* the engine's own: in struct settings */
	assert_null(settings_ext(c, "nonesuch"));
	settings_free(c);
}

static void
test_api_hosts(void **state)
{
	struct cfg_error err;
	struct settings *c = NULL;

	(void)state;
	assert_int_equal(load("api:\n  hosts: [moat.example, Other.Example]\n"
	    "  listen: \"127.0.0.1:9\"\n", &c, &err), 0);
	assert_int_equal(c->api.nhosts, 2);
	assert_string_equal(c->api.hosts[0], "moat.example");
	assert_string_equal(c->api.hosts[1], "Other.Example");
	assert_int_equal(c->api.port, 9);
	settings_free(c);
	expect_error("api:\n  hosts: [\"a:80\"]\n", "t.yaml:2:");
	expect_error("api:\n  hosts: [\"\"]\n", "t.yaml:2:");
	expect_error("api:\n  hosts: x\n", "t.yaml:2:");
	expect_error("api:\n  hosts: [a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q]\n", "t.yaml:2:");
}

static void
test_missing_file(void **state)
{
	struct cfg_error err;
	struct settings *c = NULL;

	assert_int_equal(settings_load("/nonexistent/moatd.yaml", engine_modules, 0, &c, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "/nonexistent/moatd.yaml"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_bad_positions),
		cmocka_unit_test(test_listen_parse),
		cmocka_unit_test(test_api_hosts),
		cmocka_unit_test(test_module_sections),
		cmocka_unit_test(test_missing_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
