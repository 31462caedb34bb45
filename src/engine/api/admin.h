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

/*
 * Remove the temporary files (<state>/.backup-*, .restore-* and their SQLite
 * journals; api.url.tmp) that a backup, restore or start interrupted by a
 * crash or SIGKILL left behind. Called once at start, before the API serves.
 */
void api_admin_sweep(const char *state_dir);

#endif
