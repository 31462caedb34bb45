/*
 * api_traffic: REST handlers for traffic collection —
 *   GET /api/v1/pos/{name}/traffic   counters, rates and top hosts of one PO
 *   GET /api/v1/exporters            exporters with health, replay/capture inputs
 *   GET /metrics                     the same in Prometheus text format
 * When collection is not configured the first two answer with empty data
 * and "collecting": false, so clients need not special-case it.
 */
#ifndef MOAT_ENGINE_API_TRAFFIC_H
#define MOAT_ENGINE_API_TRAFFIC_H

struct api_req;

void api_traffic_po(struct api_req *r);
void api_traffic_exporters(struct api_req *r);
void api_traffic_metrics(struct api_req *r);

#endif
