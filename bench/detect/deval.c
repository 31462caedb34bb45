/*
 * deval: generator families, injected floods and scoring; see deval.h.
 *
 * Benign traffic keeps its character whatever its level: packet sizes,
 * SYN share, new flows per packet and fragments scale with the packets
 * (more of the same users). Floods have their own: SYN floods and spoofed
 * UDP floods open a flow per packet, an ACK flood from a few heavy sources
 * almost none, reflection brings large packets from few reflectors,
 * fragment floods are fragments.
 */
#include "deval.h"
#include "rng.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/backtest/backtest.h"

#define NS UINT64_C(1000000000)
#define DAY UINT64_C(86400)
/* Monday 2024-01-01 00:00 UTC: day 0 is a Monday. */
#define EPOCH UINT64_C(1704067200)
#define NPROTO 2		/* tcp and udp series */
#define MAX_ATK 64
#define OUTLIVE_GOAL_S 300.0

/* --- benign traffic --- */

struct po_model {
	double pps[NPROTO];	/* at the daily peak */
	double size[NPROTO];	/* mean packet size */
};

static const struct po_model models[2] = {
	{ { 8000, 400 }, { 900, 250 } },	/* web */
	{ { 500, 6000 }, { 600, 150 } },	/* dns */
};
static const double syn_share[NPROTO] = { 0.03, 0 };
static const double flow_share[NPROTO] = { 0.05, 0.5 };
static const double frag_share[NPROTO] = { 0, 0.001 };

enum atk_kind { A_SYN, A_ACK, A_UDP, A_AMP, A_FRAG, A__COUNT };

static const struct {
	const char *name;
	unsigned proto;		/* index: 0 tcp, 1 udp */
	double size;
	double flows;		/* per packet */
	bool by_bytes;
} atk_kinds[A__COUNT] = {
	{ "syn-flood", 0, 60, 1.0, false },
	{ "ack-flood", 0, 60, 0.001, false },
	{ "udp-flood", 1, 512, 1.0, false },
	{ "amp-dns", 1, 1400, 0.01, true },
	{ "fragments", 1, 1480, 0.01, true },
};

struct injection {
	unsigned kind;
	uint32_t po;
	double size;
	uint64_t t0, dur;	/* seconds from EPOCH */
	bool learning;
	bool found;
	double delay, outlive;
};

struct flash {
	uint64_t t0, dur;
	double size;
};

struct scen {
	enum deval_family f;
	uint64_t event_day;	/* the holiday, the step */
	unsigned npos;
	uint64_t total_s, learn_s;
	struct injection atk[MAX_ATK];
	unsigned natk;
	struct flash fl[64];
	unsigned nfl;
	double noise;
	double rate_scale;
};

const char *
deval_family_name(enum deval_family f)
{
	static const char *const names[DEVAL__COUNT] = { "weekly+holiday", "step+50%", "growth",
		"flash-crowds", "noise", "office" };

	return f < DEVAL__COUNT ? names[f] : "?";
}

static double
shape(const struct scen *sc, double hour)
{
	if (sc->f == DEVAL_OFFICE) {
		if (hour < 7 || hour >= 19)
			return 0.1;
		if (hour < 8)
			return 0.1 + 0.9 * (hour - 7);
		if (hour < 17)
			return 1.0;
		return 1.0 - 0.9 * (hour - 17) / 2;
	}
	return 0.55 - 0.45 * cos(2 * M_PI * (hour - 4) / 24);
}

/* Whole-day factors: the level changes at midnight, night included. */
static double
day_factor(const struct scen *sc, uint64_t day)
{
	bool weekend = day % 7 >= 5;

	switch (sc->f) {
	case DEVAL_WEEKLY:
		return day == sc->event_day ? 0.5 : weekend ? 0.6 : 1.0;	/* a holiday */
	case DEVAL_OFFICE:
		return 1.0;
	default:
		return weekend ? 0.8 : 1.0;
	}
}

/* The benign mean packets/s of a series at second t (from EPOCH), without
 * flash crowds. */
static double
level(const struct scen *sc, uint32_t po, unsigned proto, uint64_t t)
{
	double hour = (double)(t % DAY) / 3600.0;
	uint64_t day = t / DAY;
	double f = shape(sc, hour) * day_factor(sc, day);
	double growth = 1.0 + 0.03 * (double)t / (7.0 * DAY);

	if (sc->f == DEVAL_OFFICE && day % 7 >= 5)
		f = 0.12;
	if (sc->f == DEVAL_GROWTH)
		growth = 1.0 + 0.05 * (double)t / DAY;
	if (sc->f == DEVAL_STEP && t >= sc->event_day * DAY + 12 * 3600)
		growth *= 1.5;
	return models[po].pps[proto] * sc->rate_scale * f * growth;
}

static double
flash_factor(const struct scen *sc, uint64_t t)
{
	for (unsigned i = 0; i < sc->nfl; i++)
		if (t >= sc->fl[i].t0 && t < sc->fl[i].t0 + sc->fl[i].dur)
			return sc->fl[i].size;
	return 1.0;
}

/* --- the scenario --- */

static void
scen_build(struct scen *sc, enum deval_family f, uint64_t seed, const struct deval_opts *o)
{
	struct rng r = { .s = seed * 0x9e3779b97f4a7c15ULL + 11 * (uint64_t)f + 1 };
	static const double sizes_learn[] = { 3, 10, 20 };
	static const double sizes[] = { 2, 3, 10, 20 };
	unsigned k = 0, nslot = 0;
	uint64_t slots[64][2];	/* after learning: (day, po) pairs per time of day */

	memset(sc, 0, sizeof(*sc));
	sc->f = f;
	sc->npos = o->npos;
	sc->total_s = (uint64_t)o->days * DAY;
	sc->learn_s = (uint64_t)o->learn_days * DAY;
	sc->event_day = o->learn_days + 2;
	sc->noise = f == DEVAL_NOISE ? 0.08 : 0.02;
	sc->rate_scale = f == DEVAL_NOISE ? 0.5 : 1.0;
	/* During learning: 3x, 10x, 20x at night (03:00) and at peak (15:00),
	 * from day 1, short. */
	for (unsigned i = 0; i < 6 && i < 2 * (o->learn_days - 1) && k < MAX_ATK; i++) {
		struct injection *a = &sc->atk[k++];

		a->kind = (unsigned)(i + seed) % A__COUNT;
		a->po = i % sc->npos;
		a->size = sizes_learn[i % 3];
		a->t0 = (1 + i / 2) * DAY + (i % 2 ? 15 : 3) * 3600 + (uint64_t)(rng_u(&r) * 1200);
		a->dur = 120;
		a->learning = true;
	}
	/* After learning: 2x, 3x, 10x, 20x at night and at peak, short (120 s)
	 * and long (30 min), on shuffled days and POs. */
	for (uint64_t d = o->learn_days; d < o->days; d++)
		for (uint32_t po = 0; po < sc->npos; po++, nslot++) {
			slots[nslot][0] = d;
			slots[nslot][1] = po;
		}
	for (unsigned i = nslot - 1; i > 0; i--) {
		unsigned j = (unsigned)(rng_u(&r) * (i + 1));
		uint64_t t0 = slots[i][0], t1 = slots[i][1];

		slots[i][0] = slots[j][0], slots[i][1] = slots[j][1];
		slots[j][0] = t0, slots[j][1] = t1;
	}
	for (unsigned i = 0; i < 2 * nslot && i < (o->small ? 8u : 16u) && k < MAX_ATK; i++) {
		struct injection *a = &sc->atk[k++];
		bool night = i % 2 == 0;
		unsigned s = i / 2 % 4;

		a->kind = (unsigned)(i + 3 * seed) % A__COUNT;
		a->po = (uint32_t)slots[i / 2][1];
		a->size = sizes[s];
		a->t0 = slots[i / 2][0] * DAY + (night ? 3 : 15) * 3600 + (uint64_t)(rng_u(&r) * 1200);
		a->dur = (o->small ? i / 2 % 2 : i / 8 % 2) ? 1800 : 120;
	}
	sc->natk = k;
	/* Flash crowds: organic (the same character), 1.5x for 5 minutes at
	 * 11:00 and 2x for 3 minutes at 20:30, every day in that family. */
	if (f == DEVAL_FLASH)
		for (uint64_t d = 1; d < o->days && sc->nfl + 2 <= 64; d++) {
			sc->fl[sc->nfl++] = (struct flash){ d * DAY + 11 * 3600 + (uint64_t)(rng_u(&r) * 1800),
				300, 1.5 };
			sc->fl[sc->nfl++] = (struct flash){ d * DAY + 20 * 3600 + 1800, 180, 2.0 };
		}
}

static const struct injection *
active(const struct scen *sc, uint32_t po, unsigned proto, uint64_t t)
{
	for (unsigned i = 0; i < sc->natk; i++) {
		const struct injection *a = &sc->atk[i];

		if (a->po == po && atk_kinds[a->kind].proto == proto && t >= a->t0 && t < a->t0 + a->dur)
			return a;
	}
	return NULL;
}

static double
count_noise(struct rng *r, double mean)
{
	double v = mean + sqrt(mean > 0 ? mean : 0) * rng_n(r);

	return v < 0 ? 0 : v;
}

struct gen {
	struct rng r;
	double drift[2][NPROTO];
};

static void
gen_second(const struct scen *sc, struct gen *g, uint32_t po, unsigned proto, uint64_t t,
    struct reading *rd, uint64_t *ret_atk)
{
	const struct injection *a = active(sc, po, proto, t);
	double mean = level(sc, po, proto, t) * flash_factor(sc, t);
	double *z = &g->drift[po][proto];
	double pk, bytes, syns, flows, frags, apk = 0, abytes = 0;

	*z = 0.998 * *z + 0.0632 * 0.03 * rng_n(&g->r);
	if (sc->f == DEVAL_NOISE && rng_u(&g->r) < 0.002)
		mean *= 1.3 + 0.5 * rng_u(&g->r);	/* a one-reading burst */
	pk = count_noise(&g->r, mean * (1 + *z) * (1 + sc->noise * rng_n(&g->r)));
	bytes = pk * models[po].size[proto] * (1 + 0.03 * rng_n(&g->r));
	syns = count_noise(&g->r, pk * syn_share[proto]);
	flows = count_noise(&g->r, pk * flow_share[proto]);
	frags = count_noise(&g->r, pk * frag_share[proto]);
	if (a != NULL) {
		double base = level(sc, po, proto, a->t0);

		if (atk_kinds[a->kind].by_bytes) {
			abytes = (a->size - 1) * base * models[po].size[proto];
			apk = abytes / atk_kinds[a->kind].size;
		} else {
			apk = (a->size - 1) * base;
			abytes = apk * atk_kinds[a->kind].size;
		}
		flows += apk * atk_kinds[a->kind].flows;
		if (a->kind == A_SYN)
			syns += apk;
		if (a->kind == A_FRAG)
			frags += apk;
	}
	*rd = (struct reading){
		.time_ns = (EPOCH + t + 1) * NS,
		.interval_ns = NS,
		.po_id = po,
		.proto = proto == 0 ? PROTO_TCP : PROTO_UDP,
		.dir = DIR_IN,
		.packets = (uint64_t)(pk + apk),
		.bytes = (uint64_t)(bytes + abytes),
		.syns = (uint64_t)syns,
		.flows = (uint64_t)flows,
		.frags = (uint64_t)frags,
	};
	*ret_atk = (uint64_t)apk;
}

/* --- scoring --- */

struct score {
	struct scen *sc;
	struct deval_result *res;
	bool verbose;
	uint64_t end_ns;
};

static int
score_attack(const struct decision_attack *d, void *arg)
{
	struct score *s = arg;
	struct scen *sc = s->sc;
	uint64_t t = d->declared_ns / NS - EPOCH;

	if (d->declared_ns == 0)
		return 0;
	for (unsigned i = 0; i < sc->natk; i++) {
		struct injection *a = &sc->atk[i];
		uint64_t first = (EPOCH + a->t0 + 1) * NS, last = (EPOCH + a->t0 + a->dur) * NS;
		uint64_t end = d->end_ns ? d->end_ns : s->end_ns;

		if (a->po != d->po_id || (atk_kinds[a->kind].proto == 0) != (d->proto == PROTO_TCP))
			continue;
		if (d->declared_ns < first || d->declared_ns > last + 60 * NS)
			continue;
		if (a->found) {
			/* the same flood declared again: its first attack ended early */
			s->res->redeclared++;
			if (s->verbose)
				printf("    declared again: %s po %u %s %gx day %.3f\n",
				    deval_family_name(sc->f), a->po, atk_kinds[a->kind].name, a->size,
				    (double)t / DAY);
			return 0;
		}
		a->found = true;
		a->delay = (double)(d->declared_ns - first) / NS + 1;
		a->outlive = ((double)end - (double)last) / NS;
		return 0;
	}
	if (t < sc->learn_s)
		s->res->false_learning++;
	else
		s->res->false_after++;
	if (flash_factor(sc, d->start_ns / NS - EPOCH) == 1.5)
		s->res->flash_declared++;
	if (s->verbose)
		printf("    false: %s po %u %s day %.3f ended %s: %s\n", deval_family_name(sc->f),
		    d->po_id, d->proto == PROTO_TCP ? "tcp" : "udp", (double)t / DAY,
		    d->end_ns ? "yes" : "never", d->reason);
	return 0;
}

int
deval_run(enum deval_family f, uint64_t seed, const struct deval_opts *o,
    const struct dparams *p, bool verbose, struct deval_result *ret)
{
	struct scen *sc = malloc(sizeof(*sc));
	struct gen g = { .r = { .s = seed * 0x2545f4914f6cdd1dULL + 7 + (uint64_t)f } };
	struct score s = { .sc = sc, .res = ret, .verbose = verbose };
	struct backtest *bt = NULL;
	int r;

	memset(ret, 0, sizeof(*ret));
	if (sc == NULL)
		return -ENOMEM;
	if (o->npos < 1 || o->npos > 2 || o->learn_days < 2 || o->days <= o->learn_days ||
	    o->days > 28 || p->rate.learn_s != (double)o->learn_days * DAY) {
		free(sc);
		return -EINVAL;
	}
	scen_build(sc, f, seed, o);
	if ((r = backtest_new(p, &bt)) < 0)
		goto out;
	for (uint64_t t = 0; t < sc->total_s; t++)
		for (uint32_t po = 0; po < sc->npos; po++)
			for (unsigned proto = 0; proto < NPROTO; proto++) {
				struct reading rd;
				uint64_t atk;

				gen_second(sc, &g, po, proto, t, &rd, &atk);
				(void)backtest_feed(bt, &rd);
			}
	backtest_finish(bt);
	s.end_ns = (EPOCH + sc->total_s) * NS;
	ret->readings = backtest_stats(bt)->readings;
	decision_walk(backtest_decision(bt), score_attack, &s);
	for (unsigned i = 0; i < sc->natk; i++) {
		const struct injection *a = &sc->atk[i];
		bool goal = a->learning ? a->size >= 3 : a->size >= 2;

		ret->injected++;
		ret->found_all += a->found;
		if (goal && a->found)
			ret->found++;
		else if (goal)
			ret->missed++;
		if (verbose && goal && !a->found)
			printf("    missed: %s po %u %s %gx %" PRIu64 " s day %.3f%s\n", deval_family_name(f),
			    a->po, atk_kinds[a->kind].name, a->size, a->dur, (double)a->t0 / DAY,
			    a->learning ? " (learning)" : "");
		if (!a->found)
			continue;
		ret->delay_sum += a->delay;
		if (a->delay > ret->delay_max)
			ret->delay_max = (unsigned)a->delay;
		if (a->outlive > ret->outlive_max)
			ret->outlive_max = a->outlive;
		if (a->outlive > OUTLIVE_GOAL_S) {
			ret->outlive_over++;
			if (verbose)
				printf("    outlived by %.0f s: %s po %u %s %gx %" PRIu64 " s day %.3f\n",
				    a->outlive, deval_family_name(f), a->po, atk_kinds[a->kind].name,
				    a->size, a->dur, (double)a->t0 / DAY);
		}
	}
	r = 0;
out:
	backtest_free(bt);
	free(sc);
	return r;
}

bool
deval_goals_met(const struct deval_result *r)
{
	return r->false_after == 0 && r->missed == 0 && r->outlive_over == 0 && r->flash_declared == 0;
}
