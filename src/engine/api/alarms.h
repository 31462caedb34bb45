/* api_alarms: POST /api/v1/alarms, moat-chaff's alarm reports (api/route.c's table). */
#ifndef MOAT_ENGINE_API_ALARMS_H
#define MOAT_ENGINE_API_ALARMS_H

struct api_req;

void api_alarms_post(struct api_req *r);

#endif
