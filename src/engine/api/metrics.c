/*
 * api_metrics: attack, mitigation and health families of /metrics.
 */
#include "engine/api/metrics.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/limits.h"
#include "engine/core/engine.h"
#include "engine/core/health.h"
#include "engine/detect/decision.h"
#include "engine/detect/module.h"
#include "engine/mitigate/module.h"

const char *
api_metrics_label(const char *s, char *buf, size_t len)
{
	size_t o = 0;

	for (; s && *s && o + 3 < len; s++) {
		if (*s == '\\' || *s == '"') {
			buf[o++] = '\\';
			buf[o++] = *s;
		} else if (*s == '\n') {
			buf[o++] = '\\';
			buf[o++] = 'n';
		} else {
			buf[o++] = *s;
		}
	}
	buf[o] = '\0';
	return buf;
}

struct api_metrics_live {
	char po[LIMIT_PO_NAME + 1];
	enum decision_type type;
	enum decision_state state;
	uint64_t n;
};

struct api_metrics_walk {
	struct api_metrics_live *live;
	size_t nlive;
	uint64_t mark_ns, newest_ns, newly_declared;
};

static int
api_metrics_attack(const struct decision_attack *a, void *arg)
{
	struct api_metrics_walk *w = arg;
	size_t i;

	if (a->declared_ns != 0 && a->declared_ns > w->mark_ns) {
		w->newly_declared++;
		if (a->declared_ns > w->newest_ns)
			w->newest_ns = a->declared_ns;
	}
	if (a->state == DECISION_ENDED)
		return 0;
	for (i = 0; i < w->nlive; i++)
		if (w->live[i].type == a->type && w->live[i].state == a->state &&
		    strcmp(w->live[i].po, a->po) == 0)
			break;
	if (i == w->nlive) {
		if (w->nlive == LIMIT_ATTACKS_LIVE)
			return 0;
		snprintf(w->live[i].po, sizeof(w->live[i].po), "%s", a->po);
		w->live[i].type = a->type;
		w->live[i].state = a->state;
		w->nlive++;
	}
	w->live[i].n++;
	return 0;
}

void
api_metrics_attacks(FILE *f, struct engine *e, struct api_metrics_mark *mark)
{
	struct detection_ctx *d = detection_get(e);
	struct api_metrics_walk w = { .mark_ns = mark->newest_declared_ns,
	    .newest_ns = mark->newest_declared_ns };
	char po[2 * LIMIT_PO_NAME + 3];

	if (d) {
		w.live = calloc(LIMIT_ATTACKS_LIVE, sizeof(*w.live));
		if (!w.live)
			return;
		decision_walk(detection_decision(d), api_metrics_attack, &w);
		mark->declared_total += w.newly_declared;
		mark->newest_declared_ns = w.newest_ns;
	}
	fprintf(f, "# HELP moat_attacks_live Attacks not yet ended, by protected object, type "
	    "and state (suspected, declared, ending).\n# TYPE moat_attacks_live gauge\n");
	for (size_t i = 0; i < w.nlive; i++)
		fprintf(f, "moat_attacks_live{po=\"%s\",type=\"%s\",state=\"%s\"} %" PRIu64 "\n",
		    api_metrics_label(w.live[i].po, po, sizeof(po)),
		    decision_type_name(w.live[i].type), decision_state_name(w.live[i].state),
		    w.live[i].n);
	fprintf(f, "# HELP moat_attacks_declared_total Attacks declared since moatd started "
	    "(or restored with its state).\n# TYPE moat_attacks_declared_total counter\n"
	    "moat_attacks_declared_total %" PRIu64 "\n", mark->declared_total);
	fprintf(f, "# HELP moat_attacks_refused_total Detections refused because the live "
	    "attack table was full.\n# TYPE moat_attacks_refused_total counter\n"
	    "moat_attacks_refused_total %" PRIu64 "\n",
	    d ? decision_refused(detection_decision(d)) : 0);
	free(w.live);
}

/* Status names of mitigations that hold no rule although they should. */
static bool
api_metrics_failing(const char *status)
{
	return strcmp(status, "no_resources") == 0 || strcmp(status, "not_mitigated") == 0;
}

void
api_metrics_mitigations(FILE *f, struct engine *e)
{
	struct mitigation_ctx *m = mitigation_get(e);
	json_t *list = m ? mitigation_list_json(m) : NULL, *it;
	char drv[64], po[2 * LIMIT_PO_NAME + 3], st[64];
	size_t i, j;

	/* Few mitigations (max_rules): the O(n^2) grouping below is fine. */
	fprintf(f, "# HELP moat_mitigations_active Mitigations a driver holds now, by driver.\n"
	    "# TYPE moat_mitigations_active gauge\n");
	json_array_foreach(list, i, it) {
		const char *status = json_string_value(json_object_get(it, "status"));
		const char *driver = json_string_value(json_object_get(it, "driver"));
		json_t *o;
		uint64_t n = 0;
		bool seen = false;

		if (!status || !driver || strcmp(status, "mitigating") != 0)
			continue;
		json_array_foreach(list, j, o) {
			const char *s2 = json_string_value(json_object_get(o, "status"));
			const char *d2 = json_string_value(json_object_get(o, "driver"));

			if (!s2 || !d2 || strcmp(s2, "mitigating") != 0 || strcmp(d2, driver) != 0)
				continue;
			if (j < i)
				seen = true;
			n++;
		}
		if (!seen)
			fprintf(f, "moat_mitigations_active{driver=\"%s\"} %" PRIu64 "\n",
			    api_metrics_label(driver, drv, sizeof(drv)), n);
	}
	fprintf(f, "# HELP moat_mitigations_failing Mitigations no driver could apply "
	    "(no_resources: retried; not_mitigated: no driver, allowlisted or over a cap).\n"
	    "# TYPE moat_mitigations_failing gauge\n");
	for (const char *const *s = (const char *const[]){ "no_resources", "not_mitigated", NULL };
	    *s; s++) {
		uint64_t n = 0;

		json_array_foreach(list, i, it) {
			const char *status = json_string_value(json_object_get(it, "status"));

			if (status && api_metrics_failing(status) && strcmp(status, *s) == 0)
				n++;
		}
		fprintf(f, "moat_mitigations_failing{status=\"%s\"} %" PRIu64 "\n", *s, n);
	}
	fprintf(f, "# HELP moat_mitigation_dropped_packets_total Packets a mitigation's rule "
	    "dropped, per mitigation still in memory.\n"
	    "# TYPE moat_mitigation_dropped_packets_total counter\n");
	json_array_foreach(list, i, it) {
		const char *status = json_string_value(json_object_get(it, "status"));
		const char *driver = json_string_value(json_object_get(it, "driver"));
		const char *p = json_string_value(json_object_get(json_object_get(it, "request"),
		    "po"));

		if (!status || strcmp(status, "pending") == 0)
			continue;
		fprintf(f, "moat_mitigation_dropped_packets_total{id=\"%" PRIu64 "\",po=\"%s\","
		    "driver=\"%s\",status=\"%s\"} %" PRIu64 "\n",
		    (uint64_t)json_integer_value(json_object_get(it, "id")),
		    api_metrics_label(p, po, sizeof(po)),
		    api_metrics_label(driver, drv, sizeof(drv)),
		    api_metrics_label(status, st, sizeof(st)),
		    (uint64_t)json_integer_value(json_object_get(it, "packets")));
	}
	json_decref(list);
}

void
api_metrics_health(FILE *f, struct engine *e)
{
	static const enum health_status all[] = { HEALTH_OK, HEALTH_DEGRADED, HEALTH_FAILING };
	struct health *h = engine_health(e);
	enum health_status now = health_status(h);
	json_t *issues = health_issues_json(h);

	fprintf(f, "# HELP moat_health_status moatd's health: 1 for the current status.\n"
	    "# TYPE moat_health_status gauge\n");
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		fprintf(f, "moat_health_status{status=\"%s\"} %d\n", health_status_name(all[i]),
		    all[i] == now);
	fprintf(f, "# HELP moat_health_score moatd's trouble score (0 = none).\n"
	    "# TYPE moat_health_score gauge\nmoat_health_score %g\n", health_score(h));
	fprintf(f, "# HELP moat_health_issues Modules with a noticeable health issue.\n"
	    "# TYPE moat_health_issues gauge\nmoat_health_issues %zu\n", json_array_size(issues));
	json_decref(issues);
}
