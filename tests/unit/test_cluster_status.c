/* Unit tests for engine/cluster/status (and the KV calls of cluster/nats
 * under it) against a private nats-server with JetStream (natsd_test.h: a
 * watchdog stops it however the test ends).
 *
 * Cases: what a status value must be to be listed (clstatus_parse: an
 * object with a valid instance name and a role; anything else, or too
 * long, is left out); two instances each see both, sorted, and who owns a
 * shard; a value under another instance's key, or not JSON, is left out;
 * an instance that stops publishing disappears after the bucket's TTL, one
 * that stops cleanly at once. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "natsd_test.h"

#include "engine/cluster/nats.h"
#include "engine/cluster/status.h"

#define SHARDS 4u

static struct natsd srv;

static int
server_start(void **state)
{
	(void)state;
	return natsd_start(&srv);
}

/* ---- instances ---- */

struct inst {
	struct cluster_conf cc;
	struct clnats *n;
	struct clstatus *s;
};

static void
inst_open(struct inst *i, const char *name)
{
	char err[256];

	memset(i, 0, sizeof(*i));
	i->cc.role = CLUSTER_ENGINE;
	snprintf(i->cc.instance, sizeof(i->cc.instance), "%s", name);
	i->cc.shards = SHARDS;
	i->cc.nurls = 1;
	snprintf(i->cc.urls[0], sizeof(i->cc.urls[0]), "nats://127.0.0.1:%d", srv.port);
	i->cc.replicas = 1;
	i->cc.lease_ttl_s = 2;
	assert_int_equal(clnats_open(&i->cc, &i->n, err, sizeof(err)), 0);
	for (int k = 0; k < 50 && clnats_setup(i->n, err, sizeof(err)) < 0; k++)
		usleep(100000);
	if (clnats_setup(i->n, err, sizeof(err)) < 0)
		fail_msg("setup: %s", err);
	assert_int_equal(clstatus_new(&i->cc, i->n, &i->s), 0);
}

static void
inst_step(struct inst *i, const char *role, const char *owned)
{
	json_t *o = json_pack("{s:s, s:s, s:o}", "instance", i->cc.instance, "role", role,
	    "owned", json_loads(owned, 0, NULL));

	assert_non_null(o);
	clstatus_step(i->s, o);
	json_decref(o);
}

static void
inst_close(struct inst *i, bool release)
{
	clstatus_free(i->s, release);
	clnats_close(i->n);
}

/* The instance names of i's snapshot, "a,b,...". */
static void
names(struct inst *i, char *buf, size_t len)
{
	json_t *l = clstatus_instances(i->s), *o;
	size_t k, at = 0;

	assert_non_null(l);
	buf[0] = '\0';
	json_array_foreach(l, k, o)
		at += (size_t)snprintf(buf + at, len - at, "%s%s", k ? "," : "",
		    json_string_value(json_object_get(o, "instance")));
	json_decref(l);
}

static void
test_parse(void **state)
{
	static const char *const bad[] = {
		"", "null", "[]", "{}", "not json", "{\"instance\": \"a\"}",
		"{\"role\": \"engine\"}", "{\"instance\": 7, \"role\": \"engine\"}",
		"{\"instance\": \"a b\", \"role\": \"engine\"}",
		"{\"instance\": \"\", \"role\": \"engine\"}",
		"{\"instance\": \"a\", \"role\": 1}",
		"{\"instance\": \"a\", \"instance\": \"b\", \"role\": \"engine\"}",
		"{\"instance\": \"a\", \"role\": \"engine\"",
	};
	const char *good = "{\"instance\": \"eng-1\", \"role\": \"engine\", \"owned\": [1]}";
	char *big;
	json_t *o;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_null(clstatus_parse(bad[i], strlen(bad[i])));
	assert_non_null(o = clstatus_parse(good, strlen(good)));
	json_decref(o);
	big = malloc(CLSTATUS_VALUE_MAX + 64);
	assert_non_null(big);
	memset(big, ' ', CLSTATUS_VALUE_MAX + 64);
	memcpy(big, good, strlen(good));
	assert_null(clstatus_parse(big, CLSTATUS_VALUE_MAX + 64));
	free(big);
}

static void
test_instances(void **state)
{
	struct inst a, b;
	char buf[256], owner[64];
	const char *junk = "not json", *liar = "{\"instance\": \"b\", \"role\": \"engine\"}";

	(void)state;
	inst_open(&a, "b-engine");
	inst_open(&b, "a-collect");
	inst_step(&a, "engine", "[0, 2]");
	inst_step(&b, "collect", "[]");
	inst_step(&a, "engine", "[0, 2]");
	names(&a, buf, sizeof(buf));
	assert_string_equal(buf, "a-collect,b-engine");
	names(&b, buf, sizeof(buf));
	assert_string_equal(buf, "a-collect,b-engine");
	assert_true(clstatus_shard_owner(b.s, 2, owner, sizeof(owner)));
	assert_string_equal(owner, "b-engine");
	assert_false(clstatus_shard_owner(b.s, 1, owner, sizeof(owner)));
	/* Junk and a value under someone else's key are not listed. */
	assert_int_equal(clnats_kv_put(a.n, "status.junk", junk, strlen(junk)), 0);
	assert_int_equal(clnats_kv_put(a.n, "status.x", liar, strlen(liar)), 0);
	inst_step(&b, "collect", "[]");
	names(&b, buf, sizeof(buf));
	assert_string_equal(buf, "a-collect,b-engine");
	/* a stops publishing: gone after the TTL (2 s), as are the junk keys. */
	sleep(3);
	inst_step(&b, "collect", "[]");
	names(&b, buf, sizeof(buf));
	assert_string_equal(buf, "a-collect");
	assert_false(clstatus_shard_owner(b.s, 2, owner, sizeof(owner)));
	/* b stops cleanly: its key goes at once. */
	inst_step(&a, "engine", "[0]");
	inst_close(&b, true);
	inst_step(&a, "engine", "[0]");
	names(&a, buf, sizeof(buf));
	assert_string_equal(buf, "b-engine");
	inst_close(&a, true);
	clnats_library_close();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_instances),
	};

	return cmocka_run_group_tests(tests, server_start, NULL);
}
