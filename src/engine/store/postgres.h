/*
 * store_pg: the PostgreSQL backend of store.h (libpq), implementing
 * store/repo.h with the SQLite backend's semantics: versioned migrations in
 * moat_meta, prepared statements with every value bound, bounded indexed
 * flight retention, backups in the SQLite backend's file format (so a backup
 * restores into either backend). Use it through store_open("postgres", target)
 * where target comes from store_pg_target().
 */
#ifndef MOAT_ENGINE_STORE_POSTGRES_H
#define MOAT_ENGINE_STORE_POSTGRES_H

#include "engine/store/repo.h"

/* The schema version this build writes (moat_meta.schema_version). */
#define STORE_PG_SCHEMA_VERSION 1

extern const struct store_ops store_pg_ops;

/*
 * Build the connection target store_open("postgres", ...) takes from the
 * configuration: `conninfo` (libpq keyword/value or URI form) and an optional
 * `passfile` (a libpq password file; NULL: libpq's own PGPASSFILE or
 * ~/.pgpass). A conninfo holding a password (password, or sslpassword for
 * a client key) is refused (-EACCES): passwords come only from a password
 * file. Other libpq keywords (sslmode, sslrootcert,
 * sslcert, sslkey, ...) pass through unchanged. On failure *ret_why (if not
 * NULL) points at a static sentence; on success *ret is malloc'd.
 */
int store_pg_target(const char *conninfo, const char *passfile, char **ret,
    const char **ret_why);

/* The retention statements, exported so a test can check their plans with
 * EXPLAIN (each must reach flight through an index, never a Seq Scan). */
extern const char store_pg_flight_age_sql[];
extern const char store_pg_flight_maxid_sql[];
extern const char store_pg_flight_cut_sql[];

#endif
