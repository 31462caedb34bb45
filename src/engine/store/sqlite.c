/*
 * store_sqlite: the SQLite backend.
 *
 * The database runs in WAL mode with synchronous=NORMAL (durable transactions
 * switch to FULL for their commit), a busy timeout, and a versioned schema:
 * moat_meta holds format and schema_version, and store_sqlite_migrations[i]
 * brings a database from version i to i + 1, all pending steps in one
 * transaction at open. Restore validates a candidate file on its own
 * connection, then copies its rows into ours inside one transaction, so a
 * refused or interrupted restore leaves the live store untouched.
 */
#include "engine/store/sqlite.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#define STORE_SQLITE_BUSY_MS 5000

struct store_sqlite {
	struct store base;	/* first: store.c sees only this */
	sqlite3 *db;
	bool durable;		/* the open transaction asked for FULL sync */
};

/* store_sqlite_migrations[i]: schema version i -> i + 1. Never edit a
 * shipped step; append a new one and bump STORE_SQLITE_SCHEMA_VERSION. */
static const char *const store_sqlite_migrations[STORE_SQLITE_SCHEMA_VERSION] = {
	"CREATE TABLE moat_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
	"CREATE TABLE po (name TEXT PRIMARY KEY, json TEXT NOT NULL);"
	"CREATE TABLE flight (id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" time_ms INTEGER NOT NULL, category TEXT NOT NULL, event TEXT NOT NULL,"
	" message TEXT NOT NULL, detail TEXT);"
	"CREATE INDEX flight_time ON flight (time_ms);"
	"CREATE TABLE kv (key TEXT PRIMARY KEY, value BLOB NOT NULL);"
	"INSERT INTO moat_meta VALUES ('format', '" STORE_SQLITE_FORMAT "');"
	"INSERT INTO moat_meta VALUES ('schema_version', '0');",
};

/* Every schema object a valid store may hold; restore refuses others
 * (a foreign trigger or view would run inside our database). */
static const char *const store_sqlite_objects[] = {
	"moat_meta", "po", "flight", "flight_time", "kv", "sqlite_sequence",
	"sqlite_autoindex_moat_meta_1", "sqlite_autoindex_po_1", "sqlite_autoindex_kv_1",
};

static struct store_sqlite *
store_sqlite(struct store *s)
{
	return (struct store_sqlite *)s;
}

static int
store_sqlite_errno(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return 0;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_CONSTRAINT:
		return -EEXIST;
	case SQLITE_PERM:
	case SQLITE_AUTH:
	case SQLITE_READONLY:
		return -EACCES;
	case SQLITE_CANTOPEN:
		return -ENOENT;
	case SQLITE_NOTADB:
	case SQLITE_CORRUPT:
	case SQLITE_MISMATCH:
	case SQLITE_SCHEMA:
		return -EINVAL;
	case SQLITE_TOOBIG:
		return -E2BIG;
	default:
		return -EIO;
	}
}

static int
store_sqlite_exec(sqlite3 *db, const char *sql)
{
	return store_sqlite_errno(sqlite3_exec(db, sql, NULL, NULL, NULL));
}

static int
store_sqlite_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **ret)
{
	return store_sqlite_errno(sqlite3_prepare_v2(db, sql, -1, ret, NULL));
}

/* Step a statement that returns no rows, then finalize it. */
static int
store_sqlite_run(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : store_sqlite_errno(rc);
}

/* Read one text value of moat_meta; *ret is malloc'd. */
static int
store_sqlite_meta_get(sqlite3 *db, const char *key, char **ret)
{
	sqlite3_stmt *st;
	int r, rc;

	r = store_sqlite_prepare(db, "SELECT value FROM moat_meta WHERE key = ?", &st);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) == SQLITE_TEXT) {
		char *v = strdup((const char *)sqlite3_column_text(st, 0));

		r = v ? 0 : -ENOMEM;
		if (v)
			*ret = v;
	} else {
		r = rc == SQLITE_DONE || rc == SQLITE_ROW ? -ENOENT : store_sqlite_errno(rc);
	}
	sqlite3_finalize(st);
	return r;
}

static bool
store_sqlite_has_table(sqlite3 *db, const char *name)
{
	sqlite3_stmt *st;
	bool found;

	if (store_sqlite_prepare(db,
	    "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?", &st) < 0)
		return false;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	found = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return found;
}

static int
store_sqlite_count_objects(sqlite3 *db, int64_t *ret)
{
	sqlite3_stmt *st;
	int r, rc;

	r = store_sqlite_prepare(db, "SELECT count(*) FROM sqlite_schema", &st);
	if (r < 0)
		return r;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*ret = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : store_sqlite_errno(rc);
}

/*
 * The schema version of db: 0 for an empty database, -EINVAL if it holds
 * anything that is not a moat store, -EPROTO if it is newer than this build.
 */
static int
store_sqlite_version(sqlite3 *db, int *ret)
{
	char *format = NULL, *version = NULL;
	int64_t nobj = 0, v;
	int r;

	r = store_sqlite_count_objects(db, &nobj);
	if (r < 0)
		return r;
	if (nobj == 0) {
		*ret = 0;
		return 0;
	}
	if (!store_sqlite_has_table(db, "moat_meta"))
		return -EINVAL;
	r = store_sqlite_meta_get(db, "format", &format);
	if (r < 0 || strcmp(format, STORE_SQLITE_FORMAT) != 0) {
		r = -EINVAL;
		goto out;
	}
	r = store_sqlite_meta_get(db, "schema_version", &version);
	if (r < 0) {
		r = -EINVAL;
		goto out;
	}
	/* Digits only, small: parse by hand rather than pull in strnum for a
	 * value we wrote ourselves (a foreign file fails the range check). */
	v = 0;
	for (const char *p = version; *p; p++) {
		if (*p < '0' || *p > '9' || v > 1000000) {
			r = -EINVAL;
			goto out;
		}
		v = v * 10 + (*p - '0');
	}
	if (*version == '\0' || v < 1) {
		r = -EINVAL;
		goto out;
	}
	if (v > STORE_SQLITE_SCHEMA_VERSION) {
		r = -EPROTO;
		goto out;
	}
	*ret = (int)v;
	r = 0;
out:
	free(format);
	free(version);
	return r;
}

/* Apply every pending migration in one transaction. */
static int
store_sqlite_migrate(sqlite3 *db)
{
	char sql[128];
	int version, r;

	r = store_sqlite_exec(db, "BEGIN IMMEDIATE");
	if (r < 0)
		return r;
	r = store_sqlite_version(db, &version);
	if (r < 0)
		goto fail;
	if (version == STORE_SQLITE_SCHEMA_VERSION)
		return store_sqlite_exec(db, "COMMIT");
	for (int v = version; v < STORE_SQLITE_SCHEMA_VERSION; v++) {
		r = store_sqlite_exec(db, store_sqlite_migrations[v]);
		if (r < 0)
			goto fail;
	}
	snprintf(sql, sizeof(sql),
	    "UPDATE moat_meta SET value = '%d' WHERE key = 'schema_version'",
	    STORE_SQLITE_SCHEMA_VERSION);
	r = store_sqlite_exec(db, sql);
	if (r < 0)
		goto fail;
	return store_sqlite_exec(db, "COMMIT");
fail:
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return r;
}

/* Settings every connection gets, including ones to untrusted files. */
static int
store_sqlite_harden(sqlite3 *db)
{
	sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, NULL);
	sqlite3_busy_timeout(db, STORE_SQLITE_BUSY_MS);
	return store_sqlite_exec(db, "PRAGMA cell_size_check = ON");
}

static int
store_sqlite_connect(const char *path, int flags, sqlite3 **ret)
{
	sqlite3 *db = NULL;
	int rc, r;

	rc = sqlite3_open_v2(path, &db, flags | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		r = store_sqlite_errno(rc);
		sqlite3_close(db);
		return r < 0 ? r : -EIO;
	}
	r = store_sqlite_harden(db);
	if (r < 0) {
		sqlite3_close(db);
		return r;
	}
	*ret = db;
	return 0;
}

static int
store_sqlite_open(const char *path, struct store **ret)
{
	struct store_sqlite *ss;
	sqlite3 *db;
	int r;

	r = store_sqlite_connect(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, &db);
	if (r < 0)
		return r;
	r = store_sqlite_exec(db, "PRAGMA journal_mode = WAL");
	if (r == 0)
		r = store_sqlite_exec(db, "PRAGMA synchronous = NORMAL");
	if (r == 0)
		r = store_sqlite_exec(db, "PRAGMA foreign_keys = ON");
	if (r == 0)
		r = store_sqlite_migrate(db);
	if (r < 0)
		goto fail;
	ss = calloc(1, sizeof(*ss));
	if (!ss) {
		r = -ENOMEM;
		goto fail;
	}
	ss->db = db;
	*ret = &ss->base;
	return 0;
fail:
	sqlite3_close(db);
	return r;
}

static void
store_sqlite_close(struct store *s)
{
	struct store_sqlite *ss = store_sqlite(s);

	/* Fold the WAL back into the main file so a stopped store is one file. */
	sqlite3_exec(ss->db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
	sqlite3_close(ss->db);
	free(ss);
}

static int
store_sqlite_begin(struct store *s, enum store_durability d)
{
	struct store_sqlite *ss = store_sqlite(s);
	int r;

	ss->durable = d == STORE_DURABLE;
	if (ss->durable) {
		r = store_sqlite_exec(ss->db, "PRAGMA synchronous = FULL");
		if (r < 0)
			return r;
	}
	r = store_sqlite_exec(ss->db, "BEGIN IMMEDIATE");
	if (r < 0 && ss->durable)
		store_sqlite_exec(ss->db, "PRAGMA synchronous = NORMAL");
	return r;
}

static int
store_sqlite_end(struct store *s, const char *sql)
{
	struct store_sqlite *ss = store_sqlite(s);
	int r = store_sqlite_exec(ss->db, sql);

	if (r < 0 && sqlite3_get_autocommit(ss->db) == 0)
		sqlite3_exec(ss->db, "ROLLBACK", NULL, NULL, NULL);
	if (ss->durable)
		store_sqlite_exec(ss->db, "PRAGMA synchronous = NORMAL");
	ss->durable = false;
	return r;
}

/* End an internal transaction: commit if r is 0, else roll back; returns the
 * first error. */
static int
store_sqlite_finish(struct store *s, int r)
{
	int r2 = store_sqlite_end(s, r == 0 ? "COMMIT" : "ROLLBACK");

	return r < 0 ? r : r2;
}

static int
store_sqlite_commit(struct store *s)
{
	return store_sqlite_end(s, "COMMIT");
}

static int
store_sqlite_rollback(struct store *s)
{
	return store_sqlite_end(s, "ROLLBACK");
}

static int
store_sqlite_po_put(struct store *s, const char *name, const char *json)
{
	sqlite3_stmt *st;
	int r;

	r = store_sqlite_prepare(store_sqlite(s)->db,
	    "INSERT OR REPLACE INTO po (name, json) VALUES (?, ?)", &st);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, json, -1, SQLITE_STATIC);
	return store_sqlite_run(st);
}

/*
 * Run a one-parameter SELECT of one column and return that column of the
 * first row as a malloc'd copy with a NUL after it (so text can be used as a
 * string). -ENOENT when no row matches.
 */
static int
store_sqlite_fetch(struct store *s, const char *sql, const char *key, void **ret,
    size_t *ret_len)
{
	sqlite3_stmt *st;
	int r, rc;

	r = store_sqlite_prepare(store_sqlite(s)->db, sql, &st);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const void *b = sqlite3_column_blob(st, 0);
		size_t len = (size_t)sqlite3_column_bytes(st, 0);
		char *v = malloc(len + 1);

		r = v ? 0 : -ENOMEM;
		if (v) {
			if (len)
				memcpy(v, b, len);
			v[len] = '\0';
			*ret = v;
			*ret_len = len;
		}
	} else {
		r = rc == SQLITE_DONE ? -ENOENT : store_sqlite_errno(rc);
	}
	sqlite3_finalize(st);
	return r;
}

/* Run a one-parameter DELETE; -ENOENT when it deleted nothing. */
static int
store_sqlite_delete(struct store *s, const char *sql, const char *key)
{
	sqlite3 *db = store_sqlite(s)->db;
	sqlite3_stmt *st;
	int r;

	r = store_sqlite_prepare(db, sql, &st);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	r = store_sqlite_run(st);
	if (r == 0 && sqlite3_changes(db) == 0)
		r = -ENOENT;
	return r;
}

static int
store_sqlite_po_get(struct store *s, const char *name, char **ret_json)
{
	void *v;
	size_t len;
	int r = store_sqlite_fetch(s, "SELECT json FROM po WHERE name = ?", name, &v, &len);

	if (r == 0)
		*ret_json = v;
	return r;
}

static int
store_sqlite_po_del(struct store *s, const char *name)
{
	return store_sqlite_delete(s, "DELETE FROM po WHERE name = ?", name);
}

static int
store_sqlite_po_list(struct store *s, store_po_cb cb, void *arg)
{
	sqlite3_stmt *st;
	int r, rc;

	r = store_sqlite_prepare(store_sqlite(s)->db,
	    "SELECT name, json FROM po ORDER BY name", &st);
	if (r < 0)
		return r;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		r = cb((const char *)sqlite3_column_text(st, 0),
		    (const char *)sqlite3_column_text(st, 1), arg);
		if (r < 0)
			break;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = store_sqlite_errno(rc);
	sqlite3_finalize(st);
	return r;
}

static int
store_sqlite_flight_append(struct store *s, struct store_flight_entry *e)
{
	sqlite3 *db = store_sqlite(s)->db;
	sqlite3_stmt *st;
	int r;

	r = store_sqlite_prepare(db, "INSERT INTO flight (time_ms, category, event, message,"
	    " detail) VALUES (?, ?, ?, ?, ?)", &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, e->time_ms);
	sqlite3_bind_text(st, 2, e->category, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, e->event, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, e->message, -1, SQLITE_STATIC);
	if (e->detail)
		sqlite3_bind_text(st, 5, e->detail, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 5);
	r = store_sqlite_run(st);
	if (r == 0)
		e->id = (uint64_t)sqlite3_last_insert_rowid(db);
	return r;
}

static const char *
store_sqlite_col_text(sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	return t ? (const char *)t : "";
}

static int
store_sqlite_flight_query(struct store *s, const struct store_flight_filter *f,
    store_flight_cb cb, void *arg)
{
	char sql[512];
	size_t n = 0;
	sqlite3_stmt *st;
	int r, rc, col = 1;

	if (f->ncategories > STORE_FLIGHT_MAX_CATEGORIES)
		return -E2BIG;
	n = (size_t)snprintf(sql, sizeof(sql), "SELECT id, time_ms, category, event, message,"
	    " detail FROM flight WHERE time_ms >= ? AND time_ms <= ?");
	if (f->ncategories > 0) {
		n += (size_t)snprintf(sql + n, sizeof(sql) - n, " AND category IN (?");
		for (size_t i = 1; i < f->ncategories; i++)
			n += (size_t)snprintf(sql + n, sizeof(sql) - n, ", ?");
		n += (size_t)snprintf(sql + n, sizeof(sql) - n, ")");
	}
	snprintf(sql + n, sizeof(sql) - n, " ORDER BY time_ms DESC, id DESC LIMIT ?");
	r = store_sqlite_prepare(store_sqlite(s)->db, sql, &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, col++, f->since_ms);
	sqlite3_bind_int64(st, col++, f->until_ms);
	for (size_t i = 0; i < f->ncategories; i++)
		sqlite3_bind_text(st, col++, f->categories[i], -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, col, f->limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_flight_entry e = {
			.id = (uint64_t)sqlite3_column_int64(st, 0),
			.time_ms = sqlite3_column_int64(st, 1),
			.category = store_sqlite_col_text(st, 2),
			.event = store_sqlite_col_text(st, 3),
			.message = store_sqlite_col_text(st, 4),
			.detail = (const char *)sqlite3_column_text(st, 5),
		};

		r = cb(&e, arg);
		if (r < 0)
			break;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = store_sqlite_errno(rc);
	sqlite3_finalize(st);
	return r;
}

/*
 * Retention in bounded, indexed steps. Each statement deletes at most
 * `batch` rows found through an index (the rowid for the row cap, flight_time
 * for the age), so one call costs O(batch log n) whatever the table holds;
 * the engine calls again on its next tick while there is more to cut. The
 * row cap counts in insertion order: ids only grow and only the oldest rows
 * are ever deleted, so max(id) - max_rows is the cut without walking the
 * rows (a gap left by a restore only makes the cut keep fewer rows).
 */
const char store_sqlite_flight_age_sql[] =
    "DELETE FROM flight WHERE id IN (SELECT id FROM flight WHERE time_ms < ?1 LIMIT ?2)";
const char store_sqlite_flight_maxid_sql[] = "SELECT max(id) FROM flight";
const char store_sqlite_flight_cut_sql[] =
    "DELETE FROM flight WHERE id IN (SELECT id FROM flight WHERE id <= ?1 ORDER BY id LIMIT ?2)";

static int
store_sqlite_flight_delete(sqlite3 *db, const char *sql, int64_t bound, uint32_t batch)
{
	sqlite3_stmt *st;
	int r;

	r = store_sqlite_prepare(db, sql, &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, bound);
	sqlite3_bind_int64(st, 2, batch);
	r = store_sqlite_run(st);
	return r < 0 ? r : sqlite3_changes(db);
}

static int
store_sqlite_flight_prune(struct store *s, int64_t before_ms, uint64_t max_rows, uint32_t batch)
{
	sqlite3 *db = store_sqlite(s)->db;
	sqlite3_stmt *st;
	int64_t maxid = 0;
	int r, done;

	if (batch == 0)
		return 0;
	done = store_sqlite_flight_delete(db, store_sqlite_flight_age_sql, before_ms, batch);
	if (done < 0 || max_rows == 0 || (uint32_t)done >= batch)
		return done;
	r = store_sqlite_prepare(db, store_sqlite_flight_maxid_sql, &st);
	if (r < 0)
		return r;
	if (sqlite3_step(st) == SQLITE_ROW)
		maxid = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (max_rows >= (uint64_t)INT64_MAX || maxid <= (int64_t)max_rows)
		return done;
	r = store_sqlite_flight_delete(db, store_sqlite_flight_cut_sql, maxid - (int64_t)max_rows,
	    batch - (uint32_t)done);
	return r < 0 ? r : done + r;
}

static int
store_sqlite_kv_get(struct store *s, const char *key, void **ret, size_t *ret_len)
{
	return store_sqlite_fetch(s, "SELECT value FROM kv WHERE key = ?", key, ret, ret_len);
}

static int
store_sqlite_kv_put(struct store *s, const char *key, const void *val, size_t len)
{
	sqlite3_stmt *st;
	int r;

	if (len > INT32_MAX)
		return -E2BIG;
	r = store_sqlite_prepare(store_sqlite(s)->db,
	    "INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)", &st);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, len ? val : "", (int)len, SQLITE_STATIC);
	return store_sqlite_run(st);
}

static int
store_sqlite_kv_del(struct store *s, const char *key)
{
	return store_sqlite_delete(s, "DELETE FROM kv WHERE key = ?", key);
}

int
store_sqlite_kv_list(struct store *s, store_sqlite_kv_cb cb, void *arg)
{
	sqlite3_stmt *st;
	int r, rc;

	r = store_sqlite_prepare(store_sqlite(s)->db, "SELECT key, value FROM kv ORDER BY key", &st);
	if (r < 0)
		return r;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const void *b = sqlite3_column_blob(st, 1);

		r = cb((const char *)sqlite3_column_text(st, 0), b ? b : "",
		    (size_t)sqlite3_column_bytes(st, 1), arg);
		if (r < 0)
			break;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = store_sqlite_errno(rc);
	sqlite3_finalize(st);
	return r;
}

int
store_sqlite_flight_load(struct store *s, const struct store_flight_entry *e)
{
	sqlite3_stmt *st;
	int r;

	if (e->id == 0 || e->id > (uint64_t)INT64_MAX)
		return -EINVAL;
	r = store_sqlite_prepare(store_sqlite(s)->db, "INSERT INTO flight (id, time_ms, category,"
	    " event, message, detail) VALUES (?, ?, ?, ?, ?, ?)", &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, (int64_t)e->id);
	sqlite3_bind_int64(st, 2, e->time_ms);
	sqlite3_bind_text(st, 3, e->category, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, e->event, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, e->message, -1, SQLITE_STATIC);
	if (e->detail)
		sqlite3_bind_text(st, 6, e->detail, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 6);
	return store_sqlite_run(st);
}

int
store_sqlite_seal(struct store *s)
{
	return store_sqlite_exec(store_sqlite(s)->db, "PRAGMA journal_mode = DELETE");
}

/* Copy all of src's main database into dst's with the online backup API. */
static int
store_sqlite_copy(sqlite3 *dst, sqlite3 *src)
{
	sqlite3_backup *b = sqlite3_backup_init(dst, "main", src, "main");
	int rc;

	if (!b)
		return store_sqlite_errno(sqlite3_errcode(dst));
	rc = sqlite3_backup_step(b, -1);
	sqlite3_backup_finish(b);
	return rc == SQLITE_DONE ? 0 : store_sqlite_errno(rc);
}

static int
store_sqlite_backup_to_file(struct store *s, const char *path)
{
	sqlite3 *dst;
	int r;

	r = store_sqlite_connect(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, &dst);
	if (r < 0)
		return r;
	r = store_sqlite_copy(dst, store_sqlite(s)->db);
	/* The copy carries our WAL flag; a backup must be one self-contained file. */
	if (r == 0)
		r = store_sqlite_exec(dst, "PRAGMA journal_mode = DELETE");
	sqlite3_close(dst);
	return r;
}

static bool
store_sqlite_known_object(const char *name)
{
	for (size_t i = 0; i < sizeof(store_sqlite_objects) / sizeof(store_sqlite_objects[0]); i++)
		if (strcmp(store_sqlite_objects[i], name) == 0)
			return true;
	return false;
}

/* Refuse a database holding objects a moat store never has. */
static int
store_sqlite_check_objects(sqlite3 *db)
{
	sqlite3_stmt *st;
	int r, rc;

	r = store_sqlite_prepare(db, "SELECT name FROM sqlite_schema", &st);
	if (r < 0)
		return r;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const unsigned char *name = sqlite3_column_text(st, 0);

		if (!name || !store_sqlite_known_object((const char *)name)) {
			r = -EINVAL;
			break;
		}
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = -EINVAL;
	sqlite3_finalize(st);
	return r;
}

static int
store_sqlite_integrity_ok(sqlite3 *db)
{
	sqlite3_stmt *st;
	int r;

	r = store_sqlite_prepare(db, "PRAGMA integrity_check", &st);
	if (r < 0)
		return -EINVAL;
	r = -EINVAL;
	if (sqlite3_step(st) == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(st, 0);

		if (t && strcmp((const char *)t, "ok") == 0)
			r = 0;
	}
	sqlite3_finalize(st);
	return r;
}

/* Validate the candidate backup at path and bring it to our schema version.
 * Any failure to read it as a moat backup is -EINVAL. */
/*
 * Every PO row's key must be the name inside its JSON: the engine keys POs by
 * the row and builds them from the JSON, so a file where they disagree
 * (doctored, or hand-edited) would leave two views of one PO.
 */
static int
store_sqlite_check_po_keys(sqlite3 *db)
{
	sqlite3_stmt *st;
	int r, rc;

	r = store_sqlite_prepare(db, "SELECT 1 FROM po WHERE typeof(name) != 'text'"
	    " OR NOT json_valid(json) OR json_type(json, '$.name') IS NOT 'text'"
	    " OR json_extract(json, '$.name') IS NOT name LIMIT 1", &st);
	if (r < 0)
		return r;
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW)
		return -EINVAL;
	return rc == SQLITE_DONE ? 0 : store_sqlite_errno(rc);
}

static int
store_sqlite_check_backup(const char *path)
{
	sqlite3 *db;
	int version = 0, r;

	r = store_sqlite_connect(path, SQLITE_OPEN_READWRITE, &db);
	if (r < 0)
		return -EINVAL;
	r = store_sqlite_integrity_ok(db);
	if (r == 0)
		r = store_sqlite_check_objects(db);
	if (r == 0)
		r = store_sqlite_version(db, &version);
	if (r == 0 && version < 1)
		r = -EINVAL;	/* an empty database is not a backup */
	if (r == 0 && version < STORE_SQLITE_SCHEMA_VERSION)
		r = store_sqlite_migrate(db);
	if (r == 0)
		r = store_sqlite_check_po_keys(db);
	if (r == 0)
		r = store_sqlite_exec(db, "PRAGMA journal_mode = DELETE");
	sqlite3_close(db);
	if (r == -EPROTO)
		return r;
	return r < 0 ? -EINVAL : 0;
}

static const char store_sqlite_restore_sql[] =
	"DELETE FROM main.po; DELETE FROM main.flight; DELETE FROM main.kv;"
	"INSERT INTO main.po (name, json) SELECT CAST(name AS TEXT), CAST(json AS TEXT)"
	" FROM bak.po;"
	"INSERT INTO main.flight (id, time_ms, category, event, message, detail)"
	" SELECT id, CAST(time_ms AS INTEGER), CAST(category AS TEXT), CAST(event AS TEXT),"
	" CAST(message AS TEXT), detail FROM bak.flight;"
	"INSERT INTO main.kv (key, value) SELECT CAST(key AS TEXT), value FROM bak.kv;";

static int
store_sqlite_restore_from_file(struct store *s, const char *path)
{
	struct store_sqlite *ss = store_sqlite(s);
	sqlite3_stmt *st;
	int r;

	r = store_sqlite_check_backup(path);
	if (r < 0)
		return r;
	r = store_sqlite_prepare(ss->db, "ATTACH DATABASE ? AS bak", &st);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
	r = store_sqlite_run(st);
	if (r < 0)
		return r;
	r = store_sqlite_begin(s, STORE_DURABLE);
	if (r == 0) {
		r = store_sqlite_exec(ss->db, store_sqlite_restore_sql);
		/* A row that violates our constraints means a doctored file. */
		if (r == -EEXIST)
			r = -EINVAL;
		r = store_sqlite_finish(s, r);
	}
	sqlite3_exec(ss->db, "DETACH DATABASE bak", NULL, NULL, NULL);
	return r;
}

static int
store_sqlite_reset(struct store *s)
{
	struct store_sqlite *ss = store_sqlite(s);
	int r;

	r = store_sqlite_begin(s, STORE_DURABLE);
	if (r < 0)
		return r;
	r = store_sqlite_exec(ss->db, "DELETE FROM po; DELETE FROM flight; DELETE FROM kv;");
	return store_sqlite_finish(s, r);
}

const struct store_ops store_sqlite_ops = {
	.name = "sqlite",
	.open = store_sqlite_open,
	.close = store_sqlite_close,
	.begin = store_sqlite_begin,
	.commit = store_sqlite_commit,
	.rollback = store_sqlite_rollback,
	.po_put = store_sqlite_po_put,
	.po_get = store_sqlite_po_get,
	.po_del = store_sqlite_po_del,
	.po_list = store_sqlite_po_list,
	.flight_append = store_sqlite_flight_append,
	.flight_query = store_sqlite_flight_query,
	.flight_prune = store_sqlite_flight_prune,
	.kv_get = store_sqlite_kv_get,
	.kv_put = store_sqlite_kv_put,
	.kv_del = store_sqlite_kv_del,
	.backup_to_file = store_sqlite_backup_to_file,
	.restore_from_file = store_sqlite_restore_from_file,
	.reset = store_sqlite_reset,
};
