/*
 * api_history: the last few minutes of each PO's inbound traffic, one point
 * per reading interval, for the dashboard's charts — GET
 * /api/v1/pos/{name}/history.
 *
 * A tick callback samples the collector's per-PO counters (pps, bit/s and
 * SYN/s of the last interval, and the 60 s average pps, per protocol) into a
 * ring of LIMIT_HISTORY_POINTS points per PO, for at most
 * LIMIT_HISTORY_POS POs (the lowest ids; the others answer an empty
 * history). A deleted PO's ring is dropped at the next tick. Memory is
 * allocated once at start.
 */
#ifndef MOAT_ENGINE_API_HISTORY_H
#define MOAT_ENGINE_API_HISTORY_H

#include <stdint.h>

struct api_history;
struct api_req;
struct engine;

/* Allocate the rings and register the tick. Returns -ENOMEM or -ENOSPC. */
int api_history_start(struct engine *e, struct api_history **ret);
/* Only after the engine's loop stopped ticking (the tick cannot be
 * unregistered). Accepts NULL. */
void api_history_free(struct api_history *h);

/* The tick (exported for unit tests). */
void api_history_tick(struct engine *e, uint64_t now_ns, void *arg);

/* GET /api/v1/pos/{name}/history[?seconds=N] */
void api_history_po(struct api_req *r);

#endif
