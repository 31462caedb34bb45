/*
 * detection: moatd's detection module — every registered detector, the
 * AttackDecisionPoint, the per-PO parameters (defaults plus each PO's
 * thresholds), persistence of what was learned and of the attacks in the
 * store (kv "detect/<name>", saved every minute and at stop, loaded and
 * remapped by PO name at start, so a restart forgets neither baselines nor
 * an attack in progress), and flight entries for suspicions and every
 * attack state change.
 *
 * Wiring: the engine runs DETECTION_MODULE (a row in engine_modules[]);
 * whoever closes the counters' interval passes detection_reading_cb to
 * counters_tick(); collectors may pass sampled flows to detection_observe()
 * for the attacks' top lists; mitigation registers with detection_listen().
 */
#ifndef MOAT_ENGINE_DETECTION_H
#define MOAT_ENGINE_DETECTION_H

#include <stdbool.h>

#include <jansson.h>

#include "engine/detect/decision.h"
#include "engine/core/engine.h"

/* Listeners run inside the decision point's callbacks; at most
 * DETECTION_MAX_LISTENERS. */
#define DETECTION_MAX_LISTENERS 8u

struct detection_ctx;

/* The module's functions, for its row in engine_modules[]:
 * `DETECTION_MODULE,` (a static table needs constant initialisers). */
int detection_init(struct engine *e);
void detection_fini(struct engine *e);
void detection_tick(struct engine *e, uint64_t now_ns);
void detection_reset(struct engine *e, bool factory);
void detection_pos_changed(struct engine *e);
#define DETECTION_MODULE { .name = "detection", .init = detection_init, .fini = detection_fini, \
	.tick = detection_tick, .reset = detection_reset, .pos_changed = detection_pos_changed }

/* The detection state of engine e, or NULL when the module is not running. */
struct detection_ctx *detection_get(struct engine *e);

/* One reading, timed on the engine's monotonic clock like its ticks
 * (detection converts to wall time); the signature of counters_reading_fn
 * with the struct detection_ctx as ctx. */
void detection_reading_cb(void *ctx, const struct reading *r);
/* One sampled flow or packet for the top lists of a live attack. */
void detection_observe(struct detection_ctx *d, const struct decision_obs *o);
/* The same from the counters' samples; the signature of counters_obs_fn with
 * the struct detection_ctx as ctx. It fills the live attacks' top sources
 * and source ports (and targets) from the collectors' traffic. */
struct counters_obs;
void detection_sample_cb(void *ctx, const struct counters_obs *o);

const struct decision *detection_decision(const struct detection_ctx *d);

typedef void (*detection_listener_fn)(void *arg, const struct decision_attack *a,
    enum decision_state old);
/* Be told of every attack state change; -ENOSPC past the cap. */
int detection_listen(struct detection_ctx *d, detection_listener_fn fn, void *arg);

/* An attack as JSON: the summary for lists, or everything (detectors, top
 * targets, sources and source ports) when full. NULL on ENOMEM. */
json_t *detection_attack_json(const struct decision_attack *a, bool full);

/*
 * A detection that no detector of this module made: moat-chaff alarms
 * (detector "decoy" or "scan"), the mitigation's drop counters (detector
 * "mitigation"), later moat-ins. It joins the decision point like any
 * other; obs, if not NULL, feeds the attack's top lists (the scanning
 * source). Callers that need it to outlive a crash call detection_save().
 */
void detection_external(struct detection_ctx *d, const struct detection *det,
    const struct decision_obs *obs);

/* Save the learned state and the attacks to the store now. */
int detection_save(struct detection_ctx *d);

#endif
