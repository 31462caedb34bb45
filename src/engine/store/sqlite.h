/*
 * store_sqlite: the SQLite backend of store.h (WAL, versioned migrations,
 * online backup). Use it through store_open("sqlite", ...).
 */
#ifndef MOAT_ENGINE_STORE_SQLITE_H
#define MOAT_ENGINE_STORE_SQLITE_H

#include "engine/store/store.h"

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

#endif
