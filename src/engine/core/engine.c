/*
 * engine: context, module table, PO lifecycle and Continuity flows.
 *
 * PO changes follow one order so a failure changes nothing: validate and
 * check conflicts against the in-memory table, then write the store and the
 * flight entry in one durable transaction, then update the table and swap
 * in a freshly built LPM. Only an allocation failure after the commit can
 * leave memory behind the store; the engine then replays from the store.
 */
#include "engine/core/engine.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fileio.h"
#include "common/log.h"
#include "engine/core/statedir.h"
#include "engine/priv/client.h"
#include "engine/priv/sep.h"

struct engine_tick_row {
	engine_tick_fn fn;
	void *arg;
};

struct engine {
	struct clock clock;
	const struct engine_module *mods;	/* ENGINE_NMODS rows (core/module.h) */
	int (*wire)(struct engine *e);
	struct settings *conf;
	char *state_dir;
	char *store_path;
	struct store *store;
	struct flight *flight;
	struct health *health;
	struct poset *pos;
	struct lpm *lpm;
	struct priv_client *priv;	/* NULL: one process, drivers run here */
	struct engine_tick_row ticks[ENGINE_MAX_TICKS];
	unsigned nticks;
	struct {
		int fd;			/* -1: real time */
		engine_clock_fn fn;
		void *arg;
	} clock_driver;
	uint64_t nticked;
	int64_t started_at;
	uint64_t started_mono_ns;
	bool stop;
	int exit_code;
	unsigned ninit;		/* modules initialised, for fini in reverse */
	void *slot[ENGINE_NMODS];	/* each module's state (modules.h); NULL: not running */
};

void *
engine_slot(const struct engine *e, enum engine_mod id)
{
	return (unsigned)id < ENGINE_NMODS ? e->slot[id] : NULL;
}

struct clock *
engine_clock(struct engine *e)
{
	return &e->clock;
}

struct store *
engine_store(struct engine *e)
{
	return e->store;
}

struct flight *
engine_flight(struct engine *e)
{
	return e->flight;
}

struct health *
engine_health(struct engine *e)
{
	return e->health;
}

const struct settings *
engine_settings(const struct engine *e)
{
	return e->conf;
}

const struct poset *
engine_pos(const struct engine *e)
{
	return e->pos;
}

const struct lpm *
engine_lpm(const struct engine *e)
{
	return e->lpm;
}

const struct engine_module *
engine_module_rows(const struct engine *e)
{
	return e->mods;
}

struct priv_client *
engine_priv(struct engine *e)
{
	return e->priv;
}

const char *
engine_state_dir(const struct engine *e)
{
	return e->state_dir;
}

int64_t
engine_started_at(const struct engine *e)
{
	return e->started_at;
}

uint64_t
engine_uptime_s(const struct engine *e)
{
	return (clock_mono_ns(&e->clock) - e->started_mono_ns) / CLOCK_NS_PER_SEC;
}

void
engine_request_stop(struct engine *e, int exit_code)
{
	if (!e->stop || exit_code > e->exit_code)
		e->exit_code = exit_code;
	e->stop = true;
}

bool
engine_stop_requested(const struct engine *e, int *ret_exit_code)
{
	if (e->stop && ret_exit_code)
		*ret_exit_code = e->exit_code;
	return e->stop;
}

int
engine_on_tick(struct engine *e, engine_tick_fn fn, void *arg)
{
	if (e->nticks == ENGINE_MAX_TICKS)
		return -ENOSPC;
	e->ticks[e->nticks++] = (struct engine_tick_row){ fn, arg };
	return 0;
}

int
engine_set_clock_driver(struct engine *e, int fd, engine_clock_fn fn, void *arg)
{
	if (e->clock_driver.fd >= 0)
		return -EBUSY;
	e->clock_driver.fd = fd;
	e->clock_driver.fn = fn;
	e->clock_driver.arg = arg;
	return 0;
}

int
engine_clock_driver_fd(const struct engine *e)
{
	return e->clock_driver.fd;
}

void
engine_clock_driver_run(struct engine *e)
{
	if (e->clock_driver.fd >= 0)
		e->clock_driver.fn(e, e->clock_driver.arg);
}

/* A flight entry the engine cannot write is a store problem: logged and
 * reported to the health tracker, never fatal by itself. */
static void
engine_note_store_error(struct engine *e, const char *what, int r)
{
	log_warnx("store: %s: %s", what, strerror(-r));
	health_report(e->health, "store", 0.4, "%s: %s", what, strerror(-r));
}

static void
engine_modules_pos_changed(struct engine *e)
{
	for (size_t i = 0; i < ENGINE_NMODS; i++)
		if (e->mods[i].pos_changed && e->slot[i])
			e->mods[i].pos_changed(e->slot[i]);
}

static void
engine_modules_reset(struct engine *e, bool factory)
{
	for (size_t i = 0; i < ENGINE_NMODS; i++)
		if (e->mods[i].reset && e->slot[i])
			e->mods[i].reset(e->slot[i], factory);
}

/* Build the LPM of the current table and swap it in. On failure the old
 * LPM stays (matching lags behind the table) and health hears of it. */
static void
engine_swap_lpm(struct engine *e)
{
	struct lpm *l;
	int r = poset_build_lpm(e->pos, &l);

	if (r < 0) {
		log_warnx("engine: cannot rebuild the prefix table: %s", strerror(-r));
		health_report(e->health, "engine", 0.5, "prefix table rebuild failed: %s",
		    strerror(-r));
		return;
	}
	lpm_free(e->lpm);
	e->lpm = l;
}

struct engine_replay {
	struct engine *e;
	struct poset *set;
	size_t skipped;
};

/* One stored PO into the new table; a stored PO that is invalid, shadowed
 * by a config PO or conflicts with one is skipped (kept in the store). */
static int
engine_replay_one(const char *name, const char *json, void *arg)
{
	struct engine_replay *rp = arg;
	struct po_error err = { 0 };
	struct po *p = NULL;
	int r;

	r = po_from_text(json, strlen(json), NULL, PO_IN_STORED, &p, &err);
	if (r == -ENOMEM)
		return r;
	if (r == 0 && poset_find(rp->set, p->name, NULL)) {
		r = -EEXIST;
		snprintf(err.msg, sizeof(err.msg), "a config PO has the same name");
	}
	if (r == 0)
		r = poset_check(rp->set, p, &err);
	if (r == 0)
		r = poset_put(rp->set, p, NULL);
	if (r < 0) {
		log_warnx("replay: stored PO %s not applied: %s", name, err.msg);
		flight_record(rp->e->flight, "config", "po.skip", NULL,
		    "stored PO %s not applied: %s", name, err.msg);
		po_free(p);
		rp->skipped++;
		if (r == -ENOMEM)
			return r;
	}
	return 0;
}

/*
 * Rebuild the PO table from the config POs and the store (Defense4All's
 * restart replay). Config POs win over stored ones of the same name.
 */
static int
engine_replay(struct engine *e)
{
	struct engine_replay rp = { .e = e };
	int r;

	r = poset_new(&rp.set);
	if (r < 0)
		return r;
	for (size_t i = 0; i < e->conf->npos; i++) {
		struct po *p = po_dup(e->conf->pos[i]);

		if (!p || poset_put(rp.set, p, NULL) < 0) {
			po_free(p);
			r = -ENOMEM;
			goto fail;
		}
	}
	r = store_po_list(e->store, engine_replay_one, &rp);
	if (r < 0)
		goto fail;
	poset_free(e->pos);
	e->pos = rp.set;
	engine_swap_lpm(e);
	engine_modules_pos_changed(e);
	log_info("replay: %zu POs applied (%zu from config), %zu skipped", poset_count(e->pos),
	    e->conf->npos, rp.skipped);
	return 0;
fail:
	poset_free(rp.set);
	return r;
}

static void
engine_on_fatal(void *arg)
{
	struct engine *e = arg;

	log_warnx("health: failing past the fatal threshold (score %.2f); exiting for a restart",
	    health_score(e->health));
	flight_record(e->flight, "health", "fatal", NULL, "health score %.2f past the fatal "
	    "threshold: exiting for the service manager to restart moatd", health_score(e->health));
	engine_request_stop(e, 1);
}

static void
engine_on_soft_reset(void *arg)
{
	struct engine *e = arg;

	log_warnx("health: repeated trouble (score %.2f); soft reset of the modules",
	    health_score(e->health));
	flight_record(e->flight, "health", "soft_reset", NULL, "soft reset after repeated trouble");
	engine_modules_reset(e, false);
}

static char *
engine_join(const char *dir, const char *name)
{
	char *s;

	if (asprintf(&s, "%s/%s", dir, name) < 0)
		return NULL;
	return s;
}

static int
engine_open_parts(struct engine *e)
{
	int r;

	r = statedir_make(e->state_dir);
	if (r < 0) {
		if (r != -EPERM)	/* that one was explained already */
			log_errx("state directory %s: %s", e->state_dir, strerror(-r));
		return r;
	}
	statedir_sweep(e->state_dir);
	r = store_open(e->conf->store.backend, e->store_path, &e->store);
	if (r < 0) {
		log_errx("store %s (%s): %s%s", e->store_path, e->conf->store.backend, strerror(-r),
		    r == -EPROTO ? " (written by a newer moatd)" :
		    r == -EINVAL ? " (not a moat store)" : "");
		return r;
	}
	r = flight_new(e->store, &e->clock, &e->conf->flight, &e->flight);
	if (r == 0)
		r = health_new(&e->clock, &e->conf->health, &e->health);
	if (r == 0)
		r = poset_new(&e->pos);
	if (r < 0) {
		log_errx("engine: %s", strerror(-r));
		return r;
	}
	health_on_fatal(e->health, engine_on_fatal, e);
	return health_on_reset(e->health, engine_on_soft_reset, e);
}

/* Init every module into its slot, wire them, then start them. */
static int
engine_init_modules(struct engine *e)
{
	int r;

	for (; e->ninit < ENGINE_NMODS; e->ninit++) {
		const struct engine_module *m = &e->mods[e->ninit];

		if (!m->init)
			continue;
		r = m->init(e, &e->slot[e->ninit]);
		if (r < 0) {
			log_errx("module %s: %s", m->name, strerror(-r));
			return r;
		}
	}
	r = e->wire ? e->wire(e) : 0;
	if (r < 0) {
		log_errx("wiring the modules: %s", strerror(-r));
		return r;
	}
	for (size_t i = 0; i < ENGINE_NMODS; i++) {
		const struct engine_module *m = &e->mods[i];

		if (!m->start || !e->slot[i])
			continue;
		r = m->start(e->slot[i]);
		if (r < 0) {
			log_errx("module %s: %s", m->name, strerror(-r));
			return r;
		}
	}
	return 0;
}

int
engine_new(const struct engine_opts *o, struct settings *conf, struct engine **ret)
{
	const char *dir = o->state_dir ? o->state_dir :
	    conf->state_dir ? conf->state_dir : SETTINGS_DEFAULT_STATE_DIR;
	struct engine *e = calloc(1, sizeof(*e));
	int r;

	if (!e || !o->modules) {
		settings_free(conf);
		free(e);
		return e ? -EINVAL : -ENOMEM;
	}
	e->mods = o->modules;
	e->wire = o->wire;
	e->conf = conf;
	e->clock_driver.fd = -1;
	if (o->manual_clock)
		clock_init_manual(&e->clock, o->start_ns);
	else
		clock_init_real(&e->clock);
	e->started_at = (int64_t)clock_wall_s(&e->clock);
	e->started_mono_ns = clock_mono_ns(&e->clock);
	e->state_dir = strdup(dir);
	e->store_path = conf->store.path ? strdup(conf->store.path) : engine_join(dir, "moat.db");
	if (!e->state_dir || !e->store_path) {
		r = -ENOMEM;
		goto fail;
	}
	if (o->privsep &&
	    (r = priv_client_new(o->priv_fd, PRIVSEP_CALL_TIMEOUT_MS, &e->priv)) < 0)
		goto fail;
	r = engine_open_parts(e);
	if (r < 0)
		goto fail;
	/* Hear of other instances' PO changes (a shared PostgreSQL store)
	 * before reading the POs, so none falls between the two. */
	if ((r = store_listen(e->store)) < 0)
		log_warnx("store: listening for other instances' PO changes: %s", strerror(-r));
	r = engine_replay(e);
	if (r < 0) {
		log_errx("replay: %s", strerror(-r));
		goto fail;
	}
	r = engine_init_modules(e);
	if (r < 0)
		goto fail;
	r = flight_record(e->flight, "lifecycle", "start", NULL, "moatd %s started (config %s, "
	    "%zu POs)", ENGINE_VERSION, conf->source, poset_count(e->pos));
	if (r < 0)
		engine_note_store_error(e, "recording start", r);
	*ret = e;
	return 0;
fail:
	engine_free(e);
	return r;
}

void
engine_free(struct engine *e)
{
	if (!e)
		return;
	while (e->ninit > 0) {
		unsigned i = --e->ninit;
		void *state = e->slot[i];

		e->slot[i] = NULL;	/* not running any more, also to the others' fini */
		if (e->mods[i].fini && state)
			e->mods[i].fini(state);
	}
	if (e->flight && e->store)
		(void)flight_flush(e->flight, true);
	if (e->flight && e->store)
		flight_record(e->flight, "lifecycle", "stop", NULL, "moatd stopped (exit %d)",
		    e->exit_code);
	store_close(e->store);
	flight_free(e->flight);
	health_free(e->health);
	poset_free(e->pos);
	lpm_free(e->lpm);
	settings_free(e->conf);
	priv_client_free(e->priv);
	free(e->state_dir);
	free(e->store_path);
	free(e);
}

static void engine_sync_tick(struct engine *e);

void
engine_tick(struct engine *e)
{
	uint64_t now = clock_mono_ns(&e->clock);
	int r;

	for (size_t i = 0; i < e->ninit; i++)
		if (e->mods[i].tick && e->slot[i])
			e->mods[i].tick(e->slot[i], now);
	for (unsigned i = 0; i < e->nticks; i++)
		e->ticks[i].fn(e, now, e->ticks[i].arg);
	engine_sync_tick(e);
	r = flight_tick(e->flight);
	if (r < 0)
		engine_note_store_error(e, "flight retention", r);
	health_tick(e->health);
}

/* Write p (and its flight entry) durably; nothing is written on failure. */
static int
engine_store_po(struct engine *e, const struct po *p, bool replaced)
{
	char *text = po_to_text(p);
	json_t *detail;
	int r;

	if (!text)
		return -ENOMEM;
	detail = json_pack("{s:s, s:o*}", "name", p->name, "po", po_to_json(p));
	r = store_begin(e->store, STORE_DURABLE);
	if (r == 0) {
		r = store_po_put(e->store, p->name, text);
		if (r == 0)
			r = flight_record(e->flight, "config", replaced ? "po.update" : "po.add",
			    detail, "PO %s %s", p->name, replaced ? "replaced" : "added");
		if (r == 0)
			r = store_commit(e->store);
		else
			store_rollback(e->store);
	}
	json_decref(detail);
	free(text);
	return r;
}

int
engine_po_put(struct engine *e, struct po *p, bool create_only, const struct po **ret_po,
    struct po_error *err)
{
	int64_t now = (int64_t)clock_wall_s(&e->clock);
	const struct po *old = poset_find(e->pos, p->name, NULL);
	uint32_t id;
	int r;

	if (old && old->source == PO_SOURCE_CONFIG) {
		snprintf(err->field, sizeof(err->field), "name");
		snprintf(err->msg, sizeof(err->msg), "PO %s is declared in the config file", p->name);
		r = -EPERM;
		goto fail;
	}
	if (old && create_only) {
		snprintf(err->field, sizeof(err->field), "name");
		snprintf(err->msg, sizeof(err->msg), "PO %s exists", p->name);
		r = -EEXIST;
		goto fail;
	}
	r = poset_check(e->pos, p, err);
	if (r < 0)
		goto fail;
	p->source = PO_SOURCE_API;
	p->created_at = old ? old->created_at : now;
	p->updated_at = now;
	r = engine_store_po(e, p, old != NULL);
	if (r < 0) {
		engine_note_store_error(e, "writing a PO", r);
		snprintf(err->field, sizeof(err->field), "%s", "");
		snprintf(err->msg, sizeof(err->msg), "the store refused the change: %s", strerror(-r));
		r = -EIO;
		goto fail;
	}
	log_info("PO %s %s", p->name, old ? "replaced" : "added");
	r = poset_put(e->pos, p, &id);
	if (r < 0) {
		po_free(p);
		/* Stored but not applied: take the table back from the store. */
		engine_replay(e);
		return -EIO;
	}
	engine_swap_lpm(e);
	engine_modules_pos_changed(e);
	*ret_po = poset_at(e->pos, id);
	return old ? 1 : 0;
fail:
	po_free(p);
	return r;
}

/*
 * Another instance sharing the store changed PO name (json: its stored text,
 * NULL: deleted): apply it to the table as engine_po_put/engine_po_del do
 * after their store write, without writing the store again (it holds the
 * change already) and without a second flight entry (the writer made it).
 * A config PO of this instance wins over a stored one of the same name.
 */
static int
engine_sync_po(struct engine *e, const char *name, const char *json, bool *changed)
{
	const struct po *old = poset_find(e->pos, name, NULL);
	struct po_error err = { 0 };
	struct po *p = NULL;
	char *text;
	bool same;
	int r;

	if (old != NULL && old->source == PO_SOURCE_CONFIG)
		return 0;
	if (json == NULL) {
		if (old != NULL && poset_del(e->pos, name) == 0) {
			*changed = true;
			log_info("PO %s deleted (by another instance)", name);
		}
		return 0;
	}
	if (old != NULL && (text = po_to_text(old)) != NULL) {
		same = strcmp(text, json) == 0;
		free(text);
		if (same)
			return 0;
	}
	r = po_from_text(json, strlen(json), NULL, PO_IN_STORED, &p, &err);
	if (r == 0 && strcmp(p->name, name) != 0) {
		snprintf(err.msg, sizeof(err.msg), "stored under another name");
		r = -EINVAL;
	}
	if (r == 0)
		r = poset_check(e->pos, p, &err);
	if (r == 0)
		r = poset_put(e->pos, p, NULL);
	if (r < 0) {
		log_warnx("stored PO %s not applied: %s", name, err.msg[0] ? err.msg : strerror(-r));
		po_free(p);
		return r == -ENOMEM ? r : 0;
	}
	*changed = true;
	log_info("PO %s %s (by another instance)", name, old != NULL ? "replaced" : "added");
	return 0;
}

struct engine_sync {
	struct engine *e;
	json_t *seen;		/* names the store holds (a full reload) */
	bool changed;
};

static int
engine_sync_listed(const char *name, const char *json, void *arg)
{
	struct engine_sync *sy = arg;

	if (json_object_set_new(sy->seen, name, json_true()) < 0)
		return -ENOMEM;
	return engine_sync_po(sy->e, name, json, &sy->changed);
}

/* Reload every PO: apply each stored one, drop run-time ones the store no
 * longer holds. */
static int
engine_sync_all(struct engine_sync *sy)
{
	const struct po **sorted = NULL;
	char **gone = NULL;
	size_t n = 0, ngone = 0;
	int r;

	if ((sy->seen = json_object()) == NULL)
		return -ENOMEM;
	if ((r = store_po_list(sy->e->store, engine_sync_listed, sy)) < 0)
		goto out;
	if ((r = poset_sorted(sy->e->pos, &sorted, &n)) < 0)
		goto out;
	if ((gone = calloc(n ? n : 1, sizeof(*gone))) == NULL) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if (sorted[i]->source != PO_SOURCE_CONFIG &&
		    json_object_get(sy->seen, sorted[i]->name) == NULL &&
		    (gone[ngone] = strdup(sorted[i]->name)) != NULL)
			ngone++;
	for (size_t i = 0; i < ngone; i++)
		(void)engine_sync_po(sy->e, gone[i], NULL, &sy->changed);
	log_info("POs reloaded from the store: %zu now", poset_count(sy->e->pos));
out:
	for (size_t i = 0; i < ngone; i++)
		free(gone[i]);
	free(gone);
	free(sorted);
	json_decref(sy->seen);
	sy->seen = NULL;
	return r;
}

static int
engine_sync_changed(const char *name, void *arg)
{
	struct engine_sync *sy = arg;
	char *json = NULL;
	int r;

	if (name == NULL)
		return engine_sync_all(sy);
	r = store_po_get(sy->e->store, name, &json);
	if (r < 0 && r != -ENOENT)
		return r;
	r = engine_sync_po(sy->e, name, json, &sy->changed);
	free(json);
	return r;
}

/* Each tick: what other instances changed in the shared store (nothing
 * with SQLite), applied once the batch is read. */
static void
engine_sync_tick(struct engine *e)
{
	struct engine_sync sy = { .e = e };
	int r = store_po_changes(e->store, engine_sync_changed, &sy);

	if (sy.changed) {
		engine_swap_lpm(e);
		engine_modules_pos_changed(e);
	}
	if (r < 0 && r != -ECONNREFUSED)
		log_warnx("store: reading other instances' PO changes: %s", strerror(-r));
}

int
engine_po_del(struct engine *e, const char *name)
{
	const struct po *old = poset_find(e->pos, name, NULL);
	json_t *detail;
	int r;

	if (!old)
		return -ENOENT;
	if (old->source == PO_SOURCE_CONFIG)
		return -EPERM;
	detail = json_pack("{s:s}", "name", name);
	r = store_begin(e->store, STORE_DURABLE);
	if (r == 0) {
		r = store_po_del(e->store, name);
		if (r == 0)
			r = flight_record(e->flight, "config", "po.delete", detail, "PO %s deleted", name);
		if (r == 0)
			r = store_commit(e->store);
		else
			store_rollback(e->store);
	}
	json_decref(detail);
	if (r < 0) {
		engine_note_store_error(e, "deleting a PO", r);
		return -EIO;
	}
	log_info("PO %s deleted", name);
	if (poset_del(e->pos, name) < 0) {
		engine_replay(e);
		return 0;
	}
	engine_swap_lpm(e);
	engine_modules_pos_changed(e);
	return 0;
}

int
engine_reload(struct engine *e, struct settings *conf)
{
	struct settings *old = e->conf;
	int r;

	e->conf = conf;
	flight_set_config(e->flight, &conf->flight);
	health_set_config(e->health, &conf->health);
	r = engine_replay(e);
	if (r < 0) {
		e->conf = old;
		settings_free(conf);
		flight_set_config(e->flight, &old->flight);
		health_set_config(e->health, &old->health);
		log_warnx("reload: %s; keeping the previous configuration", strerror(-r));
		return r;
	}
	if (strcmp(old->api.listen, conf->api.listen) != 0 ||
	    strcmp(old->store.backend, conf->store.backend) != 0)
		log_warnx("reload: api.listen and store changes take effect at the next start");
	settings_free(old);
	r = flight_record(e->flight, "config", "reload", NULL, "configuration reloaded from %s "
	    "(%zu config POs)", conf->source, conf->npos);
	if (r < 0)
		engine_note_store_error(e, "recording reload", r);
	return 0;
}

int
engine_backup(struct engine *e, const char *path)
{
	int r = store_backup_to_file(e->store, path);

	if (r < 0)
		engine_note_store_error(e, "backup", r);
	return r;
}

/*
 * After the store was replaced (restore) or emptied (reset): drop every
 * module's dynamic state, replay the store into them and record it. what
 * names it in the log and the flight recorder ("restore", "reset").
 */
static void
engine_reapply(struct engine *e, const char *what, const char *summary)
{
	int r;

	engine_modules_reset(e, true);
	r = engine_replay(e);
	if (r < 0)
		log_warnx("%s: replay: %s", what, strerror(-r));
	log_info("%s (%zu POs)", summary, poset_count(e->pos));
	r = flight_record(e->flight, "lifecycle", what, NULL, "%s (%zu POs)", summary,
	    poset_count(e->pos));
	if (r < 0)
		engine_note_store_error(e, what, r);
}

int
engine_restore(struct engine *e, const char *path)
{
	int r = store_restore_from_file(e->store, path);

	if (r == -EINVAL || r == -EPROTO)
		return r;
	if (r < 0) {
		engine_note_store_error(e, "restore", r);
		return r;
	}
	engine_reapply(e, "restore", "state restored from a backup");
	return 0;
}

int
engine_reset(struct engine *e)
{
	int r = store_reset(e->store);

	if (r < 0) {
		engine_note_store_error(e, "factory reset", r);
		return r;
	}
	health_clear(e->health);
	engine_reapply(e, "reset", "factory reset, config POs re-applied");
	return 0;
}
