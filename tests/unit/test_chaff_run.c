/*
 * Unit tests for src/chaff/run.c: the daemon's loop driven without root or
 * an interface, a datagram socketpair standing in for the packet socket.
 * The start-up announcement goes out from the liveness timer, an idle loop
 * has nothing to wake up for, an ARP request is answered and becomes an
 * alarm, and SIGTERM through the loop's signalfd stops it.
 */
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
#include <unistd.h>
#include <cmocka.h>

#include "chaff/emit.h"
#include "chaff/osdb.h"
#include "chaff/run.h"
#include "common/evloop.h"

#define DECOY0	0xc000020a	/* 192.0.2.10 */
#define DECOY1	0xc000020b	/* 192.0.2.11 */
#define SCANNER	0xc0000201	/* 192.0.2.1 */

struct fixture {
	char dir[64];
	char conf[128];
	char alarms[128];
	int peer;		/* the "wire": what the decoys send arrives here */
	struct chaff_run *ch;
};

static int
setup(void **state)
{
	struct fixture *fx;
	FILE *f;
	int sp[2];

	if (access(OSDB_PATH, R_OK) < 0)
		return 0;	/* skipped in each test */
	fx = calloc(1, sizeof(*fx));
	assert_non_null(fx);
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/moat-test-run-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->conf, sizeof(fx->conf), "%s/chaff.yaml", fx->dir);
	snprintf(fx->alarms, sizeof(fx->alarms), "%s/alarms.jsonl", fx->dir);
	f = fopen(fx->conf, "w");
	assert_non_null(f);
	fprintf(f, "interface: test0\nseed: 7\ndecoys:\n"
		   "  - ranges: [192.0.2.10/31]\n    personality: \"linux-5.4\"\n    tcp: [80]\n"
		   "alarms:\n  file: \"%s\"\n  window: 1s\n"
		   "alive:\n  pps: 1000\n  interval: 1h\n  start: 1s\n", fx->alarms);
	fclose(f);
	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sp), 0);
	fx->peer = sp[1];
	assert_int_equal(chaff_run_load(fx->conf, &fx->ch), 0);
	assert_int_equal(chaff_run_start(fx->ch, sp[0], CHAFF_RUN_NO_SANDBOX | CHAFF_RUN_NO_SSHD),
			 0);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;

	if (!fx)
		return 0;
	chaff_run_free(fx->ch);
	close(fx->peer);
	unlink(fx->conf);
	unlink(fx->alarms);
	rmdir(fx->dir);
	free(fx);
	return 0;
}

/* Run the loop (bounded) until a frame reaches the wire; its length, or 0. */
static size_t
next_frame(struct fixture *fx, uint8_t *buf, size_t cap)
{
	for (int i = 0; i < 50; i++) {
		ssize_t n = recv(fx->peer, buf, cap, 0);

		if (n > 0)
			return (size_t)n;
		assert_true(evloop_run_once(chaff_run_evloop(fx->ch), 100) >= 0);
	}
	return 0;
}

static uint32_t
be32_at(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static bool
is_arp(const uint8_t *f, size_t len, uint16_t op)
{
	return len >= 42 && f[12] == 0x08 && f[13] == 0x06 && f[20] == 0 && f[21] == op;
}

static void
test_announces_then_sleeps(void **state)
{
	struct fixture *fx = *state;
	uint8_t f[2048];
	bool seen0 = false, seen1 = false;
	size_t len;

	if (!fx)
		skip();
	/* The start-up round: a gratuitous ARP from each decoy. */
	for (int i = 0; i < 2; i++) {
		len = next_frame(fx, f, sizeof(f));
		assert_true(is_arp(f, len, 1) || is_arp(f, len, 2));
		/* Gratuitous: sender and target address are the decoy's. */
		assert_int_equal(be32_at(f + 28), be32_at(f + 38));
		seen0 |= be32_at(f + 28) == DECOY0;
		seen1 |= be32_at(f + 28) == DECOY1;
	}
	assert_true(seen0 && seen1);
	/* The round is over and the next one is an hour away: nothing is
	   armed that could fire, so the loop waits out the whole timeout. */
	assert_int_equal(evloop_run_once(chaff_run_evloop(fx->ch), 300), 0);
	assert_int_equal(recv(fx->peer, f, sizeof(f), 0), -1);
}

static void
test_answers_arp_and_alarms(void **state)
{
	struct fixture *fx = *state;
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	static const uint8_t mac[6] = { 0x02, 0, 0, 0, 0, 1 }, zero[6] = { 0 };
	uint8_t f[2048], req[64];
	uint64_t frames, sent;
	size_t len, n;
	char line[1024];
	FILE *al;
	bool answered = false;

	if (!fx)
		skip();
	n = emit_arp(req, sizeof(req), bcast, 1, mac, SCANNER, zero, DECOY1);
	assert_true(n > 0);
	assert_int_equal(send(fx->peer, req, n, 0), (ssize_t)n);
	/* Skip the announcements still queued; the reply is for the scanner. */
	for (int i = 0; i < 4 && !answered; i++) {
		len = next_frame(fx, f, sizeof(f));
		answered = is_arp(f, len, 2) && be32_at(f + 28) == DECOY1 &&
			   be32_at(f + 38) == SCANNER && memcmp(f, mac, 6) == 0;
	}
	assert_true(answered);
	chaff_run_counts(fx->ch, &frames, &sent);
	assert_int_equal(frames, 1);
	/* The first contact of a key is reported at once. */
	al = fopen(fx->alarms, "r");
	assert_non_null(al);
	assert_non_null(fgets(line, sizeof(line), al));
	fclose(al);
	assert_non_null(strstr(line, "\"192.0.2.1\""));
	assert_non_null(strstr(line, "\"arp\""));
	/* SIGTERM arrives through the loop's signalfd and ends the run. */
	assert_int_equal(kill(getpid(), SIGTERM), 0);
	assert_int_equal(chaff_run_loop(fx->ch), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_announces_then_sleeps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_answers_arp_and_alarms, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
