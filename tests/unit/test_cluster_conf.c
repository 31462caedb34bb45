/* Unit tests for engine/cluster/conf: the `cluster:` section — role all by
 * default, the engine/collect roles with their NATS settings, and refusals
 * (unknown role, no URLs, a password in a URL, bad instance names, half a
 * TLS client pair), each naming file:line:column. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "engine/cluster/conf.h"
#include "engine/core/modules.h"
#include "engine/core/settings.h"

static int
load(const char *yaml, struct settings **ret, struct cfg_error *err)
{
	memset(err, 0, sizeof(*err));
	return settings_load_buffer("t.yaml", yaml, strlen(yaml), engine_modules, 1700000000, ret, err);
}

static void
expect_error(const char *yaml, const char *where, const char *what)
{
	struct cfg_error err;
	struct settings *c = NULL;

	assert_int_not_equal(load(yaml, &c, &err), 0);
	assert_null(c);
	if (strncmp(err.msg, where, strlen(where)) != 0 || strstr(err.msg, what) == NULL)
		fail_msg("expected '%s...%s', got '%s'", where, what, err.msg);
}

static void
test_default_all(void **state)
{
	struct cfg_error err;
	struct settings *c;
	const struct cluster_conf *cc;

	(void)state;
	assert_int_equal(load("log: {level: info}\n", &c, &err), 0);
	cc = settings_ext(c, "cluster");
	assert_non_null(cc);
	assert_int_equal(cc->role, CLUSTER_ALL);
	assert_int_equal(cc->shards, 16);
	assert_int_equal(cc->lease_ttl_s, 3);
	assert_true(cc->instance[0] != '\0');
	assert_null(strchr(cc->instance, '.'));
	assert_string_equal(cluster_role_name(cc->role), "all");
	settings_free(c);
}

static void
test_engine_role(void **state)
{
	struct cfg_error err;
	struct settings *c;
	const struct cluster_conf *cc;
	const char *yaml =
	    "cluster:\n"
	    "  role: engine\n"
	    "  instance: eng-2\n"
	    "  shards: 50\n"
	    "  lease_ttl: 4s\n"
	    "  buffer: 1m\n"
	    "  nats:\n"
	    "    urls: [\"nats://127.0.0.1:4222\", \"tls://198.51.100.7:4222\"]\n"
	    "    creds: /etc/moat/nats.creds\n"
	    "    replicas: 3\n"
	    "    tls: {ca: /etc/moat/ca.pem, cert: /etc/moat/c.pem, key: /etc/moat/c.key}\n";

	(void)state;
	if (load(yaml, &c, &err) != 0)
		fail_msg("%s", err.msg);
	cc = settings_ext(c, "cluster");
#ifdef HAVE_NATS
	assert_int_equal(cc->role, CLUSTER_ENGINE);
	assert_string_equal(cc->instance, "eng-2");
	assert_int_equal(cc->shards, 50);
	assert_int_equal(cc->lease_ttl_s, 4);
	assert_int_equal(cc->buffer_s, 60);
	assert_int_equal(cc->nurls, 2);
	assert_string_equal(cc->urls[1], "tls://198.51.100.7:4222");
	assert_string_equal(cc->creds, "/etc/moat/nats.creds");
	assert_int_equal(cc->replicas, 3);
	assert_string_equal(cc->tls_key, "/etc/moat/c.key");
#else
	(void)cc;
#endif
	settings_free(c);
}

static void
test_refusals(void **state)
{
	(void)state;
	expect_error("cluster:\n  role: boss\n", "t.yaml:2:9", "expected all, collect or engine");
	expect_error("cluster:\n  role: engine\n", "t.yaml:2:3", "needs nats.urls");
	expect_error("cluster:\n  role: collect\n  nats:\n    urls: [\"nats://moat:hunter2@h:4222\"]\n",
	    "t.yaml:4:12", "may not hold a password");
	expect_error("cluster:\n  instance: \"a.b\"\n", "t.yaml:2:13", "only letters");
	expect_error("cluster:\n  shards: 0\n", "t.yaml:2:11", "shards");
	expect_error("cluster:\n  nats:\n    urls: [\"nats://h:1\"]\n    tls: {cert: /a}\n",
	    "t.yaml:4:10", "cert and key go together");
	expect_error("cluster:\n  nats:\n    creds: relative\n", "t.yaml:3:12", "absolute path");
	expect_error("cluster:\n  nats:\n    urls: []\n", "t.yaml:3:11", "expected 1..");
	expect_error("cluster:\n  what: 1\n", "t.yaml:2:3", "unknown key");
#ifdef HAVE_NATS
	expect_error("collect:\n  udp: [\"127.0.0.1:2055\"]\ncluster:\n  role: engine\n"
	    "  nats: {urls: [\"nats://127.0.0.1:4222\"]}\n", "t.yaml:4:9", "runs no inputs");
#endif
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_all),
		cmocka_unit_test(test_engine_role),
		cmocka_unit_test(test_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
