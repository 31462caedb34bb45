/* Unit tests for common/clock: manual clocks and the packet-time handshake
 * (clock_step) between a replay thread and the engine thread. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/clock.h"

#define S CLOCK_NS_PER_SEC
#define NSTEPS 200u
#define PER_STEP 7u

static void
test_manual(void **state)
{
	struct clock c;

	clock_init_manual(&c, 5 * S);
	assert_int_equal(clock_wall_s(&c), 5);
	clock_set(&c, 3 * S);			/* never backwards */
	assert_int_equal(clock_wall_ns(&c), 5 * S);
	clock_set(&c, 9 * S);
	clock_advance(&c, S);
	assert_int_equal(clock_mono_ns(&c), 10 * S);
}

/* The replay side: "reads" PER_STEP records per second of packet time and
 * offers every boundary; the engine side checks it never saw more. */
struct replay {
	struct clock_step *step;
	atomic_uint records;
	int last_r;
	unsigned offered;
};

static void *
replay_thread(void *arg)
{
	struct replay *rp = arg;

	for (unsigned i = 1; i <= NSTEPS; i++) {
		atomic_fetch_add(&rp->records, PER_STEP);
		rp->last_r = clock_step_offer(rp->step, (1000 + i) * S);
		if (rp->last_r < 0)
			break;
		rp->offered = i;
	}
	return NULL;
}

static void
wait_readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	assert_int_equal(poll(&p, 1, 10000), 1);
}

static void
test_handshake_never_runs_ahead(void **state)
{
	struct clock_step step;
	struct replay rp = { .step = &step };
	struct clock c;
	pthread_t th;
	uint64_t b;

	assert_int_equal(clock_step_init(&step), 0);
	clock_init_manual(&c, 1000 * S);
	assert_false(clock_step_take(&step, &b));	/* nothing on offer yet */
	assert_int_equal(pthread_create(&th, NULL, replay_thread, &rp), 0);
	for (unsigned i = 1; i <= NSTEPS; i++) {
		wait_readable(clock_step_fd(&step));
		assert_true(clock_step_take(&step, &b));
		assert_int_equal(b, (1000 + i) * S);
		/* The tick: the reader is parked at this boundary, so exactly the
		   records before it have been read. */
		clock_set(&c, b);
		assert_int_equal(atomic_load(&rp.records), i * PER_STEP);
		clock_step_done(&step, b);
	}
	pthread_join(th, NULL);
	assert_int_equal(rp.offered, NSTEPS);
	assert_int_equal(rp.last_r, 0);
	assert_int_equal(clock_wall_s(&c), 1000 + NSTEPS);
	assert_false(clock_step_take(&step, &b));
	clock_step_fini(&step);
}

static void
test_cancel_releases_the_reader(void **state)
{
	struct clock_step step;
	struct replay rp = { .step = &step };
	pthread_t th;
	uint64_t b;

	assert_int_equal(clock_step_init(&step), 0);
	assert_int_equal(pthread_create(&th, NULL, replay_thread, &rp), 0);
	wait_readable(clock_step_fd(&step));
	assert_true(clock_step_take(&step, &b));
	assert_int_equal(b, 1001 * S);
	clock_step_cancel(&step);			/* stop while the reader waits */
	pthread_join(th, NULL);
	assert_int_equal(rp.last_r, -ECANCELED);
	assert_int_equal(rp.offered, 0);
	assert_int_equal(clock_step_offer(&step, 2000 * S), -ECANCELED);
	assert_false(clock_step_take(&step, &b));
	clock_step_fini(&step);
}

static void
test_stale_offer_returns_at_once(void **state)
{
	struct clock_step step;

	assert_int_equal(clock_step_init(&step), 0);
	clock_step_done(&step, 10 * S);
	/* A boundary the engine already passed does not block. */
	assert_int_equal(clock_step_offer(&step, 10 * S), 0);
	assert_int_equal(clock_step_offer(&step, 3 * S), 0);
	clock_step_fini(&step);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_manual),
		cmocka_unit_test(test_handshake_never_runs_ahead),
		cmocka_unit_test(test_cancel_releases_the_reader),
		cmocka_unit_test(test_stale_offer_returns_at_once),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
