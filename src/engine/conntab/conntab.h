/*
 * conntab: the connections moat-ins reports over IPFIX (docs/ins.md,
 * "Telemetry: IPFIX"), as moatd sees them: `moat connections` and
 * GET /api/v1/connections.
 *
 * The collector's network thread decodes moat-ins records into struct
 * ipfix_conn and queues them here (conntab_sink; a bounded queue, overflow
 * counted); each engine tick drains the queue into a bounded table keyed by
 * (exporter address, observation domain, connection id). An entry holds the
 * connection's state, endpoints, times, cumulative bytes, the TCP_INFO
 * figures of its latest record and the PO of its local address. Ended
 * connections (closed, shed as slow, dropped before handoff) stay visible
 * for `connections.retention` (default 300 s); when the table is full the
 * oldest ended entry is evicted, else the least recently updated open one.
 *
 * Slow verdicts (SLOW_BODY, SLOW_READ, IDLE, HOLD_TIMEOUT, CAPPED) become
 * detections on the PO of the local address — detector "ins", type hint
 * slow-connection, one per (PO, port) per tick, the offending peers feeding
 * the attack's top sources — and one flight entry (category "ins") per
 * (PO, port) burst.
 *
 * The byte and packet deltas of the same records are counted as flows by
 * the collector's counters as before; this table does not count traffic.
 *
 * Wiring: the table lives in the engine's ENGINE_MOD_CONNTAB slot
 * (conntab_get()); its row of engine_modules[] (core/modules.c) comes
 * before the collector's and names the `connections:` section and the
 * GET /api/v1/connections route (api/connections.c). It includes neither
 * the collector nor the engine's table: the engine hands the collector
 * conntab_sink() with this table as its context (before the collector's
 * threads start; they stop before this module's fini) and hands this
 * table the detection module (conntab_set_detection()).
 */
#ifndef MOAT_ENGINE_CONNTAB_H
#define MOAT_ENGINE_CONNTAB_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "collect/ipfix.h"
#include "common/cfg.h"
#include "proto/insie.h"
#include "engine/core/engine.h"

enum conntab_state { CONNTAB_OPEN, CONNTAB_CLOSED, CONNTAB_SLOW, CONNTAB_DROPPED, CONNTAB_STATE__COUNT };

#define CONNTAB_NONE UINT32_MAX	/* no entry / no PO */

struct conntab_conn {
	struct ipaddr exporter;
	uint32_t domain;
	uint64_t conn_id;
	uint8_t state;			/* enum conntab_state */
	uint8_t last_event;		/* enum insie_event (or what moat-ins sent) */
	bool ended;
	uint32_t po_id;			/* CONNTAB_NONE when no PO covers the local address */
	struct ipaddr src, dst;		/* peer (client), local (application) */
	uint16_t sport, dport;
	uint64_t start_ms, last_ms, end_ms;	/* Unix ms; end_ms 0 while open */
	uint64_t bytes_in, bytes_out, packets;
	uint32_t rtt_us, retrans, snd_wnd, rcv_wnd, rqueue, wqueue;
	uint32_t held_ms, ttfb_ms, headers_ms;	/* IPFIX_CONN_UNKNOWN when not measured */
	uint32_t events;		/* records received */
	uint64_t ended_ns;		/* monotonic, for retention */
};

struct conntab_stats {
	uint64_t events[INSIE_EVENT__COUNT];	/* by kind; [0]: unknown kinds */
	uint64_t evictions, expired, queue_drops;
	uint64_t open, entries;
};

struct conntab;

/* --- the table (engine-independent, for tests) --- */

/* A table of at most cap entries, ended ones kept retention_ns. NULL + errno. */
struct conntab *conntab_new(uint32_t cap, uint64_t retention_ns);
void conntab_free(struct conntab *t);		/* accepts NULL */
/*
 * Apply one event at monotonic now_ns; po_id is the PO of ev->dst (or
 * CONNTAB_NONE). Returns the entry's state after it.
 */
const struct conntab_conn *conntab_apply(struct conntab *t, const struct ipfix_conn *ev,
    uint32_t po_id, uint64_t now_ns);
/* Drop ended entries older than the retention. */
void conntab_expire(struct conntab *t, uint64_t now_ns);
/* Walk entries, open ones first (least recently updated first), then ended
 * ones (oldest first); fn returns non-zero to stop. */
typedef int (*conntab_walk_fn)(const struct conntab_conn *c, void *arg);
int conntab_walk(const struct conntab *t, conntab_walk_fn fn, void *arg);
void conntab_stats(const struct conntab *t, struct conntab_stats *ret);
/* Re-resolve every entry's PO (po_of(arg, &dst)). */
void conntab_remap(struct conntab *t, uint32_t (*po_of)(void *arg, const struct ipaddr *a),
    void *arg);

/* Is this event kind a slow verdict that becomes a detection? */
bool conntab_event_is_slow(uint8_t event);
const char *conntab_event_name(uint8_t event);
const char *conntab_state_name(uint8_t state);
/* "open", "closed", "slow", "dropped" -> state; -EINVAL otherwise. */
int conntab_state_parse(const char *s, uint8_t *ret);
/* A connection as JSON (po: its name, or NULL). NULL on ENOMEM. */
json_t *conntab_conn_json(const struct conntab_conn *c, const char *po);

/* --- the engine module --- */

/* The engine module (core/modules.h): init fills the slot; every other
 * function takes the struct conntab. */
int conntab_init(struct engine *e, void **ret_state);
void conntab_fini(void *state);
void conntab_tick(void *state, uint64_t now_ns);
void conntab_reset(void *state, bool factory);
void conntab_pos_changed(void *state);

/* The table of engine e (its slot), or NULL when the module is not running. */
struct conntab *conntab_get(struct engine *e);
/* The engine's wiring: where slow verdicts become detections and feed the
 * attacks' top sources; NULL: nowhere (they are still flight entries). */
struct detection_ctx;
void conntab_set_detection(struct conntab *t, struct detection_ctx *d);
/* The queue's side of the collector: an ipfix_conn_fn with the struct conntab as ctx.
 * Thread-safe; drops (and counts) past LIMIT_CONNTAB_QUEUE queued events. */
void conntab_sink(void *ctx, const struct ipfix_conn *ev);
/* Prometheus lines for /metrics (nothing when the module is not running). */
void conntab_metrics(FILE *f, struct engine *e);

/* The "connections" settings section: retention (a duration 1 s..7 d, default 300 s);
 * read at start. */
struct conntab_settings {
	uint64_t retention_s;
};
int conntab_settings_parse(struct settings *s, const struct cfg_node *n, void **ret_ext,
    struct cfg_error *err);
void conntab_settings_free(void *ext);

#endif
