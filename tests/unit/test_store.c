/* Unit tests for engine/store (SQLite backend): migration from an empty file,
 * reopen, transactions, flight and kv rows, backup/restore round trip, and
 * refusal of files that are not moat backups. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <sqlite3.h>

#include "engine/store/store.h"
#include "engine/store/sqlite.h"

struct fixture {
	char dir[64];
	char db[128];
	char bak[128];
	struct store *s;
};

static int
setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	strcpy(fx->dir, "/tmp/moat-test-store-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->db, sizeof(fx->db), "%s/moat.db", fx->dir);
	snprintf(fx->bak, sizeof(fx->bak), "%s/backup.db", fx->dir);
	assert_int_equal(store_open("sqlite", fx->db, &fx->s), 0);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;
	char cmd[160];

	store_close(fx->s);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
	assert_int_equal(system(cmd), 0);
	free(fx);
	return 0;
}

static int
count_po(const char *name, const char *json, void *arg)
{
	(*(int *)arg)++;
	return 0;
}

static int
npos(struct store *s)
{
	int n = 0;

	assert_int_equal(store_po_list(s, count_po, &n), 0);
	return n;
}

static void
test_unknown_backend(void **state)
{
	struct store *s;

	assert_int_equal(store_open("postgres", "/nonexistent", &s), -ENOENT);
	assert_true(store_backend_known("sqlite"));
	assert_false(store_backend_known("nope"));
}

static void
test_schema_version_written(void **state)
{
	struct fixture *fx = *state;
	sqlite3 *db;
	sqlite3_stmt *st;

	assert_int_equal(sqlite3_open(fx->db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db,
	    "SELECT value FROM moat_meta WHERE key = 'schema_version'", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(atoi((const char *)sqlite3_column_text(st, 0)), STORE_SQLITE_SCHEMA_VERSION);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static void
test_po_crud_and_reopen(void **state)
{
	struct fixture *fx = *state;
	char *json = NULL;

	assert_int_equal(store_po_put(fx->s, "web", "{\"name\":\"web\"}"), 0);
	assert_int_equal(store_po_put(fx->s, "dns", "{\"name\":\"dns\"}"), 0);
	assert_int_equal(store_po_put(fx->s, "web", "{\"name\":\"web\",\"v\":2}"), 0);
	assert_int_equal(npos(fx->s), 2);
	assert_int_equal(store_po_get(fx->s, "web", &json), 0);
	assert_string_equal(json, "{\"name\":\"web\",\"v\":2}");
	free(json);
	assert_int_equal(store_po_get(fx->s, "nope", &json), -ENOENT);
	assert_int_equal(store_po_del(fx->s, "dns"), 0);
	assert_int_equal(store_po_del(fx->s, "dns"), -ENOENT);

	store_close(fx->s);
	assert_int_equal(store_open("sqlite", fx->db, &fx->s), 0);
	assert_int_equal(npos(fx->s), 1);
}

static void
test_transaction_rollback(void **state)
{
	struct fixture *fx = *state;

	assert_int_equal(store_begin(fx->s, STORE_DURABLE), 0);
	assert_int_equal(store_po_put(fx->s, "a", "{}"), 0);
	assert_int_equal(store_begin(fx->s, STORE_NORMAL), 0);
	assert_int_equal(store_po_put(fx->s, "b", "{}"), 0);
	assert_int_equal(store_rollback(fx->s), 0);	/* inner: dooms the outer */
	assert_int_equal(store_commit(fx->s), -ECANCELED);
	assert_int_equal(npos(fx->s), 0);

	assert_int_equal(store_begin(fx->s, STORE_NORMAL), 0);
	assert_int_equal(store_po_put(fx->s, "a", "{}"), 0);
	assert_int_equal(store_commit(fx->s), 0);
	assert_int_equal(npos(fx->s), 1);
	assert_int_equal(store_commit(fx->s), -EINVAL);
}

struct flight_seen {
	int n;
	int64_t times[8];
};

static int
collect_flight(const struct store_flight_entry *e, void *arg)
{
	struct flight_seen *fs = arg;

	if (fs->n < 8)
		fs->times[fs->n] = e->time_ms;
	fs->n++;
	return 0;
}

static void
append(struct store *s, int64_t t, const char *cat)
{
	struct store_flight_entry e = { .time_ms = t, .category = cat, .event = "x",
		.message = "m", .detail = NULL };

	assert_int_equal(store_flight_append(s, &e), 0);
	assert_true(e.id > 0);
}

static void
test_flight_query_and_prune(void **state)
{
	struct fixture *fx = *state;
	struct store_flight_filter f = { .since_ms = 0, .until_ms = INT64_MAX, .limit = 100 };
	struct flight_seen fs = { 0 };

	append(fx->s, 1000, "config");
	append(fx->s, 3000, "lifecycle");
	append(fx->s, 2000, "config");
	append(fx->s, 4000, "store");

	assert_int_equal(store_flight_query(fx->s, &f, collect_flight, &fs), 0);
	assert_int_equal(fs.n, 4);
	assert_int_equal(fs.times[0], 4000);	/* newest first */
	assert_int_equal(fs.times[3], 1000);

	f.categories[0] = "config";
	f.categories[1] = "store";
	f.ncategories = 2;
	f.since_ms = 1500;
	memset(&fs, 0, sizeof(fs));
	assert_int_equal(store_flight_query(fx->s, &f, collect_flight, &fs), 0);
	assert_int_equal(fs.n, 2);
	assert_int_equal(fs.times[0], 4000);
	assert_int_equal(fs.times[1], 2000);

	f.limit = 1;
	memset(&fs, 0, sizeof(fs));
	assert_int_equal(store_flight_query(fx->s, &f, collect_flight, &fs), 0);
	assert_int_equal(fs.n, 1);

	/* Older than 1500 goes, then all but the newest two in insertion order
	   (3000 was written before 2000). */
	assert_int_equal(store_flight_prune(fx->s, 1500, 2, 100), 2);
	f = (struct store_flight_filter){ .since_ms = 0, .until_ms = INT64_MAX, .limit = 100 };
	memset(&fs, 0, sizeof(fs));
	assert_int_equal(store_flight_query(fx->s, &f, collect_flight, &fs), 0);
	assert_int_equal(fs.n, 2);
	assert_int_equal(fs.times[0], 4000);
	assert_int_equal(fs.times[1], 2000);
	assert_int_equal(store_flight_prune(fx->s, 1500, 2, 100), 0);
}

/* A step deletes at most its batch; steps repeated reach the cap. */
static void
test_flight_prune_bounded(void **state)
{
	struct fixture *fx = *state;
	struct store_flight_filter f = { .since_ms = 0, .until_ms = INT64_MAX, .limit = 100 };
	struct flight_seen fs = { 0 };
	int steps = 0, r;

	for (int i = 0; i < 50; i++)
		append(fx->s, 10000 + i, "health");
	while ((r = store_flight_prune(fx->s, 0, 5, 10)) == 10)
		steps++;
	assert_int_equal(r, 5);
	assert_int_equal(steps, 4);
	assert_int_equal(store_flight_query(fx->s, &f, collect_flight, &fs), 0);
	assert_int_equal(fs.n, 5);
	assert_int_equal(fs.times[0], 10049);
	assert_int_equal(fs.times[4], 10045);
	/* By age, bounded the same way. */
	assert_int_equal(store_flight_prune(fx->s, 10047, 0, 1), 1);
	assert_int_equal(store_flight_prune(fx->s, 10047, 0, 10), 1);
	assert_int_equal(store_flight_prune(fx->s, 10047, 0, 10), 0);
}

/* Every retention statement finds its rows through an index: O(log n) a
   row, never a scan of the table (a quadratic trim froze the event loop). */
static void
test_flight_prune_plan(void **state)
{
	struct fixture *fx = *state;
	const char *const sqls[] = {
		store_sqlite_flight_age_sql, store_sqlite_flight_maxid_sql, store_sqlite_flight_cut_sql,
	};
	sqlite3 *db;

	for (int i = 0; i < 100; i++)
		append(fx->s, 1000 + i, "decoy");
	assert_int_equal(sqlite3_open(fx->db, &db), SQLITE_OK);
	for (size_t i = 0; i < sizeof(sqls) / sizeof(sqls[0]); i++) {
		char sql[512];
		sqlite3_stmt *st;
		int rows = 0;

		snprintf(sql, sizeof(sql), "EXPLAIN QUERY PLAN %s", sqls[i]);
		assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
		while (sqlite3_step(st) == SQLITE_ROW) {
			const char *detail = (const char *)sqlite3_column_text(st, 3);

			rows++;
			print_message("plan %zu: %s\n", i, detail);
			assert_null(strstr(detail, "SCAN flight"));
			assert_null(strstr(detail, "CORRELATED"));
		}
		assert_true(rows > 0);
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
}

static void
test_kv(void **state)
{
	struct fixture *fx = *state;
	void *v = NULL;
	size_t len = 0;

	assert_int_equal(store_kv_put(fx->s, "rate/web", "\0\1\2", 3), 0);
	assert_int_equal(store_kv_get(fx->s, "rate/web", &v, &len), 0);
	assert_int_equal(len, 3);
	assert_memory_equal(v, "\0\1\2", 3);
	free(v);
	assert_int_equal(store_kv_get(fx->s, "rate/dns", &v, &len), -ENOENT);
	assert_int_equal(store_kv_del(fx->s, "rate/web"), 0);
	assert_int_equal(store_kv_del(fx->s, "rate/web"), -ENOENT);
}

static void
test_backup_restore_round_trip(void **state)
{
	struct fixture *fx = *state;
	void *v = NULL;
	size_t len;

	assert_int_equal(store_po_put(fx->s, "web", "{\"name\":\"web\"}"), 0);
	assert_int_equal(store_kv_put(fx->s, "k", "v", 1), 0);
	append(fx->s, 1000, "config");
	assert_int_equal(store_backup_to_file(fx->s, fx->bak), 0);

	assert_int_equal(store_reset(fx->s), 0);
	assert_int_equal(npos(fx->s), 0);
	assert_int_equal(store_po_put(fx->s, "other", "{}"), 0);

	assert_int_equal(store_restore_from_file(fx->s, fx->bak), 0);
	assert_int_equal(npos(fx->s), 1);
	assert_int_equal(store_kv_get(fx->s, "k", &v, &len), 0);
	free(v);
	/* The backup file is one self-contained file: no WAL beside it. */
	{
		char wal[160];

		snprintf(wal, sizeof(wal), "%s-wal", fx->bak);
		assert_int_not_equal(access(wal, F_OK), 0);
	}
}

static void
write_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
}

static void
make_db(const char *path, const char *sql)
{
	sqlite3 *db;

	unlink(path);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static void
test_restore_refuses_garbage(void **state)
{
	struct fixture *fx = *state;

	assert_int_equal(store_po_put(fx->s, "keep", "{}"), 0);

	write_file(fx->bak, "this is not a database at all, not even close.......", 52);
	assert_int_equal(store_restore_from_file(fx->s, fx->bak), -EINVAL);

	unlink(fx->bak);
	write_file(fx->bak, "", 0);	/* empty: a valid SQLite file, not a backup */
	assert_int_equal(store_restore_from_file(fx->s, fx->bak), -EINVAL);

	make_db(fx->bak, "CREATE TABLE t (x);");
	assert_int_equal(store_restore_from_file(fx->s, fx->bak), -EINVAL);

	/* A moat store from the future. */
	make_db(fx->bak, "CREATE TABLE moat_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
	    "INSERT INTO moat_meta VALUES ('format', '" STORE_SQLITE_FORMAT "');"
	    "INSERT INTO moat_meta VALUES ('schema_version', '999');");
	assert_int_equal(store_restore_from_file(fx->s, fx->bak), -EPROTO);

	/* A real backup with a trigger smuggled in. */
	assert_int_equal(store_backup_to_file(fx->s, fx->bak + 0), 0);
	{
		sqlite3 *db;

		assert_int_equal(sqlite3_open(fx->bak, &db), SQLITE_OK);
		assert_int_equal(sqlite3_exec(db, "CREATE TRIGGER t AFTER INSERT ON po BEGIN "
		    "DELETE FROM kv; END;", NULL, NULL, NULL), SQLITE_OK);
		sqlite3_close(db);
	}
	assert_int_equal(store_restore_from_file(fx->s, fx->bak), -EINVAL);

	assert_int_equal(npos(fx->s), 1);	/* nothing changed */
}

static void
test_open_refuses_foreign_db(void **state)
{
	struct fixture *fx = *state;
	struct store *s;

	make_db(fx->bak, "CREATE TABLE t (x);");
	assert_int_equal(store_open("sqlite", fx->bak, &s), -EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unknown_backend),
		cmocka_unit_test_setup_teardown(test_schema_version_written, setup, teardown),
		cmocka_unit_test_setup_teardown(test_po_crud_and_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_transaction_rollback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flight_query_and_prune, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flight_prune_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flight_prune_plan, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kv, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backup_restore_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restore_refuses_garbage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_refuses_foreign_db, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
