/*
 * repo: the repository interface a store backend implements — its types and
 * its ops table. store.h is the engine's side (open a backend by name, the
 * calls that dispatch to it, transaction nesting); a backend includes only
 * this header, so backends and the dispatcher do not depend on each other
 * but through it.
 */
#ifndef MOAT_ENGINE_STORE_REPO_H
#define MOAT_ENGINE_STORE_REPO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/limits.h"

struct store;

/* One flight-record entry as stored. Strings are owned by the caller
 * (append) or valid only during the callback (query). */
struct store_flight_entry {
	uint64_t id;		/* assigned by the store on append */
	int64_t time_ms;	/* wall time, ms since the epoch */
	const char *category;
	const char *event;
	const char *message;
	const char *detail;	/* JSON text, or NULL */
};

#define STORE_FLIGHT_MAX_CATEGORIES LIMIT_FLIGHT_CATEGORIES

/* Flight query: entries with since_ms <= time_ms <= until_ms whose category is
 * one of categories[] (all categories when ncategories is 0), newest first,
 * at most limit entries. */
struct store_flight_filter {
	const char *categories[STORE_FLIGHT_MAX_CATEGORIES];
	size_t ncategories;
	int64_t since_ms;
	int64_t until_ms;
	uint32_t limit;
};

/* Row callbacks: return 0 to continue, negative errno to stop the walk (the
 * value is returned by the walking call). */
typedef int (*store_po_cb)(const char *name, const char *json, void *arg);
typedef int (*store_flight_cb)(const struct store_flight_entry *e, void *arg);
/* A PO another writer of the shared store changed (added, replaced or
 * deleted: read it to know which), or NULL: reload every PO (changes may
 * have been missed, e.g. across a reconnect, or a restore/reset). */
typedef int (*store_change_cb)(const char *po_name, void *arg);

/* Transaction durability: config changes are fsynced (FULL), the rest
 * (flight entries, learned state) only reaches the WAL (NORMAL). */
enum store_durability { STORE_NORMAL, STORE_DURABLE };

struct store_ops {
	const char *name;
	int (*open)(const char *path, struct store **ret);
	void (*close)(struct store *s);
	int (*begin)(struct store *s, enum store_durability d);
	int (*commit)(struct store *s);
	int (*rollback)(struct store *s);
	int (*po_put)(struct store *s, const char *name, const char *json);
	int (*po_get)(struct store *s, const char *name, char **ret_json);
	int (*po_del)(struct store *s, const char *name);
	int (*po_list)(struct store *s, store_po_cb cb, void *arg);
	int (*flight_append)(struct store *s, struct store_flight_entry *e);
	int (*flight_query)(struct store *s, const struct store_flight_filter *f,
	    store_flight_cb cb, void *arg);
	int (*flight_prune)(struct store *s, int64_t before_ms, uint64_t max_rows, uint32_t batch);
	int (*kv_get)(struct store *s, const char *key, void **ret, size_t *ret_len);
	int (*kv_put)(struct store *s, const char *key, const void *val, size_t len);
	int (*kv_del)(struct store *s, const char *key);
	/* Optional: inside a transaction, wait until no other connection's
	 * transaction holds kv namespace ns and hold it until this one ends
	 * (NULL: a backend whose transaction already excludes every other
	 * writer, e.g. SQLite's BEGIN IMMEDIATE). */
	int (*kv_lock)(struct store *s, const char *ns);
	int (*backup_to_file)(struct store *s, const char *path);
	int (*restore_from_file)(struct store *s, const char *path);
	int (*reset)(struct store *s);
	/* Optional (NULL: a store nobody else writes, e.g. SQLite). */
	int (*listen)(struct store *s);
	int (*po_changes)(struct store *s, store_change_cb cb, void *arg);
};

/* Every backend's handle starts with this. */
struct store {
	const struct store_ops *ops;
	unsigned depth;		/* store_begin() nesting, kept by store.c */
	bool aborted;		/* an inner rollback doomed the transaction */
	char kv_ns[80];		/* store_kv_namespace(): "" = none, kept by store.c */
};

#endif
