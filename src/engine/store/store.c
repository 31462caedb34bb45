/*
 * store: backend registry and the thin dispatch over a backend's ops table.
 * Transaction nesting lives here so backends only see outermost
 * transactions.
 */
#include "engine/store/store.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "engine/store/postgres.h"
#include "engine/store/sqlite.h"

/* Compiled-in backends; a new backend is a file and a row. */
static const struct store_ops *const store_backends[] = {
	&store_sqlite_ops,
	&store_pg_ops,
};

static const struct store_ops *
store_find_backend(const char *name)
{
	for (size_t i = 0; i < sizeof(store_backends) / sizeof(store_backends[0]); i++)
		if (strcmp(store_backends[i]->name, name) == 0)
			return store_backends[i];
	return NULL;
}

bool
store_backend_known(const char *backend)
{
	return store_find_backend(backend) != NULL;
}

int
store_open(const char *backend, const char *path, struct store **ret)
{
	const struct store_ops *ops = store_find_backend(backend);
	struct store *s;
	int r;

	if (!ops)
		return -ENOENT;
	r = ops->open(path, &s);
	if (r < 0)
		return r;
	s->ops = ops;
	s->depth = 0;
	s->aborted = false;
	*ret = s;
	return 0;
}

void
store_close(struct store *s)
{
	if (!s)
		return;
	if (s->depth > 0)
		s->ops->rollback(s);
	s->ops->close(s);
}

const char *
store_backend_name(const struct store *s)
{
	return s->ops->name;
}

int
store_begin(struct store *s, enum store_durability d)
{
	int r;

	if (s->depth == 0) {
		r = s->ops->begin(s, d);
		if (r < 0)
			return r;
		s->aborted = false;
	}
	s->depth++;
	return 0;
}

int
store_commit(struct store *s)
{
	if (s->depth == 0)
		return -EINVAL;
	if (--s->depth > 0)
		return s->aborted ? -ECANCELED : 0;
	if (s->aborted) {
		s->ops->rollback(s);
		return -ECANCELED;
	}
	return s->ops->commit(s);
}

int
store_rollback(struct store *s)
{
	if (s->depth == 0)
		return -EINVAL;
	if (--s->depth > 0) {
		s->aborted = true;
		return 0;
	}
	return s->ops->rollback(s);
}

int
store_po_put(struct store *s, const char *name, const char *json)
{
	return s->ops->po_put(s, name, json);
}

int
store_po_get(struct store *s, const char *name, char **ret_json)
{
	return s->ops->po_get(s, name, ret_json);
}

int
store_po_del(struct store *s, const char *name)
{
	return s->ops->po_del(s, name);
}

int
store_po_list(struct store *s, store_po_cb cb, void *arg)
{
	return s->ops->po_list(s, cb, arg);
}

int
store_listen(struct store *s)
{
	return s->ops->listen != NULL ? s->ops->listen(s) : 0;
}

int
store_po_changes(struct store *s, store_change_cb cb, void *arg)
{
	return s->ops->po_changes != NULL ? s->ops->po_changes(s, cb, arg) : 0;
}

int
store_flight_append(struct store *s, struct store_flight_entry *e)
{
	return s->ops->flight_append(s, e);
}

int
store_flight_query(struct store *s, const struct store_flight_filter *f,
    store_flight_cb cb, void *arg)
{
	return s->ops->flight_query(s, f, cb, arg);
}

int
store_flight_prune(struct store *s, int64_t before_ms, uint64_t max_rows, uint32_t batch)
{
	return s->ops->flight_prune(s, before_ms, max_rows, batch);
}

int
store_kv_namespace(struct store *s, const char *ns)
{
	if (strlen(ns) > 63)
		return -ENAMETOOLONG;
	snprintf(s->kv_ns, sizeof(s->kv_ns), "%s", ns);
	return 0;
}

/* The backend's key: key itself, or "<ns>/<key>" (into buf). */
static const char *
store_kv_key(const struct store *s, const char *key, char *buf, size_t len)
{
	if (s->kv_ns[0] == '\0')
		return key;
	if ((size_t)snprintf(buf, len, "%s/%s", s->kv_ns, key) >= len)
		return NULL;
	return buf;
}

int
store_kv_get(struct store *s, const char *key, void **ret, size_t *ret_len)
{
	char buf[320];
	const char *k = store_kv_key(s, key, buf, sizeof(buf));

	return k != NULL ? s->ops->kv_get(s, k, ret, ret_len) : -ENAMETOOLONG;
}

int
store_kv_put(struct store *s, const char *key, const void *val, size_t len)
{
	char buf[320];
	const char *k = store_kv_key(s, key, buf, sizeof(buf));

	return k != NULL ? s->ops->kv_put(s, k, val, len) : -ENAMETOOLONG;
}

int
store_kv_del(struct store *s, const char *key)
{
	char buf[320];
	const char *k = store_kv_key(s, key, buf, sizeof(buf));

	return k != NULL ? s->ops->kv_del(s, k) : -ENAMETOOLONG;
}

int
store_kv_lock(struct store *s)
{
	if (s->depth == 0)
		return -EINVAL;
	return s->ops->kv_lock != NULL ? s->ops->kv_lock(s, s->kv_ns) : 0;
}

int
store_backup_to_file(struct store *s, const char *path)
{
	if (s->depth > 0)
		return -EBUSY;
	return s->ops->backup_to_file(s, path);
}

int
store_restore_from_file(struct store *s, const char *path)
{
	if (s->depth > 0)
		return -EBUSY;
	return s->ops->restore_from_file(s, path);
}

int
store_reset(struct store *s)
{
	if (s->depth > 0)
		return -EBUSY;
	return s->ops->reset(s);
}
