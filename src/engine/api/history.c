/*
 * api_history: per-PO rings of recent inbound traffic (see history.h).
 */
#include "engine/api/history.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/limits.h"
#include "common/strnum.h"
#include "engine/api/server.h"
#include "engine/collect/module.h"
#include "engine/core/engine.h"

static const char *const hist_proto_names[PROTO__COUNT] = { "tcp", "udp", "icmp", "other" };

struct hist_point {
	double t;			/* engine time, Unix seconds */
	float pps[PROTO__COUNT];
	float bps[PROTO__COUNT];
	float syn_pps[PROTO__COUNT];
	float avg_pps[PROTO__COUNT];	/* the counters' 60 s average */
};

struct hist_ring {
	char name[LIMIT_PO_NAME + 1];	/* "" = free */
	bool seen;			/* during the current tick */
	uint32_t head;			/* next point to write */
	uint32_t count;
	struct hist_point pts[LIMIT_HISTORY_POINTS];
};

struct api_history {
	struct engine *e;
	struct hist_ring ring[LIMIT_HISTORY_POS];
};

/* The running history: one moatd runs one engine (like the collector). */
static struct api_history *the_history;

int
api_history_start(struct engine *e, struct api_history **ret)
{
	struct api_history *h = calloc(1, sizeof(*h));
	int r;

	if (!h)
		return -ENOMEM;
	h->e = e;
	r = engine_on_tick(e, api_history_tick, h);
	if (r < 0) {
		free(h);
		return r;
	}
	the_history = h;
	*ret = h;
	return 0;
}

void
api_history_free(struct api_history *h)
{
	if (!h)
		return;
	if (the_history == h)
		the_history = NULL;
	free(h);
}

static struct hist_ring *
hist_find(struct api_history *h, const char *name)
{
	for (size_t i = 0; i < LIMIT_HISTORY_POS; i++)
		if (strcmp(h->ring[i].name, name) == 0)
			return &h->ring[i];
	return NULL;
}

static struct hist_ring *
hist_claim(struct api_history *h, const char *name)
{
	struct hist_ring *g = hist_find(h, name);

	if (g)
		return g;
	for (size_t i = 0; i < LIMIT_HISTORY_POS; i++) {
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
api_history_tick(struct engine *e, uint64_t now_ns, void *arg)
{
	struct api_history *h = arg;
	struct collector *c = collector_get(e);
	const struct poset *set = engine_pos(e);
	uint32_t lim = poset_id_limit(set);

	if (c == NULL)
		return;
	for (size_t i = 0; i < LIMIT_HISTORY_POS; i++)
		h->ring[i].seen = false;
	for (uint32_t id = 0; id < lim; id++) {
		const struct po *p = poset_at(set, id);
		struct hist_ring *g;
		struct hist_point *pt;

		if (p == NULL || (g = hist_claim(h, p->name)) == NULL)
			continue;
		g->seen = true;
		pt = &g->pts[g->head];
		memset(pt, 0, sizeof(*pt));
		pt->t = (double)now_ns / 1e9;
		for (unsigned pr = 0; pr < PROTO__COUNT; pr++) {
			struct counters_stat st;

			if (counters_po_stat(collector_counters(c), id, pr, DIR_IN, &st) < 0)
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
	/* rings of deleted (or renamed) POs go */
	for (size_t i = 0; i < LIMIT_HISTORY_POS; i++)
		if (!h->ring[i].seen)
			h->ring[i].name[0] = '\0';
}

/* One series of the last n points, oldest first. */
static json_t *
hist_series(const struct hist_ring *g, uint32_t n, size_t off, unsigned pr)
{
	json_t *a = json_array();

	for (uint32_t k = 0; a && g && k < n; k++) {
		const struct hist_point *pt = &g->pts[(g->head + LIMIT_HISTORY_POINTS - n + k) %
		    LIMIT_HISTORY_POINTS];
		double v;

		if (off == (size_t)-1)
			v = pt->t;
		else
			v = ((const float *)((const char *)pt + off))[pr];
		json_array_append_new(a, json_real(v));
	}
	return a;
}

void
api_history_po(struct api_req *r)
{
	struct engine *e = api_req_engine(r);
	const char *name = api_req_param(r);
	const char *q = api_req_query(r, "seconds");
	struct api_history *h = the_history && the_history->e == e ? the_history : NULL;
	const struct hist_ring *g = NULL;
	uint64_t want = LIMIT_HISTORY_POINTS;
	uint32_t n = 0;
	json_t *o;

	if (poset_find(engine_pos(e), name, NULL) == NULL) {
		api_reply_error(r, 404, NULL, "no PO named '%s'", name);
		return;
	}
	if (q && strnum_u64(q, 1, LIMIT_HISTORY_POINTS, &want) < 0) {
		api_reply_error(r, 400, "seconds", "seconds: expected 1..%u", LIMIT_HISTORY_POINTS);
		return;
	}
	if (h)
		g = hist_find(h, name);
	if (g)
		n = g->count < want ? g->count : (uint32_t)want;
	o = json_pack("{s:s, s:i, s:o}", "name", name, "interval_s", 1, "t",
	    hist_series(g, n, (size_t)-1, 0));
	for (unsigned pr = 0; o && pr < PROTO__COUNT; pr++)
		json_object_set_new(o, hist_proto_names[pr], json_pack("{s:o, s:o, s:o, s:o}",
		    "pps", hist_series(g, n, offsetof(struct hist_point, pps), pr),
		    "bps", hist_series(g, n, offsetof(struct hist_point, bps), pr),
		    "syn_pps", hist_series(g, n, offsetof(struct hist_point, syn_pps), pr),
		    "avg_pps", hist_series(g, n, offsetof(struct hist_point, avg_pps), pr)));
	if (!o) {
		api_reply_error(r, 500, NULL, "out of memory");
		return;
	}
	api_reply_json(r, 200, o);
}
