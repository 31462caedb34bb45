/* api_alarms: POST /api/v1/alarms, moat-chaff's alarm reports (api/route.c's table). */
#ifndef MOAT_ENGINE_API_ALARMS_H
#define MOAT_ENGINE_API_ALARMS_H

#include <stddef.h>

struct api_req;

void api_alarms_post(struct api_req *r);

/* The body check of POST /api/v1/alarms on its own (for the fuzzer): NULL for
 * a report the engine accepts, else the offending field ("" when the body is
 * not a JSON object). */
const char *api_alarms_check(const char *body, size_t len);

#endif
