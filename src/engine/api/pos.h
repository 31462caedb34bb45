/*
 * api_pos: REST handlers for /api/v1/pos and /api/v1/pos/{name}.
 */
#ifndef MOAT_ENGINE_API_POS_H
#define MOAT_ENGINE_API_POS_H

struct api_req;

void api_pos_list(struct api_req *r);
void api_pos_create(struct api_req *r);
void api_pos_get(struct api_req *r);
void api_pos_replace(struct api_req *r);
void api_pos_delete(struct api_req *r);

#endif
