/*
 * statedir: moatd's state directory (store, api.token, api.url, backups in
 * progress).
 */
#ifndef MOAT_ENGINE_CORE_STATEDIR_H
#define MOAT_ENGINE_CORE_STATEDIR_H

/*
 * Create dir (0700) if missing and check it is ours — owned by the file
 * system identity (split moatd's engine user) and writable by no one else:
 * a directory someone else can write could hold a planted api.url, token
 * or store. -EPERM (logged with the fix) when it is not.
 */
int statedir_make(const char *dir);

/*
 * Remove the temporary files (.backup-*, .restore-* and their SQLite
 * journals; api.url.tmp) that a backup, restore or start interrupted by a
 * crash or SIGKILL left behind. At start, before the API serves.
 */
void statedir_sweep(const char *dir);

#endif
