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
		cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
