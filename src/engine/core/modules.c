/*
 * modules: the module table and its wiring (see modules.h). Adding a
 * module is a file, an id in enum engine_mod, a row here and, if it talks
 * to others, a few lines in engine_wire().
 */
#include "engine/core/modules.h"

#include "collect/conf.h"
#include "common/limits.h"
#include "common/log.h"
#include "engine/api/admin.h"
#include "engine/api/alarms.h"
#include "engine/api/attacks.h"
#include "engine/api/connections.h"
#include "engine/api/flight.h"
#include "engine/api/history.h"
#include "engine/api/mitigations.h"
#include "engine/api/pos.h"
#include "engine/api/route.h"
#include "engine/api/traffic.h"
#include "engine/cluster/conf.h"
#include "engine/cluster/module.h"
#include "engine/collect/module.h"
#include "engine/conntab/conntab.h"
#include "engine/core/settings.h"
#include "engine/detect/config.h"
#include "engine/detect/module.h"
#include "engine/mitigate/module.h"

/* ---- the engine's own part ---- */

static const struct api_route core_routes[] = {
	{ API_GET, "/api/v1/health", api_admin_health, 0 },
	{ API_GET, "/api/v1/pos", api_pos_list, 0 },
	{ API_POST, "/api/v1/pos", api_pos_create, LIMIT_API_BODY },
	{ API_GET, "/api/v1/pos/{name}", api_pos_get, 0 },
	{ API_PUT, "/api/v1/pos/{name}", api_pos_replace, LIMIT_API_BODY },
	{ API_DELETE, "/api/v1/pos/{name}", api_pos_delete, 0 },
	{ API_GET, "/api/v1/flight", api_flight_get, 0 },
	{ API_POST, "/api/v1/backup", api_admin_backup, LIMIT_API_BODY },
	{ API_POST, "/api/v1/restore", api_admin_restore, LIMIT_API_RESTORE_BODY },
	{ API_POST, "/api/v1/reset", api_admin_reset, LIMIT_API_BODY },
	{ 0 },
};

/* ---- conntab ---- */

static const struct settings_section conntab_sections[] = {
	{ "connections", conntab_settings_parse, conntab_settings_free },
	{ 0 },
};

static const struct api_route conntab_routes[] = {
	{ API_GET, "/api/v1/connections", api_connections_list, 0 },
	{ 0 },
};

/* ---- collect ---- */

static const struct settings_section collect_sections[] = {
	{ "collect", collect_conf_parse, collect_conf_free },
	{ 0 },
};

static const struct api_route collect_routes[] = {
	{ API_GET, "/api/v1/pos/{name}/traffic", api_traffic_po, 0 },
	{ API_GET, "/api/v1/exporters", api_traffic_exporters, 0 },
	{ API_GET, "/metrics", api_traffic_metrics, 0 },
	{ 0 },
};

/* ---- cluster ---- */

static const struct settings_section cluster_sections[] = {
	{ "cluster", cluster_conf_parse, cluster_conf_free },
	{ 0 },
};

static const struct api_route cluster_routes[] = {
	{ API_GET, "/api/v1/cluster", cluster_api_get, 0 },
	{ 0 },
};

/* ---- detection ---- */

static const struct settings_section detection_sections[] = {
	{ "detection", detection_conf_parse, detection_conf_free },
	{ 0 },
};

static const struct api_route detection_routes[] = {
	{ API_GET, "/api/v1/attacks", api_attacks_list, 0 },
	{ API_GET, "/api/v1/attacks/{id}", api_attacks_get, 0 },
	{ API_POST, "/api/v1/alarms", api_alarms_post, LIMIT_API_BODY },
	{ 0 },
};

/* ---- mitigation ---- */

static const struct settings_section mitigation_sections[] = {
	{ "mitigate", mitigation_settings_parse, mitigation_settings_free },
	{ 0 },
};

static const struct api_route mitigation_routes[] = {
	{ API_GET, "/api/v1/mitigations", api_mitigations_list, 0 },
	{ API_GET, "/api/v1/mitigations/{id}", api_mitigations_get, 0 },
	{ API_POST, "/api/v1/mitigations", api_mitigations_create, LIMIT_API_BODY },
	{ API_DELETE, "/api/v1/mitigations/{id}", api_mitigations_delete, 0 },
	{ 0 },
};

/* ---- the dashboard's traffic history ---- */

static const struct api_route history_routes[] = {
	{ API_GET, "/api/v1/pos/{name}/history", api_history_po, 0 },
	{ 0 },
};

const struct engine_module engine_modules[ENGINE_NMODS] = {
	[ENGINE_MOD_CORE] = { .name = "core", .sections = settings_core_sections,
	    .routes = core_routes },
	[ENGINE_MOD_CONNTAB] = { .name = "conntab", .init = conntab_init, .fini = conntab_fini,
	    .tick = conntab_tick, .reset = conntab_reset, .pos_changed = conntab_pos_changed,
	    .sections = conntab_sections, .routes = conntab_routes },
	[ENGINE_MOD_COLLECT] = { .name = "collect", .init = collector_init,
	    .start = collector_start, .fini = collector_fini, .tick = collector_tick,
	    .pos_changed = collector_pos_changed, .sections = collect_sections,
	    .routes = collect_routes },
	[ENGINE_MOD_CLUSTER] = { .name = "cluster", .init = cluster_init, .start = cluster_start,
	    .fini = cluster_fini, .tick = cluster_tick, .sections = cluster_sections,
	    .routes = cluster_routes },
	[ENGINE_MOD_DETECTION] = { .name = "detection", .init = detection_init,
	    .fini = detection_fini, .tick = detection_tick, .reset = detection_reset,
	    .pos_changed = detection_pos_changed, .sections = detection_sections,
	    .routes = detection_routes },
	[ENGINE_MOD_MITIGATION] = { .name = "mitigation", .init = mitigation_init,
	    .start = mitigation_startup, .fini = mitigation_fini, .tick = mitigation_tick,
	    .reset = mitigation_reset, .sections = mitigation_sections,
	    .routes = mitigation_routes },
	[ENGINE_MOD_HISTORY] = { .name = "history", .init = api_history_init,
	    .fini = api_history_fini, .tick = api_history_tick,
	    .pos_changed = api_history_pos_changed, .routes = history_routes },
};

int
engine_wire(struct engine *e)
{
	struct conntab *t = conntab_get(e);
	struct collector *c = collector_get(e);
	struct detection_ctx *d = detection_get(e);
	struct mitigation_ctx *m = mitigation_get(e);
	struct api_history *h = api_history_get(e);
	struct cluster *cl = cluster_get(e);
	int r;

	/* A collect instance publishes its readings instead of detecting on
	 * them; an engine instance's readings come from the cluster. */
	if (cl != NULL && cluster_role(cl) == CLUSTER_COLLECT)
		d = NULL;
	if (cl != NULL && cluster_role(cl) == CLUSTER_ENGINE) {
		cluster_set_reading_fn(cl, d != NULL ? detection_reading_cb : NULL, d);
		cluster_set_adopters(cl, d, m);
	}

	if (c != NULL) {
		/* Before the collector's threads start (its start()). */
		collector_set_conn_sink(c, t != NULL ? conntab_sink : NULL, t);
		/* Readings feed the detectors, and samples the attacks' top lists. */
		if (cl != NULL && cluster_role(cl) == CLUSTER_COLLECT) {
			collector_set_reading_fn(c, cluster_reading_cb, cl);
			collector_set_sample_fn(c, cluster_sample_cb, cl);
			cluster_set_counters(cl, collector_counters(c));
		} else {
			collector_set_reading_fn(c, d != NULL ? detection_reading_cb : NULL, d);
			collector_set_sample_fn(c, d != NULL ? detection_sample_cb : NULL, d);
		}
	}
	if (d != NULL)
		detection_set_counters(d, c != NULL ? collector_counters(c) : NULL);
	if (t != NULL)
		conntab_set_detection(t, d);
	if (h != NULL)
		api_history_set_counters(h, c != NULL ? collector_counters(c) : NULL);
	if (m != NULL) {
		mitigation_set_detection(m, d);
		if (cl != NULL && cluster_role(cl) == CLUSTER_ENGINE)
			mitigation_set_gate(m, cluster_po_gate, cl);
		if (d == NULL)
			log_warnx("mitigation: detection is not running; "
			    "only manual mitigation works");
		else if ((r = detection_listen(d, mitigation_on_attack, m)) < 0)
			return r;
	}
	return 0;
}
