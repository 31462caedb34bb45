/*
 * api_history: per-PO rings of recent inbound traffic (see history.h).
 */
#include "engine/api/history.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collect/counters.h"
#include "common/limits.h"
#include "common/strnum.h"
#include "engine/api/server.h"
#include "engine/core/engine.h"

static const char *const hist_proto_names[PROTO__COUNT] = { "tcp", "udp", "icmp", "other" };

struct hist_point {
	double t;			/* wall time, Unix seconds */
	float pps[PROTO__COUNT];
	float bps[PROTO__COUNT];
	float syn_pps[PROTO__COUNT];
	float avg_pps[PROTO__COUNT];	/* the counters' 60 s average */
};

struct hist_ring {
	char name[LIMIT_PO_NAME + 1];	/* "" = free */
	bool keep;			/* during a prune */
	uint32_t head;			/* next point to write */
	uint32_t count;
	struct hist_point pts[LIMIT_HISTORY_POINTS];
};

struct api_history {
	struct engine *e;		/* NULL when made by api_history_new() alone */
	const struct counters *counters;	/* the collector's, wired; NULL: none */
	struct hist_ring ring[LIMIT_HISTORY_POS];
};

int
api_history_new(struct api_history **ret)
{
	struct api_history *h = calloc(1, sizeof(*h));

	if (!h)
		return -ENOMEM;
	*ret = h;
	return 0;
}

void
api_history_free(struct api_history *h)
{
	free(h);
}

int
api_history_init(struct engine *e, void **ret_state)
{
	struct api_history *h;
	int r = api_history_new(&h);

	if (r < 0)
		return r;
	h->e = e;
	*ret_state = h;
	return 0;
}

void
api_history_fini(void *state)
{
	api_history_free(state);
}

struct api_history *
api_history_get(struct engine *e)
{
	return engine_slot(e, ENGINE_MOD_HISTORY);
}

void
api_history_set_counters(struct api_history *h, const struct counters *c)
{
	h->counters = c;
}

/* The index of name's ring, or LIMIT_HISTORY_POS. */
static size_t
hist_find(const struct api_history *h, const char *name)
{
	size_t i;

	for (i = 0; i < LIMIT_HISTORY_POS; i++)
		if (h->ring[i].name[0] != '\0' && strcmp(h->ring[i].name, name) == 0)
			break;
	return i;
}

/* The ring of name, or a free one given to it (empty); NULL if none is
 * free (cannot happen after a prune: at most LIMIT_HISTORY_POS names). */
static struct hist_ring *
hist_claim(struct api_history *h, const char *name)
{
	struct hist_ring *g;
	size_t i = hist_find(h, name);

	if (i < LIMIT_HISTORY_POS)
		return &h->ring[i];
	for (i = 0; i < LIMIT_HISTORY_POS; i++) {
		g = &h->ring[i];
		if (g->name[0] == '\0') {
			snprintf(g->name, sizeof(g->name), "%s", name);
			g->head = g->count = 0;
			return g;
		}
	}
	return NULL;
}

void
api_history_prune(struct api_history *h, const struct poset *set)
{
	uint32_t lim = poset_id_limit(set), n = 0;

	for (size_t i = 0; i < LIMIT_HISTORY_POS; i++)
		h->ring[i].keep = false;
	for (uint32_t id = 0; id < lim && n < LIMIT_HISTORY_POS; id++) {
		const struct po *p = poset_at(set, id);
		size_t i;

		if (p == NULL)
			continue;
		n++;
		if ((i = hist_find(h, p->name)) < LIMIT_HISTORY_POS)
			h->ring[i].keep = true;
	}
	for (size_t i = 0; i < LIMIT_HISTORY_POS; i++)
		if (!h->ring[i].keep)
			h->ring[i].name[0] = '\0';
}

void
api_history_record(struct api_history *h, const struct poset *set, const struct counters *c,
    uint64_t wall_ns)
{
	uint32_t lim = poset_id_limit(set), n = 0;

	api_history_prune(h, set);
	for (uint32_t id = 0; id < lim && n < LIMIT_HISTORY_POS; id++) {
		const struct po *p = poset_at(set, id);
		struct hist_ring *g;
		struct hist_point *pt;

		if (p == NULL)
			continue;
		n++;
		if ((g = hist_claim(h, p->name)) == NULL)
			continue;
		pt = &g->pts[g->head];
		memset(pt, 0, sizeof(*pt));
		pt->t = (double)wall_ns / 1e9;
		for (unsigned pr = 0; pr < PROTO__COUNT; pr++) {
			struct counters_stat st;

			/* -ERANGE: an id past the counters' table counts nothing */
			if (counters_po_stat(c, id, pr, DIR_IN, &st) < 0)
				continue;
			pt->pps[pr] = (float)st.rate[CNT_W1][CNT_PACKETS];
			pt->bps[pr] = (float)(st.rate[CNT_W1][CNT_BYTES] * 8);
			pt->syn_pps[pr] = (float)st.rate[CNT_W1][CNT_SYNS];
			pt->avg_pps[pr] = (float)st.rate[CNT_W60][CNT_PACKETS];
		}
		g->head = (g->head + 1) % LIMIT_HISTORY_POINTS;
		if (g->count < LIMIT_HISTORY_POINTS)
			g->count++;
	}
}

void
api_history_tick(void *state, uint64_t now_ns)
{
	struct api_history *h = state;

	(void)now_ns;	/* monotonic; the chart wants wall time */
	if (h->counters == NULL)
		return;
	api_history_record(h, engine_pos(h->e), h->counters,
	    clock_wall_ns(engine_clock(h->e)));
}

void
api_history_pos_changed(void *state)
{
	struct api_history *h = state;

	api_history_prune(h, engine_pos(h->e));
}

/* The point k of the last n of ring g (k = 0 the oldest). */
static const struct hist_point *
hist_at(const struct hist_ring *g, uint32_t n, uint32_t k)
{
	return &g->pts[(g->head + LIMIT_HISTORY_POINTS - n + k) % LIMIT_HISTORY_POINTS];
}

/* One protocol's series of the last n points, oldest first. */
static json_t *
hist_proto(const struct hist_ring *g, uint32_t n, unsigned pr)
{
	json_t *o = json_object(), *a[4];
	static const char *const keys[4] = { "pps", "bps", "syn_pps", "avg_pps" };
	bool ok = o != NULL;

	for (size_t i = 0; i < 4; i++) {
		a[i] = json_array();
		if (!a[i] || json_object_set_new(o, keys[i], a[i]) < 0)
			ok = false;
	}
	for (uint32_t k = 0; ok && k < n; k++) {
		const struct hist_point *pt = hist_at(g, n, k);

		ok = json_array_append_new(a[0], json_real(pt->pps[pr])) == 0 &&
		    json_array_append_new(a[1], json_real(pt->bps[pr])) == 0 &&
		    json_array_append_new(a[2], json_real(pt->syn_pps[pr])) == 0 &&
		    json_array_append_new(a[3], json_real(pt->avg_pps[pr])) == 0;
	}
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *
api_history_json(const struct api_history *h, const char *name, uint32_t seconds)
{
	size_t i = h ? hist_find(h, name) : LIMIT_HISTORY_POS;
	const struct hist_ring *g = i < LIMIT_HISTORY_POS ? &h->ring[i] : NULL;
	uint32_t n = 0;
	json_t *o, *t;
	bool ok;

	if (g)
		n = g->count < seconds ? g->count : seconds;
	o = json_pack("{s:s, s:i, s:[]}", "name", name, "interval_s", 1, "t");
	if (!o)
		return NULL;
	t = json_object_get(o, "t");
	ok = true;
	for (uint32_t k = 0; ok && k < n; k++)
		ok = json_array_append_new(t, json_real(hist_at(g, n, k)->t)) == 0;
	for (unsigned pr = 0; ok && pr < PROTO__COUNT; pr++) {
		json_t *s = hist_proto(g, n, pr);

		ok = s != NULL && json_object_set_new(o, hist_proto_names[pr], s) == 0;
	}
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int
api_history_seconds(const char *q, uint32_t *ret)
{
	uint64_t v = LIMIT_HISTORY_POINTS;

	if (q && strnum_u64(q, 1, LIMIT_HISTORY_POINTS, &v) < 0)
		return -EINVAL;
	*ret = (uint32_t)v;
	return 0;
}

void
api_history_po(struct api_req *r)
{
	struct engine *e = api_req_engine(r);
	const char *name = api_req_param(r);
	uint32_t want;
	json_t *o;

	if (poset_find(engine_pos(e), name, NULL) == NULL) {
		api_reply_error(r, 404, NULL, "no PO named '%s'", name);
		return;
	}
	if (api_history_seconds(api_req_query(r, "seconds"), &want) < 0) {
		api_reply_error(r, 400, "seconds", "seconds: expected 1..%u",
		    LIMIT_HISTORY_POINTS);
		return;
	}
	o = api_history_json(api_history_get(e), name, want);
	if (!o) {
		api_reply_error(r, 500, NULL, "out of memory");
		return;
	}
	api_reply_json(r, 200, o);
}
