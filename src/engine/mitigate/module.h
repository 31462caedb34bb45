/*
 * mitigation: moatd's mitigation module — the MitigationMgr (mitigate.h)
 * wired to the engine. A declared attack becomes a mitigation request
 * (its top targets and sources with their weights, protocol, port,
 * amplification source port) tried on its PO's drivers in order, refined
 * every tick as the attack's top lists fill; an ended attack withdraws
 * exactly what was applied. The driver table is this module's (the manager
 * takes it as an argument). State is persisted in the store (kv
 * "mitigate/state") after every change; at start every driver is
 * reconciled, configured or not, and one that cannot be inspected is a
 * health issue retried every minute. moatd's own addresses and peers are
 * never blocked. Every step is a flight entry (category "mitigation").
 *
 * Wiring: the state lives in the engine's ENGINE_MOD_MITIGATION slot
 * (mitigation_get()); its row of engine_modules[] (core/modules.c), after
 * detection's, names the `mitigate:` section (mitigation_settings_parse
 * validates the config) and the mitigations routes (api/mitigations.c).
 * It does not look detection up: the engine's wiring hands it the
 * detection state (mitigation_set_detection(), for the attacks, the
 * drop-rate floor and manual mitigation) and registers
 * mitigation_on_attack() with detection_listen(); mitigation_startup(), after
 * the wiring, ends orphaned mitigations and reconciles with the drivers.
 */
#ifndef MOAT_ENGINE_MITIGATION_H
#define MOAT_ENGINE_MITIGATION_H

#include <jansson.h>

#include "common/cfg.h"
#include "engine/core/engine.h"
#include "engine/detect/decision.h"
#include "engine/mitigate/manager.h"

struct mitigation_ctx;
struct detection_ctx;

/* The engine module (core/modules.h), its row after detection's: init
 * fills the slot; every other function takes the struct mitigation_ctx. */
int mitigation_init(struct engine *e, void **ret_state);
int mitigation_startup(void *state);
void mitigation_fini(void *state);
void mitigation_tick(void *state, uint64_t now_ns);
/* A factory reset ends every mitigation (rules removed) and forgets them. */
void mitigation_reset(void *state, bool factory);

/* The drivers moatd ships (the privileged part runs the same table). */
const struct mit_driver_ops *const *mitigation_driver_table(size_t *ret_n);

/* The running module of engine e (its slot), or NULL. */
struct mitigation_ctx *mitigation_get(struct engine *e);

/* The engine's wiring: the detection state whose attacks are mitigated
 * (NULL: detection is not running), and the listener the
 * engine registers with detection_listen() (arg: the struct mitigation_ctx). */
void mitigation_set_detection(struct mitigation_ctx *m, struct detection_ctx *d);
/* The engine's wiring: asked before a rule is installed for an attack on
 * PO po; false: this instance may not act on it (cluster fencing). NULL fn:
 * act on every PO. */
typedef bool (*mitigation_gate_fn)(void *ctx, const char *po);
void mitigation_set_gate(struct mitigation_ctx *m, mitigation_gate_fn fn, void *ctx);
/*
 * Cluster: take over another instance's mitigations (text: its saved
 * mitigation table) of the POs keep() accepts, after their attacks were
 * adopted by detection (detection_adopt()), so they are not orphans: the
 * rules stay as the other instance installed them and this instance
 * withdraws them when the attacks end. ret_rest: the table without them
 * (malloc'd), to save back in its place. Returns the number adopted or a
 * negative errno.
 */
int mitigation_adopt(struct mitigation_ctx *m, const char *text, mitigation_gate_fn keep, void *ctx,
    char **ret_rest);
/*
 * Cluster hand-over (a shard given to another engine): ret_text, the live
 * mitigations of the POs keep() accepts as a table mitigation_adopt()
 * takes (malloc'd; the table is unchanged); mitigation_forget() then drops
 * them without touching their rules (the taker withdraws them) and saves.
 * Return the number of mitigations, or a negative errno.
 */
int mitigation_hand_off(struct mitigation_ctx *m, mitigation_gate_fn keep, void *ctx,
    char **ret_text);
int mitigation_forget(struct mitigation_ctx *m, mitigation_gate_fn keep, void *ctx);
void mitigation_on_attack(void *arg, const struct decision_attack *a, enum decision_state old);

/* Every mitigation, newest first. NULL on ENOMEM. */
json_t *mitigation_list_json(struct mitigation_ctx *m);
/* One mitigation, or NULL if unknown. */
json_t *mitigation_one_json(struct mitigation_ctx *m, uint64_t id);

/*
 * Manual mitigation of attack `attack_id` with one driver (`moat mitigate
 * ATTACK --driver X`). -ENOENT: no such attack; -ESRCH: unknown driver;
 * -EEXIST: the attack already has a live mitigation (*ret_id says which).
 */
int mitigation_manual(struct mitigation_ctx *m, uint64_t attack_id, const char *driver,
    uint64_t *ret_id);
/* End a mitigation by id (`moat unmitigate ID`). -ENOENT, -EALREADY. */
int mitigation_stop(struct mitigation_ctx *m, uint64_t id);

/* The `mitigate:` settings section: builds a manager from it (drivers are
 * opened, nothing external is touched); the module adopts it at init. */
int mitigation_settings_parse(struct settings *c, const struct cfg_node *n, void **ret_ext,
    struct cfg_error *err);
void mitigation_settings_free(void *ext);

#endif
