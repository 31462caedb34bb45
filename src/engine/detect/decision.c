/*
 * decision: attacks live in a small array (creation order) searched
 * linearly — live attacks are few, and the table is capped by
 * LIMIT_ATTACKS_LIVE — and ended ones in a fixed ring. Each live attack
 * owns three sketches; they are freed when it ends (its top lists stay).
 */
#include "engine/detect/decision.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cursor.h"

#define DECISION_BLOB_MAGIC 0x4d444131u	/* "MDA1" */
#define DECISION_SKETCH_K 64u

struct decision_live {
	struct decision_attack a;
	struct sketch *sk[DECISION_TOP__COUNT];
};

/* Without a baseline or a limit, the drops that sustain an attack: the
 * share of its peak Defense4All's traffic floor used. */
#define DECISION_DROPS_PEAK_SHARE 0.1

struct decision {
	struct decision_hooks h;
	struct decision_live **live;	/* [nlive], oldest first */
	size_t nlive, caplive;
	struct decision_attack *hist;	/* ring of LIMIT_ATTACKS_HISTORY */
	size_t hist_head, nhist;	/* oldest at hist_head */
	uint64_t next_id;
	uint64_t refused;
};

static const char *const decision_state_names[] = {
	[DECISION_NONE] = "none",
	[DECISION_SUSPECTED] = "suspected",
	[DECISION_DECLARED] = "declared",
	[DECISION_ENDING] = "ending",
	[DECISION_ENDED] = "ended",
};

static const char *const decision_type_names[DECISION_TYPE__COUNT] = {
	[DECISION_TYPE_UNKNOWN] = "unknown",
	[DECISION_TYPE_SYN_FLOOD] = "syn-flood",
	[DECISION_TYPE_UDP_FLOOD] = "udp-flood",
	[DECISION_TYPE_ICMP_FLOOD] = "icmp-flood",
	[DECISION_TYPE_AMPLIFICATION] = "amplification",
	[DECISION_TYPE_TCP_OTHER] = "tcp-other",
	[DECISION_TYPE_FRAGMENTS] = "fragments",
	[DECISION_TYPE_OTHER] = "other",
	[DECISION_TYPE_SLOWCONN] = "slow-connection",
	[DECISION_TYPE_SCAN] = "scan",
};

/* UDP source ports of well-known reflectors: DNS, NTP, SSDP, memcached,
 * CLDAP, chargen. */
static const uint16_t decision_amp_ports[] = { 53, 123, 1900, 11211, 389, 19 };

/* A share of the attack traffic's bytes from one reflector source port that
 * makes it an amplification attack (the rest is the PO's normal traffic). */
#define DECISION_AMP_SHARE 0.25
/* SYNs or fragments making up this share of a reading's packets above the
 * baseline name the type. */
#define DECISION_FLAG_SHARE 0.25

const char *
decision_state_name(enum decision_state s)
{
	return (unsigned)s <= DECISION_ENDED ? decision_state_names[s] : "?";
}

const char *
decision_type_name(enum decision_type t)
{
	return (unsigned)t < DECISION_TYPE__COUNT ? decision_type_names[t] : "?";
}

int
decision_new(const struct decision_hooks *hooks, struct decision **ret)
{
	struct decision *dp = calloc(1, sizeof(*dp));

	if (dp == NULL)
		return -ENOMEM;
	dp->h = *hooks;
	dp->next_id = 1;
	dp->hist = calloc(LIMIT_ATTACKS_HISTORY, sizeof(*dp->hist));
	if (dp->hist == NULL) {
		free(dp);
		return -ENOMEM;
	}
	*ret = dp;
	return 0;
}

static void
decision_live_free(struct decision_live *l)
{
	if (l == NULL)
		return;
	for (int i = 0; i < DECISION_TOP__COUNT; i++)
		sketch_free(l->sk[i]);
	free(l);
}

static void
decision_clear_live(struct decision *dp)
{
	for (size_t i = 0; i < dp->nlive; i++)
		decision_live_free(dp->live[i]);
	free(dp->live);
	dp->live = NULL;
	dp->nlive = dp->caplive = 0;
}

void
decision_free(struct decision *dp)
{
	if (dp == NULL)
		return;
	decision_clear_live(dp);
	free(dp->hist);
	free(dp);
}

/* The live attack on (PO, protocol, direction, port): an outbound burst and
 * an inbound flood of the same PO and protocol are two attacks, judged and
 * typed from their own direction's readings. */
static struct decision_live *
decision_find(const struct decision *dp, uint32_t po_id, uint8_t proto, uint8_t dir,
    uint16_t port)
{
	for (size_t i = 0; i < dp->nlive; i++) {
		struct decision_attack *a = &dp->live[i]->a;

		if (a->po_id == po_id && a->proto == proto && a->dir == dir && a->port == port)
			return dp->live[i];
	}
	return NULL;
}

static struct decision_live *
decision_live_alloc(void)
{
	struct decision_live *l = calloc(1, sizeof(*l));

	if (l == NULL)
		return NULL;
	for (int i = 0; i < DECISION_TOP__COUNT; i++)
		if (sketch_new(DECISION_SKETCH_K, &l->sk[i]) < 0) {
			decision_live_free(l);
			return NULL;
		}
	return l;
}

static int
decision_live_append(struct decision *dp, struct decision_live *l)
{
	if (dp->nlive >= LIMIT_ATTACKS_LIVE)
		return -ENOSPC;
	if (dp->nlive == dp->caplive) {
		size_t cap = dp->caplive ? dp->caplive * 2 : 16;
		struct decision_live **p = realloc(dp->live, cap * sizeof(*p));

		if (p == NULL)
			return -ENOMEM;
		dp->live = p;
		dp->caplive = cap;
	}
	dp->live[dp->nlive++] = l;
	return 0;
}

/* Mitigation acts on inbound traffic to a PO only: what a PO sends is
 * reported, never blocked here (a rule matches destinations in the PO). */
static bool
decision_detect_only(const struct detection *d)
{
	return d->detect_only || d->dir != DIR_IN;
}

static struct decision_live *
decision_create(struct decision *dp, const struct detection *d)
{
	struct decision_live *l;

	if (dp->nlive >= LIMIT_ATTACKS_LIVE || (l = decision_live_alloc()) == NULL)
		return NULL;
	if (decision_live_append(dp, l) < 0) {
		decision_live_free(l);
		return NULL;
	}
	l->a.id = dp->next_id++;
	l->a.po_id = d->po_id;
	if (dp->h.po_name != NULL)
		snprintf(l->a.po, sizeof(l->a.po), "%s", dp->h.po_name(dp->h.ctx, d->po_id));
	l->a.proto = d->proto;
	l->a.dir = d->dir;
	l->a.port = d->port;
	l->a.state = DECISION_SUSPECTED;
	l->a.start_ns = d->time_ns;
	l->a.detect_only = decision_detect_only(d);
	return l;
}

static void
decision_join(struct decision_attack *a, const struct detection *d)
{
	struct decision_detector *det = NULL;

	for (unsigned i = 0; i < a->ndet; i++)
		if (strcmp(a->det[i].name, d->detector) == 0)
			det = &a->det[i];
	if (det == NULL) {
		if (a->ndet >= LIMIT_ATTACK_DETECTORS)
			return;
		det = &a->det[a->ndet++];
		*det = (struct decision_detector){ .name = d->detector, .first_ns = d->time_ns };
	}
	det->confidence = d->confidence;
	det->count++;
	det->last_ns = d->time_ns;
	if (d->expiry_ns > det->expiry_ns)
		det->expiry_ns = d->expiry_ns;
	if (d->confidence > a->confidence)
		a->confidence = d->confidence;
	if (d->time_ns > a->last_detection_ns)
		a->last_detection_ns = d->time_ns;
}

static void
decision_set_state(struct decision *dp, struct decision_attack *a, enum decision_state s)
{
	enum decision_state old = a->state;

	a->state = s;
	if (dp->h.changed != NULL)
		dp->h.changed(dp->h.ctx, a, old);
}

void
decision_detect(struct decision *dp, const struct detection *d)
{
	struct decision_live *l;
	bool created = false, unlocked = false;

	if (d->proto >= PROTO__COUNT || d->dir >= DIR__COUNT) {
		dp->refused++;
		return;
	}
	l = decision_find(dp, d->po_id, d->proto, d->dir, d->port);

	if (l == NULL) {
		l = decision_create(dp, d);
		if (l == NULL) {
			dp->refused++;
			return;
		}
		created = true;
		/* Scans (moat-chaff) and slow connections (moat-ins) do not come
		 * from traffic rates: their type is known and readings must not
		 * reclassify it. */
		if (d->type_hint == DETECT_HINT_SCAN)
			l->a.type = DECISION_TYPE_SCAN;
		else if (d->type_hint == DETECT_HINT_SLOW_CONNECTION)
			l->a.type = DECISION_TYPE_SLOWCONN;
	} else if (d->kind == DETECT_SUSPECT && l->a.state != DECISION_SUSPECTED) {
		return;		/* a suspicion never holds a declared attack */
	}
	decision_join(&l->a, d);
	/* The first detection that is not detect-only makes the attack one
	 * that may be mitigated: announced again as newly declared below. */
	if (l->a.detect_only && !decision_detect_only(d) && !created && d->kind != DETECT_SUSPECT) {
		l->a.detect_only = false;
		unlocked = true;
	}
	if (d->kind == DETECT_SUSPECT) {
		if (created && dp->h.changed != NULL)
			dp->h.changed(dp->h.ctx, &l->a, DECISION_NONE);
		return;
	}
	if (l->a.declared_ns == 0) {
		l->a.declared_ns = d->time_ns;
		l->a.base_pps = d->expected_pps;
		l->a.base_bps = d->expected_bps;
		memcpy(l->a.reason, d->reason, sizeof(l->a.reason));
		l->a.reason[sizeof(l->a.reason) - 1] = '\0';
	}
	if (created) {
		l->a.state = DECISION_DECLARED;
		if (dp->h.changed != NULL)
			dp->h.changed(dp->h.ctx, &l->a, DECISION_NONE);
	} else if (l->a.state != DECISION_DECLARED) {
		decision_set_state(dp, &l->a, DECISION_DECLARED);
	}
	if (unlocked && l->a.state == DECISION_DECLARED && dp->h.changed != NULL)
		dp->h.changed(dp->h.ctx, &l->a, DECISION_SUSPECTED);
}

/* The type a reading suggests: SYNs or fragments count against the packets
 * above the attack's baseline, so a SYN flood at 1.5x is still a SYN flood. */
static enum decision_type
decision_classify(const struct decision_attack *a, const struct reading *r, double dt)
{
	double excess = (double)r->packets - a->base_pps * dt;

	if (excess < 1)
		excess = (double)r->packets;
	if (r->frags > 0 && (double)r->frags >= DECISION_FLAG_SHARE * excess)
		return DECISION_TYPE_FRAGMENTS;
	switch (r->proto) {
	case PROTO_TCP:
		if (r->syns > 0 && (double)r->syns >= DECISION_FLAG_SHARE * excess)
			return DECISION_TYPE_SYN_FLOOD;
		return DECISION_TYPE_TCP_OTHER;
	case PROTO_UDP:
		return DECISION_TYPE_UDP_FLOOD;
	case PROTO_ICMP:
		return DECISION_TYPE_ICMP_FLOOD;
	default:
		return DECISION_TYPE_OTHER;
	}
}

void
decision_feed(struct decision *dp, const struct reading *r)
{
	struct decision_live *l;
	struct decision_attack *a;
	double dt;

	if (dp->nlive == 0 || r->interval_ns == 0)
		return;
	l = decision_find(dp, r->po_id, r->proto, r->dir, r->port);
	if (l == NULL)
		return;
	a = &l->a;
	dt = (double)r->interval_ns / 1e9;
	a->cur_pps = (double)r->packets / dt;
	a->cur_bps = (double)r->bytes * 8 / dt;
	a->packets += r->packets;
	a->bytes += r->bytes;
	if (a->cur_bps > a->peak_bps)
		a->peak_bps = a->cur_bps;
	if (a->cur_pps > a->peak_pps || a->type == DECISION_TYPE_UNKNOWN) {
		if (a->cur_pps > a->peak_pps)
			a->peak_pps = a->cur_pps;
		enum decision_type t = decision_classify(a, r, dt);

		/* A flag type found stays: a later, higher reading with a
		 * smaller SYN or fragment share is the flood plus the
		 * series' own burst, not another attack. */
		if (a->type != DECISION_TYPE_SCAN && a->type != DECISION_TYPE_SLOWCONN &&
		    !((a->type == DECISION_TYPE_SYN_FLOOD || a->type == DECISION_TYPE_FRAGMENTS) &&
		    (t == DECISION_TYPE_TCP_OTHER || t == DECISION_TYPE_UDP_FLOOD ||
		    t == DECISION_TYPE_OTHER)))
			a->type = t;
	}
}

static void decision_observe_one(struct decision_live *l, const struct decision_obs *o);

/*
 * A sampled packet or flow belongs to the attack on its protocol (port 0)
 * and to the one on its destination port, if either is live: both get it,
 * so a port attack's top targets are the heavy hitters among the
 * destinations sampled on that port. Per-host figures (target_only) come
 * from the counters' host table, which is kept per protocol, not per port:
 * they go to the protocol's attack only (dport is ignored), or the busiest
 * host of the protocol would be named the target of a port it never saw.
 */
void
decision_observe(struct decision *dp, const struct decision_obs *o)
{
	struct decision_live *any, *port = NULL;

	if (dp->nlive == 0)
		return;
	any = decision_find(dp, o->po_id, o->proto, DIR_IN, 0);
	if (o->target_only) {
		if (any != NULL)
			decision_observe_one(any, o);
		return;
	}
	if (o->dport != 0)
		port = decision_find(dp, o->po_id, o->proto, DIR_IN, o->dport);
	if (any != NULL)
		decision_observe_one(any, o);
	if (port != NULL)
		decision_observe_one(port, o);
}

static void
decision_observe_one(struct decision_live *l, const struct decision_obs *o)
{
	uint8_t alen;

	alen = o->alen == 4 ? 4 : 16;
	if (!(o->skip & DECISION_OBS_NO_DST))
		sketch_add(l->sk[DECISION_TOP_TARGETS], o->dst, alen, o->packets);
	if (o->target_only)
		return;
	if (!(o->skip & DECISION_OBS_NO_SRC))
		sketch_add(l->sk[DECISION_TOP_SOURCES], o->src, alen, o->packets);
	if ((o->proto == PROTO_TCP || o->proto == PROTO_UDP) && !(o->skip & DECISION_OBS_NO_SPORT)) {
		uint8_t port[2] = { (uint8_t)(o->sport >> 8), (uint8_t)o->sport };

		/* by bytes: amplification is about volume */
		sketch_add(l->sk[DECISION_TOP_SPORTS], port, sizeof(port), o->bytes ? o->bytes : o->packets);
	}
}

static bool
decision_is_amp_port(uint16_t port)
{
	for (size_t i = 0; i < sizeof(decision_amp_ports) / sizeof(decision_amp_ports[0]); i++)
		if (decision_amp_ports[i] == port)
			return true;
	return false;
}

/* Copy the sketches' top lists into the attack; a UDP attack dominated by
 * one reflector source port is an amplification attack. */
static void
decision_refresh_top(struct decision_live *l)
{
	struct decision_attack *a = &l->a;
	const struct sketch_item *sp;
	uint16_t port;

	for (int i = 0; i < DECISION_TOP__COUNT; i++) {
		if (sketch_total(l->sk[i]) == 0)
			continue;
		a->ntop[i] = sketch_top(l->sk[i], a->top[i], DECISION_TOP_N);
		a->top_total[i] = sketch_total(l->sk[i]);
	}
	if (a->proto != PROTO_UDP || a->ntop[DECISION_TOP_SPORTS] == 0)
		return;
	sp = &a->top[DECISION_TOP_SPORTS][0];
	port = (uint16_t)(sp->key[0] << 8 | sp->key[1]);
	if (decision_is_amp_port(port) &&
	    (double)(sp->count - sp->err) >= DECISION_AMP_SHARE * (double)a->top_total[DECISION_TOP_SPORTS]) {
		a->type = DECISION_TYPE_AMPLIFICATION;
		a->amp_port = port;
	}
}

static bool
decision_all_expired(const struct decision_attack *a, uint64_t now_ns)
{
	for (unsigned i = 0; i < a->ndet; i++)
		if (a->det[i].expiry_ns > now_ns)
			return false;
	return true;
}

static void
decision_archive(struct decision *dp, const struct decision_attack *a)
{
	size_t slot;

	if (dp->nhist == LIMIT_ATTACKS_HISTORY) {
		dp->hist_head = (dp->hist_head + 1) % LIMIT_ATTACKS_HISTORY;
		dp->nhist--;
	}
	slot = (dp->hist_head + dp->nhist) % LIMIT_ATTACKS_HISTORY;
	dp->hist[slot] = *a;
	dp->nhist++;
}

static void
decision_remove(struct decision *dp, size_t i)
{
	decision_live_free(dp->live[i]);
	memmove(&dp->live[i], &dp->live[i + 1], (dp->nlive - i - 1) * sizeof(dp->live[0]));
	dp->nlive--;
}

/* Advance one live attack; returns true if it left the live table. */
static bool
decision_advance(struct decision *dp, size_t i, uint64_t now_ns)
{
	struct decision_live *l = dp->live[i];
	struct decision_attack *a = &l->a;
	const struct dparams *p;
	uint64_t quiet_ns;

	decision_refresh_top(l);
	if (!decision_all_expired(a, now_ns))
		return false;
	if (a->state == DECISION_SUSPECTED) {
		a->end_ns = now_ns;
		decision_set_state(dp, a, DECISION_ENDED);
		decision_remove(dp, i);
		return true;
	}
	if (a->state == DECISION_DECLARED)
		decision_set_state(dp, a, DECISION_ENDING);
	p = dp->h.params(dp->h.ctx, a->po_id);
	quiet_ns = (uint64_t)(p->quiet_s * 1e9);
	if (now_ns < a->last_detection_ns + quiet_ns)
		return false;
	a->end_ns = now_ns;
	a->cur_pps = a->cur_bps = 0;
	decision_set_state(dp, a, DECISION_ENDED);
	if (dp->h.reset != NULL)
		dp->h.reset(dp->h.ctx, a->po_id, a->proto, a->dir, a->port);
	decision_archive(dp, a);
	decision_remove(dp, i);
	return true;
}

void
decision_tick(struct decision *dp, uint64_t now_ns)
{
	size_t i = 0;

	while (i < dp->nlive)
		if (!decision_advance(dp, i, now_ns))
			i++;
}

void
decision_remap_po(struct decision *dp, const uint32_t *map, uint32_t n)
{
	size_t i = 0;

	while (i < dp->nlive) {
		struct decision_attack *a = &dp->live[i]->a;
		uint32_t to = a->po_id < n ? map[a->po_id] : DECISION_PO_GONE;

		if (to == DECISION_PO_GONE) {
			decision_remove(dp, i);
			continue;
		}
		a->po_id = to;
		i++;
	}
	for (i = 0; i < dp->nhist; i++) {
		struct decision_attack *a = &dp->hist[(dp->hist_head + i) % LIMIT_ATTACKS_HISTORY];

		a->po_id = a->po_id < n ? map[a->po_id] : DECISION_PO_GONE;
	}
}

int
decision_walk(const struct decision *dp, decision_walk_fn fn, void *arg)
{
	int r;

	for (size_t i = 0; i < dp->nlive; i++)
		if ((r = fn(&dp->live[i]->a, arg)) != 0)
			return r;
	for (size_t i = 0; i < dp->nhist; i++)
		if ((r = fn(&dp->hist[(dp->hist_head + i) % LIMIT_ATTACKS_HISTORY], arg)) != 0)
			return r;
	return 0;
}

const struct decision_attack *
decision_get(const struct decision *dp, uint64_t id)
{
	for (size_t i = 0; i < dp->nlive; i++)
		if (dp->live[i]->a.id == id)
			return &dp->live[i]->a;
	for (size_t i = 0; i < dp->nhist; i++) {
		const struct decision_attack *a = &dp->hist[(dp->hist_head + i) % LIMIT_ATTACKS_HISTORY];

		if (a->id == id)
			return a;
	}
	return NULL;
}

bool
decision_drops_sustain(const struct decision *dp, const struct decision_attack *a,
    double drop_pps)
{
	const struct dparams *p = dp->h.params(dp->h.ctx, a->po_id);
	double normal = a->base_pps > 0 ? a->base_pps :
	    a->proto < PROTO__COUNT ? p->limits[a->proto].pps : 0;

	if (normal <= 0)
		return drop_pps >= DECISION_DROPS_PEAK_SHARE * a->peak_pps;
	return drop_pps > normal * p->rate.enter_ratio;
}

size_t
decision_live_count(const struct decision *dp)
{
	return dp->nlive;
}

uint64_t
decision_refused(const struct decision *dp)
{
	return dp->refused;
}

/* --- state blob --- */

static void
decision_save_str(struct detect_buf *b, const char *s)
{
	size_t n = strnlen(s, 255);

	detect_buf_u8(b, (uint8_t)n);
	detect_buf_bytes(b, s, n);
}

static void
decision_save_attack(struct detect_buf *b, const struct decision_attack *a)
{
	detect_buf_u64(b, a->id);
	detect_buf_u32(b, a->po_id);
	decision_save_str(b, a->po);
	detect_buf_u8(b, a->proto);
	detect_buf_u8(b, a->dir);
	detect_buf_u16(b, a->port);
	detect_buf_u8(b, (uint8_t)a->state);
	detect_buf_u8(b, (uint8_t)a->type);
	detect_buf_u16(b, a->amp_port);
	detect_buf_u8(b, a->confidence);
	detect_buf_u64(b, a->start_ns);
	detect_buf_u64(b, a->declared_ns);
	detect_buf_u64(b, a->end_ns);
	detect_buf_u64(b, a->last_detection_ns);
	detect_buf_f64(b, a->peak_pps);
	detect_buf_f64(b, a->peak_bps);
	detect_buf_f64(b, a->cur_pps);
	detect_buf_f64(b, a->cur_bps);
	detect_buf_f64(b, a->base_pps);
	detect_buf_f64(b, a->base_bps);
	detect_buf_u64(b, a->packets);
	detect_buf_u64(b, a->bytes);
	decision_save_str(b, a->reason);
	detect_buf_u8(b, (uint8_t)a->ndet);
	for (unsigned i = 0; i < a->ndet; i++) {
		const struct decision_detector *d = &a->det[i];

		decision_save_str(b, d->name);
		detect_buf_u8(b, d->confidence);
		detect_buf_u32(b, d->count);
		detect_buf_u64(b, d->first_ns);
		detect_buf_u64(b, d->last_ns);
		detect_buf_u64(b, d->expiry_ns);
	}
	for (int t = 0; t < DECISION_TOP__COUNT; t++) {
		detect_buf_u64(b, a->top_total[t]);
		detect_buf_u8(b, (uint8_t)a->ntop[t]);
		for (unsigned i = 0; i < a->ntop[t]; i++) {
			const struct sketch_item *it = &a->top[t][i];

			detect_buf_u8(b, it->key_len);
			detect_buf_bytes(b, it->key, it->key_len);
			detect_buf_u64(b, it->count);
			detect_buf_u64(b, it->err);
		}
	}
}

int
decision_save(const struct decision *dp, uint8_t **ret_blob, size_t *ret_len)
{
	struct detect_buf b = { 0 };

	detect_buf_u32(&b, DECISION_BLOB_MAGIC);
	detect_buf_u64(&b, dp->next_id);
	detect_buf_u32(&b, (uint32_t)dp->nlive);
	detect_buf_u32(&b, (uint32_t)dp->nhist);
	for (size_t i = 0; i < dp->nlive; i++)
		decision_save_attack(&b, &dp->live[i]->a);
	for (size_t i = 0; i < dp->nhist; i++)
		decision_save_attack(&b, &dp->hist[(dp->hist_head + i) % LIMIT_ATTACKS_HISTORY]);
	return detect_buf_take(&b, ret_blob, ret_len);
}

static bool
decision_load_str(struct cursor *c, char *dst, size_t size)
{
	uint8_t n;

	if (!cur_u8(c, &n) || (size_t)n >= size || !cur_bytes(c, dst, n))
		return false;
	dst[n] = '\0';
	return true;
}

/* Detector names map back onto the registry's static strings. */
static bool
decision_load_detector(struct cursor *c, struct decision_detector *d)
{
	char name[32];
	const struct detect_ops *ops;

	if (!decision_load_str(c, name, sizeof(name)) || !cur_u8(c, &d->confidence) ||
	    !cur_be32(c, &d->count) || !cur_be64(c, &d->first_ns) || !cur_be64(c, &d->last_ns) ||
	    !cur_be64(c, &d->expiry_ns))
		return false;
	ops = detect_find(name);
	d->name = ops != NULL ? ops->name : "external";
	return d->confidence <= 100;
}

static bool
decision_load_top(struct cursor *c, struct decision_attack *a)
{
	for (int t = 0; t < DECISION_TOP__COUNT; t++) {
		uint8_t n;

		if (!cur_be64(c, &a->top_total[t]) || !cur_u8(c, &n) || n > DECISION_TOP_N)
			return false;
		a->ntop[t] = n;
		for (unsigned i = 0; i < n; i++) {
			struct sketch_item *it = &a->top[t][i];

			if (!cur_u8(c, &it->key_len) || it->key_len > SKETCH_KEY_MAX ||
			    !cur_bytes(c, it->key, it->key_len) || !cur_be64(c, &it->count) ||
			    !cur_be64(c, &it->err))
				return false;
		}
	}
	return true;
}

static bool
decision_load_attack(struct cursor *c, struct decision_attack *a, uint64_t next_id)
{
	uint8_t state, type, ndet;

	memset(a, 0, sizeof(*a));
	if (!cur_be64(c, &a->id) || !cur_be32(c, &a->po_id) ||
	    !decision_load_str(c, a->po, sizeof(a->po)) || !cur_u8(c, &a->proto) ||
	    !cur_u8(c, &a->dir) || !cur_be16(c, &a->port) || !cur_u8(c, &state) ||
	    !cur_u8(c, &type) || !cur_be16(c, &a->amp_port) || !cur_u8(c, &a->confidence) ||
	    !cur_be64(c, &a->start_ns) || !cur_be64(c, &a->declared_ns) ||
	    !cur_be64(c, &a->end_ns) || !cur_be64(c, &a->last_detection_ns) ||
	    !detect_cur_f64(c, &a->peak_pps) || !detect_cur_f64(c, &a->peak_bps) ||
	    !detect_cur_f64(c, &a->cur_pps) || !detect_cur_f64(c, &a->cur_bps) ||
	    !detect_cur_f64(c, &a->base_pps) || !detect_cur_f64(c, &a->base_bps) ||
	    !cur_be64(c, &a->packets) || !cur_be64(c, &a->bytes) ||
	    !decision_load_str(c, a->reason, sizeof(a->reason)) || !cur_u8(c, &ndet))
		return false;
	/* An id past next_id is one adopted from another instance's block of
	 * ids (decision_adopt): never one this instance will hand out. */
	if (a->id == 0 || (a->id >= next_id && (a->id >> 32) == (next_id >> 32)) ||
	    a->proto >= PROTO__COUNT || a->dir >= DIR__COUNT ||
	    state < DECISION_SUSPECTED || state > DECISION_ENDED || type >= DECISION_TYPE__COUNT ||
	    a->confidence > 100 || ndet > LIMIT_ATTACK_DETECTORS)
		return false;
	a->state = state;
	a->type = type;
	a->ndet = ndet;
	for (unsigned i = 0; i < ndet; i++)
		if (!decision_load_detector(c, &a->det[i]))
			return false;
	return decision_load_top(c, a);
}

int
decision_load(struct decision *dp, const uint8_t *blob, size_t len)
{
	struct cursor c = cur_init(blob, len);
	struct decision tmp = { .h = dp->h };
	uint32_t magic, nlive, nhist;
	int r = -EINVAL;

	if (!cur_be32(&c, &magic) || magic != DECISION_BLOB_MAGIC || !cur_be64(&c, &tmp.next_id) ||
	    !cur_be32(&c, &nlive) || !cur_be32(&c, &nhist) || nlive > LIMIT_ATTACKS_LIVE ||
	    nhist > LIMIT_ATTACKS_HISTORY || tmp.next_id == 0)
		return -EINVAL;
	tmp.hist = calloc(LIMIT_ATTACKS_HISTORY, sizeof(*tmp.hist));
	if (tmp.hist == NULL)
		return -ENOMEM;
	for (uint32_t i = 0; i < nlive; i++) {
		struct decision_live *l = decision_live_alloc();

		if (l == NULL || decision_live_append(&tmp, l) < 0) {
			decision_live_free(l);
			r = -ENOMEM;
			goto out;
		}
		if (!decision_load_attack(&c, &l->a, tmp.next_id) || l->a.state == DECISION_ENDED ||
		    decision_find(&tmp, l->a.po_id, l->a.proto, l->a.dir, l->a.port) != l)
			goto out;
		/* The blob does not keep detect_only (a restart re-learns it from
		 * the next detection), but an outbound attack is never mitigated:
		 * blobs from before attacks were keyed by direction may hold one
		 * that took an inbound flood's detections. */
		l->a.detect_only = l->a.dir != DIR_IN;
	}
	for (uint32_t i = 0; i < nhist; i++) {
		if (!decision_load_attack(&c, &tmp.hist[i], tmp.next_id) ||
		    tmp.hist[i].state != DECISION_ENDED)
			goto out;
		tmp.nhist++;
	}
	if (!cur_empty(&c))
		goto out;
	tmp.refused = dp->refused;
	decision_clear_live(dp);
	free(dp->hist);
	*dp = tmp;
	return 0;
out:
	decision_clear_live(&tmp);
	free(tmp.hist);
	return r;
}

void
decision_id_base(struct decision *dp, uint64_t base)
{
	if (dp->next_id < base)
		dp->next_id = base;
}

int
decision_adopt(struct decision *dp, const uint8_t *src, size_t len, decision_adopt_fn keep,
    void *ctx, uint8_t **ret_rest, size_t *ret_rest_len)
{
	struct decision *tmp;
	int r, n = 0;

	*ret_rest = NULL;
	*ret_rest_len = 0;
	if ((r = decision_new(&dp->h, &tmp)) < 0)
		return r;
	if ((r = decision_load(tmp, src, len)) < 0)
		goto out;
	for (size_t i = 0; i < tmp->nlive;) {
		struct decision_live *l = tmp->live[i];
		uint32_t id;

		if (!keep(ctx, l->a.po, &id)) {
			i++;
			continue;
		}
		if (decision_get(dp, l->a.id) != NULL) {
			/* Adopted before: ours already, only out of the rest. */
			decision_live_free(l);
		} else if (decision_find(dp, id, l->a.proto, l->a.dir, l->a.port) != NULL) {
			i++;	/* this engine has its own attack on that traffic */
			continue;
		} else {
			l->a.po_id = id;
			if ((r = decision_live_append(dp, l)) < 0)
				goto out;
			n++;
		}
		memmove(&tmp->live[i], &tmp->live[i + 1], (tmp->nlive - i - 1) * sizeof(*tmp->live));
		tmp->nlive--;
	}
	r = decision_save(tmp, ret_rest, ret_rest_len);
out:
	decision_free(tmp);
	return r < 0 ? r : n;
}

int
decision_save_some(const struct decision *dp, decision_adopt_fn keep, void *ctx,
    uint8_t **ret_blob, size_t *ret_len)
{
	struct detect_buf b = { 0 };
	uint32_t n = 0;
	uint32_t id;
	int r;

	for (size_t i = 0; i < dp->nlive; i++)
		n += keep(ctx, dp->live[i]->a.po, &id);
	detect_buf_u32(&b, DECISION_BLOB_MAGIC);
	detect_buf_u64(&b, dp->next_id);
	detect_buf_u32(&b, n);
	detect_buf_u32(&b, 0);
	for (size_t i = 0; i < dp->nlive; i++)
		if (keep(ctx, dp->live[i]->a.po, &id))
			decision_save_attack(&b, &dp->live[i]->a);
	if ((r = detect_buf_take(&b, ret_blob, ret_len)) < 0)
		return r;
	return (int)n;
}

int
decision_drop(struct decision *dp, decision_adopt_fn keep, void *ctx)
{
	size_t w = 0;
	int n = 0;

	for (size_t i = 0; i < dp->nlive; i++) {
		struct decision_live *l = dp->live[i];
		uint32_t id;

		if (keep(ctx, l->a.po, &id)) {
			decision_live_free(l);
			n++;
		} else {
			dp->live[w++] = l;
		}
	}
	dp->nlive = w;
	return n;
}
