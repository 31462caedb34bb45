/*
 * store: moatd's narrow repository interface.
 *
 * Everything moatd keeps across restarts goes through these calls: protected
 * objects (as their canonical JSON text, keyed by name), the flight record,
 * and opaque key/value blobs that later modules (detector baselines, attack
 * history) persist. A backend is one ops table (store/repo.h, the interface
 * a backend implements); SQLite is the default (store/sqlite.c), PostgreSQL
 * (store/postgres.c) the shared one for several moatd instances. The store
 * knows nothing about PO semantics: validation is po's job, so a backend
 * stays small.
 *
 * Every call returns 0 or a negative errno; library-style, it never logs —
 * the caller reports once with context. Writes outside an explicit
 * store_begin()/store_commit() are each their own transaction, so a SIGKILL
 * at any point leaves the store at the last committed state.
 */
#ifndef MOAT_ENGINE_STORE_H
#define MOAT_ENGINE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/store/repo.h"

/* Open the store of backend `backend` at `path`, creating and migrating it
 * as needed: "sqlite" takes a file path, "postgres" a libpq connection
 * string built by store_pg_target() (postgres.h). -ENOENT for an unknown
 * backend name. */
int store_open(const char *backend, const char *path, struct store **ret);
/* Flushes and closes; accepts NULL. */
void store_close(struct store *s);
const char *store_backend_name(const struct store *s);
/* True if `backend` names a compiled-in backend. */
bool store_backend_known(const char *backend);

/* Transactions nest: only the outermost begin/commit reach the backend, and
 * the durability of the outermost begin applies. A rollback at any depth
 * aborts the whole transaction. */
int store_begin(struct store *s, enum store_durability d);
int store_commit(struct store *s);
int store_rollback(struct store *s);

/* Insert or replace the PO `name`. */
int store_po_put(struct store *s, const char *name, const char *json);
/* *ret_json is malloc'd, the caller frees it. -ENOENT if absent. */
int store_po_get(struct store *s, const char *name, char **ret_json);
/* -ENOENT if absent. */
int store_po_del(struct store *s, const char *name);
/* Walk all POs in name order. */
int store_po_list(struct store *s, store_po_cb cb, void *arg);
/*
 * Other writers' PO changes (instances sharing a PostgreSQL store): after
 * store_listen(), each store_po_changes() reports, without waiting, the PO
 * names other sessions changed in transactions that committed since the last
 * call (never this store's own writes), or NULL once to reload every PO (a
 * reconnect may have lost some; a restore or reset). Returns how many were
 * reported, or a negative errno. A backend nobody else writes (SQLite):
 * both are no-ops returning 0. Call from the thread that uses the store.
 */
int store_listen(struct store *s);
int store_po_changes(struct store *s, store_change_cb cb, void *arg);

/* Append; e->id is set on success. */
int store_flight_append(struct store *s, struct store_flight_entry *e);
int store_flight_query(struct store *s, const struct store_flight_filter *f,
    store_flight_cb cb, void *arg);
/*
 * One bounded step of retention: delete up to batch entries older than
 * before_ms, then (within the same budget) entries past the newest max_rows
 * in insertion order (0 = no row cap). Returns how many were deleted: batch
 * means there may be more, call again (from the next tick, not in a loop on
 * the event thread); or a negative errno. Each step is O(batch log n).
 */
int store_flight_prune(struct store *s, int64_t before_ms, uint64_t max_rows, uint32_t batch);

/* Opaque blobs for engine modules; keys are "<module>/<name>". *ret is
 * malloc'd (the caller frees it); -ENOENT if absent. */
int store_kv_get(struct store *s, const char *key, void **ret, size_t *ret_len);
int store_kv_put(struct store *s, const char *key, const void *val, size_t len);
int store_kv_del(struct store *s, const char *key);
/* From now on, kv keys are "<ns>/<key>" in the backend (ns "" = none): the
 * instances of a deployment sharing one PostgreSQL store keep their
 * learned state apart (engine/cluster). -ENAMETOOLONG past 63 bytes. */
int store_kv_namespace(struct store *s, const char *ns);

/*
 * Inside store_begin()/store_commit(): wait until no other connection to the
 * store holds the current kv namespace (through this call) and hold it until
 * the transaction ends, so a read-modify-write of another instance's blobs,
 * which several instances may do at once, loses no one's update (reads made
 * after this call see what the previous holder committed). The lock is on
 * the name only: writes without it are not held off. -EINVAL outside a
 * transaction.
 */
int store_kv_lock(struct store *s);
/* Write a self-contained consistent copy of the whole store to `path`
 * (created or truncated). */
int store_backup_to_file(struct store *s, const char *path);
/* Replace the whole store with the backup at `path`. The file is validated
 * first (moat backup format, schema version not newer than ours, integrity
 * check, no foreign schema objects); -EINVAL and nothing changed if it fails. */
int store_restore_from_file(struct store *s, const char *path);
/* Factory reset: delete POs, flight record and kv blobs. */
int store_reset(struct store *s);

#endif
