/*
 * evloop: epoll + one timerfd + one signalfd. See evloop.h.
 *
 * Timers: one timerfd for the whole loop, programmed (absolute time) for the
 * earliest deadline of a binary min-heap, rather than one timerfd per timer.
 * The broker keeps a timer per connection: a descriptor each would count
 * against RLIMIT_NOFILE next to the connections themselves and cost an
 * epoll_ctl per timer; the heap costs O(log n) per arm and one
 * timerfd_settime only when the earliest deadline moves. Heap slots are
 * reserved when a timer is created, so arming never allocates.
 *
 * Deferred free: objects deleted while dispatching go on a zombie list that
 * is emptied when the batch is done, so a pointer still in the batch (or on
 * the due-timer list) is never dangling; the dead flag makes it skipped.
 */
#include "common/evloop.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"

#define EVLOOP_NO_SLOT UINT32_MAX

struct evloop_io {
	struct evloop *loop;
	int fd;
	unsigned events;
	evloop_io_fn *cb;
	void *arg;
	bool dead;
	bool internal;		/* the loop's own timerfd/signalfd */
	struct evloop_io *prev, *next;	/* live list, or zombie list once dead */
};

enum evloop_timer_state {
	EVLOOP_T_IDLE,
	EVLOOP_T_ARMED,		/* in the heap */
	EVLOOP_T_DUE,		/* on this iteration's due list */
};

struct evloop_timer {
	struct evloop *loop;
	evloop_timer_fn *cb;
	void *arg;
	uint64_t deadline_ns;
	uint64_t interval_ns;
	uint64_t seq;		/* arming order: ties on deadline */
	uint32_t slot;		/* heap index while armed */
	enum evloop_timer_state state;
	bool dead;
	struct evloop_timer *prev, *next;	/* live list, or zombie list once dead */
	struct evloop_timer *due_next;
};

struct evloop_sig {
	evloop_signal_fn *cb;
	void *arg;
};

struct evloop {
	int epfd;
	int tfd;
	int sfd;
	uint64_t now_ns;
	bool dispatching;
	bool brk;
	unsigned ncalls;		/* user callbacks run this iteration */
	struct evloop_io *ios;		/* live */
	struct evloop_io *dead_ios;
	struct evloop_timer *timers;	/* live */
	struct evloop_timer *dead_timers;
	struct evloop_timer **heap;
	uint32_t nheap;
	uint32_t heap_cap;
	uint32_t ntimers;		/* allocated, live or dead: bounds nheap */
	uint64_t tfd_at;		/* deadline programmed into tfd, 0: disarmed */
	uint64_t arm_seq;
	struct evloop_io *tfd_io;
	struct evloop_io *sfd_io;
	sigset_t sigs;
	struct evloop_sig sig[_NSIG];
};

/* ---- descriptors ---- */

static uint32_t
evloop_to_epoll(unsigned events)
{
	return ((events & EVLOOP_IN) ? (uint32_t)EPOLLIN : 0) |
	       ((events & EVLOOP_OUT) ? (uint32_t)EPOLLOUT : 0) |
	       ((events & EVLOOP_EDGE) ? (uint32_t)EPOLLET : 0);
}

static unsigned
evloop_from_epoll(uint32_t ev)
{
	return ((ev & EPOLLIN) ? EVLOOP_IN : 0u) | ((ev & EPOLLOUT) ? EVLOOP_OUT : 0u) |
	       ((ev & EPOLLERR) ? EVLOOP_ERR : 0u) | ((ev & EPOLLHUP) ? EVLOOP_HUP : 0u);
}

static void
evloop_io_unlink(struct evloop_io *io)
{
	struct evloop *loop = io->loop;

	if (io->prev)
		io->prev->next = io->next;
	else
		loop->ios = io->next;
	if (io->next)
		io->next->prev = io->prev;
	io->prev = io->next = NULL;
}

int
evloop_add_fd(struct evloop *loop, int fd, unsigned events, evloop_io_fn *cb, void *arg,
	      struct evloop_io **ret_io)
{
	struct epoll_event ev = { .events = evloop_to_epoll(events) };
	struct evloop_io *io;

	if ((events & ~(unsigned)(EVLOOP_IN | EVLOOP_OUT | EVLOOP_EDGE)) || fd < 0 || cb == NULL)
		return -EINVAL;
	if ((io = calloc(1, sizeof(*io))) == NULL)
		return -ENOMEM;
	io->loop = loop;
	io->fd = fd;
	io->events = events;
	io->cb = cb;
	io->arg = arg;
	ev.data.ptr = io;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int r = -errno;

		free(io);
		return r;
	}
	io->next = loop->ios;
	if (loop->ios)
		loop->ios->prev = io;
	loop->ios = io;
	if (ret_io)
		*ret_io = io;
	return 0;
}

int
evloop_io_mod(struct evloop_io *io, unsigned events)
{
	struct epoll_event ev = { .events = evloop_to_epoll(events), .data.ptr = io };

	if (events & ~(unsigned)(EVLOOP_IN | EVLOOP_OUT | EVLOOP_EDGE))
		return -EINVAL;
	if (io->dead)
		return -ENOENT;
	if (events == io->events)
		return 0;
	if (epoll_ctl(io->loop->epfd, EPOLL_CTL_MOD, io->fd, &ev) < 0)
		return -errno;
	io->events = events;
	return 0;
}

void
evloop_io_del(struct evloop_io *io)
{
	struct evloop *loop;

	if (io == NULL || io->dead)
		return;
	loop = io->loop;
	/* Fails only when the caller closed the descriptor first, which
	   already removed it from the interest list. */
	(void)epoll_ctl(loop->epfd, EPOLL_CTL_DEL, io->fd, NULL);
	io->dead = true;
	evloop_io_unlink(io);
	if (loop->dispatching) {
		io->next = loop->dead_ios;
		loop->dead_ios = io;
	} else {
		free(io);
	}
}

/* ---- timers: a min-heap on (deadline, arming order) ---- */

static bool
evloop_timer_before(const struct evloop_timer *a, const struct evloop_timer *b)
{
	return a->deadline_ns < b->deadline_ns ||
	       (a->deadline_ns == b->deadline_ns && a->seq < b->seq);
}

static void
evloop_heap_set(struct evloop *loop, uint32_t i, struct evloop_timer *t)
{
	loop->heap[i] = t;
	t->slot = i;
}

static void
evloop_heap_up(struct evloop *loop, uint32_t i)
{
	struct evloop_timer *t = loop->heap[i];

	while (i > 0) {
		uint32_t parent = (i - 1) / 2;

		if (!evloop_timer_before(t, loop->heap[parent]))
			break;
		evloop_heap_set(loop, i, loop->heap[parent]);
		i = parent;
	}
	evloop_heap_set(loop, i, t);
}

static void
evloop_heap_down(struct evloop *loop, uint32_t i)
{
	struct evloop_timer *t = loop->heap[i];

	for (;;) {
		uint32_t c = 2 * i + 1;

		if (c >= loop->nheap)
			break;
		if (c + 1 < loop->nheap && evloop_timer_before(loop->heap[c + 1], loop->heap[c]))
			c++;
		if (!evloop_timer_before(loop->heap[c], t))
			break;
		evloop_heap_set(loop, i, loop->heap[c]);
		i = c;
	}
	evloop_heap_set(loop, i, t);
}

static void
evloop_heap_push(struct evloop *loop, struct evloop_timer *t)
{
	/* Cannot overflow: a slot per timer was reserved by evloop_timer_new(). */
	loop->heap[loop->nheap] = t;
	evloop_heap_up(loop, loop->nheap++);
	t->state = EVLOOP_T_ARMED;
}

static void
evloop_heap_remove(struct evloop *loop, struct evloop_timer *t)
{
	uint32_t i = t->slot;
	struct evloop_timer *last = loop->heap[--loop->nheap];

	t->slot = EVLOOP_NO_SLOT;
	if (last == t)
		return;
	evloop_heap_set(loop, i, last);
	if (i > 0 && evloop_timer_before(last, loop->heap[(i - 1) / 2]))
		evloop_heap_up(loop, i);
	else
		evloop_heap_down(loop, i);
}

/* Program the timerfd for the earliest deadline, if it moved. */
static void
evloop_timer_sync(struct evloop *loop)
{
	struct itimerspec its = { 0 };
	uint64_t want = loop->nheap > 0 ? loop->heap[0]->deadline_ns : 0;

	if (loop->nheap > 0 && want == 0)
		want = 1;	/* 0 would disarm: "at once" is any time in the past */
	if (want == loop->tfd_at)
		return;
	its.it_value.tv_sec = (time_t)(want / CLOCK_NS_PER_SEC);
	its.it_value.tv_nsec = (long)(want % CLOCK_NS_PER_SEC);
	/* Cannot fail: the descriptor is ours and the time is valid. */
	(void)timerfd_settime(loop->tfd, TFD_TIMER_ABSTIME, &its, NULL);
	loop->tfd_at = want;
}

/* Called after any heap change: during dispatch the sync waits for the end. */
static void
evloop_timer_changed(struct evloop *loop)
{
	if (!loop->dispatching)
		evloop_timer_sync(loop);
}

static uint64_t
evloop_add_sat(uint64_t a, uint64_t b)
{
	return b > UINT64_MAX - a ? UINT64_MAX : a + b;
}

int
evloop_timer_new(struct evloop *loop, evloop_timer_fn *cb, void *arg,
		 struct evloop_timer **ret_timer)
{
	struct evloop_timer *t;

	if (cb == NULL)
		return -EINVAL;
	if (loop->ntimers == loop->heap_cap) {
		uint32_t cap = loop->heap_cap ? loop->heap_cap * 2 : 16;
		struct evloop_timer **h;

		if (loop->heap_cap >= UINT32_MAX / 2)
			return -ENOMEM;
		if ((h = realloc(loop->heap, (size_t)cap * sizeof(*h))) == NULL)
			return -ENOMEM;
		loop->heap = h;
		loop->heap_cap = cap;
	}
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return -ENOMEM;
	t->loop = loop;
	t->cb = cb;
	t->arg = arg;
	t->slot = EVLOOP_NO_SLOT;
	t->state = EVLOOP_T_IDLE;
	t->next = loop->timers;
	if (loop->timers)
		loop->timers->prev = t;
	loop->timers = t;
	loop->ntimers++;
	*ret_timer = t;
	return 0;
}

static void
evloop_timer_unqueue(struct evloop_timer *t)
{
	if (t->state == EVLOOP_T_ARMED)
		evloop_heap_remove(t->loop, t);
	t->state = EVLOOP_T_IDLE;	/* a DUE timer is skipped by the dispatcher */
}

void
evloop_timer_arm(struct evloop_timer *t, uint64_t first_ns, uint64_t interval_ns)
{
	struct evloop *loop = t->loop;

	if (t->dead)
		return;
	evloop_timer_unqueue(t);
	if (!loop->dispatching)
		loop->now_ns = clock_now_ns(CLOCK_MONOTONIC);
	t->deadline_ns = evloop_add_sat(loop->now_ns, first_ns);
	t->interval_ns = interval_ns;
	t->seq = loop->arm_seq++;
	evloop_heap_push(loop, t);
	evloop_timer_changed(loop);
}

void
evloop_timer_disarm(struct evloop_timer *t)
{
	if (t->dead)
		return;
	evloop_timer_unqueue(t);
	evloop_timer_changed(t->loop);
}

bool
evloop_timer_armed(const struct evloop_timer *t)
{
	return !t->dead && t->state != EVLOOP_T_IDLE;
}

void
evloop_timer_free(struct evloop_timer *t)
{
	struct evloop *loop;

	if (t == NULL || t->dead)
		return;
	loop = t->loop;
	evloop_timer_disarm(t);
	t->dead = true;
	if (t->prev)
		t->prev->next = t->next;
	else
		loop->timers = t->next;
	if (t->next)
		t->next->prev = t->prev;
	t->prev = NULL;
	if (loop->dispatching) {
		t->next = loop->dead_timers;
		loop->dead_timers = t;
	} else {
		free(t);
		loop->ntimers--;
	}
}

/* The timerfd fired: run every timer due at the cached time, once. */
static void
evloop_on_timerfd(struct evloop_io *io, int fd, unsigned revents, void *arg)
{
	struct evloop *loop = arg;
	struct evloop_timer *due = NULL, **tail = &due;
	uint64_t expirations;

	/* Only clears readiness; the heap, not the count, says what is due. */
	(void)!read(fd, &expirations, sizeof(expirations));
	/* Collect first, run after: a timer a callback re-arms "at once"
	   waits for the next iteration instead of looping here. */
	while (loop->nheap > 0 && loop->heap[0]->deadline_ns <= loop->now_ns) {
		struct evloop_timer *t = loop->heap[0];

		evloop_heap_remove(loop, t);
		t->state = EVLOOP_T_DUE;
		t->due_next = NULL;
		*tail = t;
		tail = &t->due_next;
	}
	for (struct evloop_timer *t = due; t != NULL; t = t->due_next) {
		if (t->state != EVLOOP_T_DUE)
			continue;	/* disarmed, re-armed or freed by an earlier callback */
		t->state = EVLOOP_T_IDLE;
		if (t->interval_ns > 0) {
			t->deadline_ns = evloop_add_sat(t->deadline_ns, t->interval_ns);
			if (t->deadline_ns <= loop->now_ns)
				t->deadline_ns = evloop_add_sat(loop->now_ns, t->interval_ns);
			t->seq = loop->arm_seq++;
			evloop_heap_push(loop, t);
		}
		loop->ncalls++;
		t->cb(t, t->arg);
	}
	/* The timerfd is re-programmed when the batch is done. */
	loop->tfd_at = UINT64_MAX;
}

/* ---- signals ---- */

static void
evloop_on_signalfd(struct evloop_io *io, int fd, unsigned revents, void *arg)
{
	struct evloop *loop = arg;
	struct signalfd_siginfo si;

	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		int signo = (int)si.ssi_signo;

		if (signo > 0 && signo < _NSIG && loop->sig[signo].cb) {
			loop->ncalls++;
			loop->sig[signo].cb(loop, signo, loop->sig[signo].arg);
		}
	}
}

int
evloop_add_signal(struct evloop *loop, int signo, evloop_signal_fn *cb, void *arg)
{
	sigset_t set = loop->sigs, one;
	int fd, r;

	if (signo <= 0 || signo >= _NSIG || signo == SIGKILL || signo == SIGSTOP || cb == NULL)
		return -EINVAL;
	if (sigaddset(&set, signo) < 0)
		return -EINVAL;
	fd = signalfd(loop->sfd, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (loop->sfd < 0) {
		r = evloop_add_fd(loop, fd, EVLOOP_IN, evloop_on_signalfd, loop, &loop->sfd_io);
		if (r < 0) {
			close(fd);
			return r;
		}
		loop->sfd_io->internal = true;
		loop->sfd = fd;
	}
	sigemptyset(&one);
	sigaddset(&one, signo);
	r = pthread_sigmask(SIG_BLOCK, &one, NULL);
	if (r != 0)
		return -r;
	loop->sigs = set;
	loop->sig[signo].cb = cb;
	loop->sig[signo].arg = arg;
	return 0;
}

/* ---- the loop ---- */

int
evloop_new(struct evloop **ret_loop)
{
	struct evloop *loop;
	int r;

	if ((loop = calloc(1, sizeof(*loop))) == NULL)
		return -ENOMEM;
	loop->tfd = loop->sfd = -1;
	sigemptyset(&loop->sigs);
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0) {
		r = -errno;
		goto fail;
	}
	loop->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (loop->tfd < 0) {
		r = -errno;
		goto fail;
	}
	r = evloop_add_fd(loop, loop->tfd, EVLOOP_IN, evloop_on_timerfd, loop, &loop->tfd_io);
	if (r < 0)
		goto fail;
	loop->tfd_io->internal = true;
	loop->now_ns = clock_now_ns(CLOCK_MONOTONIC);
	*ret_loop = loop;
	return 0;
fail:
	evloop_free(loop);
	return r;
}

static void
evloop_reap(struct evloop *loop)
{
	while (loop->dead_ios) {
		struct evloop_io *io = loop->dead_ios;

		loop->dead_ios = io->next;
		free(io);
	}
	while (loop->dead_timers) {
		struct evloop_timer *t = loop->dead_timers;

		loop->dead_timers = t->next;
		free(t);
		loop->ntimers--;
	}
}

void
evloop_free(struct evloop *loop)
{
	if (loop == NULL)
		return;
	evloop_reap(loop);
	while (loop->ios) {
		struct evloop_io *io = loop->ios;

		loop->ios = io->next;
		free(io);
	}
	while (loop->timers) {
		struct evloop_timer *t = loop->timers;

		loop->timers = t->next;
		free(t);
	}
	free(loop->heap);
	if (loop->sfd >= 0)
		close(loop->sfd);
	if (loop->tfd >= 0)
		close(loop->tfd);
	if (loop->epfd >= 0)
		close(loop->epfd);
	free(loop);
}

int
evloop_fd(const struct evloop *loop)
{
	return loop->epfd;
}

uint64_t
evloop_now_ns(const struct evloop *loop)
{
	return loop->now_ns;
}

int
evloop_run_once(struct evloop *loop, int timeout_ms)
{
	struct epoll_event evs[EVLOOP_BATCH];
	int n;

	if (loop->dispatching)
		return -EBUSY;
	n = epoll_wait(loop->epfd, evs, EVLOOP_BATCH, timeout_ms < 0 ? -1 : timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	loop->now_ns = clock_now_ns(CLOCK_MONOTONIC);
	loop->ncalls = 0;
	loop->dispatching = true;
	for (int i = 0; i < n; i++) {
		struct evloop_io *io = evs[i].data.ptr;

		if (io->dead)
			continue;	/* deleted by an earlier callback of this batch */
		if (!io->internal)
			loop->ncalls++;
		io->cb(io, io->fd, evloop_from_epoll(evs[i].events), io->arg);
	}
	loop->dispatching = false;
	evloop_reap(loop);
	evloop_timer_sync(loop);
	return (int)loop->ncalls;
}

int
evloop_run(struct evloop *loop)
{
	for (;;) {
		int r;

		if (loop->brk) {
			loop->brk = false;
			return 0;
		}
		r = evloop_run_once(loop, -1);
		if (r < 0)
			return r;
	}
}

void
evloop_break(struct evloop *loop)
{
	loop->brk = true;
}
