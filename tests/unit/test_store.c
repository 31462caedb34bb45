/* Unit tests for engine/store, every case on both backends (a table of
 * backends): migration from an empty store, reopen, transactions, flight
 * and kv rows, bounded retention and its query plans, backup/restore round
 * trip and across backends, and refusal of files that are not moat backups.
 *
 * The PostgreSQL half runs a private server: initdb + pg_ctl in a temp dir
 * (as the postgres user when run as root: initdb refuses root), a Unix
 * socket in that dir and no TCP port. A watchdog child stops it and removes
 * the dir when this process ends, however it ends. If the server cannot be
 * started the PostgreSQL cases fail: they never skip. */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <pthread.h>
#include <pwd.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <libpq-fe.h>
#include <sqlite3.h>

#include "engine/store/postgres.h"
#include "engine/store/sqlite.h"
#include "engine/store/store.h"

/* The private PostgreSQL server of this run. */
struct pg_server {
	bool up;
	char dir[64];		/* data in dir/data, the socket in dir */
	char bin[128];		/* initdb and pg_ctl live here */
	char as[32];		/* "runuser -u postgres -- " when root, else "" */
	pid_t watchdog;
	int watch_fd;		/* closed at exit: the watchdog stops the server */
	int ndb;		/* databases made so far (one per case) */
};

static struct pg_server pg;
static const char *backend;	/* of the group being run */

struct fixture {
	char dir[64];
	char target[512];	/* sqlite: the file; postgres: the conninfo */
	char bak[128];
	char dbname[32];	/* postgres only */
	struct store *s;
};

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
run(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	if (st != 0)
		print_error("command failed (%d): %s\n", st, cmd);
	return st == 0 ? 0 : -1;
}

static void
pg_stop(struct pg_server *p)
{
	run("%s'%s/pg_ctl' -D '%s/data' -m immediate -w stop >/dev/null 2>&1", p->as, p->bin,
	    p->dir);
	run("rm -rf '%s'", p->dir);
}

/* A child that waits for this process to end (its pipe closes), then stops
 * the server: a crash or a failed assert never leaves one running. */
static int
pg_watch(struct pg_server *p)
{
	int fds[2];
	pid_t pid;

	/* CLOEXEC: the server must not hold the write end open. */
	if (pipe2(fds, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		char c;

		close(fds[1]);
		signal(SIGINT, SIG_IGN);
		while (read(fds[0], &c, 1) > 0)
			;
		pg_stop(p);
		_exit(0);
	}
	close(fds[0]);
	p->watchdog = pid;
	p->watch_fd = fds[1];
	return 0;
}

static int
pg_start(struct pg_server *p)
{
	const char *envbin = getenv("MOAT_PG_BIN");
	glob_t g;

	if (envbin) {
		snprintf(p->bin, sizeof(p->bin), "%s", envbin);
	} else {
		if (glob("/usr/lib/postgresql/*/bin/initdb", 0, NULL, &g) != 0) {
			print_error("PostgreSQL server binaries not found (apt-get install "
			    "postgresql; scripts/deps installs it)\n");
			return -1;
		}
		/* The newest version: glob sorts, and Debian names dirs by major. */
		snprintf(p->bin, sizeof(p->bin), "%.*s", (int)(strlen(g.gl_pathv[g.gl_pathc - 1]) -
		    strlen("/initdb")), g.gl_pathv[g.gl_pathc - 1]);
		globfree(&g);
	}
	strcpy(p->dir, "/tmp/moat-test-pg-XXXXXX");
	if (!mkdtemp(p->dir))
		return -1;
	if (geteuid() == 0) {
		struct passwd *pw = getpwnam("postgres");

		if (!pw) {
			print_error("running as root and no 'postgres' user to run the server\n");
			return -1;
		}
		if (chown(p->dir, pw->pw_uid, pw->pw_gid) < 0)
			return -1;
		snprintf(p->as, sizeof(p->as), "runuser -u postgres -- ");
	}
	if (pg_watch(p) < 0)
		return -1;
	if (run("%s'%s/initdb' -D '%s/data' -A trust -U postgres -E UTF8 --locale=C --no-sync"
	    " >'%s/initdb.log' 2>&1", p->as, p->bin, p->dir, p->dir) < 0 ||
	    run("%s'%s/pg_ctl' -D '%s/data' -l '%s/server.log' -w -t 60 -o \"-k '%s'"
	    " -c listen_addresses='' -F\" start >/dev/null", p->as, p->bin, p->dir, p->dir,
	    p->dir) < 0) {
		run("cat '%s'/*.log >&2", p->dir);
		return -1;
	}
	p->up = true;
	return 0;
}

static PGconn *
pg_admin(const char *dbname)
{
	char ci[256];
	PGconn *c;

	snprintf(ci, sizeof(ci), "host=%s dbname=%s user=postgres", pg.dir, dbname);
	c = PQconnectdb(ci);
	assert_non_null(c);
	if (PQstatus(c) != CONNECTION_OK)
		fail_msg("connect %s: %s", ci, PQerrorMessage(c));
	return c;
}

static void
pg_sql(PGconn *c, const char *sql)
{
	PGresult *res = PQexec(c, sql);
	ExecStatusType t = PQresultStatus(res);

	if (t != PGRES_COMMAND_OK && t != PGRES_TUPLES_OK)
		fail_msg("%s: %s", sql, PQerrorMessage(c));
	PQclear(res);
}

/* A fresh database for one case; its conninfo in ret (size 512). */
static void
pg_new_db(char *ret_name, size_t namesize, char *ret_target)
{
	PGconn *c;
	char sql[96];

	if (!pg.up)
		fail_msg("the PostgreSQL server is not running (see the start-up error above)");
	snprintf(ret_name, namesize, "moat_t%d", ++pg.ndb);
	c = pg_admin("postgres");
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", ret_name);
	pg_sql(c, sql);
	PQfinish(c);
	snprintf(ret_target, 512, "host=%s dbname=%s user=postgres", pg.dir, ret_name);
}

static bool
is_pg(void)
{
	return strcmp(backend, "postgres") == 0;
}

static int
setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	strcpy(fx->dir, "/tmp/moat-test-store-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->bak, sizeof(fx->bak), "%s/backup.db", fx->dir);
	if (is_pg())
		pg_new_db(fx->dbname, sizeof(fx->dbname), fx->target);
	else
		snprintf(fx->target, sizeof(fx->target), "%s/moat.db", fx->dir);
	assert_int_equal(store_open(backend, fx->target, &fx->s), 0);
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

	assert_int_equal(store_open("nope", "/nonexistent", &s), -ENOENT);
	assert_true(store_backend_known("sqlite"));
	assert_true(store_backend_known("postgres"));
	assert_false(store_backend_known("nope"));
}

static void
test_schema_version_written(void **state)
{
	struct fixture *fx = *state;
	sqlite3 *db;
	sqlite3_stmt *st;

	if (is_pg()) {
		PGconn *c = pg_admin(fx->dbname);
		PGresult *res = PQexec(c, "SELECT value FROM moat_meta WHERE key = 'schema_version'");

		assert_int_equal(PQntuples(res), 1);
		assert_int_equal(atoi(PQgetvalue(res, 0, 0)), STORE_PG_SCHEMA_VERSION);
		PQclear(res);
		PQfinish(c);
		/* A second open of a migrated store migrates nothing. */
		store_close(fx->s);
		assert_int_equal(store_open(backend, fx->target, &fx->s), 0);
		return;
	}
	assert_int_equal(sqlite3_open(fx->target, &db), SQLITE_OK);
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
	assert_int_equal(store_open(backend, fx->target, &fx->s), 0);
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

/* PostgreSQL: the plan of each retention statement over 200,000 rows with
   real statistics, both the custom plan for the values a prune step binds
   and the generic plan a prepared statement may switch to. */
static void
pg_prune_plan(struct fixture *fx)
{
	const char *const sqls[] = {
		store_pg_flight_age_sql, store_pg_flight_maxid_sql, store_pg_flight_cut_sql,
	};
	PGconn *c = pg_admin(fx->dbname);

	pg_sql(c, "INSERT INTO flight (time_ms, category, event, message)"
	    " SELECT 1000 + i, 'decoy', 'x', 'm' FROM generate_series(1, 200000) i");
	pg_sql(c, "ANALYZE flight");
	for (int generic = 0; generic < 2; generic++) {
		if (generic)
			pg_sql(c, "SET plan_cache_mode = force_generic_plan");
		for (size_t i = 0; i < sizeof(sqls) / sizeof(sqls[0]); i++) {
			int nparams = strchr(sqls[i], '$') ? 2 : 0;
			char sql[512];
			PGresult *res;
			bool index = false;

			PQclear(PQexec(c, "DEALLOCATE ALL"));
			res = PQprepare(c, "p", sqls[i], 0, NULL);
			assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
			PQclear(res);
			/* The values of a step: a cut deep in the table, a batch of 1000. */
			snprintf(sql, sizeof(sql), "EXPLAIN EXECUTE p%s",
			    nparams ? "(150000, 1000)" : "");
			res = PQexec(c, sql);
			if (PQresultStatus(res) != PGRES_TUPLES_OK)
				fail_msg("%s: %s", sql, PQerrorMessage(c));
			for (int row = 0; row < PQntuples(res); row++) {
				const char *line = PQgetvalue(res, row, 0);

				print_message("plan %zu%s: %s\n", i, generic ? " (generic)" : "",
				    line);
				assert_null(strstr(line, "Seq Scan"));
				if (strstr(line, "Index"))
					index = true;
			}
			assert_true(index);
			PQclear(res);
		}
	}
	PQfinish(c);
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

	if (is_pg()) {
		pg_prune_plan(fx);
		return;
	}
	for (int i = 0; i < 100; i++)
		append(fx->s, 1000 + i, "decoy");
	assert_int_equal(sqlite3_open(fx->target, &db), SQLITE_OK);
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

/* Append item to the blob of key under the current namespace's lock, in
 * one transaction; pause_ms between the read and the write. */
static int
kv_append_locked(struct store *s, const char *key, char item, int pause_ms)
{
	char buf[64];
	void *v = NULL;
	size_t len = 0;
	int r;

	if ((r = store_begin(s, STORE_NORMAL)) < 0)
		return r;
	if ((r = store_kv_lock(s)) < 0 || (r = store_kv_get(s, key, &v, &len)) < 0 ||
	    len >= sizeof(buf)) {
		free(v);
		store_rollback(s);
		return r < 0 ? r : -E2BIG;
	}
	memcpy(buf, v, len);
	free(v);
	buf[len++] = item;
	if (pause_ms > 0)
		usleep((useconds_t)pause_ms * 1000);
	if ((r = store_kv_put(s, key, buf, len)) < 0) {
		store_rollback(s);
		return r;
	}
	return store_commit(s);
}

/* Whether a session of database dbname waits for an advisory lock. */
static bool
pg_lock_waited(const char *dbname)
{
	PGconn *c = pg_admin(dbname);
	PGresult *res = PQexec(c, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
	    " AND NOT granted");
	bool waited = PQresultStatus(res) == PGRES_TUPLES_OK && atoi(PQgetvalue(res, 0, 0)) > 0;

	PQclear(res);
	PQfinish(c);
	return waited;
}

/* The other connection: its own store on the fixture's target. */
struct kv_other {
	const char *target;
	const char *ns;
	bool append;		/* append 'b' under the lock; else take the lock only */
	int r;
};

static void *
kv_other_run(void *arg)
{
	struct kv_other *k = arg;
	struct store *o;

	if ((k->r = store_open(backend, k->target, &o)) < 0)
		return NULL;
	if ((k->r = store_kv_namespace(o, k->ns)) == 0) {
		if (k->append)
			k->r = kv_append_locked(o, "detect/decision", 'b', 0);
		else if ((k->r = store_begin(o, STORE_NORMAL)) == 0 &&
		    (k->r = store_kv_lock(o)) == 0)
			k->r = store_commit(o);
	}
	store_close(o);
	return NULL;
}

/*
 * Two connections update one key of a namespace at once, each reading it,
 * adding to it and writing it back under store_kv_lock(): the second waits
 * for the first's commit and reads what it wrote, so neither update is
 * lost (without the lock, the second reads the old value while the first's
 * transaction is open, and the first's later write puts its part back
 * without the second's). The second is another connection in a thread
 * (not a child process: SQLite's locks do not survive a fork) started
 * while this one holds the lock.
 */
static void
test_kv_lock(void **state)
{
	struct fixture *fx = *state;
	struct kv_other k = { .target = fx->target, .ns = "cluster/dead", .append = true };
	void *v = NULL;
	size_t len = 0;
	pthread_t t;

	assert_int_equal(store_kv_lock(fx->s), -EINVAL);	/* outside a transaction */
	assert_int_equal(store_kv_namespace(fx->s, "cluster/dead"), 0);
	assert_int_equal(store_kv_put(fx->s, "detect/decision", "x", 1), 0);
	assert_int_equal(store_begin(fx->s, STORE_NORMAL), 0);
	assert_int_equal(store_kv_lock(fx->s), 0);
	assert_int_equal(store_kv_get(fx->s, "detect/decision", &v, &len), 0);
	assert_int_equal(len, 1);
	free(v);
	assert_int_equal(pthread_create(&t, NULL, kv_other_run, &k), 0);
	/* Let the other connection reach its read (or its wait for ours). */
	for (int i = 0; i < 40 && !(is_pg() && pg_lock_waited(fx->dbname)); i++)
		usleep(25 * 1000);
	assert_int_equal(store_kv_put(fx->s, "detect/decision", "xa", 2), 0);
	assert_int_equal(store_commit(fx->s), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(k.r, 0);
	assert_int_equal(store_kv_get(fx->s, "detect/decision", &v, &len), 0);
	assert_int_equal(len, 3);
	assert_memory_equal(v, "xab", 3);
	free(v);
	/* Another namespace is not held by it (PostgreSQL: SQLite's transaction
	 * holds the whole store). */
	if (!is_pg())
		return;
	k = (struct kv_other){ .target = fx->target, .ns = "cluster/other" };
	assert_int_equal(store_begin(fx->s, STORE_NORMAL), 0);
	assert_int_equal(store_kv_lock(fx->s), 0);
	assert_int_equal(pthread_create(&t, NULL, kv_other_run, &k), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(k.r, 0);
	assert_int_equal(store_commit(fx->s), 0);
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

	if (is_pg()) {
		char name[32], target[512];
		PGconn *c;

		pg_new_db(name, sizeof(name), target);
		c = pg_admin(name);
		pg_sql(c, "CREATE TABLE t (x int)");
		PQfinish(c);
		assert_int_equal(store_open(backend, target, &s), -EINVAL);
		return;
	}
	make_db(fx->bak, "CREATE TABLE t (x);");
	assert_int_equal(store_open("sqlite", fx->bak, &s), -EINVAL);
}

struct flight_ids {
	int n;
	uint64_t ids[8];
	char detail[8][16];
};

static int
collect_ids(const struct store_flight_entry *e, void *arg)
{
	struct flight_ids *fi = arg;

	if (fi->n < 8) {
		fi->ids[fi->n] = e->id;
		snprintf(fi->detail[fi->n], sizeof(fi->detail[0]), "%s",
		    e->detail ? e->detail : "(null)");
	}
	fi->n++;
	return 0;
}

/* A backup is one format for both backends: taken here, it restores into
   the other backend with the same rows, flight ids and NULLs kept. */
static void
test_backup_portable(void **state)
{
	struct fixture *fx = *state;
	struct store_flight_filter f = { .since_ms = 0, .until_ms = INT64_MAX, .limit = 100 };
	struct store_flight_entry e1 = { .time_ms = 5000, .category = "config", .event = "x",
		.message = "m", .detail = "{\"a\":1}" };
	struct store_flight_entry e2 = { .time_ms = 6000, .category = "config", .event = "y",
		.message = "it's \"quoted\"", .detail = NULL };
	const char *other = is_pg() ? "sqlite" : "postgres";
	char target[512], name[32], *json = NULL;
	struct flight_ids fi = { 0 };
	struct store *o;
	void *v = NULL;
	size_t len;

	assert_int_equal(store_po_put(fx->s, "web", "{\"name\":\"web\"}"), 0);
	assert_int_equal(store_kv_put(fx->s, "rate/web", "\0\1\377", 3), 0);
	append(fx->s, 1000, "lifecycle");	/* then pruned: ids start past 1 */
	assert_int_equal(store_flight_prune(fx->s, 2000, 0, 10), 1);
	assert_int_equal(store_flight_append(fx->s, &e1), 0);
	assert_int_equal(store_flight_append(fx->s, &e2), 0);
	assert_int_equal(store_backup_to_file(fx->s, fx->bak), 0);

	if (is_pg()) {
		snprintf(target, sizeof(target), "%s/other.db", fx->dir);
	} else {
		pg_new_db(name, sizeof(name), target);
	}
	assert_int_equal(store_open(other, target, &o), 0);
	assert_int_equal(store_po_put(o, "gone", "{\"name\":\"gone\"}"), 0);
	assert_int_equal(store_restore_from_file(o, fx->bak), 0);
	assert_int_equal(npos(o), 1);
	assert_int_equal(store_po_get(o, "web", &json), 0);
	assert_string_equal(json, "{\"name\":\"web\"}");
	free(json);
	assert_int_equal(store_kv_get(o, "rate/web", &v, &len), 0);
	assert_int_equal(len, 3);
	assert_memory_equal(v, "\0\1\377", 3);
	free(v);
	assert_int_equal(store_flight_query(o, &f, collect_ids, &fi), 0);
	assert_int_equal(fi.n, 2);
	assert_int_equal(fi.ids[0], e2.id);
	assert_int_equal(fi.ids[1], e1.id);
	assert_string_equal(fi.detail[0], "(null)");
	assert_string_equal(fi.detail[1], "{\"a\":1}");
	/* New entries get ids past the restored ones. */
	{
		struct store_flight_entry e3 = { .time_ms = 7000, .category = "config",
			.event = "z", .message = "m" };

		assert_int_equal(store_flight_append(o, &e3), 0);
		assert_true(e3.id > e2.id);
	}
	/* And back: the other backend's backup restores here. */
	assert_int_equal(store_backup_to_file(o, fx->bak), 0);
	store_close(o);
	assert_int_equal(store_reset(fx->s), 0);
	assert_int_equal(store_restore_from_file(fx->s, fx->bak), 0);
	memset(&fi, 0, sizeof(fi));
	assert_int_equal(store_flight_query(fx->s, &f, collect_ids, &fi), 0);
	assert_int_equal(fi.n, 3);
	assert_int_equal(fi.ids[2], e1.id);
}

/* The connection target: no password ever in it, TLS keywords kept. */
static void
test_pg_target(void **state)
{
	const char *why = NULL;
	char *t = NULL;

	assert_int_equal(store_pg_target("host=db dbname=moat password=secret", NULL, &t, &why),
	    -EACCES);
	assert_non_null(why);
	assert_int_equal(store_pg_target("postgresql://moat:secret@db/moat", NULL, &t, &why),
	    -EACCES);
	assert_int_equal(store_pg_target("host=db sslkey=/k sslpassword=s", NULL, &t, &why),
	    -EACCES);
	assert_int_equal(store_pg_target("host=db dbname", NULL, &t, &why), -EINVAL);
	assert_int_equal(store_pg_target("host=db", "relative/pass", &t, &why), -EINVAL);
	assert_int_equal(store_pg_target("host=db dbname='mo at' sslmode=verify-full"
	    " sslrootcert=/etc/moat/ca.pem", "/etc/moat/it's.pgpass", &t, &why), 0);
	assert_non_null(strstr(t, "sslmode='verify-full'"));
	assert_non_null(strstr(t, "sslrootcert='/etc/moat/ca.pem'"));
	assert_non_null(strstr(t, "dbname='mo at'"));
	assert_non_null(strstr(t, "passfile='/etc/moat/it\\'s.pgpass'"));
	free(t);
	/* A URI is accepted, its parts kept. */
	assert_int_equal(store_pg_target("postgresql://moat@db:5433/moat?sslmode=require", NULL,
	    &t, &why), 0);
	assert_non_null(strstr(t, "port='5433'"));
	free(t);
	/* The backend refuses a password however the target was built. */
	{
		struct store *s;

		assert_int_equal(store_open("postgres", "host=/nonexistent password=x", &s),
		    -EACCES);
		char target[512];

		assert_int_equal(store_open("postgres", "host=/nonexistent dbname=x", &s),
		    -ECONNREFUSED);
		if (pg.up) {
			snprintf(target, sizeof(target), "host=%s dbname=nodb user=postgres",
			    pg.dir);
			assert_int_equal(store_open("postgres", target, &s), -ENOENT);
		}
	}
}

static void
pg_restart(void)
{
	assert_int_equal(run("%s'%s/pg_ctl' -D '%s/data' -l '%s/server.log' -w -m fast restart"
	    " >/dev/null", pg.as, pg.bin, pg.dir, pg.dir), 0);
}

/* A server restart loses no committed row, and the store reconnects by
   itself (prepared statements again): a read, an upsert and a transaction
   that meet the dropped connection run on a new one; an append reports the
   loss rather than risk a double entry, and the next append works. */
static void
test_pg_restart(void **state)
{
	struct fixture *fx = *state;
	struct store_flight_entry e = { .time_ms = 1, .category = "store", .event = "x",
		.message = "m" };
	char *json = NULL;
	int r;

	assert_int_equal(store_po_put(fx->s, "web", "{\"name\":\"web\"}"), 0);
	pg_restart();
	assert_int_equal(store_po_get(fx->s, "web", &json), 0);
	assert_string_equal(json, "{\"name\":\"web\"}");
	free(json);
	pg_restart();
	assert_int_equal(store_po_put(fx->s, "dns", "{\"name\":\"dns\"}"), 0);
	pg_restart();
	assert_int_equal(store_begin(fx->s, STORE_DURABLE), 0);
	assert_int_equal(store_po_put(fx->s, "mail", "{\"name\":\"mail\"}"), 0);
	assert_int_equal(store_commit(fx->s), 0);
	assert_int_equal(npos(fx->s), 3);
	pg_restart();
	r = store_flight_append(fx->s, &e);
	assert_true(r == 0 || r == -ECONNRESET);
	assert_int_equal(store_flight_append(fx->s, &e), 0);
}

/* Instances starting together on one new database migrate it once: the
   advisory lock queues them (without it, all but one fail on CREATE TABLE). */
static void
test_pg_concurrent_open(void **state)
{
	char name[32], target[512];
	pid_t pids[4];
	int ok = 0;

	pg_new_db(name, sizeof(name), target);
	for (int i = 0; i < 4; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			struct store *s;
			int r = store_open("postgres", target, &s);

			if (r == 0)
				r = store_po_put(s, i % 2 ? "a" : "b", "{}");
			if (r == 0)
				store_close(s);
			_exit(r == 0 ? 0 : 1);
		}
	}
	for (int i = 0; i < 4; i++) {
		int st;

		assert_int_equal(waitpid(pids[i], &st, 0), pids[i]);
		if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
			ok++;
	}
	assert_int_equal(ok, 4);
	{
		struct store *s;

		assert_int_equal(store_open("postgres", target, &s), 0);
		assert_int_equal(npos(s), 2);
		store_close(s);
	}
}

struct changes_seen {
	char names[8][32];
	int n, all;
};

static int
note_change(const char *name, void *arg)
{
	struct changes_seen *c = arg;

	if (name == NULL)
		c->all++;
	else if (c->n < 8)
		snprintf(c->names[c->n++], sizeof(c->names[0]), "%s", name);
	return 0;
}

/* Another writer's PO changes reach a listening store once committed (a
   rolled-back one never), never its own; a server restart makes it reload
   everything once; SQLite has no other writer: nothing, ever. */
static void
test_po_changes(void **state)
{
	struct fixture *fx = *state;
	struct changes_seen c = { 0 };
	struct store *w;

	assert_int_equal(store_listen(fx->s), 0);
	assert_int_equal(store_po_put(fx->s, "own", "{}"), 0);
	if (!is_pg()) {
		assert_int_equal(store_po_changes(fx->s, note_change, &c), 0);
		assert_int_equal(c.n + c.all, 0);
		return;
	}
	assert_int_equal(store_open(backend, fx->target, &w), 0);
	assert_int_equal(store_begin(w, STORE_DURABLE), 0);
	assert_int_equal(store_po_put(w, "web", "{}"), 0);
	usleep(100 * 1000);
	assert_int_equal(store_po_changes(fx->s, note_change, &c), 0);	/* not committed yet */
	assert_int_equal(store_commit(w), 0);
	assert_int_equal(store_begin(w, STORE_DURABLE), 0);
	assert_int_equal(store_po_put(w, "never", "{}"), 0);
	assert_int_equal(store_rollback(w), 0);
	assert_int_equal(store_po_del(w, "own"), 0);
	assert_int_equal(store_po_del(w, "absent"), -ENOENT);
	for (int i = 0; i < 50 && c.n < 2; i++) {
		usleep(20 * 1000);
		assert_true(store_po_changes(fx->s, note_change, &c) >= 0);
	}
	assert_int_equal(c.n, 2);
	assert_string_equal(c.names[0], "web");
	assert_string_equal(c.names[1], "own");
	assert_int_equal(c.all, 0);
	/* The listener's own writes are not reported back to it. */
	assert_int_equal(store_po_put(fx->s, "mine", "{}"), 0);
	usleep(100 * 1000);
	assert_int_equal(store_po_changes(fx->s, note_change, &c), 0);
	pg_restart();
	c.n = 0;
	for (int i = 0; i < 100 && c.all == 0; i++) {
		usleep(20 * 1000);
		(void)store_po_changes(fx->s, note_change, &c);
	}
	assert_int_equal(c.all, 1);
	/* Listening again on the new connection. */
	assert_int_equal(store_po_put(w, "dns", "{}"), 0);
	for (int i = 0; i < 50 && c.n < 1; i++) {
		usleep(20 * 1000);
		(void)store_po_changes(fx->s, note_change, &c);
	}
	assert_int_equal(c.n, 1);
	assert_string_equal(c.names[0], "dns");
	/* A reset elsewhere: reload everything. */
	c.all = 0;
	assert_int_equal(store_reset(w), 0);
	for (int i = 0; i < 50 && c.all == 0; i++) {
		usleep(20 * 1000);
		(void)store_po_changes(fx->s, note_change, &c);
	}
	assert_int_equal(c.all, 1);
	store_close(w);
}

static double
mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The listener's reconnect never waits: with the server stopped and a
   socket in its place that takes connections and never answers (where a
   blocking connect waits connect_timeout), each poll returns at once (far
   under connect_timeout; a functional bound, not a benchmark); with the
   server back, the listener connects over a few polls, asks for a full
   reload once, and sees the next change. */
static void
test_po_changes_async_reconnect(void **state)
{
	struct fixture *fx = *state;
	struct changes_seen c = { 0 };
	char target[600];
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct store *l, *w;
	double t0, worst = 0;
	int mute;

	snprintf(target, sizeof(target), "%s connect_timeout=2", fx->target);
	assert_int_equal(store_open(backend, target, &l), 0);
	assert_int_equal(store_listen(l), 0);
	assert_int_equal(store_po_changes(l, note_change, &c), 0);
	assert_int_equal(run("%s'%s/pg_ctl' -D '%s/data' -m fast -w stop >/dev/null", pg.as,
	    pg.bin, pg.dir), 0);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/.s.PGSQL.5432", pg.dir);
	mute = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(mute >= 0);
	assert_int_equal(bind(mute, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(mute, 16), 0);
	/* Past connect_timeout (2 s): an attempt given up and a new one. */
	for (int i = 0; i < 35; i++) {
		double dt;

		t0 = mono_s();
		(void)store_po_changes(l, note_change, &c);
		dt = mono_s() - t0;
		if (dt > worst)
			worst = dt;
		usleep(100 * 1000);
	}
	print_message("listener poll with the server stopped: worst %.3f s\n", worst);
	assert_true(worst < 1.0);
	assert_int_equal(c.all + c.n, 0);
	close(mute);
	assert_int_equal(unlink(sun.sun_path), 0);
	assert_int_equal(run("%s'%s/pg_ctl' -D '%s/data' -l '%s/server.log' -w -t 60 -o \"-k '%s'"
	    " -c listen_addresses='' -F\" start >/dev/null", pg.as, pg.bin, pg.dir, pg.dir,
	    pg.dir), 0);
	worst = 0;
	for (int i = 0; i < 200 && c.all == 0; i++) {
		double dt;

		usleep(50 * 1000);
		t0 = mono_s();
		(void)store_po_changes(l, note_change, &c);
		dt = mono_s() - t0;
		if (dt > worst)
			worst = dt;
	}
	assert_int_equal(c.all, 1);
	assert_true(worst < 1.0);
	assert_int_equal(store_open(backend, fx->target, &w), 0);
	assert_int_equal(store_po_put(w, "after", "{}"), 0);
	for (int i = 0; i < 100 && c.n < 1; i++) {
		usleep(20 * 1000);
		(void)store_po_changes(l, note_change, &c);
	}
	assert_int_equal(c.n, 1);
	assert_string_equal(c.names[0], "after");
	assert_int_equal(c.all, 1);
	store_close(w);
	store_close(l);
}

#define STORE_CASES \
	cmocka_unit_test_setup_teardown(test_schema_version_written, setup, teardown), \
	cmocka_unit_test_setup_teardown(test_po_crud_and_reopen, setup, teardown), \
	cmocka_unit_test_setup_teardown(test_transaction_rollback, setup, teardown), \
	cmocka_unit_test_setup_teardown(test_flight_query_and_prune, setup, teardown), \
	cmocka_unit_test_setup_teardown(test_flight_prune_bounded, setup, teardown), \
	cmocka_unit_test_setup_teardown(test_flight_prune_plan, setup, teardown), \
	cmocka_unit_test_setup_teardown(test_kv, setup, teardown), \
	cmocka_unit_test_setup_teardown(test_kv_lock, setup, teardown), \
	cmocka_unit_test_setup_teardown(test_backup_restore_round_trip, setup, teardown), \
	cmocka_unit_test_setup_teardown(test_backup_portable, setup, teardown), \
	cmocka_unit_test_setup_teardown(test_restore_refuses_garbage, setup, teardown), \
	cmocka_unit_test_setup_teardown(test_open_refuses_foreign_db, setup, teardown), \
	cmocka_unit_test_setup_teardown(test_po_changes, setup, teardown)

int
main(void)
{
	const struct CMUnitTest common[] = {
		cmocka_unit_test(test_unknown_backend),
		cmocka_unit_test(test_pg_target),
	};
	const struct CMUnitTest sqlite_cases[] = { STORE_CASES };
	const struct CMUnitTest pg_cases[] = {
		STORE_CASES,
		cmocka_unit_test_setup_teardown(test_pg_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_po_changes_async_reconnect, setup, teardown),
		cmocka_unit_test(test_pg_concurrent_open),
	};
	int failed = 0;

	if (pg_start(&pg) < 0)
		print_error("could not start a PostgreSQL server: every postgres case fails\n");
	failed += cmocka_run_group_tests_name("store", common, NULL, NULL);
	backend = "sqlite";
	failed += cmocka_run_group_tests_name("store (sqlite)", sqlite_cases, NULL, NULL);
	backend = "postgres";
	failed += cmocka_run_group_tests_name("store (postgres)", pg_cases, NULL, NULL);
	if (!pg.up)
		failed++;
	/* Let the watchdog stop the server and wait for it. */
	if (pg.watchdog > 0) {
		close(pg.watch_fd);
		waitpid(pg.watchdog, NULL, 0);
	}
	return failed ? 1 : 0;
}
