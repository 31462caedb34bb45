/*
 * mitigate: the MitigationMgr and the driver interface.
 *
 * An attack asks for mitigation with a struct mit_request (what to stop:
 * targets, protocol, ports, top sources). The manager walks the PO's ordered
 * driver list; each driver turns the request into its own rules (an nftables
 * rule, an XDP map entry, a BGP announcement, a script call) or declines:
 * -ENOSPC means "no resources now" (retried on a timer), -EOPNOTSUPP "not
 * applicable to this request" (skipped). Unlike Defense4All's loop, a decline
 * moves on to the next driver. Ending a mitigation withdraws exactly the rules
 * the driver reported as applied, identified by rule id.
 *
 * Rule ids are allocated by the manager and embedded by the drivers in what
 * they install (nft comments "moat:<id>", map keys, BGP path ids), so the
 * manager can reconcile after a restart: drivers list what exists, the
 * manager removes what it does not want and re-applies what is missing.
 *
 * Do no harm: a rule names only targets and sources with a real share of
 * the attack, never an address on the never-block list, and at most
 * max_block_addresses addresses; dry runs install nothing.
 *
 * The driver table comes from the caller (moatd's module passes the real
 * drivers, unit tests fakes). This module does not include the event loop
 * or the store; the engine calls mit_tick() on its timer and persists
 * mit_save() blobs.
 */
#ifndef MOAT_MITIGATE_H
#define MOAT_MITIGATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "common/cfg.h"
#include "common/prefix.h"

/* Targets and sources one request may name (top-N from the attack's sketch). */
#define MIT_MAX_TARGETS 16u
#define MIT_MAX_SOURCES 64u
#define MIT_DRIVER_NAME 16u

enum mit_scope {
	MIT_SCOPE_TARGET,	/* all traffic to the targets */
	MIT_SCOPE_PROTO,	/* only the attack's protocol (and port, if any) */
	MIT_SCOPE_SOURCES,	/* only the attack's top sources (plus proto/port) */
};

enum mit_action {
	MIT_ACT_DROP,
	MIT_ACT_RATELIMIT,	/* drop what exceeds rate_pps */
};

/* What an attack asks to stop. Addresses of one request share one family. */
struct mit_request {
	uint64_t attack_id;
	char po[65];
	char attack_type[32];
	uint8_t af;			/* AF_INET or AF_INET6 */
	uint8_t proto;			/* IP protocol; 0 = any */
	uint16_t dport;			/* 0 = any */
	uint16_t sport;			/* 0 = any; amplification source port */
	uint32_t n_targets;
	struct prefix targets[MIT_MAX_TARGETS];
	uint32_t n_sources;
	struct ipaddr sources[MIT_MAX_SOURCES];
	/*
	 * How much of the attack's traffic each target and source carries
	 * (packets, a lower bound) out of *_total, the attack's traffic on its
	 * protocol/port. A total of 0 means unknown (manual requests, scans):
	 * no minimum share is applied. Targets and sources come heaviest first.
	 */
	uint64_t target_weight[MIT_MAX_TARGETS];
	uint64_t targets_total;
	uint64_t source_weight[MIT_MAX_SOURCES];
	uint64_t sources_total;
	double peak_pps, peak_bps;
	bool sources_only;		/* block the sources, whatever they send (scans) */
};

/* One installed (or would-be, in dry-run) rule as a driver sees it. */
struct mit_rule {
	uint64_t id;
	enum mit_scope scope;
	enum mit_action action;
	uint64_t rate_pps;
	struct mit_request req;		/* already narrowed to the scope */
};

struct mit_counters {
	uint64_t packets;
	uint64_t bytes;
};

/*
 * A mitigation driver. open() parses the driver's config map (may be NULL
 * for defaults) and prepares, without touching external state; it is given
 * its own row (self), so one implementation can stand for several drivers
 * (priv/proxy.c forwards each to moatd's privileged part); close()
 * releases. apply() installs r (idempotent for the same id); withdraw()
 * removes rule `id` and returns -ENOENT if it is not there. installed()
 * lists the ids present in the external system (for reconciliation; a
 * driver with no readable state returns -EOPNOTSUPP). counters() reads a
 * rule's packet/byte counters back (-EOPNOTSUPP if the driver has none).
 * peers(), optional (NULL), lists the addresses the driver talks to that
 * must never be blocked (a BGP speaker's neighbours); up to max into out.
 *
 * Asynchronous drivers (bgp, notify) queue the work of apply() and
 * withdraw() to a thread of their own and return once the rule is
 * validated and queued: 0 then means "accepted", not "done". What later
 * fails is counted and reported by status(), optional (NULL for drivers
 * whose every call is done when it returns); the engine polls it every tick
 * and reconciles every driver periodically, so a failed announcement is
 * seen and repaired. installed() and peers() of such a driver never wait
 * for long (each driver says how long at most).
 */
struct mit_driver_status {
	uint64_t failures;	/* operations that failed since open */
	uint64_t dropped;	/* operations dropped: queue full, or abandoned at close */
	uint64_t queued;	/* operations waiting now */
	char last_error[128];	/* the last failure, "" if none; NUL-terminated */
};

struct mit_driver_ops {
	const char *name;
	int (*open)(const struct mit_driver_ops *self, const struct cfg_node *conf,
	    void **ret_state, struct cfg_error *err);
	void (*close)(void *state);
	int (*apply)(void *state, const struct mit_rule *r);
	int (*withdraw)(void *state, uint64_t id);
	int (*installed)(void *state, uint64_t **ret_ids, size_t *ret_n);
	int (*counters)(void *state, uint64_t id, struct mit_counters *ret);
	int (*peers)(void *state, struct ipaddr *out, size_t max, size_t *ret_n);
	int (*status)(void *state, struct mit_driver_status *ret);
	/* Optional: learn a rule installed before this driver was opened (a
	 * previous run, or another instance whose mitigation was adopted:
	 * engine/cluster), without acting, so withdraw() works on it. */
	int (*adopt)(void *state, const struct mit_rule *r);
};

extern const struct mit_driver_ops drv_nft_ops;
extern const struct mit_driver_ops drv_xdp_ops;
extern const struct mit_driver_ops drv_bgp_ops;
extern const struct mit_driver_ops drv_ins_ops;
extern const struct mit_driver_ops drv_notify_ops;

/* The drivers moatd ships; the engine hands them to mit_mgr_new() as its table. */
#define MIT_MAX_DRIVERS 8u

/* ---- the manager ---- */

enum mit_status {
	MIT_PENDING,		/* not tried yet */
	MIT_MITIGATING,		/* a driver holds it */
	MIT_NO_RESOURCES,	/* every applicable driver declined for lack of resources; retried */
	MIT_NOT_MITIGATED,	/* no driver applicable, allowlisted, or over a cap */
	MIT_ENDED,
	MIT_PROBING,		/* rule lifted for a probe window (mit_probe_begin); still live */
};

struct mit_mgr;

/*
 * One mitigation: an attack's request and what became of it. `driver` is the
 * driver holding it (or the last one tried); rule_id is what that driver
 * installed; it changes when the rule is refined (the new rule goes in
 * before the old one comes out). dry_run mitigations record what would
 * have been done.
 */
struct mit_entry {
	uint64_t id;
	enum mit_status status;
	struct mit_rule rule;
	char drivers[8][MIT_DRIVER_NAME];	/* the PO's order, as given */
	uint32_t n_drivers;
	char driver[MIT_DRIVER_NAME];
	char reason[128];
	char narrowed[192];	/* what was left out of the request, and why ("" = nothing) */
	bool dry_run;
	uint64_t started_s, updated_s, ended_s, next_retry_s;
	struct mit_counters counters;
	uint64_t packets_seen;		/* counters.packets at the last mit_take_dropped() */
	uint64_t held_s;		/* the rule went in (or back in after a probe) */
	uint64_t probe_s;		/* MIT_PROBING: when the rule was lifted */
	uint32_t probes;		/* probes that found the attack still there */
};

/*
 * Create the manager from the `mitigate:` config map (NULL = defaults) and
 * its driver table: the drivers it may use, by name (moatd passes the real
 * ones, unit tests fakes; at most MIT_MAX_DRIVERS rows, the array must
 * outlive the manager). Config keys (docs/mitigation.md has them all):
 *   never_block: [prefixes never blocked, as target or source] (allowlist: the old name),
 *   min_target_share: 20 (%), min_source_share: 10 (%),
 *   max_block_addresses: 256, max_mitigations: 50 (max_rules: the old name),
 *   max_duration: 1h, retry: 30s, scope: target|proto|sources,
 *   probe_after: 5m (0 = never), probe_window: 15s,
 *   action: drop|ratelimit, rate_pps: N, dry_run: true|false|[driver names],
 *   po: {NAME: {dry_run: bool, never_block: [prefixes]}},
 *   drivers: {nft: {...}, notify: {...}}
 * Drivers named under `drivers:` are opened (validated, no external effect).
 * Drivers that are not configured but named by a PO are opened with defaults
 * on first use.
 */
int mit_mgr_new(const struct cfg_node *conf, const struct mit_driver_ops *const *table,
    size_t n_table, struct mit_mgr **ret, struct cfg_error *err);
/* The driver table row named `name`, or NULL if the table has none. */
const struct mit_driver_ops *mit_mgr_driver(const struct mit_mgr *m, const char *name);
void mit_mgr_free(struct mit_mgr *m);
/*
 * Move everything (configuration, open drivers, mitigations) from `from`
 * into a new manager; `from` is left empty but valid (still to be freed by
 * its owner). Used to adopt a manager built while the config was parsed.
 */
int mit_mgr_take(struct mit_mgr *from, struct mit_mgr **ret);
/*
 * Swap the driver table for one whose rows bear the same names (moatd's
 * privileged part's proxies, priv/proxy.h): the open drivers are closed and
 * opened again through the new rows, without their config (the new rows
 * have theirs elsewhere). Before any mitigation is live: a live rule
 * belongs to the driver instance that installed it.
 */
int mit_mgr_route(struct mit_mgr *m, const struct mit_driver_ops *const *table, size_t n_table,
    struct cfg_error *err);
/* Add a prefix to the never-block list (moatd's own addresses, its peers). */
int mit_allow(struct mit_mgr *m, const struct prefix *p);
/*
 * Add the peers every inspected driver reports (peers()) to the never-block
 * list, once each. Returns how many were added; a driver whose last
 * inspection failed, or that cannot say now, is skipped.
 */
int mit_allow_peers(struct mit_mgr *m);
/* Is `a` on the never-block list (global, or PO po's; po may be NULL)? */
bool mit_never_blocked(const struct mit_mgr *m, const char *po, const struct ipaddr *a);

/*
 * Start mitigating: try the drivers in order (names; unknown ones are
 * skipped with a reason). Returns the mitigation id in *ret_id; the entry's
 * status says what happened. -EEXIST if the attack already has a live one
 * (then *ret_id is that one, re-applied as an update).
 */
int mit_start(struct mit_mgr *m, const struct mit_request *req,
    const char *const *drivers, size_t n_drivers, uint64_t now_s, uint64_t *ret_id);
/* Manual: mitigate with one named driver. */
int mit_start_with(struct mit_mgr *m, const struct mit_request *req, const char *driver,
    uint64_t now_s, uint64_t *ret_id);
/*
 * Refine the live mitigation of req->attack_id with a newer request (top
 * sources and targets have arrived): if the rule it gives differs, the
 * holding driver installs the new rule (a new rule id) before the old one is
 * withdrawn, so there is no gap; if that fails the old rule stays. A request
 * that narrows to nothing keeps the old rule. Returns 1 when the rule
 * changed, 0 when not, -ENOENT without a live mitigation, or the driver's
 * error.
 */
int mit_refine(struct mit_mgr *m, const struct mit_request *req, uint64_t now_s);
/* End a mitigation: withdraw exactly what was applied. -ENOENT if unknown. */
int mit_stop(struct mit_mgr *m, uint64_t id, uint64_t now_s, const char *why);
/* End the live mitigation of an attack, if any. */
int mit_stop_attack(struct mit_mgr *m, uint64_t attack_id, uint64_t now_s);
/*
 * Retry declined mitigations, end those past max_duration, read counters,
 * and lift the rule of every mitigation that has held probe_after since
 * it went in (mit_probe_begin): the probes' verdicts are the caller's.
 */
void mit_tick(struct mit_mgr *m, uint64_t now_s);

/*
 * Probing: a rule's drops cannot tell a flood from the target's own
 * traffic, so a mitigation is periodically re-measured without its rule,
 * as FastNetMon's unban timers do. mit_probe_begin() withdraws the rule
 * (status MIT_PROBING; no-op for dry runs and other statuses: -EINVAL); the
 * caller watches the attack for probe_window and calls mit_probe_end():
 * attacking = true re-installs the same rule at once (a driver that
 * refuses now: the drivers are walked again as at start), false ends the
 * mitigation ("probe: ..."). A restart during a probe restores the rule
 * (mit_load reads a probing mitigation as mitigating). -ENOENT if unknown.
 */
int mit_probe_begin(struct mit_mgr *m, uint64_t id, uint64_t now_s);
int mit_probe_end(struct mit_mgr *m, uint64_t id, bool attacking, uint64_t now_s);
/* The configured probe window, seconds. */
uint64_t mit_probe_window(const struct mit_mgr *m);

const struct mit_entry *mit_get(const struct mit_mgr *m, uint64_t id);
/* Iterate: i from 0 while it returns non-NULL. Newest last. */
const struct mit_entry *mit_at(const struct mit_mgr *m, size_t i);
const char *mit_status_name(enum mit_status s);
/* Packets entry i's rule dropped since the previous call (0 for drivers that
 * do not count, and for the first call). */
uint64_t mit_take_dropped(struct mit_mgr *m, size_t i);
/* The public JSON of one mitigation (REST and CLI). Caller decrefs. */
json_t *mit_entry_to_json(const struct mit_entry *e);

/* Event hook for the flight recorder: called on every status change. */
typedef void (*mit_event_fn)(void *ctx, const struct mit_entry *e, const char *event);
void mit_set_event_hook(struct mit_mgr *m, mit_event_fn fn, void *ctx);

/*
 * Persistence and restart. mit_save() returns a JSON text (caller frees) of
 * every live mitigation; mit_load() restores them (before mit_reconcile()).
 */
char *mit_save(const struct mit_mgr *m);
/* Cluster (engine/cluster): mitigation and rule ids from base on (an
 * instance's own block of 2^32 ids). */
void mit_id_base(struct mit_mgr *m, uint64_t base);
int mit_load(struct mit_mgr *m, const char *json);
/* Cluster hand-over: forget mitigation id without touching its rule (it
 * now belongs to another instance, which withdraws it). -ENOENT if unknown. */
int mit_forget(struct mit_mgr *m, uint64_t id);

/* What reconciliation found in one driver. */
struct mit_inspection {
	char driver[MIT_DRIVER_NAME];
	int error;		/* 0, or why the driver could not be inspected */
	bool unconfigured;	/* cannot open without settings: nothing moat could know of */
	bool opaque;		/* keeps no readable state (-EOPNOTSUPP): nothing to do */
	uint32_t reinstalled, removed;
	uint64_t removed_ids[16];	/* the first leftovers removed, for the record */
};

struct mit_reconcile_report {
	struct mit_inspection d[MIT_MAX_DRIVERS];
	size_t n;
};

/*
 * Make every driver's external state match the live mitigations: re-apply
 * live rules that are missing, withdraw moat rules nobody wants. Every row
 * of the driver table is inspected, configured or not (a run with another
 * configuration may have left rules there), each on its own: a driver that
 * cannot be inspected (its daemon is down) is reported in rep and stays
 * due, and never stops the others. A driver that needs settings to be
 * opened (bgp) and has none is skipped, unless a live mitigation names it
 * (then that is an error). rep may be NULL. Returns the number of repairs.
 */
int mit_reconcile(struct mit_mgr *m, uint64_t now_s, struct mit_reconcile_report *rep);
/* The same, only for the drivers whose last inspection failed; 0 if none. */
int mit_reinspect(struct mit_mgr *m, uint64_t now_s, struct mit_reconcile_report *rep);
/* Drivers whose last inspection failed. */
size_t mit_uninspected(const struct mit_mgr *m);

/*
 * The status (struct mit_driver_status) of the i-th open driver, for i from
 * 0: 1 and *ret filled, 0 past the last one, -EOPNOTSUPP for a driver
 * without status(); *ret_name is the driver's name.
 */
int mit_driver_status_at(const struct mit_mgr *m, size_t i, const char **ret_name,
    struct mit_driver_status *ret);

#endif
