/*
 * modules: the table of moatd's modules and the wiring between them — the
 * only place that knows every module (what a row is: core/module.h).
 * moatd's main hands the table and engine_wire() to engine_new() and the
 * table to settings_load(); the REST router finds it through the engine.
 */
#ifndef MOAT_ENGINE_MODULES_H
#define MOAT_ENGINE_MODULES_H

#include "engine/core/engine.h"
#include "engine/core/module.h"

/* Indexed by enum engine_mod. */
extern const struct engine_module engine_modules[ENGINE_NMODS];

/*
 * Connect the running modules (after every init, before any start): the
 * collector's moat-ins connection events to the connection table, its
 * readings and samples to detection, the counters to detection (top
 * targets, host limits), detection to the connection table's and the
 * mitigation's slow verdicts and drop floors, mitigation to
 * detection's attack changes, and the counters to the dashboard's traffic
 * history. Returns a negative errno if a link cannot
 * be made.
 */
int engine_wire(struct engine *e);

#endif
