/*
 * run: moat-chaff's daemon from configuration to shutdown — loading the
 * decoys, opening the interface, dropping privileges and the event loop —
 * so that main.c only parses arguments and unit tests can drive the loop.
 *
 * The loop is a common/evloop: the packet socket, the SSH workers'
 * credential eventfd and each SSH session's socket are descriptor watches;
 * SIGTERM/SIGINT arrive through its signalfd; every time-driven action is a
 * timer armed only while it has work (announcements while a liveness round
 * is due or under way, the alarm windows while any alarm key is held, TCP
 * expiry while any connection is held). An idle moat-chaff sleeps until its
 * next liveness round.
 *
 * Errors are logged here (this is the daemon, not library code) and
 * returned as negative errnos.
 */
#ifndef MOAT_CHAFF_RUN_H
#define MOAT_CHAFF_RUN_H

#include <stdint.h>

struct chaff_run;
struct evloop;

/* chaff_run_start() flags */
enum {
	/* Stay as we are: no user change, no seccomp (unit tests). */
	CHAFF_RUN_NO_SANDBOX = 1u << 0,
	/* No SSH workers: SSH ports answer with a banner only (unit tests). */
	CHAFF_RUN_NO_SSHD = 1u << 1,
};

/* Periods of the time-driven work. */
#define CHAFF_RUN_ALIVE_TICK_NS	50000000ULL	/* announcements go out in batches at most this often */
#define CHAFF_RUN_ALARM_TICK_NS	1000000000ULL	/* alarm windows end within this of their time */
#define CHAFF_RUN_EXPIRE_NS	5000000000ULL	/* idle connections are looked for this often */
#define CHAFF_RUN_IDLE_NS	30000000000ULL	/* half-open and closing connections idle this long go */

/* Load the configuration at path and build every decoy and personality. */
int chaff_run_load(const char *path, struct chaff_run **ret_ch);

/* -n: check that the interface exists and print a summary; 0 or -ENODEV. */
int chaff_run_check(const struct chaff_run *ch, const char *path);

/*
 * Open everything the loop needs and drop privileges: alarm sinks, the
 * packet socket on the configured interface — or, when l2_fd >= 0, that
 * datagram socket standing in for it (taken over: closed by
 * chaff_run_free()) — signals, the SSH workers and the POST worker, then the
 * sandbox, then the timers; the first liveness round (the start-up
 * announcement) begins now.
 */
int chaff_run_start(struct chaff_run *ch, int l2_fd, unsigned flags);

/* The loop, for tests that run it one iteration at a time. */
struct evloop *chaff_run_evloop(struct chaff_run *ch);

/* Run until SIGTERM/SIGINT (0) or a fatal error (the interface was removed:
   a negative errno). */
int chaff_run_loop(struct chaff_run *ch);

/* Frames received and sent so far. */
void chaff_run_counts(const struct chaff_run *ch, uint64_t *ret_frames, uint64_t *ret_sent);

/* Report every pending alarm, log the statistics when started, and free
   everything. Accepts NULL. */
void chaff_run_free(struct chaff_run *ch);

#endif
