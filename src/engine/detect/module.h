/*
 * detection: moatd's detection module — every registered detector, the
 * AttackDecisionPoint, the per-PO parameters (defaults plus each PO's
 * thresholds), persistence of what was learned and of the attacks in the
 * store (kv "detect/<name>", saved every minute and at stop, loaded and
 * remapped by PO name at start, so a restart forgets neither baselines nor
 * an attack in progress), and flight entries for suspicions and every
 * attack state change.
 *
 * Wiring: the state lives in the engine's ENGINE_MOD_DETECTION slot
 * (detection_get()) at an address that stays the same while the module
 * runs (a factory reset rebuilds it in place). Its row of engine_modules[]
 * (core/modules.c) names the `detection:` section (detect/config.h) and
 * the attacks and alarms routes (api/attacks.c, api/alarms.c). It includes
 * no other engine module; the engine's wiring (engine_wire()) makes the
 * links: the collector closes the counters' interval with
 * detection_reading_cb and hands its samples to detection_sample_cb; the
 * counters reach detection through detection_set_counters() (top targets,
 * host limits); the connection table and mitigation get this state for
 * detection_external()/detection_observe(), and mitigation's
 * mitigation_on_attack() is registered with detection_listen().
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

/* The engine module (core/modules.h): init fills the slot; every other
 * function takes the struct detection_ctx. */
int detection_init(struct engine *e, void **ret_state);
void detection_fini(void *state);
void detection_tick(void *state, uint64_t now_ns);
void detection_reset(void *state, bool factory);
void detection_pos_changed(void *state);

/* The detection state of engine e (its slot), or NULL when the module is not running. */
struct detection_ctx *detection_get(struct engine *e);

/* The engine's wiring: the collector's counters, read each tick for the
 * live attacks' top targets and the host limits; NULL: no collector. */
struct counters;
void detection_set_counters(struct detection_ctx *d, const struct counters *cnt);

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
/* Save the attacks alone (the decision blob, which names its POs): what a
 * take-over adopts and the deployment's view reads, without rewriting
 * every PO's baselines. */
int detection_save_attacks(struct detection_ctx *d);

/* Cluster (engine/cluster): the take-over of another instance's live
 * attacks (decision_adopt(); blob is its saved "detect/decision"). An
 * engine instance's attack ids come from its own block
 * (cluster_id_base()). */
int detection_adopt(struct detection_ctx *d, const uint8_t *blob, size_t len, decision_adopt_fn keep,
    void *ctx, uint8_t **ret_rest, size_t *ret_rest_len);

/*
 * Cluster: the learned baselines of another instance's POs. Map a saved
 * "detect/pos" blob (that instance's PO names by id; untrusted: -EINVAL
 * if malformed) to this engine's ids: map[its id] = the id keep() gives
 * (keep() also says which POs are wanted), else DETECT_PO_GONE. ret_map is
 * malloc'd, *ret_n entries.
 */
int detection_adopt_map(const uint8_t *names, size_t len, decision_adopt_fn keep, void *ctx,
    uint32_t **ret_map, uint32_t *ret_n);

/* Where an adoption reads another instance's saved state ("detect/pos",
 * "detect/<detector>": its namespace of the store, or a hand-off) and
 * writes back what stays there. get returns -ENOENT for a missing key. */
struct detection_src {
	int (*get)(void *ctx, const char *key, void **ret, size_t *ret_len);
	int (*put)(void *ctx, const char *key, const void *val, size_t len);
	void *ctx;
};

/*
 * Take over the learned baselines of the POs keep() accepts from the
 * state src holds: every detector that learns (ops->adopt) takes their
 * series with what they learned (no new learning period), mapped by PO
 * name; this engine's state is saved, then src gets each blob back without
 * them (adopting twice moves nothing twice). Returns the number of series
 * taken (0: none, or nothing saved there), or a negative errno: a malformed
 * blob is refused whole (a detector before it may have taken its share;
 * nothing is written back then, so the series stay there too).
 */
int detection_adopt_learned(struct detection_ctx *d, const struct detection_src *src,
    decision_adopt_fn keep, void *ctx);

/*
 * Cluster: hand the state of the POs keep() accepts to another engine (a
 * shard given back on rebalance). detection_hand_off() writes through dst
 * what detection_adopt_learned() and detection_adopt() read: "detect/pos"
 * (this engine's names by id), each learning detector's "detect/<name>"
 * holding only those POs' series, and "detect/decision" holding only their
 * live attacks; this state is unchanged. Returns the number of live
 * attacks written, or a negative errno. Once what it wrote is safe,
 * detection_drop() forgets those POs' series and attacks without a word
 * (no attack ends here: the taker ends them and withdraws their rules).
 */
int detection_hand_off(struct detection_ctx *d, const struct detection_src *dst,
    decision_adopt_fn keep, void *ctx, int *ret_series);
void detection_drop(struct detection_ctx *d, decision_adopt_fn keep, void *ctx);

#endif
