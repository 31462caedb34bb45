/*
 * modules: the table of moatd's modules and the wiring between them — the
 * only place that knows every module. engine.c runs the table's callbacks,
 * settings.c parses the sections its rows name and api/route.c routes to
 * the routes its rows name; none of them includes a module.
 *
 * Lifecycle of a row's state (the engine's slot for it, engine_slot()):
 * init() creates it, after the store is open and the POs are replayed, and
 * may not reach another module (leaving the slot NULL means "not running":
 * none of the module's callbacks runs then); engine_wire() connects the
 * modules' states once every init is done; start() lets it run (threads,
 * talking to the outside), in table order; tick() every reading interval
 * (1 s); reset() on a factory reset (factory = true: forget learned state)
 * or a HealthTracker soft reset (false); pos_changed() after the PO table
 * and the LPM changed (add, replace, delete, replay); fini() in reverse
 * order at stop, the slot already cleared. Every callback is optional and
 * receives the state. A state another module was handed by the wiring
 * keeps its address until fini.
 */
#ifndef MOAT_ENGINE_MODULES_H
#define MOAT_ENGINE_MODULES_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/core/engine.h"

struct api_route;
struct settings_section;

struct engine_module {
	const char *name;
	int (*init)(struct engine *e, void **ret_state);
	int (*start)(void *state);
	void (*fini)(void *state);
	void (*tick)(void *state, uint64_t now_ns);
	void (*reset)(void *state, bool factory);
	void (*pos_changed)(void *state);
	/* The module's top-level configuration sections (settings.h), ending
	 * with a row whose name is NULL; NULL: none. */
	const struct settings_section *sections;
	/* The module's REST routes (api/route.h), ending with a row whose
	 * pattern is NULL; NULL: none. Present whether the module runs or not. */
	const struct api_route *routes;
};

/* Indexed by enum engine_mod. */
extern const struct engine_module engine_modules[ENGINE_NMODS];

/*
 * Connect the running modules (after every init, before any start): the
 * collector's moat-ins connection events to the connection table, its
 * readings and samples to detection, the counters to detection (top
 * targets, host limits), detection to the connection table's and the
 * mitigation's slow verdicts and drop floors, and mitigation to
 * detection's attack changes. Returns a negative errno if a link cannot
 * be made.
 */
int engine_wire(struct engine *e);

#endif
