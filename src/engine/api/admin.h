/*
 * api_admin: REST handlers for health, backup, restore and factory reset.
 */
#ifndef MOAT_ENGINE_API_ADMIN_H
#define MOAT_ENGINE_API_ADMIN_H

struct api_req;

void api_admin_health(struct api_req *r);
void api_admin_backup(struct api_req *r);
void api_admin_restore(struct api_req *r);
void api_admin_reset(struct api_req *r);


#endif
