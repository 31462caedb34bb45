/*
 * api_metrics: the /metrics families an operator alerts on — attacks (live
 * by PO, type and state; declared in total), mitigations (active by driver,
 * failing by status, packets dropped), health and exporters' last contact.
 * api/traffic.c renders the traffic families and calls these; every family
 * has its HELP and TYPE lines and its samples together (promtool-clean).
 */
#ifndef MOAT_ENGINE_API_METRICS_H
#define MOAT_ENGINE_API_METRICS_H

#include <stdint.h>
#include <stdio.h>

struct engine;

/*
 * moat_attacks_declared_total counts attacks as /metrics sees them declared:
 * each render counts the attacks declared after the newest one it had
 * counted. The state lives with the API server (one per moatd).
 */
struct api_metrics_mark {
	uint64_t declared_total;
	uint64_t newest_declared_ns;
};

void api_metrics_attacks(FILE *f, struct engine *e, struct api_metrics_mark *mark);
void api_metrics_mitigations(FILE *f, struct engine *e);
void api_metrics_health(FILE *f, struct engine *e);

/* A Prometheus label value: \, " and newline escaped; truncated to fit. */
const char *api_metrics_label(const char *s, char *buf, size_t len);

#endif
