/*
 * detection: glue between the engine and the detection modules. The state
 * lives in the engine's slot; its address never changes while the module
 * runs (a factory reset rebuilds what it holds in place), because the
 * engine's wiring handed it to the collector, the connection table and
 * mitigation.
 */
#include "engine/detect/module.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cursor.h"
#include "common/limits.h"
#include "common/log.h"
#include "engine/cluster/conf.h"
#include "collect/counters.h"
#include "engine/detect/registry.h"
#include "engine/detect/config.h"
#include "engine/detect/hostcheck.h"
#include "engine/po/poset.h"
#include "engine/core/settings.h"

/* Busiest destination hosts of an attacked PO taken from the counters
 * each tick, for the attack's top targets. */
#define DETECTION_TOP_HOSTS 16u

/* Learned state is written to the store this often (ticks of 1 s). */
#define DETECTION_SAVE_TICKS 60u
/* Suspicions recorded in the flight record per minute: an attacker can
 * cause many; declared attacks are always recorded. */
#define DETECTION_SUSPECT_FLIGHT_PER_MIN 30u

struct detection_listener {
	detection_listener_fn fn;
	void *arg;
};

struct detection_ctx {
	struct engine *e;
	const struct counters *cnt;	/* the engine's wiring; NULL: no collector */
	struct dparams defaults;
	struct dparams *params;		/* [npos], by PO id */
	char (*names)[LIMIT_PO_NAME + 1];	/* [npos]: the PO each id had last ("" = none) */
	uint32_t npos;
	void *det[DETECT_NREGISTERED];
	struct decision *dp;
	struct detection_listener listeners[DETECTION_MAX_LISTENERS];
	unsigned nlisteners;
	uint64_t ticks;
	bool host_limits;		/* some PO has host_thresholds */
	uint64_t id_base;		/* detection_id_base(): 0 = none */
	bool save_soon;			/* engine role: an attack began or ended since the last save */
	struct hostcheck hc;		/* the counters' hosts against host limits */
	uint64_t suspect_minute;
	unsigned suspect_flights;
};

struct detection_ctx *
detection_get(struct engine *e)
{
	return engine_slot(e, ENGINE_MOD_DETECTION);
}

void
detection_set_counters(struct detection_ctx *d, const struct counters *cnt)
{
	d->cnt = cnt;
}

const struct decision *
detection_decision(const struct detection_ctx *d)
{
	return d->dp;
}

int
detection_listen(struct detection_ctx *d, detection_listener_fn fn, void *arg)
{
	if (d->nlisteners >= DETECTION_MAX_LISTENERS)
		return -ENOSPC;
	d->listeners[d->nlisteners++] = (struct detection_listener){ fn, arg };
	return 0;
}

/* --- JSON --- */

static json_t *
detection_time(uint64_t ns)
{
	return ns ? json_real((double)ns / 1e9) : json_null();
}

static void
detection_type_str(const struct decision_attack *a, char *buf, size_t size)
{
	if (a->type == DECISION_TYPE_AMPLIFICATION)
		snprintf(buf, size, "amplification/%u", a->amp_port);
	else
		snprintf(buf, size, "%s", decision_type_name(a->type));
}

static json_t *
detection_top_json(const struct decision_attack *a, enum decision_top which)
{
	json_t *list = json_array();
	char addr[INET6_ADDRSTRLEN];

	for (unsigned i = 0; list != NULL && i < a->ntop[which]; i++) {
		const struct sketch_item *it = &a->top[which][i];
		double share = a->top_total[which] ? (double)it->count / (double)a->top_total[which] : 0;
		json_t *o;

		if (which == DECISION_TOP_SPORTS && it->key_len == 2) {
			o = json_pack("{s:i, s:I, s:f}", "port", it->key[0] << 8 | it->key[1],
			    "weight", (json_int_t)it->count, "share", share);
		} else if (it->key_len == 4 || it->key_len == 16) {
			inet_ntop(it->key_len == 4 ? AF_INET : AF_INET6, it->key, addr, sizeof(addr));
			o = json_pack("{s:s, s:I, s:f}", "address", addr, "packets",
			    (json_int_t)it->count, "share", share);
		} else {
			continue;
		}
		json_array_append_new(list, o);
	}
	return list;
}

static json_t *
detection_detectors_json(const struct decision_attack *a)
{
	json_t *list = json_array();

	for (unsigned i = 0; list != NULL && i < a->ndet; i++) {
		const struct decision_detector *d = &a->det[i];

		json_array_append_new(list, json_pack("{s:s, s:i, s:I, s:o, s:o, s:o}", "name", d->name,
		    "confidence", (int)d->confidence, "count", (json_int_t)d->count,
		    "first", detection_time(d->first_ns), "last", detection_time(d->last_ns),
		    "expiry", detection_time(d->expiry_ns)));
	}
	return list;
}

json_t *
detection_attack_json(const struct decision_attack *a, bool full)
{
	char type[40];
	json_t *o;

	detection_type_str(a, type, sizeof(type));
	o = json_pack("{s:I, s:s, s:s, s:s, s:i, s:s, s:s, s:i, s:o, s:o, s:o, s:f, s:f, s:f, s:f, s:s}",
	    "id", (json_int_t)a->id,
	    "po", a->po,
	    "protocol", detect_proto_name(a->proto),
	    "direction", detect_dir_name(a->dir),
	    "port", (int)a->port,
	    "state", decision_state_name(a->state),
	    "type", type,
	    "confidence", (int)a->confidence,
	    "start", detection_time(a->start_ns),
	    "declared", detection_time(a->declared_ns),
	    "end", detection_time(a->end_ns),
	    "peak_pps", a->peak_pps,
	    "peak_bps", a->peak_bps,
	    "current_pps", a->cur_pps,
	    "current_bps", a->cur_bps,
	    "reason", a->reason);
	if (o != NULL && a->detect_only)
		json_object_set_new(o, "detect_only", json_true());
	if (o == NULL || !full)
		return o;
	json_object_set_new(o, "baseline_pps", json_real(a->base_pps));
	json_object_set_new(o, "baseline_bps", json_real(a->base_bps));
	json_object_set_new(o, "packets", json_integer((json_int_t)a->packets));
	json_object_set_new(o, "bytes", json_integer((json_int_t)a->bytes));
	json_object_set_new(o, "detectors", detection_detectors_json(a));
	json_object_set_new(o, "top_targets", detection_top_json(a, DECISION_TOP_TARGETS));
	json_object_set_new(o, "top_sources", detection_top_json(a, DECISION_TOP_SOURCES));
	json_object_set_new(o, "top_source_ports", detection_top_json(a, DECISION_TOP_SPORTS));
	return o;
}

/* --- hooks for detectors and the decision point --- */

static const struct dparams *
detection_params(void *ctx, uint32_t po_id)
{
	struct detection_ctx *d = ctx;

	return po_id < d->npos ? &d->params[po_id] : &d->defaults;
}

static const char *
detection_po_name(void *ctx, uint32_t po_id)
{
	struct detection_ctx *d = ctx;

	return po_id < d->npos ? d->names[po_id] : "?";
}

static void
detection_emit(void *ctx, const struct detection *det)
{
	struct detection_ctx *d = ctx;

	decision_detect(d->dp, det);
	hostcheck_emitted(&d->hc, det);
}

/*
 * One flight entry per series that finished learning. The series is the
 * entry's source, so the flight record's aggregation (per category, event,
 * source) keeps each series' entry whole: a new PO finishes all its series
 * at once, and under one shared source all but the first few would be
 * folded into an unnamed count. Past the record's writes-per-second cap the
 * summary still names the series. The log line is rate-limited.
 */
static void
detection_learned(void *ctx, uint32_t po_id, uint8_t proto, uint8_t dir, uint16_t port)
{
	struct detection_ctx *d = ctx;
	char series[LIMIT_FLIGHT_MESSAGE / 2];
	json_t *detail;

	log_ratelimited(10, 60, log_info, "detection: %s %s %s learned; rate detection active",
	    detection_po_name(d, po_id), detect_proto_name(proto), detect_dir_name(dir));
	snprintf(series, sizeof(series), "%s %s %s%s%.0u", detection_po_name(d, po_id),
	    detect_proto_name(proto), detect_dir_name(dir), port ? " port " : "", port);
	detail = json_pack("{s:s, s:s, s:s, s:s, s:i}", "source", series,
	    "po", detection_po_name(d, po_id), "protocol", detect_proto_name(proto),
	    "direction", detect_dir_name(dir), "port", (int)port);
	flight_record(engine_flight(d->e), "learning", "learning.done", detail,
	    "%s: learning period over, rate detection active", series);
	json_decref(detail);
}

static void
detection_reset_traffic(void *ctx, uint32_t po_id, uint8_t proto, uint8_t dir, uint16_t port)
{
	struct detection_ctx *d = ctx;

	for (size_t i = 0; i < DETECT_NREGISTERED; i++)
		detect_registry[i]->reset(d->det[i], po_id, proto, dir, port);
}

/* Suspicions are rate-limited in the flight record; everything else is
 * recorded. */
static bool
detection_flight_worthy(struct detection_ctx *d, const struct decision_attack *a,
    enum decision_state old)
{
	uint64_t minute = clock_wall_s(engine_clock(d->e)) / 60;

	if (a->declared_ns != 0)
		return true;
	if (a->state != DECISION_SUSPECTED)
		return false;	/* a suspicion that faded: not worth a row */
	if (minute != d->suspect_minute) {
		d->suspect_minute = minute;
		d->suspect_flights = 0;
	}
	return d->suspect_flights++ < DETECTION_SUSPECT_FLIGHT_PER_MIN;
}

static void
detection_changed(void *ctx, const struct decision_attack *a, enum decision_state old)
{
	struct detection_ctx *d = ctx;
	char event[32], type[40];
	const char *category = a->declared_ns ? "attack" : "detection";
	json_t *detail;

	for (unsigned i = 0; i < d->nlisteners; i++)
		d->listeners[i].fn(d->listeners[i].arg, a, old);
	/* An engine (a cluster id block: the engine role) saves an attack's
	 * start and end at this tick's end, so a new owner of its PO adopts
	 * what it holds up to one tick before a crash, not a minute before.
	 * A flag only: the save is once per tick at most, however many change. */
	if (d->id_base != 0 && a->declared_ns != 0 && ((a->state == DECISION_DECLARED &&
	    old != DECISION_ENDING) || a->state == DECISION_ENDED))
		d->save_soon = true;
	if (!detection_flight_worthy(d, a, old))
		return;
	detection_type_str(a, type, sizeof(type));
	snprintf(event, sizeof(event), "%s.%s", a->declared_ns ? "attack" : "detection",
	    decision_state_name(a->state));
	detail = detection_attack_json(a, false);
	flight_record(engine_flight(d->e), category, event, detail,
	    "attack %llu on %s %s%s%.0u: %s %s (%s)", (unsigned long long)a->id, a->po,
	    detect_proto_name(a->proto), a->port ? " port " : "", a->port, type,
	    decision_state_name(a->state), a->reason[0] ? a->reason : "suspicion");
	json_decref(detail);
	if (a->state == DECISION_DECLARED && old != DECISION_ENDING)
		log_warnx("attack %llu declared on %s %s: %s (%s)", (unsigned long long)a->id, a->po,
		    detect_proto_name(a->proto), type, a->reason);
	else if (a->state == DECISION_ENDED && a->declared_ns)
		log_info("attack %llu on %s %s ended", (unsigned long long)a->id, a->po,
		    detect_proto_name(a->proto));
}

/* --- POs --- */

static void
detection_limits(const struct po_thresholds *t, struct dparams_limits *l)
{
	l->pps = t->pps ? (double)t->pps : l->pps;
	l->bps = t->bps ? (double)t->bps : l->bps;
	l->flows_ps = t->flows ? (double)t->flows : l->flows_ps;
	l->syn_pps = t->syn_pps ? (double)t->syn_pps : l->syn_pps;
}

/* A PO's parameters: the configuration's (its own entry or the defaults),
 * with the PO's non-zero thresholds and host_thresholds as the absolute
 * limits. Returns true if any host limit is set. */
static bool
detection_po_params(const struct dparams *base, const struct po *p, struct dparams *ret)
{
	bool host = false;

	*ret = *base;
	for (int i = 0; i < PROTO__COUNT; i++) {
		detection_limits(&p->thresholds[i], &ret->limits[i]);
		detection_limits(&p->host_thresholds[i], &ret->host_limits[i]);
		host = host || hostcheck_limits_any(&ret->host_limits[i]);
	}
	return host;
}

/* The configured defaults (the `detection:` section), else the preset. */
static const struct detection_conf *
detection_settings(struct detection_ctx *d)
{
	const struct detection_conf *c = settings_ext(engine_settings(d->e), "detection");

	if (c != NULL)
		d->defaults = c->defaults;
	else
		dparams_default(&d->defaults);
	return c;
}

/* Apply map (old id -> new id or gone) to every detector and the attacks. */
static void
detection_remap(struct detection_ctx *d, const uint32_t *map, uint32_t n)
{
	for (size_t i = 0; i < DETECT_NREGISTERED; i++)
		detect_registry[i]->remap_po(d->det[i], map, n);
	decision_remap_po(d->dp, map, n);
}

/* Build the map from (old id, name) pairs to the current PO table. Returns
 * true if any id moved or disappeared. */
static bool
detection_build_map(const struct poset *set, char (*names)[LIMIT_PO_NAME + 1], uint32_t n,
    uint32_t *map)
{
	bool moved = false;

	for (uint32_t i = 0; i < n; i++) {
		uint32_t id = DETECT_PO_GONE;

		if (names[i][0] != '\0' && poset_find(set, names[i], &id) == NULL)
			id = DETECT_PO_GONE;
		map[i] = names[i][0] != '\0' ? id : DETECT_PO_GONE;
		moved |= map[i] != i && names[i][0] != '\0';
	}
	return moved;
}

/* Take the current PO table: parameters per id, and remap learned state
 * when ids changed meaning. */
static int
detection_sync_pos(struct detection_ctx *d)
{
	const struct poset *set = engine_pos(d->e);
	uint32_t n = poset_id_limit(set);
	struct dparams *params = calloc(n ? n : 1, sizeof(*params));
	char (*names)[LIMIT_PO_NAME + 1] = calloc(n ? n : 1, sizeof(*names));
	uint32_t *map = calloc(d->npos ? d->npos : 1, sizeof(*map));

	const struct detection_conf *conf;

	if (params == NULL || names == NULL || map == NULL) {
		free(params);
		free(names);
		free(map);
		return -ENOMEM;
	}
	conf = detection_settings(d);
	d->host_limits = false;
	for (uint32_t id = 0; id < n; id++) {
		const struct po *p = poset_at(set, id);

		if (p == NULL) {
			params[id] = d->defaults;
			continue;
		}
		if (detection_po_params(conf ? detection_conf_params(conf, p->name) : &d->defaults, p,
		    &params[id]))
			d->host_limits = true;
		snprintf(names[id], sizeof(names[id]), "%s", p->name);
	}
	if (detection_build_map(set, d->names, d->npos, map))
		detection_remap(d, map, d->npos);
	free(map);
	free(d->params);
	free(d->names);
	d->params = params;
	d->names = names;
	d->npos = n;
	return 0;
}

void
detection_pos_changed(void *state)
{
	struct detection_ctx *d = state;

	if (detection_sync_pos(d) < 0)
		log_warnx("detection: out of memory taking the new PO table; keeping the old one");
}

/* --- readings --- */

/* The engine ticks on the monotonic clock; detection runs on wall time: the
 * time-of-week profile needs it, attack times are shown as dates, and saved
 * state must stay in order across a reboot (the monotonic clock restarts). */
static uint64_t
detection_wall(const struct detection_ctx *d, uint64_t mono_ns)
{
	const struct clock *c = engine_clock(d->e);

	return mono_ns + (clock_wall_ns(c) - clock_mono_ns(c));
}

void
detection_reading_cb(void *ctx, const struct reading *r)
{
	struct detection_ctx *d = ctx;
	struct reading w = *r;

	if (r->po_id >= d->npos || d->names[r->po_id][0] == '\0')
		return;
	w.time_ns = detection_wall(d, r->time_ns);
	for (size_t i = 0; i < DETECT_NREGISTERED; i++)
		detect_registry[i]->feed(d->det[i], &w);
	decision_feed(d->dp, &w);
}

void
detection_observe(struct detection_ctx *d, const struct decision_obs *o)
{
	decision_observe(d->dp, o);
}

void
detection_sample_cb(void *ctx, const struct counters_obs *o)
{
	struct detection_ctx *d = ctx;
	struct decision_obs obs = {
		.po_id = o->po, .proto = o->proto, .alen = o->src.af == AF_INET ? 4 : 16,
		.sport = o->sport, .dport = o->dport, .packets = o->packets, .bytes = o->bytes,
	};

	if (o->src.af != o->dst.af)
		return;
	memcpy(obs.src, o->src.a, sizeof(obs.src));
	memcpy(obs.dst, o->dst.a, sizeof(obs.dst));
	decision_observe(d->dp, &obs);
}

struct detection_hosts_walk {
	struct detection_ctx *d;
	const struct counters *cnt;
};

/* Feed the busiest destination hosts of the PO of one live any-port attack,
 * in its protocol (the counters keep them per interval), into its targets.
 * The host table is not kept per port: an attack on one port takes its
 * targets from the samples of that port (decision_observe). */
static int
detection_hosts_of(const struct decision_attack *a, void *arg)
{
	struct detection_hosts_walk *w = arg;
	struct counters_host hosts[DETECTION_TOP_HOSTS];
	size_t n;

	if (a->state == DECISION_ENDED || a->po_id == DECISION_PO_GONE || a->port != 0)
		return 0;
	n = counters_top_hosts_proto(w->cnt, a->po_id, (enum proto_class)a->proto, hosts,
	    DETECTION_TOP_HOSTS);
	for (size_t i = 0; i < n; i++) {
		struct decision_obs o = { .po_id = a->po_id, .proto = a->proto, .target_only = true,
			.alen = hosts[i].addr.af == AF_INET ? 4 : 16, .packets = hosts[i].packets,
			.bytes = hosts[i].bytes };

		memcpy(o.dst, hosts[i].addr.a, sizeof(o.dst));
		decision_observe(w->d->dp, &o);
	}
	return 0;
}

static void
detection_observe_hosts(struct detection_ctx *d)
{
	struct detection_hosts_walk w = { .d = d, .cnt = d->cnt };

	if (d->cnt == NULL || decision_live_count(d->dp) == 0)
		return;
	decision_walk(d->dp, detection_hosts_of, &w);
}

/* The parameters of a PO for the host check; NULL for ids no PO has. */
static const struct dparams *
detection_host_params(void *ctx, uint32_t po_id)
{
	struct detection_ctx *d = ctx;

	return po_id < d->npos && d->names[po_id][0] != '\0' ? &d->params[po_id] : NULL;
}

/* Check every host of the interval the counters closed last, once. */
static void
detection_check_hosts(struct detection_ctx *d)
{
	if (d->cnt == NULL || !d->host_limits)
		return;
	hostcheck_feed(&d->hc, d->cnt, detection_wall(d, counters_last_tick_ns(d->cnt)));
}

/* --- persistence --- */

static int
detection_put(struct store *s, const char *name, uint8_t *blob, size_t len)
{
	char key[64];
	int r;

	snprintf(key, sizeof(key), "detect/%s", name);
	r = store_kv_put(s, key, blob, len);
	free(blob);
	return r;
}

/* The PO names by id, so a restart that numbers POs differently can map
 * the learned state back: NUL-separated names, "" for unused ids. */
static int
detection_names_blob(const struct detection_ctx *d, uint8_t **ret, size_t *ret_len)
{
	struct detect_buf b = { 0 };

	detect_buf_u32(&b, d->npos);
	for (uint32_t i = 0; i < d->npos; i++) {
		detect_buf_bytes(&b, d->names[i], strlen(d->names[i]));
		detect_buf_u8(&b, 0);
	}
	return detect_buf_take(&b, ret, ret_len);
}

static int
detection_save_names(struct detection_ctx *d, struct store *s)
{
	uint8_t *blob;
	size_t len;
	int r;

	if ((r = detection_names_blob(d, &blob, &len)) < 0)
		return r;
	return detection_put(s, "pos", blob, len);
}

int
detection_save(struct detection_ctx *d)
{
	struct store *s = engine_store(d->e);
	uint8_t *blob;
	size_t len;
	int r;

	d->save_soon = false;	/* a failed save is tried again at the periodic one */
	if ((r = store_begin(s, STORE_NORMAL)) < 0)
		return r;
	for (size_t i = 0; i < DETECT_NREGISTERED && r == 0; i++)
		if ((r = detect_registry[i]->save(d->det[i], &blob, &len)) == 0)
			r = detection_put(s, detect_registry[i]->name, blob, len);
	if (r == 0 && (r = decision_save(d->dp, &blob, &len)) == 0)
		r = detection_put(s, "decision", blob, len);
	if (r == 0)
		r = detection_save_names(d, s);
	if (r < 0) {
		store_rollback(s);
		return r;
	}
	return store_commit(s);
}

int
detection_save_attacks(struct detection_ctx *d)
{
	uint8_t *blob;
	size_t len;
	int r;

	d->save_soon = false;
	if ((r = decision_save(d->dp, &blob, &len)) < 0)
		return r;
	return detection_put(engine_store(d->e), "decision", blob, len);
}

/* Parse a saved names blob (untrusted: from the store) into a table of n
 * names (malloc'd into ret_names, *ret_n). */
static int
detection_names_parse(const uint8_t *blob, size_t len, char (**ret_names)[LIMIT_PO_NAME + 1],
    uint32_t *ret_n)
{
	struct cursor c = cur_init(blob, len);
	char (*names)[LIMIT_PO_NAME + 1];
	uint32_t n;

	*ret_names = NULL;
	*ret_n = 0;
	if (!cur_be32(&c, &n) || n > LIMIT_POS || n > cur_left(&c))
		return -EINVAL;
	if ((names = calloc(n ? n : 1, sizeof(*names))) == NULL)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *p = cur_ptr(&c);
		const uint8_t *z = memchr(p, 0, cur_left(&c));
		size_t l;

		if (z == NULL || (l = (size_t)(z - p)) > LIMIT_PO_NAME) {
			free(names);
			return -EINVAL;
		}
		memcpy(names[i], p, l);
		names[i][l] = '\0';
		(void)cur_skip(&c, l + 1);
	}
	if (!cur_empty(&c)) {
		free(names);
		return -EINVAL;
	}
	*ret_names = names;
	*ret_n = n;
	return 0;
}

/* Parse the saved names into the ctx's name table (so the first sync maps
 * saved ids onto the current table). */
static int
detection_parse_names(struct detection_ctx *d, const uint8_t *blob, size_t len)
{
	int r;

	if ((r = detection_names_parse(blob, len, &d->names, &d->npos)) < 0)
		return r;
	if ((d->params = calloc(d->npos ? d->npos : 1, sizeof(*d->params))) == NULL)
		return -ENOMEM;
	for (uint32_t i = 0; i < d->npos; i++)
		d->params[i] = d->defaults;
	return 0;
}

static int
detection_load_names(struct detection_ctx *d, const uint8_t *blob, size_t len)
{
	int r = detection_parse_names(d, blob, len);

	if (r < 0) {
		free(d->names);
		free(d->params);
		d->names = NULL;
		d->params = NULL;
		d->npos = 0;
	}
	return r;
}

static int
detection_load_one(struct store *s, const char *name, void *st, const struct detect_ops *ops,
    struct decision *dp, struct detection_ctx *d)
{
	char key[64];
	void *blob;
	size_t len;
	int r;

	snprintf(key, sizeof(key), "detect/%s", name);
	if ((r = store_kv_get(s, key, &blob, &len)) < 0)
		return r == -ENOENT ? 0 : r;
	if (len > LIMIT_DETECT_BLOB)
		r = -EINVAL;
	else if (ops != NULL)
		r = ops->load(st, blob, len);
	else if (dp != NULL)
		r = decision_load(dp, blob, len);
	else
		r = detection_load_names(d, blob, len);
	free(blob);
	if (r < 0)
		log_warnx("detection: saved state %s unusable (%s); starting it afresh", key, strerror(-r));
	return 0;
}

/* Load what a previous run saved. A blob that does not load is reported
 * and ignored: learning again is better than not starting. */
static void
detection_load(struct detection_ctx *d)
{
	struct store *s = engine_store(d->e);

	detection_load_one(s, "pos", NULL, NULL, NULL, d);
	if (d->npos == 0)
		return;		/* nothing saved, or no way to map ids: start afresh */
	for (size_t i = 0; i < DETECT_NREGISTERED; i++)
		detection_load_one(s, detect_registry[i]->name, d->det[i], detect_registry[i], NULL, d);
	detection_load_one(s, "decision", NULL, NULL, d->dp, d);
}

/* --- lifecycle --- */

/* Free what detection_build() made; d itself stays. */
static void
detection_free_parts(struct detection_ctx *d)
{
	for (size_t i = 0; i < DETECT_NREGISTERED; i++)
		if (d->det[i] != NULL)
			detect_registry[i]->free(d->det[i]);
	decision_free(d->dp);
	free(d->params);
	free(d->names);
}

static void
detection_free(struct detection_ctx *d)
{
	if (d == NULL)
		return;
	detection_free_parts(d);
	free(d);
}

/* Make the detectors and the decision point of d, their hooks pointing at
 * d; d's other fields (e, the wiring, listeners) are left as they are. */
static int
detection_build(struct detection_ctx *d)
{
	struct detect_env env = { .params = detection_params, .emit = detection_emit, .ctx = d,
		.learned = detection_learned };
	struct decision_hooks hooks = { .params = detection_params, .po_name = detection_po_name,
		.changed = detection_changed, .reset = detection_reset_traffic, .ctx = d };
	int r;

	dparams_default(&d->defaults);
	if ((r = decision_new(&hooks, &d->dp)) < 0)
		return r;
	decision_id_base(d->dp, d->id_base);
	d->hc = (struct hostcheck){ .det = d->det, .dp = d->dp, .params = detection_host_params,
		.ctx = d };
	for (size_t i = 0; i < DETECT_NREGISTERED; i++)
		if ((r = detect_registry[i]->new(&env, &d->det[i])) < 0)
			return r;
	return 0;
}

int
detection_init(struct engine *e, void **ret_state)
{
	struct detection_ctx *d = calloc(1, sizeof(*d));
	int r;

	if (d == NULL)
		return -ENOMEM;
	d->e = e;
	d->id_base = cluster_id_base(engine_settings(e));
	if ((r = detection_build(d)) < 0) {
		detection_free(d);
		return r;
	}
	detection_load(d);
	if ((r = detection_sync_pos(d)) < 0) {
		detection_free(d);
		return r;
	}
	*ret_state = d;
	flight_record(engine_flight(e), "learning", "detection.start", NULL,
	    "detection started: %zu live attack(s) restored, detectors rate and threshold",
	    decision_live_count(d->dp));
	return 0;
}

void
detection_fini(void *state)
{
	struct detection_ctx *d = state;
	int r;

	if ((r = detection_save(d)) < 0)
		log_warnx("detection: saving learned state failed: %s", strerror(-r));
	detection_free(d);
}

void
detection_tick(void *state, uint64_t now_ns)
{
	struct detection_ctx *d = state;
	int r;

	now_ns = detection_wall(d, now_ns);
	detection_check_hosts(d);
	detection_observe_hosts(d);
	for (size_t i = 0; i < DETECT_NREGISTERED; i++)
		detect_registry[i]->tick(d->det[i], now_ns);
	decision_tick(d->dp, now_ns);
	if (++d->ticks % DETECTION_SAVE_TICKS == 0)
		r = detection_save(d);
	else
		r = d->save_soon ? detection_save_attacks(d) : 0;
	if (r < 0) {
		log_ratelimited(1, 600, log_warnx, "detection: saving learned state failed: %s",
		    strerror(-r));
		health_report(engine_health(d->e), "detection", 0.2, "saving learned state: %s",
		    strerror(-r));
	}
}

/* Factory reset: forget everything learned and every attack. A soft reset
 * (health) keeps the baselines: they are not what went wrong. The fresh
 * state is built in d itself (its hooks point at d, which the wiring
 * handed out); the old parts are kept aside until it is complete, and put
 * back if it cannot be. */
void
detection_reset(void *state, bool factory)
{
	struct detection_ctx *d = state, old = *d;

	if (!factory)
		return;
	memset(d->det, 0, sizeof(d->det));
	d->dp = NULL;
	d->params = NULL;
	d->names = NULL;
	d->npos = 0;
	d->ticks = 0;
	d->host_limits = false;
	d->suspect_minute = 0;
	d->suspect_flights = 0;
	if (detection_build(d) < 0 || detection_sync_pos(d) < 0) {
		log_warnx("detection: out of memory on reset; keeping the learned state");
		detection_free_parts(d);
		*d = old;
		return;
	}
	detection_free_parts(&old);
}

void
detection_external(struct detection_ctx *d, const struct detection *det,
    const struct decision_obs *obs)
{
	decision_detect(d->dp, det);
	if (obs != NULL)
		decision_observe(d->dp, obs);
}

int
detection_adopt(struct detection_ctx *d, const uint8_t *blob, size_t len, decision_adopt_fn keep,
    void *ctx, uint8_t **ret_rest, size_t *ret_rest_len)
{
	if (len > LIMIT_DETECT_BLOB)
		return -EINVAL;
	return decision_adopt(d->dp, blob, len, keep, ctx, ret_rest, ret_rest_len);
}

int
detection_adopt_map(const uint8_t *names, size_t len, decision_adopt_fn keep, void *ctx,
    uint32_t **ret_map, uint32_t *ret_n)
{
	char (*tab)[LIMIT_PO_NAME + 1];
	uint32_t n, *map;
	int r;

	*ret_map = NULL;
	*ret_n = 0;
	if ((r = detection_names_parse(names, len, &tab, &n)) < 0)
		return r;
	if ((map = calloc(n ? n : 1, sizeof(*map))) == NULL) {
		free(tab);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < n; i++)
		if (tab[i][0] == '\0' || !keep(ctx, tab[i], &map[i]))
			map[i] = DETECT_PO_GONE;
	free(tab);
	*ret_map = map;
	*ret_n = n;
	return 0;
}

/* Read key of the adopted state; a missing key is an empty state. */
static int
detection_src_get(const struct detection_src *src, const char *key, void **ret, size_t *ret_len)
{
	int r = src->get(src->ctx, key, ret, ret_len);

	if (r == 0 && *ret_len > LIMIT_DETECT_BLOB) {
		free(*ret);
		*ret = NULL;
		return -EINVAL;
	}
	return r;
}

int
detection_adopt_learned(struct detection_ctx *d, const struct detection_src *src,
    decision_adopt_fn keep, void *ctx)
{
	uint8_t *rest[DETECT_NREGISTERED] = { 0 };
	size_t rest_len[DETECT_NREGISTERED] = { 0 };
	uint32_t *map = NULL, n = 0;
	void *names = NULL, *blob;
	size_t names_len, len;
	char key[64];
	int r, taken = 0;

	if ((r = detection_src_get(src, "detect/pos", &names, &names_len)) < 0)
		return r == -ENOENT ? 0 : r;
	r = detection_adopt_map(names, names_len, keep, ctx, &map, &n);
	free(names);
	if (r < 0)
		return r;
	/* An id this engine has no PO under (keep() answered for another
	 * table) is not adopted. */
	for (uint32_t i = 0; i < n; i++)
		if (map[i] != DETECT_PO_GONE && (map[i] >= d->npos || d->names[map[i]][0] == '\0'))
			map[i] = DETECT_PO_GONE;
	for (size_t i = 0; i < DETECT_NREGISTERED; i++) {
		const struct detect_ops *ops = detect_registry[i];

		if (ops->adopt == NULL)
			continue;
		snprintf(key, sizeof(key), "detect/%s", ops->name);
		if ((r = detection_src_get(src, key, &blob, &len)) < 0) {
			if (r == -ENOENT)
				continue;
			goto out;
		}
		r = ops->adopt(d->det[i], blob, len, map, n, &rest[i], &rest_len[i]);
		free(blob);
		if (r < 0)
			goto out;
		taken += r;
	}
	/* Ours first, then theirs without what moved: a crash between the
	 * two leaves a baseline in both places, never in neither. */
	if (taken > 0 && (r = detection_save(d)) < 0)
		goto out;
	for (size_t i = 0; i < DETECT_NREGISTERED; i++) {
		if (rest[i] == NULL)
			continue;
		snprintf(key, sizeof(key), "detect/%s", detect_registry[i]->name);
		if ((r = src->put(src->ctx, key, rest[i], rest_len[i])) < 0)
			goto out;
	}
	r = taken;
out:
	for (size_t i = 0; i < DETECT_NREGISTERED; i++)
		free(rest[i]);
	free(map);
	return r;
}

/* A detector's series of the POs map keeps (their ids unchanged), as a
 * blob of its own: the detector's save, adopted into a fresh state. */
static int
detection_part(struct detection_ctx *d, size_t i, const uint32_t *map, uint8_t **ret,
    size_t *ret_len)
{
	const struct detect_ops *ops = detect_registry[i];
	struct detect_env env = { .params = detection_params, .emit = detection_emit, .ctx = d };
	uint8_t *all = NULL, *rest = NULL;
	size_t all_len, rest_len;
	void *tmp = NULL;
	int r, n;

	if ((r = ops->save(d->det[i], &all, &all_len)) < 0 || (r = ops->new(&env, &tmp)) < 0)
		goto out;
	if ((r = ops->adopt(tmp, all, all_len, map, d->npos, &rest, &rest_len)) < 0)
		goto out;
	n = r;
	if ((r = ops->save(tmp, ret, ret_len)) == 0)
		r = n;
out:
	free(all);
	free(rest);
	if (tmp != NULL)
		ops->free(tmp);
	return r;
}

/* map[id] = id for this engine's POs keep() accepts, else gone. */
static uint32_t *
detection_keep_map(struct detection_ctx *d, decision_adopt_fn keep, void *ctx)
{
	uint32_t *map = calloc(d->npos ? d->npos : 1, sizeof(*map));

	for (uint32_t i = 0; map != NULL && i < d->npos; i++) {
		uint32_t id;

		map[i] = d->names[i][0] != '\0' && keep(ctx, d->names[i], &id) && id == i ? i :
		    DETECT_PO_GONE;
	}
	return map;
}

int
detection_hand_off(struct detection_ctx *d, const struct detection_src *dst,
    decision_adopt_fn keep, void *ctx, int *ret_series)
{
	uint32_t *map = detection_keep_map(d, keep, ctx);
	uint8_t *blob = NULL;
	size_t len;
	char key[64];
	int r, n = 0;

	*ret_series = 0;
	if (map == NULL)
		return -ENOMEM;
	if ((r = detection_names_blob(d, &blob, &len)) < 0 ||
	    (r = dst->put(dst->ctx, "detect/pos", blob, len)) < 0)
		goto out;
	for (size_t i = 0; i < DETECT_NREGISTERED; i++) {
		if (detect_registry[i]->adopt == NULL)
			continue;
		free(blob);
		blob = NULL;
		if ((r = detection_part(d, i, map, &blob, &len)) < 0)
			goto out;
		*ret_series += r;
		snprintf(key, sizeof(key), "detect/%s", detect_registry[i]->name);
		if ((r = dst->put(dst->ctx, key, blob, len)) < 0)
			goto out;
	}
	free(blob);
	blob = NULL;
	if ((r = n = decision_save_some(d->dp, keep, ctx, &blob, &len)) < 0 ||
	    (r = dst->put(dst->ctx, "detect/decision", blob, len)) < 0)
		goto out;
	r = n;
out:
	free(blob);
	free(map);
	return r;
}

void
detection_drop(struct detection_ctx *d, decision_adopt_fn keep, void *ctx)
{
	for (uint32_t i = 0; i < d->npos; i++) {
		uint32_t id;

		if (d->names[i][0] == '\0' || !keep(ctx, d->names[i], &id))
			continue;
		for (size_t k = 0; k < DETECT_NREGISTERED; k++)
			if (detect_registry[k]->adopt != NULL)
				detect_registry[k]->forget_po(d->det[k], i);
	}
	(void)decision_drop(d->dp, keep, ctx);
}
