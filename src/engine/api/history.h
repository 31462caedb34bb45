/*
 * api_history: the last few minutes of each PO's inbound traffic, one point
 * per reading interval, for the dashboard's charts — GET
 * /api/v1/pos/{name}/history.
 *
 * A module of its own (ENGINE_MOD_HISTORY, its row in core/modules.c): its
 * state lives in the engine's slot (api_history_get()), its tick runs after
 * the collector's in the same interval and samples the counters the engine
 * wired to it (api_history_set_counters(): pps, bit/s and SYN/s of the last
 * interval and the 60 s average pps, per protocol) into a ring of
 * LIMIT_HISTORY_POINTS points per PO, for the LIMIT_HISTORY_POS POs with
 * the lowest ids (the others answer an empty history). A PO that is deleted,
 * or no longer among those, loses its ring at once (pos_changed). Memory is
 * allocated once at init. It reads no other module: without counters (no
 * collection) every history is empty.
 *
 * The rings themselves (api_history_new/record/prune/json) take no engine,
 * so unit tests drive them with real counters and a PO table of their own.
 */
#ifndef MOAT_ENGINE_API_HISTORY_H
#define MOAT_ENGINE_API_HISTORY_H

#include <stdint.h>

#include <jansson.h>

struct api_history;
struct api_req;
struct counters;
struct engine;
struct poset;

/* The module row (core/modules.h states the lifecycle). */
int api_history_init(struct engine *e, void **ret_state);
void api_history_fini(void *state);
void api_history_tick(void *state, uint64_t now_ns);
void api_history_pos_changed(void *state);

/* The history of engine e (its slot), or NULL when it is not running. */
struct api_history *api_history_get(struct engine *e);
/* The engine's wiring: the counters to sample (NULL: none, nothing recorded). */
void api_history_set_counters(struct api_history *h, const struct counters *c);

/* Empty rings, not tied to an engine. -ENOMEM. */
int api_history_new(struct api_history **ret);
void api_history_free(struct api_history *h);	/* accepts NULL */

/*
 * Add one point at wall time wall_ns to the ring of each of the first
 * LIMIT_HISTORY_POS POs of set (by id), read from c's last interval; rings
 * of other names are dropped first.
 */
void api_history_record(struct api_history *h, const struct poset *set,
    const struct counters *c, uint64_t wall_ns);
/* Drop the rings of names that are not among the first LIMIT_HISTORY_POS
 * POs of set. */
void api_history_prune(struct api_history *h, const struct poset *set);

/* The reply body for PO name: its last `seconds` points (1..LIMIT_HISTORY_POINTS),
 * oldest first; empty arrays when it has no ring. NULL on allocation failure. */
json_t *api_history_json(const struct api_history *h, const char *name, uint32_t seconds);

/* The query's ?seconds= (NULL: absent, LIMIT_HISTORY_POINTS): 1..that, else -EINVAL. */
int api_history_seconds(const char *q, uint32_t *ret);

/* GET /api/v1/pos/{name}/history[?seconds=N] */
void api_history_po(struct api_req *r);

#endif
