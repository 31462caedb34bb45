/*
 * hostcheck: one walk over the counters' host table per interval; the host
 * under check is remembered only for the duration of the feed_host calls,
 * so an emit callback can tell a host's detection from a reading's.
 */
#include "engine/detect/hostcheck.h"

#include <string.h>

#include "collect/counters.h"

bool
hostcheck_limits_any(const struct dparams_limits *l)
{
	return l->pps > 0 || l->bps > 0 || l->flows_ps > 0 || l->syn_pps > 0;
}

struct hostcheck_walk {
	struct hostcheck *hc;
	uint64_t time_ns, interval_ns;
};

/* One (PO, protocol, host) of the interval to the detectors that check
 * hosts, unless its PO has no host limit for that protocol (most do not:
 * skipping them keeps the walk a table scan). */
static void
hostcheck_host(void *arg, uint32_t po, enum proto_class proto, const struct counters_host *ch)
{
	struct hostcheck_walk *w = arg;
	struct hostcheck *hc = w->hc;
	const struct dparams *p;
	struct detect_host h = { .po_id = po, .proto = (uint8_t)proto,
		.alen = ch->addr.af == AF_INET ? 4 : 16, .time_ns = w->time_ns,
		.interval_ns = w->interval_ns, .bytes = ch->bytes, .packets = ch->packets,
		.flows = ch->flows, .syns = ch->syns };

	if ((unsigned)proto >= PROTO__COUNT || (p = hc->params(hc->ctx, po)) == NULL ||
	    !hostcheck_limits_any(&p->host_limits[proto]))
		return;
	memcpy(h.addr, ch->addr.a, sizeof(h.addr));
	hc->cur = &h;
	for (size_t i = 0; i < DETECT_NREGISTERED; i++)
		if (detect_registry[i]->feed_host != NULL)
			detect_registry[i]->feed_host(hc->det[i], &h);
	hc->cur = NULL;
}

bool
hostcheck_feed(struct hostcheck *hc, const struct counters *cnt, uint64_t time_ns)
{
	struct hostcheck_walk w = { .hc = hc, .time_ns = time_ns };
	uint64_t end = counters_last_tick_ns(cnt);

	if (end == 0 || end == hc->checked_ns)
		return false;
	hc->checked_ns = end;
	w.interval_ns = counters_interval_ns(cnt);
	counters_walk_hosts(cnt, hostcheck_host, &w);
	return true;
}

void
hostcheck_emitted(const struct hostcheck *hc, const struct detection *d)
{
	const struct detect_host *h = hc->cur;
	struct decision_obs o;

	if (h == NULL || d->po_id != h->po_id || d->proto != h->proto)
		return;
	/* A host over its own limit is the attack's target. */
	o = (struct decision_obs){ .po_id = h->po_id, .proto = h->proto, .target_only = true,
		.alen = h->alen, .packets = h->packets, .bytes = h->bytes };
	memcpy(o.dst, h->addr, sizeof(o.dst));
	decision_observe(hc->dp, &o);
}
