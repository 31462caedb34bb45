/* api_mitigations: the REST handlers of /api/v1/mitigations (api/route.c's table). */
#ifndef MOAT_ENGINE_API_MITIGATIONS_H
#define MOAT_ENGINE_API_MITIGATIONS_H

struct api_req;

void api_mitigations_list(struct api_req *r);
void api_mitigations_get(struct api_req *r);
void api_mitigations_create(struct api_req *r);
void api_mitigations_delete(struct api_req *r);

#endif
