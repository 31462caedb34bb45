/*
 * store_sqlite: the SQLite backend of store.h (WAL, versioned migrations,
 * online backup), implementing store/repo.h. Use it through
 * store_open("sqlite", ...).
 */
#ifndef MOAT_ENGINE_STORE_SQLITE_H
#define MOAT_ENGINE_STORE_SQLITE_H

#include "engine/store/repo.h"

/* The schema version this build writes; backups up to it can be restored. */
#define STORE_SQLITE_SCHEMA_VERSION 1
/* moat_meta.format of every moat store and backup. */
#define STORE_SQLITE_FORMAT "moat-store"

extern const struct store_ops store_sqlite_ops;

/* The retention statements, exported so a test can check their query plans
 * (every one must SEARCH an index, never SCAN the flight table). */
extern const char store_sqlite_flight_age_sql[];
extern const char store_sqlite_flight_maxid_sql[];
extern const char store_sqlite_flight_cut_sql[];

/*
 * For another backend's backups, which are SQLite files of this format (a
 * backup is portable between backends): walk every kv row in key order, and
 * insert a flight entry keeping its id (0 or > INT64_MAX: -EINVAL). The
 * store must be one opened with store_sqlite_ops.
 */
typedef int (*store_sqlite_kv_cb)(const char *key, const void *val, size_t len, void *arg);
int store_sqlite_kv_list(struct store *s, store_sqlite_kv_cb cb, void *arg);
int store_sqlite_flight_load(struct store *s, const struct store_flight_entry *e);
/* Make the file self-contained (rollback journal, no WAL beside it), as a
 * backup must be; outside a transaction. */
int store_sqlite_seal(struct store *s);

#endif
