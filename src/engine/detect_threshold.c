/*
 * detect_threshold: absolute limits per PO and protocol (pps, bps, new
 * flows/s, SYN/s), like FastNetMon, working from the first reading: no
 * learning, no state. Every reading over a limit emits a detection with
 * full confidence that expires after threshold_expiry_s unless repeated.
 * Per-destination-host limits apply when the counters hand over per-host
 * readings (the same struct reading, one series per host).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "engine/detect.h"

struct threshold_state {
	struct detect_env env;
};

struct threshold_check {
	const char *what;
	double value;
	double limit;
};

static void
threshold_emit(struct threshold_state *st, const struct reading *r, const struct dparams *p,
    const struct threshold_check *c, double pps, double bps)
{
	struct detection d = {
		.kind = DETECT_ATTACK,
		.detector = detect_threshold_ops.name,
		.po_id = r->po_id,
		.proto = r->proto,
		.dir = r->dir,
		.port = r->port,
		.confidence = 100,
		.time_ns = r->time_ns,
		.expiry_ns = r->time_ns + (uint64_t)(p->threshold_expiry_s * 1e9),
		.pps = pps,
		.bps = bps,
	};

	snprintf(d.reason, sizeof(d.reason), "%s %.0f over the limit %.0f", c->what, c->value,
	    c->limit);
	st->env.emit(st->env.ctx, &d);
}

static void
threshold_feed(void *arg, const struct reading *r)
{
	struct threshold_state *st = arg;
	const struct dparams *p;
	const struct dparams_limits *l;
	double dt, pps, bps;

	if (r->proto >= PROTO__COUNT || r->dir >= DIR__COUNT || r->interval_ns == 0)
		return;
	p = st->env.params(st->env.ctx, r->po_id);
	l = &p->limits[r->proto];
	dt = (double)r->interval_ns / 1e9;
	pps = (double)r->packets / dt;
	bps = (double)r->bytes * 8 / dt;
	const struct threshold_check checks[] = {
		{ "pps", pps, l->pps },
		{ "bps", bps, l->bps },
		{ "flows/s", (double)r->flows / dt, l->flows_ps },
		{ "syn/s", (double)r->syns / dt, l->syn_pps },
	};
	/* One detection per reading: the first limit crossed names the reason. */
	for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++)
		if (checks[i].limit > 0 && checks[i].value > checks[i].limit) {
			threshold_emit(st, r, p, &checks[i], pps, bps);
			return;
		}
}

static void
threshold_tick(void *arg, uint64_t now_ns)
{
}

/* Nothing is learned: the blob is empty and only an empty blob loads. */
static int
threshold_save(void *arg, uint8_t **ret_blob, size_t *ret_len)
{
	*ret_blob = NULL;
	*ret_len = 0;
	return 0;
}

static int
threshold_load(void *arg, const uint8_t *blob, size_t len)
{
	return len == 0 ? 0 : -EINVAL;
}

static void
threshold_reset(void *arg, uint32_t po_id, uint8_t proto, uint16_t port)
{
}

static void
threshold_forget_po(void *arg, uint32_t po_id)
{
}

static void
threshold_remap_po(void *arg, const uint32_t *map, uint32_t n)
{
}

static int
threshold_new(const struct detect_env *env, void **ret)
{
	struct threshold_state *st = calloc(1, sizeof(*st));

	if (st == NULL)
		return -ENOMEM;
	st->env = *env;
	*ret = st;
	return 0;
}

static void
threshold_free(void *arg)
{
	free(arg);
}

const struct detect_ops detect_threshold_ops = {
	.name = "threshold",
	.new = threshold_new,
	.free = threshold_free,
	.feed = threshold_feed,
	.tick = threshold_tick,
	.save = threshold_save,
	.load = threshold_load,
	.reset = threshold_reset,
	.forget_po = threshold_forget_po,
	.remap_po = threshold_remap_po,
};
