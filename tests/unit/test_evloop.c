/* Unit tests for common/evloop: descriptors, the timer heap, signals, break,
 * and deletion of any object from any callback during dispatch (ASan checks
 * that nothing freed is touched). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/evloop.h"

#define MS 1000000ULL

static void
sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void
mkpipe(int p[2])
{
	assert_int_equal(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
}

/* ---- descriptors ---- */

struct rd {
	unsigned calls;
	unsigned revents;
	char got[16];
};

static void
on_read(struct evloop_io *io, int fd, unsigned revents, void *arg)
{
	struct rd *r = arg;
	ssize_t n = read(fd, r->got, sizeof(r->got) - 1);

	r->calls++;
	r->revents = revents;
	if (n > 0)
		r->got[n] = '\0';
}

static void
on_count(struct evloop_io *io, int fd, unsigned revents, void *arg)
{
	(void)io;
	(void)fd;
	(void)revents;
	(*(unsigned *)arg)++;
}

/* EVLOOP_EDGE: unread data is reported once, and again only when more comes. */
static void
test_io_edge(void **state)
{
	struct evloop *loop;
	unsigned calls = 0;
	int p[2];

	(void)state;
	mkpipe(p);
	assert_int_equal(evloop_new(&loop), 0);
	assert_int_equal(evloop_add_fd(loop, p[0], EVLOOP_IN | EVLOOP_EDGE, on_count, &calls, NULL),
			 0);
	assert_int_equal(write(p[1], "a", 1), 1);
	assert_int_equal(evloop_run_once(loop, 100), 1);
	assert_int_equal(evloop_run_once(loop, 0), 0);	/* still unread, not reported */
	assert_int_equal(calls, 1);
	assert_int_equal(write(p[1], "b", 1), 1);
	assert_int_equal(evloop_run_once(loop, 100), 1);
	assert_int_equal(calls, 2);
	evloop_free(loop);
	close(p[0]);
	close(p[1]);
}

static void
test_io_readable(void **state)
{
	struct evloop *loop;
	struct evloop_io *io;
	struct rd r = { 0 };
	int p[2];

	mkpipe(p);
	assert_int_equal(evloop_new(&loop), 0);
	assert_int_equal(evloop_add_fd(loop, p[0], EVLOOP_IN, on_read, &r, &io), 0);
	assert_int_equal(evloop_add_fd(loop, p[0], EVLOOP_IN, on_read, &r, NULL), -EEXIST);
	assert_int_equal(evloop_add_fd(loop, p[1], 0x80, on_read, &r, NULL), -EINVAL);
	assert_int_equal(evloop_run_once(loop, 0), 0);
	assert_int_equal(write(p[1], "hi", 2), 2);
	assert_int_equal(evloop_run_once(loop, 1000), 1);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.revents, EVLOOP_IN);
	assert_string_equal(r.got, "hi");
	assert_int_equal(evloop_run_once(loop, 0), 0);	/* level: drained, quiet */
	close(p[1]);
	assert_int_equal(evloop_run_once(loop, 1000), 1);	/* EOF is readable */
	assert_true(r.revents & (EVLOOP_IN | EVLOOP_HUP));
	evloop_io_del(io);
	assert_int_equal(evloop_run_once(loop, 0), 0);
	close(p[0]);
	evloop_free(loop);
	evloop_free(NULL);
}

struct wr {
	unsigned calls;
	unsigned revents;
};

static void
on_write(struct evloop_io *io, int fd, unsigned revents, void *arg)
{
	struct wr *w = arg;

	w->calls++;
	w->revents = revents;
	assert_int_equal(evloop_io_mod(io, 0), 0);	/* nothing more to send */
}

static void
test_io_mod(void **state)
{
	struct evloop *loop;
	struct evloop_io *io;
	struct wr w = { 0 };
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv), 0);
	assert_int_equal(evloop_new(&loop), 0);
	assert_int_equal(evloop_add_fd(loop, sv[0], 0, on_write, &w, &io), 0);
	assert_int_equal(evloop_run_once(loop, 0), 0);
	assert_int_equal(evloop_io_mod(io, EVLOOP_OUT), 0);
	assert_int_equal(evloop_run_once(loop, 1000), 1);
	assert_int_equal(w.revents, EVLOOP_OUT);
	assert_int_equal(evloop_run_once(loop, 0), 0);
	assert_int_equal(w.calls, 1);
	assert_int_equal(evloop_io_mod(io, 0x40), -EINVAL);
	evloop_free(loop);	/* frees io too */
	close(sv[0]);
	close(sv[1]);
}

/* Two readable pipes: whichever callback runs first deletes both ios. */
struct pair {
	struct evloop_io *io[2];
	int fds[2][2];
	unsigned calls;
};

static void
on_pair(struct evloop_io *io, int fd, unsigned revents, void *arg)
{
	struct pair *pr = arg;

	pr->calls++;
	evloop_io_del(pr->io[0]);
	evloop_io_del(pr->io[1]);
	pr->io[0] = pr->io[1] = NULL;
	/* Closing right after del, and reusing the number, is allowed. */
	close(pr->fds[0][0]);
	close(pr->fds[1][0]);
}

static void
test_io_delete_during_dispatch(void **state)
{
	struct evloop *loop;
	struct pair pr = { 0 };
	struct rd fresh = { 0 };
	int p[2];

	assert_int_equal(evloop_new(&loop), 0);
	for (int i = 0; i < 2; i++) {
		mkpipe(pr.fds[i]);
		assert_int_equal(evloop_add_fd(loop, pr.fds[i][0], EVLOOP_IN, on_pair, &pr,
					       &pr.io[i]), 0);
		assert_int_equal(write(pr.fds[i][1], "x", 1), 1);
	}
	assert_int_equal(evloop_run_once(loop, 1000), 1);	/* the second is skipped */
	assert_int_equal(pr.calls, 1);
	/* A new descriptor, probably with a recycled number, works normally. */
	mkpipe(p);
	assert_int_equal(evloop_add_fd(loop, p[0], EVLOOP_IN, on_read, &fresh, NULL), 0);
	assert_int_equal(write(p[1], "ok", 2), 2);
	assert_int_equal(evloop_run_once(loop, 1000), 1);
	assert_string_equal(fresh.got, "ok");
	assert_int_equal(pr.calls, 1);
	evloop_free(loop);
	for (int i = 0; i < 2; i++)
		close(pr.fds[i][1]);
	close(p[0]);
	close(p[1]);
}

static void
on_reenter(struct evloop_io *io, int fd, unsigned revents, void *arg)
{
	struct evloop *loop = arg;
	uint64_t v;

	assert_int_equal(read(fd, &v, sizeof(v)), sizeof(v));
	assert_int_equal(evloop_run_once(loop, 0), -EBUSY);
}

static void
test_not_reentrant(void **state)
{
	struct evloop *loop;
	int efd = eventfd(1, EFD_CLOEXEC | EFD_NONBLOCK);

	assert_int_equal(evloop_new(&loop), 0);
	assert_int_equal(evloop_add_fd(loop, efd, EVLOOP_IN, on_reenter, loop, NULL), 0);
	assert_int_equal(evloop_run_once(loop, 1000), 1);
	evloop_free(loop);
	close(efd);
}

/* ---- timers ---- */

struct tlog {
	unsigned n;
	int order[1024];
	uint64_t now[1024];
};

struct tctx {
	struct tlog *log;
	int id;
	struct evloop *loop;
	struct evloop_timer *other;	/* to disarm or free */
	int action;			/* 0 none, 1 disarm other, 2 free other, 3 free self,
					   4 re-arm self at 0, 5 disarm self */
	struct evloop_timer *self;
};

static void
on_timer(struct evloop_timer *t, void *arg)
{
	struct tctx *c = arg;

	if (c->log->n < 1024) {
		c->log->order[c->log->n] = c->id;
		c->log->now[c->log->n] = evloop_now_ns(c->loop);
	}
	c->log->n++;
	switch (c->action) {
	case 1:
		evloop_timer_disarm(c->other);
		break;
	case 2:
		evloop_timer_free(c->other);
		break;
	case 3:
		evloop_timer_free(t);
		break;
	case 4:
		evloop_timer_arm(t, 0, 0);
		break;
	case 5:
		evloop_timer_disarm(t);
		break;
	}
}

static void
run_until(struct evloop *loop, const struct tlog *log, unsigned n)
{
	for (int i = 0; i < 1000 && log->n < n; i++)
		assert_true(evloop_run_once(loop, 100) >= 0);
	assert_int_equal(log->n, n);
}

static void
test_timer_order_and_oneshot(void **state)
{
	struct evloop *loop;
	struct tlog log = { 0 };
	struct tctx c[3];
	struct evloop_timer *t[3];
	static const unsigned delay_ms[3] = { 30, 10, 20 };
	uint64_t start;

	assert_int_equal(evloop_new(&loop), 0);
	start = evloop_now_ns(loop);
	for (int i = 0; i < 3; i++) {
		c[i] = (struct tctx){ .log = &log, .id = i, .loop = loop };
		assert_int_equal(evloop_timer_new(loop, on_timer, &c[i], &t[i]), 0);
		assert_false(evloop_timer_armed(t[i]));
		evloop_timer_arm(t[i], delay_ms[i] * MS, 0);
		assert_true(evloop_timer_armed(t[i]));
	}
	run_until(loop, &log, 3);
	assert_int_equal(log.order[0], 1);
	assert_int_equal(log.order[1], 2);
	assert_int_equal(log.order[2], 0);
	assert_true(log.now[0] >= start + 10 * MS);
	assert_true(log.now[2] >= start + 30 * MS);
	for (int i = 0; i < 3; i++)
		assert_false(evloop_timer_armed(t[i]));
	/* One-shot: nothing more. */
	assert_int_equal(evloop_run_once(loop, 40), 0);
	assert_int_equal(log.n, 3);
	evloop_timer_free(t[0]);
	evloop_timer_free(NULL);
	evloop_free(loop);	/* frees t[1], t[2] */
}

static void
test_timer_periodic_and_disarm(void **state)
{
	struct evloop *loop;
	struct tlog log = { 0 };
	struct tctx c;
	struct evloop_timer *t;
	uint64_t t0;
	int r;

	assert_int_equal(evloop_new(&loop), 0);
	c = (struct tctx){ .log = &log, .id = 7, .loop = loop };
	assert_int_equal(evloop_timer_new(loop, on_timer, &c, &t), 0);
	evloop_timer_arm(t, 1 * MS, 2 * MS);
	t0 = evloop_now_ns(loop);	/* arming outside a callback took the time */
	run_until(loop, &log, 4);
	/* A fixed schedule, never early (a late wake-up shortens the next gap
	   rather than shifting every later expiry). */
	for (unsigned i = 0; i < 4; i++)
		assert_true(log.now[i] >= t0 + 1 * MS + i * 2 * MS);
	assert_true(evloop_timer_armed(t));

	/* Fallen behind by many periods: one expiry, not a burst. */
	sleep_ms(30);
	r = evloop_run_once(loop, 100);
	assert_int_equal(r, 1);
	assert_int_equal(log.n, 5);

	/* Disarmed from its own callback. */
	c.action = 5;
	run_until(loop, &log, 6);
	assert_false(evloop_timer_armed(t));
	assert_int_equal(evloop_run_once(loop, 20), 0);
	assert_int_equal(log.n, 6);
	evloop_timer_free(t);
	evloop_free(loop);
}

static void
test_timer_rearm_at_once_waits_an_iteration(void **state)
{
	struct evloop *loop;
	struct tlog log = { 0 };
	struct tctx c;
	struct evloop_timer *t;

	assert_int_equal(evloop_new(&loop), 0);
	c = (struct tctx){ .log = &log, .id = 1, .loop = loop, .action = 4 };
	assert_int_equal(evloop_timer_new(loop, on_timer, &c, &t), 0);
	evloop_timer_arm(t, 0, 0);
	for (unsigned i = 1; i <= 5; i++) {
		assert_int_equal(evloop_run_once(loop, 1000), 1);
		assert_int_equal(log.n, i);
	}
	evloop_free(loop);
}

static void
test_timer_delete_during_dispatch(void **state)
{
	struct evloop *loop;
	struct tlog log = { 0 };
	struct tctx c[5];
	struct evloop_timer *t[5];

	assert_int_equal(evloop_new(&loop), 0);
	for (int i = 0; i < 5; i++) {
		c[i] = (struct tctx){ .log = &log, .id = i, .loop = loop };
		assert_int_equal(evloop_timer_new(loop, on_timer, &c[i], &t[i]), 0);
		c[i].self = t[i];
	}
	/* All due in the same batch, run in arming order (equal deadlines are
	   not guaranteed when armed outside a callback, so stagger by 1 ns):
	   0 disarms 1, 2 frees 3, 4 frees itself. */
	c[0].action = 1, c[0].other = t[1];
	c[2].action = 2, c[2].other = t[3];
	c[4].action = 3;
	for (int i = 0; i < 5; i++)
		evloop_timer_arm(t[i], 5 * MS + (uint64_t)i, 0);
	sleep_ms(10);
	assert_int_equal(evloop_run_once(loop, 1000), 3);
	assert_int_equal(log.n, 3);
	assert_int_equal(log.order[0], 0);
	assert_int_equal(log.order[1], 2);
	assert_int_equal(log.order[2], 4);
	assert_false(evloop_timer_armed(t[1]));
	assert_int_equal(evloop_run_once(loop, 20), 0);
	evloop_free(loop);	/* t[0], t[1], t[2] still registered */
}

/* A callback arms many timers at once (same cached now), out of order. */
struct many {
	struct evloop *loop;
	struct evloop_timer *t[1000];
	struct tctx c[1000];
	struct tlog log;
};

static void
on_arm_many(struct evloop_timer *self, void *arg)
{
	struct many *m = arg;

	/* deadline order = id; armed in a scrambled order */
	for (unsigned k = 0; k < 1000; k++) {
		unsigned i = (k * 7919u) % 1000u;

		evloop_timer_arm(m->t[i], (uint64_t)(i + 1) * 1000u, 0);
	}
	/* and some disarmed and re-armed again */
	for (unsigned i = 0; i < 1000; i += 3)
		evloop_timer_disarm(m->t[i]);
	for (unsigned i = 0; i < 1000; i += 6)
		evloop_timer_arm(m->t[i], (uint64_t)(i + 1) * 1000u, 0);
	evloop_timer_free(self);
}

static void
test_timer_heap_many(void **state)
{
	struct many *m = calloc(1, sizeof(*m));
	struct evloop_timer *starter;
	unsigned want = 0, k = 0;

	assert_non_null(m);
	assert_int_equal(evloop_new(&m->loop), 0);
	for (int i = 0; i < 1000; i++) {
		m->c[i] = (struct tctx){ .log = &m->log, .id = i, .loop = m->loop };
		assert_int_equal(evloop_timer_new(m->loop, on_timer, &m->c[i], &m->t[i]), 0);
	}
	assert_int_equal(evloop_timer_new(m->loop, on_arm_many, m, &starter), 0);
	evloop_timer_arm(starter, 0, 0);
	assert_int_equal(evloop_run_once(m->loop, 1000), 1);
	for (unsigned i = 0; i < 1000; i++)
		if (i % 3 != 0 || i % 6 == 0)
			want++;
	sleep_ms(5);
	run_until(m->loop, &m->log, want);
	for (unsigned i = 0; i < 1000; i++) {
		if (i % 3 == 0 && i % 6 != 0)
			continue;
		assert_int_equal(m->log.order[k++], (int)i);
	}
	evloop_free(m->loop);
	free(m);
}

/* ---- signals, break, embedding ---- */

struct sigs {
	unsigned usr1, usr2;
};

static void
on_signal(struct evloop *loop, int signo, void *arg)
{
	struct sigs *s = arg;

	if (signo == SIGUSR1)
		s->usr1++;
	if (signo == SIGUSR2)
		s->usr2++;
}

static void
test_signals(void **state)
{
	struct evloop *loop;
	struct sigs s = { 0 };
	sigset_t old, cur;

	assert_int_equal(pthread_sigmask(SIG_SETMASK, NULL, &old), 0);
	assert_int_equal(evloop_new(&loop), 0);
	assert_int_equal(evloop_add_signal(loop, SIGKILL, on_signal, &s), -EINVAL);
	assert_int_equal(evloop_add_signal(loop, 0, on_signal, &s), -EINVAL);
	assert_int_equal(evloop_add_signal(loop, SIGUSR1, on_signal, &s), 0);
	assert_int_equal(evloop_add_signal(loop, SIGUSR2, on_signal, &s), 0);
	assert_int_equal(pthread_sigmask(SIG_SETMASK, NULL, &cur), 0);
	assert_true(sigismember(&cur, SIGUSR1));
	assert_int_equal(raise(SIGUSR1), 0);
	assert_int_equal(evloop_run_once(loop, 1000), 1);
	assert_int_equal(s.usr1, 1);
	assert_int_equal(raise(SIGUSR2), 0);
	assert_int_equal(raise(SIGUSR1), 0);
	for (int i = 0; i < 10 && s.usr1 + s.usr2 < 3; i++)
		assert_true(evloop_run_once(loop, 1000) >= 0);
	assert_int_equal(s.usr1, 2);
	assert_int_equal(s.usr2, 1);
	evloop_free(loop);
	assert_int_equal(pthread_sigmask(SIG_SETMASK, &old, NULL), 0);
}

struct stopper {
	int efd;
};

static void *
stop_thread(void *arg)
{
	struct stopper *s = arg;
	uint64_t one = 1;

	sleep_ms(20);
	assert_int_equal(write(s->efd, &one, sizeof(one)), sizeof(one));
	return NULL;
}

static void
on_stop(struct evloop_io *io, int fd, unsigned revents, void *arg)
{
	struct evloop *loop = arg;
	uint64_t v;

	(void)!read(fd, &v, sizeof(v));
	evloop_break(loop);
}

static void
test_run_until_break_from_another_thread(void **state)
{
	struct evloop *loop;
	struct stopper s = { .efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK) };
	pthread_t th;

	assert_true(s.efd >= 0);
	assert_int_equal(evloop_new(&loop), 0);
	assert_int_equal(evloop_add_fd(loop, s.efd, EVLOOP_IN, on_stop, loop, NULL), 0);
	assert_int_equal(pthread_create(&th, NULL, stop_thread, &s), 0);
	assert_int_equal(evloop_run(loop), 0);
	pthread_join(th, NULL);
	/* A break while not running: the next run returns at once. */
	evloop_break(loop);
	assert_int_equal(evloop_run(loop), 0);
	evloop_free(loop);
	close(s.efd);
}

static void
test_embedding_fd(void **state)
{
	struct evloop *loop;
	struct tlog log = { 0 };
	struct tctx c;
	struct evloop_timer *t;
	struct pollfd p;

	assert_int_equal(evloop_new(&loop), 0);
	p = (struct pollfd){ .fd = evloop_fd(loop), .events = POLLIN };
	assert_int_equal(poll(&p, 1, 0), 0);
	c = (struct tctx){ .log = &log, .id = 1, .loop = loop };
	assert_int_equal(evloop_timer_new(loop, on_timer, &c, &t), 0);
	evloop_timer_arm(t, 5 * MS, 0);
	assert_int_equal(poll(&p, 1, 1000), 1);	/* the outer loop wakes ... */
	assert_int_equal(evloop_run_once(loop, 0), 1);	/* ... and runs this one */
	assert_int_equal(log.n, 1);
	evloop_free(loop);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_io_readable),
		cmocka_unit_test(test_io_edge),
		cmocka_unit_test(test_io_mod),
		cmocka_unit_test(test_io_delete_during_dispatch),
		cmocka_unit_test(test_not_reentrant),
		cmocka_unit_test(test_timer_order_and_oneshot),
		cmocka_unit_test(test_timer_periodic_and_disarm),
		cmocka_unit_test(test_timer_rearm_at_once_waits_an_iteration),
		cmocka_unit_test(test_timer_delete_during_dispatch),
		cmocka_unit_test(test_timer_heap_many),
		cmocka_unit_test(test_signals),
		cmocka_unit_test(test_run_until_break_from_another_thread),
		cmocka_unit_test(test_embedding_fd),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
