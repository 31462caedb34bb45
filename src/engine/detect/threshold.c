/*
 * detect_threshold: absolute limits per PO and protocol (pps, bps, new
 * flows/s, SYN/s; on the port-0 readings, the PO's whole traffic of that
 * protocol), like FastNetMon, working from the first reading: no
 * learning, no state. Every reading over a limit emits a detection with
 * full confidence that expires after threshold_expiry_s unless repeated.
 * Per-destination-host limits (the PO's host_thresholds) are checked on
 * every host of the last interval that feed_host() gets: a host over its
 * limit is a detection for (PO, protocol, any port), inbound, whose reason
 * names the host.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "engine/detect/registry.h"

struct threshold_state {
	struct detect_env env;
};

struct threshold_check {
	const char *what;
	double value;
	double limit;
};

/* The traffic a check is about and what it measured. */
struct threshold_subject {
	uint32_t po_id;
	uint8_t proto, dir;
	uint16_t port;
	uint64_t time_ns, interval_ns;
	uint64_t bytes, packets, flows, syns;
	const char *host;	/* NULL: the whole PO (or port) */
};

static void
threshold_emit(struct threshold_state *st, const struct threshold_subject *sub,
    const struct dparams *p, const struct threshold_check *c, double pps, double bps)
{
	struct detection d = {
		.kind = DETECT_ATTACK,
		.detector = detect_threshold_ops.name,
		.po_id = sub->po_id,
		.proto = sub->proto,
		.dir = sub->dir,
		.port = sub->port,
		.confidence = 100,
		.time_ns = sub->time_ns,
		.expiry_ns = sub->time_ns + (uint64_t)(p->threshold_expiry_s * 1e9),
		.pps = pps,
		.bps = bps,
	};

	if (sub->host != NULL)
		snprintf(d.reason, sizeof(d.reason), "host %s: %s %.0f over the host limit %.0f",
		    sub->host, c->what, c->value, c->limit);
	else
		snprintf(d.reason, sizeof(d.reason), "%s %.0f over the limit %.0f", c->what, c->value,
		    c->limit);
	st->env.emit(st->env.ctx, &d);
}

/* Check sub against the limits l; one detection at most: the first limit
   crossed names the reason. */
static void
threshold_check(struct threshold_state *st, const struct threshold_subject *sub,
    const struct dparams *p, const struct dparams_limits *l)
{
	double dt = (double)sub->interval_ns / 1e9;
	double pps = (double)sub->packets / dt, bps = (double)sub->bytes * 8 / dt;
	const struct threshold_check checks[] = {
		{ "pps", pps, l->pps },
		{ "bps", bps, l->bps },
		{ "flows/s", (double)sub->flows / dt, l->flows_ps },
		{ "syn/s", (double)sub->syns / dt, l->syn_pps },
	};

	for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++)
		if (checks[i].limit > 0 && checks[i].value > checks[i].limit) {
			threshold_emit(st, sub, p, &checks[i], pps, bps);
			return;
		}
}

static void
threshold_feed(void *arg, const struct reading *r)
{
	struct threshold_state *st = arg;
	const struct dparams *p;

	/* The limits are the PO's: a port series is part of port 0 and would
	 * only declare the same flood a second time. */
	if (r->proto >= PROTO__COUNT || r->dir >= DIR__COUNT || r->interval_ns == 0 || r->port != 0)
		return;
	p = st->env.params(st->env.ctx, r->po_id);
	threshold_check(st, &(struct threshold_subject){ .po_id = r->po_id, .proto = r->proto,
	    .dir = r->dir, .port = r->port, .time_ns = r->time_ns, .interval_ns = r->interval_ns,
	    .bytes = r->bytes, .packets = r->packets, .flows = r->flows, .syns = r->syns },
	    p, &p->limits[r->proto]);
}

static bool
threshold_any(const struct dparams_limits *l)
{
	return l->pps > 0 || l->bps > 0 || l->flows_ps > 0 || l->syn_pps > 0;
}

static void
threshold_feed_host(void *arg, const struct detect_host *h)
{
	struct threshold_state *st = arg;
	const struct dparams *p;
	char host[INET6_ADDRSTRLEN];

	if (h->proto >= PROTO__COUNT || h->interval_ns == 0 || (h->alen != 4 && h->alen != 16))
		return;
	p = st->env.params(st->env.ctx, h->po_id);
	if (!threshold_any(&p->host_limits[h->proto]))
		return;
	if (inet_ntop(h->alen == 4 ? AF_INET : AF_INET6, h->addr, host, sizeof(host)) == NULL)
		return;
	threshold_check(st, &(struct threshold_subject){ .po_id = h->po_id, .proto = h->proto,
	    .dir = DIR_IN, .port = 0, .time_ns = h->time_ns, .interval_ns = h->interval_ns,
	    .bytes = h->bytes, .packets = h->packets, .flows = h->flows, .syns = h->syns,
	    .host = host }, p, &p->host_limits[h->proto]);
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
threshold_reset(void *arg, uint32_t po_id, uint8_t proto, uint8_t dir, uint16_t port)
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
	.feed_host = threshold_feed_host,
};
