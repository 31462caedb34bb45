/*
 * module: what an engine module is — a row of moatd's module table: its
 * callbacks, its configuration sections and its REST routes. The table
 * itself (core/modules.c, the only place that knows every module) is handed
 * to engine_new() and settings_load() by moatd's main, so neither the engine
 * nor the settings parser nor the router includes a module.
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
#ifndef MOAT_ENGINE_CORE_MODULE_H
#define MOAT_ENGINE_CORE_MODULE_H

#include <stdbool.h>
#include <stdint.h>

struct api_route;
struct engine;
struct settings_section;

/* The modules of moatd, in the order of engine_modules[] (init, start and
 * tick in this order, fini in reverse); an id is the index of the module's
 * slot. */
enum engine_mod {
	ENGINE_MOD_CORE,
	ENGINE_MOD_CONNTAB,	/* before the collector: takes its moat-ins events */
	ENGINE_MOD_COLLECT,	/* before detection: readings reach it in the same tick */
	ENGINE_MOD_CLUSTER,	/* after the collector (publishes its readings), before
				   detection (feeds it the consumed ones) */
	ENGINE_MOD_DETECTION,
	ENGINE_MOD_MITIGATION,	/* after detection: it acts on its attacks */
	ENGINE_MOD_HISTORY,	/* after the collector: samples the interval it closed */
	ENGINE_NMODS
};

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

#endif
