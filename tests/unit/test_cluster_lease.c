/* Unit tests for engine/cluster/lease (and cluster/nats under it) against a
 * real nats-server with JetStream: a private one on a free loopback port in
 * a temp dir, started here; a watchdog child stops it and removes the dir
 * when this process ends, however it ends. Without nats-server the tests
 * fail (scripts/deps installs it): they never skip.
 *
 * Cases: one engine takes every shard; a second one joins and the shards
 * split evenly, never held by both; an engine that stops renewing (dead)
 * loses its shards to the other after the bucket's TTL, which is told who
 * held them, and the dead one's next renewal is refused (compare-and-set on
 * the revision) so it gives them up; lease_holds() (fencing) turns false
 * once the last renewal is older than lease_ttl - 1 s. */
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

#include "common/clock.h"
#include "engine/cluster/lease.h"
#include "engine/cluster/nats.h"

#define SHARDS 4u

static struct natsd srv;

static int
server_start(void **state)
{
	(void)state;
	return natsd_start(&srv);
}

/* ---- engines ---- */

struct engine_t {
	struct cluster_conf cc;
	struct clnats *n;
	struct lease *l;
	unsigned won, lost;
	char prev[CLUSTER_NAME_MAX + 1];
};

static void
on_change(void *ctx, uint32_t shard, bool owned, const char *prev)
{
	struct engine_t *e = ctx;

	(void)shard;
	if (owned) {
		e->won++;
		if (prev[0] != '\0')
			snprintf(e->prev, sizeof(e->prev), "%s", prev);
	} else {
		e->lost++;
	}
}

static void
engine_open(struct engine_t *e, const char *name)
{
	char err[256];

	memset(e, 0, sizeof(*e));
	e->cc.role = CLUSTER_ENGINE;
	snprintf(e->cc.instance, sizeof(e->cc.instance), "%s", name);
	e->cc.shards = SHARDS;
	e->cc.nurls = 1;
	snprintf(e->cc.urls[0], sizeof(e->cc.urls[0]), "nats://127.0.0.1:%d", srv.port);
	e->cc.replicas = 1;
	e->cc.lease_ttl_s = 2;
	assert_int_equal(clnats_open(&e->cc, &e->n, err, sizeof(err)), 0);
	for (int i = 0; i < 50 && clnats_setup(e->n, err, sizeof(err)) < 0; i++)
		usleep(100000);
	if (clnats_setup(e->n, err, sizeof(err)) < 0)
		fail_msg("setup: %s", err);
	assert_int_equal(lease_new(&e->cc, e->n, on_change, e, &e->l), 0);
}

static void
engine_close(struct engine_t *e, bool release)
{
	lease_free(e->l, release);
	clnats_close(e->n);
}

static uint64_t
now(void)
{
	return clock_now_ns(CLOCK_MONOTONIC);
}

static unsigned
owned(struct engine_t *e, uint32_t *out)
{
	return lease_owned(e->l, out, SHARDS);
}

static void
test_split_and_failover(void **state)
{
	struct engine_t a, b;
	uint32_t sa[SHARDS], sb[SHARDS];
	unsigned na, nb;
	uint64_t rev;

	(void)state;
	engine_open(&a, "a");
	lease_step(a.l, now());
	assert_int_equal(owned(&a, sa), SHARDS);	/* alone: every shard */
	assert_true(lease_holds(a.l, sa[0], now(), &rev));
	assert_true(rev > 0);

	/* b joins: a gives one back per step until each holds its share. */
	engine_open(&b, "b");
	for (int i = 0; i < 6; i++) {
		lease_step(b.l, now());
		lease_step(a.l, now());
	}
	lease_step(b.l, now());
	na = owned(&a, sa);
	nb = owned(&b, sb);
	assert_int_equal(na, SHARDS / 2);
	assert_int_equal(nb, SHARDS / 2);
	for (unsigned i = 0; i < na; i++)
		for (unsigned j = 0; j < nb; j++)
			assert_int_not_equal(sa[i], sb[j]);
	assert_int_equal(lease_live(a.l), 2);
	/* b is told who held the shards it won (the module adopts only from a
	 * dead holder: a is alive). */
	assert_string_equal(b.prev, "a");

	/* a stops renewing (dead): after the TTL b takes its shards, told they were a's. */
	b.prev[0] = '\0';
	for (int i = 0; i < 4; i++) {
		sleep(1);
		lease_step(b.l, now());
	}
	assert_int_equal(owned(&b, sb), SHARDS);
	assert_string_equal(b.prev, "a");
	assert_int_equal(lease_live(b.l), 1);
	/* a's fencing check already says no, and its renewals are refused. */
	assert_false(lease_holds(a.l, sa[0], now(), NULL));
	lease_step(a.l, now());
	for (unsigned i = 0; i < na; i++)
		assert_false(lease_holds(a.l, sa[i], now(), NULL));
	assert_true(a.lost >= na);
	/* a is alive again: b gives shards back to it over the next steps. */
	for (int i = 0; i < 6; i++) {
		lease_step(b.l, now());
		lease_step(a.l, now());
	}
	assert_int_equal(owned(&a, sa) + owned(&b, sb), SHARDS);
	assert_int_equal(owned(&a, sa), SHARDS / 2);
	engine_close(&a, true);
	engine_close(&b, true);
	clnats_library_close();
}

static int asked = -1;

static void
on_give(void *ctx, uint32_t shard)
{
	(void)ctx;
	asked = (int)shard;
}

/* With a hand-off: the shard given back on rebalance stays held (fenced)
 * until the engine says its state was handed off, then goes to the other. */
static void
test_hand_over(void **state)
{
	struct engine_t a, b;
	uint32_t sb[SHARDS];
	uint32_t s;

	(void)state;
	engine_open(&a, "ha");
	lease_on_give(a.l, on_give);
	lease_step(a.l, now());
	engine_open(&b, "hb");
	lease_step(b.l, now());
	lease_step(a.l, now());		/* sees b: one shard to give */
	assert_true(asked >= 0);
	s = (uint32_t)asked;
	asked = -1;
	assert_false(lease_holds(a.l, s, now(), NULL));	/* fenced at once */
	for (int i = 0; i < 3; i++) {
		lease_step(b.l, now());
		lease_step(a.l, now());
	}
	assert_int_equal(asked, -1);			/* one at a time */
	assert_int_equal(owned(&b, sb), 0);		/* still a's: b cannot take it */
	assert_int_equal(a.lost, 0);
	assert_true(lease_hand_begin(a.l, s));
	lease_given(a.l, s);
	lease_step(a.l, now());				/* released */
	assert_int_equal(a.lost, 1);
	assert_false(lease_hand_begin(a.l, s));		/* no longer being given */
	lease_step(b.l, now());
	assert_int_equal(owned(&b, sb), 1);
	assert_int_equal(sb[0], s);
	assert_string_equal(b.prev, "ha");
	engine_close(&a, true);
	engine_close(&b, true);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hand_over),
		cmocka_unit_test(test_split_and_failover),
	};

	return cmocka_run_group_tests(tests, server_start, NULL);
}
