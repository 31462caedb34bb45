/*
 * engine: the moatd context and its lifecycle — the one object collectors,
 * detectors and REST handlers hook into. It owns the clock, the store, the
 * flight recorder, the health tracker, the PO table and the LPM built from
 * it, and the configuration. It never includes the event library: the loop
 * (loop.c) calls engine_tick() once a second and the REST layer calls the
 * engine_po_*() and lifecycle functions.
 *
 * Modules hook in through the table engine_modules[] (core/modules.c, the
 * only file that knows every module): a row names the module, its optional
 * init/start/fini/tick/reset/pos_changed functions, its configuration
 * sections and its REST routes (see core/modules.h). Each module's state
 * lives in the engine's slot for it: init() fills the slot, every other
 * callback receives it, and other parts reach it through the module's
 * typed accessor (detection_get(e), ...), never through a process-wide
 * pointer — two engines in one process are independent. The engine wires
 * modules together (engine_wire(), core/modules.c) between init and start;
 * no module looks another up by itself. Modules may also register extra
 * tick callbacks at run time with engine_on_tick().
 *
 * Continuity (Defense4All): at start the PO table is rebuilt from the config
 * POs and the POs stored at run time ("replay"); restore and factory reset
 * replace the store and replay again; every change is a flight entry.
 */
#ifndef MOAT_ENGINE_ENGINE_H
#define MOAT_ENGINE_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "common/clock.h"
#include "common/lpm.h"
#include "engine/core/settings.h"
#include "engine/core/flight.h"
#include "engine/core/health.h"
#include "engine/po/po.h"
#include "engine/po/poset.h"
#include "engine/store/store.h"

#define ENGINE_VERSION "0.1.0"
/* Run-time tick callbacks; modules with a table row need none. */
#define ENGINE_MAX_TICKS 32u

struct engine;

typedef void (*engine_tick_fn)(struct engine *e, uint64_t now_ns, void *arg);

/* The modules of moatd, in the order of engine_modules[] (init, start and
 * tick in this order, fini in reverse); an id is the index of the module's
 * slot. */
enum engine_mod {
	ENGINE_MOD_CORE,
	ENGINE_MOD_CONNTAB,	/* before the collector: takes its moat-ins events */
	ENGINE_MOD_COLLECT,	/* before detection: readings reach it in the same tick */
	ENGINE_MOD_DETECTION,
	ENGINE_MOD_MITIGATION,	/* after detection: it acts on its attacks */
	ENGINE_NMODS
};

/* The state module id's init() left in its slot; NULL when the module is
 * not running (not configured, not initialised yet, or stopped). Modules
 * wrap it in a typed accessor; nothing else should call it. */
void *engine_slot(const struct engine *e, enum engine_mod id);

struct engine_opts {
	const char *state_dir;	/* --state; NULL: config, then SETTINGS_DEFAULT_STATE_DIR */
	const char *conf_path;	/* -c; NULL: default path or embedded defaults */
	bool manual_clock;	/* tests: time moves only with clock_advance() */
	uint64_t start_ns;	/* manual clock start */
};

/*
 * Create the engine with a loaded configuration (ownership of conf passes
 * to the engine): create the state directory (0700), open the store, replay
 * the POs, init the modules, record "lifecycle start". Returns a negative
 * errno after logging what failed.
 */
int engine_new(const struct engine_opts *o, struct settings *conf, struct engine **ret);
/* Record "lifecycle stop", fini the modules, close the store; accepts NULL. */
void engine_free(struct engine *e);

struct clock *engine_clock(struct engine *e);
struct store *engine_store(struct engine *e);
struct flight *engine_flight(struct engine *e);
struct health *engine_health(struct engine *e);
const struct settings *engine_settings(const struct engine *e);
const struct poset *engine_pos(const struct engine *e);
/* The LPM of the current PO table: prefix -> PO id. Valid until the next
 * PO change (the engine builds a new one and swaps). */
const struct lpm *engine_lpm(const struct engine *e);
const char *engine_state_dir(const struct engine *e);
int64_t engine_started_at(const struct engine *e);
uint64_t engine_uptime_s(const struct engine *e);

/*
 * Packet time: a module that drives the manual clock (the pcap replay of
 * `collect.clock: packet`) registers a descriptor that becomes readable
 * when the clock may move, and the function the loop calls then; that
 * function sets the clock and calls engine_tick(). With a driver the loop
 * watches fd instead of ticking on the real 1 s timer. One driver at most:
 * -EBUSY for a second.
 */
typedef void (*engine_clock_fn)(struct engine *e, void *arg);
int engine_set_clock_driver(struct engine *e, int fd, engine_clock_fn fn, void *arg);
/* The driver's descriptor, or -1 (real time: the loop ticks every second). */
int engine_clock_driver_fd(const struct engine *e);
/* Run the driver's function (the loop, when the descriptor is readable). */
void engine_clock_driver_run(struct engine *e);

/* Register a tick callback; -ENOSPC past ENGINE_MAX_TICKS. */
int engine_on_tick(struct engine *e, engine_tick_fn fn, void *arg);
/* Run modules' ticks, the health tracker and flight retention. */
void engine_tick(struct engine *e);

/* Ask the loop to stop with exit_code (0 clean, 1 for the service manager
 * to restart us). */
void engine_request_stop(struct engine *e, int exit_code);
bool engine_stop_requested(const struct engine *e, int *ret_exit_code);

/*
 * Add or replace a run-time PO (ownership of p passes to the engine, also
 * on failure). create_only: fail with -EEXIST if the name exists.
 * Returns 0 (created), 1 (replaced), -EEXIST (name exists with create_only,
 * or a prefix is held by another PO: err says which), -EPERM (the name is a
 * config PO), -EIO (the store refused; nothing changed). *ret_po points at
 * the PO now in the table.
 */
int engine_po_put(struct engine *e, struct po *p, bool create_only, const struct po **ret_po,
    struct po_error *err);
/* 0, -ENOENT, -EPERM (config PO), -EIO. */
int engine_po_del(struct engine *e, const char *name);

/* Replace the configuration (SIGHUP): log, flight and health settings
 * apply at once, config POs are replayed. Ownership of conf passes. */
int engine_reload(struct engine *e, struct settings *conf);
/* Write a backup of the whole store to path. */
int engine_backup(struct engine *e, const char *path);
/* Replace the run-time state with the backup at path and replay.
 * -EINVAL/-EPROTO: not a usable backup, nothing changed. */
int engine_restore(struct engine *e, const char *path);
/* Factory reset: drop every run-time PO, the flight record and learned
 * state; config POs are replayed. */
int engine_reset(struct engine *e);

#endif
