/* Unit tests for ins/slow: the slow-connection judge on synthetic sample series. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ins/slow.h"

static const struct slow_rules rules = {
	.grace_ms = 5000, .window_ms = 5000, .min_rate = 64, .idle_ms = 30000,
};

/* Feed one sample per second for secs seconds; rx/acked grow by the given rates. */
static enum slow_verdict
run(unsigned secs, uint64_t rx_per_s, uint64_t acked_per_s, uint32_t wqueue, uint32_t idle_ms,
    unsigned *ret_at)
{
	struct slow_track t = { 0 };
	struct slow_sample s = { 0 };

	for (unsigned i = 0; i <= secs; i++) {
		enum slow_verdict v;

		s.t_ms = 1000000 + i * 1000ull;
		s.bytes_received = 100 + rx_per_s * i;
		s.bytes_acked = acked_per_s * i;
		s.wqueue = wqueue;
		s.last_data_recv_ms = idle_ms ? idle_ms + i * 1000 : 0;
		s.last_data_sent_ms = idle_ms ? idle_ms + i * 1000 : 0;
		v = slow_judge(&rules, &t, &s);
		if (v != SLOW_OK) {
			*ret_at = i;
			return v;
		}
	}
	return SLOW_OK;
}

static void
test_slow_body(void **state)
{
	unsigned at = 0;

	/* 10 bytes/s in, nothing back: R-U-D-Y */
	assert_int_equal(run(20, 10, 0, 0, 0, &at), SLOW_BODY);
	assert_true(at >= 5 && at <= 10);	/* after the grace period, within 10 s */
}

static void
test_peer_fin_is_not_slow_body(void **state)
{
	struct slow_track t = { 0 };
	struct slow_sample s = { .t_ms = 1000, .bytes_received = 0 };

	/* an idle client closes: its FIN counts as one received byte */
	assert_int_equal(slow_judge(&rules, &t, &s), SLOW_OK);
	s.t_ms = 12000;
	s.bytes_received = 1;
	s.last_data_recv_ms = 11000;
	s.peer_closed = 1;
	assert_int_equal(slow_judge(&rules, &t, &s), SLOW_OK);
	/* the same byte from an open connection is a trickle */
	t = (struct slow_track){ 0 };
	s = (struct slow_sample){ .t_ms = 1000 };
	slow_judge(&rules, &t, &s);
	s.t_ms = 12000;
	s.bytes_received = 1;
	assert_int_equal(slow_judge(&rules, &t, &s), SLOW_BODY);
}

static void
test_fast_upload_ok(void **state)
{
	unsigned at;

	assert_int_equal(run(30, 100000, 0, 0, 0, &at), SLOW_OK);
}

static void
test_request_response_ok(void **state)
{
	unsigned at;

	/* a slow keep-alive client: little in, but answers go back each window */
	assert_int_equal(run(30, 10, 200, 0, 0, &at), SLOW_OK);
}

static void
test_slow_read(void **state)
{
	unsigned at = 0;

	assert_int_equal(run(20, 0, 5, 100000, 0, &at), SLOW_READ);
	assert_true(at <= 10);
	/* a fast reader with data queued is fine */
	assert_int_equal(run(20, 0, 1 << 20, 100000, 0, &at), SLOW_OK);
}

static void
test_idle(void **state)
{
	unsigned at = 0;

	assert_int_equal(run(40, 0, 0, 0, 1000, &at), SLOW_IDLE);
	assert_true(at >= 5);
	/* silent but not yet idle long enough: fine */
	assert_int_equal(run(40, 0, 0, 0, 0, &at), SLOW_OK);
}

/* The defaults: judged over 2 s after 1 s of grace; readers may pause 10 s after 64 KiB. */
static const struct slow_rules fast = {
	.grace_ms = 1000, .window_ms = 2000, .min_rate = 64,
	.pause_ms = 10000, .pause_min_bytes = 65536,
};

/*
 * Samples every step_ms from a handoff at t = 0 (accepted at 0) until a verdict or
 * until_ms; acked(t) and wqueue(t) describe a reader. Returns the verdict and when.
 */
static enum slow_verdict
series(const struct slow_rules *r, uint64_t until_ms, uint64_t step_ms,
       uint64_t (*rx)(uint64_t), uint64_t (*acked)(uint64_t), uint32_t wqueue,
       uint64_t *ret_at)
{
	struct slow_track t;
	struct slow_sample s = { .t_ms = 0, .bytes_received = rx(0), .bytes_acked = acked(0),
				 .wqueue = wqueue };

	slow_start(&t, &s, 0);
	for (uint64_t ms = step_ms; ms <= until_ms; ms += step_ms) {
		enum slow_verdict v;

		s = (struct slow_sample){ .t_ms = ms, .bytes_received = rx(ms),
					  .bytes_acked = acked(ms), .wqueue = wqueue };
		v = slow_judge(r, &t, &s);
		if (v != SLOW_OK) {
			*ret_at = ms;
			return v;
		}
	}
	*ret_at = until_ms;
	return SLOW_OK;
}

static uint64_t rx_request(uint64_t ms) { (void)ms; return 200; }
/* a slow body: headers, then 10 bytes a second */
static uint64_t rx_trickle(uint64_t ms) { return 200 + ms / 100; }
static uint64_t acked_none(uint64_t ms) { (void)ms; return 0; }
/* reads 1 MB/s for 3 s, pauses 9 s, reads on */
static uint64_t
acked_pause9(uint64_t ms)
{
	if (ms <= 3000)
		return ms * 1000;
	if (ms <= 12000)
		return 3000000;
	return 3000000 + (ms - 12000) * 1000;
}
/* reads 1 MB/s for 3 s, then stops for good */
static uint64_t acked_stops(uint64_t ms) { return ms <= 3000 ? ms * 1000 : 3000000; }
/* a slow-read attacker: its tiny window takes 2 KiB at once, then 8 bytes a second */
static uint64_t acked_attacker(uint64_t ms) { return 2048 + ms * 8 / 1000; }

static void
test_fast_judgement(void **state)
{
	uint64_t at = 0;

	/* sampled every 500 ms: slow body and slow read judged within 2.5 s of handoff */
	assert_int_equal(series(&fast, 30000, 500, rx_trickle, acked_none, 0, &at), SLOW_BODY);
	assert_true(at >= 2000 && at <= 2500);
	assert_int_equal(series(&fast, 30000, 500, rx_request, acked_attacker, 100000, &at),
			 SLOW_READ);
	assert_true(at >= 2000 && at <= 2500);
	/* sampled every second: within 3 s, the 5 s a tuned nginx allows */
	assert_int_equal(series(&fast, 30000, 1000, rx_trickle, acked_none, 0, &at), SLOW_BODY);
	assert_true(at <= 3000);
}

static void
test_sliding_window(void **state)
{
	struct slow_track t;
	struct slow_sample s = { .t_ms = 0, .bytes_received = 200 };

	/* 3 s of a fast upload, then a trickle: judged 2 s into the trickle, not 4 */
	slow_start(&t, &s, 0);
	for (uint64_t ms = 1000; ms <= 3000; ms += 1000) {
		s.t_ms = ms;
		s.bytes_received = 200 + ms * 100;
		assert_int_equal(slow_judge(&fast, &t, &s), SLOW_OK);
	}
	s.t_ms = 4000;
	s.bytes_received += 10;
	assert_int_equal(slow_judge(&fast, &t, &s), SLOW_OK);	/* window 2..4 s: 100 KB in it */
	s.t_ms = 5000;
	s.bytes_received += 10;
	assert_int_equal(slow_judge(&fast, &t, &s), SLOW_BODY);	/* window 3..5 s: 20 bytes */
}

static void
test_paused_reader_not_shed(void **state)
{
	uint64_t at = 0;

	/* a reader that took 3 MB and pauses 9 s (< 10 s) mid-download is never shed */
	assert_int_equal(series(&fast, 30000, 1000, rx_request, acked_pause9, 100000, &at), SLOW_OK);
	/* sampled more often, the same */
	assert_int_equal(series(&fast, 30000, 250, rx_request, acked_pause9, 100000, &at), SLOW_OK);
	/* one that stops for good is shed once its pause exceeds 10 s */
	assert_int_equal(series(&fast, 30000, 1000, rx_request, acked_stops, 100000, &at), SLOW_READ);
	assert_true(at >= 13000 && at <= 14000);
	/* a tiny-window attacker never took 64 KiB: no pause for it */
	assert_int_equal(series(&fast, 30000, 1000, rx_request, acked_attacker, 100000, &at),
			 SLOW_READ);
	assert_true(at <= 3000);
	/* pauses off: the stop is judged at the first slow window */
	{
		struct slow_rules r = fast;

		r.pause_ms = 0;
		assert_int_equal(series(&r, 30000, 1000, rx_request, acked_pause9, 100000, &at),
				 SLOW_READ);
		assert_true(at <= 6000);
	}
}

static void
test_body_due(void **state)
{
	struct slow_track t;
	struct slow_sample s = { .t_ms = 0, .bytes_received = 100, .body_end = 100 + 8192 };
	uint64_t at = 0;

	/* headers announced 8 KiB, then nothing at all: waiting on the client, judged at 2 s */
	slow_start(&t, &s, 0);
	s.body_end = 0;
	for (uint64_t ms = 500; ms <= 2000; ms += 500) {
		s.t_ms = ms;
		if (slow_judge(&fast, &t, &s) != SLOW_OK) {
			at = ms;
			break;
		}
	}
	assert_int_equal(at, 2000);
	/* the same silence after a complete request is an idle keep-alive: not judged */
	s = (struct slow_sample){ .t_ms = 0, .bytes_received = 100 };
	slow_start(&t, &s, 0);
	for (uint64_t ms = 500; ms <= 20000; ms += 500) {
		s.t_ms = ms;
		assert_int_equal(slow_judge(&fast, &t, &s), SLOW_OK);
	}
	/* the body all in, the server slow to answer: not judged either */
	s = (struct slow_sample){ .t_ms = 0, .bytes_received = 200, .body_end = 200 };
	slow_start(&t, &s, 0);
	for (uint64_t ms = 500; ms <= 20000; ms += 500) {
		s.t_ms = ms;
		assert_int_equal(slow_judge(&fast, &t, &s), SLOW_OK);
	}
}

static void
test_names(void **state)
{
	assert_string_equal(slow_name(SLOW_BODY), "slow-body");
	assert_string_equal(slow_name((enum slow_verdict)99), "?");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_slow_body),
		cmocka_unit_test(test_peer_fin_is_not_slow_body),
		cmocka_unit_test(test_fast_upload_ok),
		cmocka_unit_test(test_request_response_ok),
		cmocka_unit_test(test_slow_read),
		cmocka_unit_test(test_idle),
		cmocka_unit_test(test_fast_judgement),
		cmocka_unit_test(test_sliding_window),
		cmocka_unit_test(test_paused_reader_not_shed),
		cmocka_unit_test(test_body_due),
		cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
