/*
 * loop: moatd's event loop (libevent) — the 1 s engine tick (on packet time
 * instead the replay's clock driver, engine_clock_driver_fd()), signals, the
 * REST API server and the systemd notifications. Glue only: domain code
 * never sees the event library.
 *
 * SIGTERM/SIGINT stop gracefully (stop accepting, finish the current
 * callback, return so the caller flushes and closes the store); SIGHUP
 * reloads the configuration file (a bad file is logged and ignored).
 */
#ifndef MOAT_ENGINE_LOOP_H
#define MOAT_ENGINE_LOOP_H

#include <stdbool.h>

#include "engine/core/engine.h"

struct loop_opts {
	const char *conf_path;	/* for SIGHUP; NULL: default path or defaults */
	bool debug;		/* -d: keep debug logging to stderr across reloads */
	const char *token;	/* the API bearer token */
	/* Called once the API listens, before the loop turns (privilege
	 * separation drops privileges here); non-zero stops moatd with 1. */
	int (*ready)(void *arg);
	void *ready_arg;
};

/* Run until a stop is requested; returns the exit code (0, or 1 when the
 * health tracker asked for a restart or the API could not start). */
int loop_run(struct engine *e, const struct loop_opts *o);

#endif
