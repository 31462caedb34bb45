/*
 * evloop: the one event loop for moat's own threads: descriptors (epoll),
 * timers (one timerfd) and signals (one signalfd), single-threaded.
 *
 * Written for the collector's network thread (UDP and TCP sockets, stopped
 * through an eventfd), moat-ins's broker (many connections, a timer each)
 * and moat-chaff (a raw socket and periodic timers). The engine's REST side
 * stays on libevent; evloop_fd() lets an evloop be driven from another loop.
 *
 * Contract:
 * - One thread owns a loop: every call, including evloop_break(), comes from
 *   that thread (from callbacks or between runs). Another thread wakes or
 *   stops a loop through an eventfd that the loop watches.
 * - Descriptors are level-triggered: a callback that leaves data unread is
 *   called again on the next iteration, so callers may read a bounded amount
 *   per call (fairness under floods) without losing wake-ups.
 * - Registration allocates; dispatch never does. An iteration handles at
 *   most EVLOOP_BATCH ready descriptors, the rest on the next one.
 * - Any io or timer may be modified, deleted or freed from any callback,
 *   including its own: objects deleted during dispatch are freed after it,
 *   and a deleted io whose event is still in the current batch is skipped.
 *   A descriptor must be deleted before it is closed.
 * - Timers use CLOCK_MONOTONIC in nanoseconds. Callbacks see one cached time
 *   per iteration (evloop_now_ns()), taken when the wait returns.
 *
 * Library code: returns a negative errno and never logs.
 */
#ifndef MOAT_EVLOOP_H
#define MOAT_EVLOOP_H

#include <stdbool.h>
#include <stdint.h>

/* Ready descriptors handled per iteration. */
#define EVLOOP_BATCH 64

/* Interest (evloop_add_fd, evloop_io_mod) and readiness (callbacks). */
enum {
	EVLOOP_IN = 1u << 0,	/* readable, or a peer closed (read returns 0) */
	EVLOOP_OUT = 1u << 1,	/* writable */
	EVLOOP_ERR = 1u << 2,	/* error pending: readiness only, always reported */
	EVLOOP_HUP = 1u << 3,	/* hang-up: readiness only, always reported */
	/* Interest only: edge-triggered (EPOLLET), reported once per change of
	   readiness instead of while ready. For descriptors whose data is
	   peeked at rather than read (moat-ins's held connections), which
	   level-triggered would report on every iteration. */
	EVLOOP_EDGE = 1u << 4,
};

struct evloop;
struct evloop_io;
struct evloop_timer;

typedef void evloop_io_fn(struct evloop_io *io, int fd, unsigned revents, void *arg);
typedef void evloop_timer_fn(struct evloop_timer *t, void *arg);
typedef void evloop_signal_fn(struct evloop *loop, int signo, void *arg);

/* A new loop: 0 or a negative errno. Its descriptors are CLOEXEC. */
int evloop_new(struct evloop **ret_loop);

/*
 * Free the loop with every io and timer still registered on it (the
 * callers' descriptors stay open: they belong to the callers). Signals
 * registered with evloop_add_signal() stay blocked. Accepts NULL; not from a
 * callback of the same loop.
 */
void evloop_free(struct evloop *loop);

/*
 * The loop's epoll descriptor: readable when evloop_run_once(loop, 0) has
 * work, for driving this loop from another one.
 */
int evloop_fd(const struct evloop *loop);

/* Monotonic time cached at the start of this iteration's dispatch, in ns. */
uint64_t evloop_now_ns(const struct evloop *loop);

/*
 * Watch fd for events (EVLOOP_IN and/or EVLOOP_OUT; 0 registers it idle):
 * cb(io, fd, revents, arg) runs when it is ready. *ret_io (optional) is the
 * handle for evloop_io_mod()/evloop_io_del(); without it the io lives until
 * evloop_free(). -EEXIST when fd is already registered on this loop,
 * -EINVAL for unknown event bits.
 */
int evloop_add_fd(struct evloop *loop, int fd, unsigned events, evloop_io_fn *cb, void *arg,
		  struct evloop_io **ret_io);

/* Change the interest set of io (e.g. add EVLOOP_OUT while output is queued). */
int evloop_io_mod(struct evloop_io *io, unsigned events);

/* Stop watching and free io (deferred while dispatching). Accepts NULL.
   The descriptor stays open. */
void evloop_io_del(struct evloop_io *io);

/* A new, disarmed timer: cb(t, arg) runs each time it expires. Its slot in
   the deadline heap is reserved here, so arming never allocates. */
int evloop_timer_new(struct evloop *loop, evloop_timer_fn *cb, void *arg,
		     struct evloop_timer **ret_timer);

/*
 * (Re)arm t to expire first_ns from now, then every interval_ns (0: once).
 * "Now" is the cached iteration time inside callbacks and the current time
 * outside them. A periodic timer that falls behind skips the missed
 * expiries rather than firing in a burst. A timer armed or re-armed from a
 * callback never runs again in the same iteration.
 */
void evloop_timer_arm(struct evloop_timer *t, uint64_t first_ns, uint64_t interval_ns);

/* Disarm t; nothing runs until it is armed again. */
void evloop_timer_disarm(struct evloop_timer *t);

bool evloop_timer_armed(const struct evloop_timer *t);

/* Disarm and free t (deferred while dispatching). Accepts NULL. */
void evloop_timer_free(struct evloop_timer *t);

/*
 * Deliver signo through the loop: the signal is blocked in the calling
 * thread (threads created later inherit the mask; create them after this
 * call, or block the signal in them) and read from one signalfd; cb(loop,
 * signo, arg) runs once per delivered signal (standard signals that arrive
 * together are merged by the kernel). A second call for the same signo
 * replaces its callback. -EINVAL for SIGKILL, SIGSTOP or an invalid number.
 */
int evloop_add_signal(struct evloop *loop, int signo, evloop_signal_fn *cb, void *arg);

/*
 * Wait at most timeout_ms (-1: until something happens, 0: not at all) and
 * dispatch what is ready, in the order the kernel reports it; due timers run
 * in deadline order (ties in arming order). Returns the number of callbacks
 * run (0 on timeout or EINTR), -EBUSY when called from one of this loop's
 * callbacks, or a negative errno from epoll_wait.
 */
int evloop_run_once(struct evloop *loop, int timeout_ms);

/* Run iterations until evloop_break(); 0, or a negative errno. */
int evloop_run(struct evloop *loop);

/* Make evloop_run() return after the current iteration. A break requested
   while the loop is not running makes the next evloop_run() return at once. */
void evloop_break(struct evloop *loop);

#endif
