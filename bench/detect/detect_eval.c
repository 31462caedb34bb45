/*
 * detect_eval: the detection evaluation. A seeded generator makes weeks of
 * benign traffic for several POs (daily and weekly shape, slow drift,
 * per-second noise, slow growth); the last week gets injected attacks of
 * every type at 1.5x, 2x, 5x and 100x the hour's baseline lasting 10 s to
 * 1 h. Everything runs through the backtest path (the same detectors and
 * decision point as moatd) with the "moat" parameters and with the
 * Defense4All preset, once with the attacks and once benign, and the table
 * prints both side by side: detected, latency in readings, end latency, and
 * false positives. The goals are checked and the exit code is 0 only when
 * the "moat" preset meets them all.
 *
 *   detect_eval [--seed N] [--weeks N] [--quick] [--csv FILE]
 *
 * --csv writes the attack scenario as a backtest CSV (plus FILE.attacks,
 * one injected attack per line) instead of evaluating; --quick makes a
 * small scenario (two POs, six hours learning, six hours of attacks) for
 * the end-to-end test.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/strnum.h"
#include "engine/backtest/backtest.h"

#include "rng.h"

#define NS UINT64_C(1000000000)
#define DAY UINT64_C(86400)
#define WEEK (7 * DAY)
/* Monday 2024-01-01 00:00 UTC: weeks start on a Monday. */
#define EPOCH UINT64_C(1704067200)

enum shape { SHAPE_WEB, SHAPE_OFFICE, SHAPE_DNS, SHAPE_FLAT };

struct po_model {
	const char *name;
	enum shape shape;
	double pps[PROTO__COUNT];	/* at the daily peak */
	double size[PROTO__COUNT];	/* mean packet size, bytes */
	double weekend;			/* weekend factor */
};

static const struct po_model models_full[] = {
	{ "web", SHAPE_WEB, { 20000, 600, 60, 25 }, { 900, 250, 84, 300 }, 0.7 },
	{ "office", SHAPE_OFFICE, { 6000, 1500, 150, 60 }, { 700, 300, 84, 200 }, 0.12 },
	{ "dns", SHAPE_DNS, { 1200, 15000, 120, 15 }, { 300, 150, 84, 200 }, 0.9 },
	{ "mail", SHAPE_FLAT, { 3000, 300, 30, 12 }, { 800, 200, 84, 200 }, 0.5 },
};

static const struct po_model models_quick[] = {
	{ "web", SHAPE_FLAT, { 8000, 600, 60, 25 }, { 900, 250, 84, 300 }, 1.0 },
	{ "dns", SHAPE_DNS, { 1200, 9000, 120, 15 }, { 300, 150, 84, 200 }, 1.0 },
};

enum atk_kind { K_SYN, K_ACK, K_UDP, K_ICMP, K_FRAG, K_AMP, K__COUNT };

struct atk_type {
	const char *name;
	enum atk_kind kind;
	uint8_t proto;
	uint16_t sport;		/* amplification reflector port */
	double size;		/* attack packet size */
	bool by_bytes;		/* size multiplies the bytes baseline (volumetric) */
	const char *expect;	/* the type the decision point should name */
};

static const struct atk_type atk_types[] = {
	{ "syn-flood", K_SYN, PROTO_TCP, 0, 60, false, "syn-flood" },
	{ "tcp-other", K_ACK, PROTO_TCP, 0, 60, false, "tcp-other" },
	{ "udp-flood", K_UDP, PROTO_UDP, 0, 512, false, "udp-flood" },
	{ "icmp-flood", K_ICMP, PROTO_ICMP, 0, 84, false, "icmp-flood" },
	{ "fragments", K_FRAG, PROTO_UDP, 0, 1480, true, "fragments" },
	{ "amp-dns", K_AMP, PROTO_UDP, 53, 1400, true, "amplification/53" },
	{ "amp-ntp", K_AMP, PROTO_UDP, 123, 468, true, "amplification/123" },
	{ "amp-ssdp", K_AMP, PROTO_UDP, 1900, 320, true, "amplification/1900" },
	{ "amp-memcached", K_AMP, PROTO_UDP, 11211, 1400, true, "amplification/11211" },
	{ "amp-cldap", K_AMP, PROTO_UDP, 389, 1400, true, "amplification/389" },
	{ "amp-chargen", K_AMP, PROTO_UDP, 19, 1000, true, "amplification/19" },
};
#define NTYPES (sizeof(atk_types) / sizeof(atk_types[0]))

static const double sizes_all[] = { 1.5, 2, 5, 100 };
static const unsigned durs_full[] = { 10, 60, 300, 3600 };
static const unsigned durs_quick[] = { 10, 60 };

struct injected {
	const struct atk_type *type;
	uint32_t po;
	double size;
	unsigned dur;
	uint64_t s0;		/* first second of the attack (offset from EPOCH) */
	/* results per preset */
	bool detected[2];
	double latency[2];	/* readings */
	double end_latency[2];	/* readings after the last attack reading */
	bool type_ok[2];
};

struct scenario {
	uint64_t seed;
	const struct po_model *models;
	unsigned npos;
	uint64_t learn_s;	/* benign only */
	uint64_t total_s;
	struct injected *atk;
	unsigned natk;
};

/* --- benign traffic --- */

static double
shape_of(enum shape s, double hour)
{
	switch (s) {
	case SHAPE_WEB:
		return 0.55 - 0.45 * cos(2 * M_PI * (hour - 4) / 24);
	case SHAPE_OFFICE:
		if (hour < 7 || hour >= 19)
			return 0.1;
		if (hour < 8)
			return 0.1 + 0.9 * (hour - 7);
		if (hour < 17)
			return 1.0;
		return 1.0 - 0.9 * (hour - 17) / 2;
	case SHAPE_DNS:
		return 0.75 - 0.25 * cos(2 * M_PI * (hour - 3) / 24);
	case SHAPE_FLAT:
		return 0.85 - 0.15 * cos(2 * M_PI * (hour - 3) / 24);
	}
	return 1;
}

static double
day_factor(const struct po_model *m, uint64_t day)
{
	return day % 7 >= 5 ? m->weekend : 1.0;	/* day 0 is a Monday */
}

/* The weekday/weekend factor, averaged over a 4-hour window so the change
 * happens gradually around midnight as it does in real traffic. */
static double
week_factor(const struct po_model *m, uint64_t t)
{
	const double half = 7200;
	uint64_t day = t / DAY;
	double tod = (double)(t % DAY);
	double prev = tod < half ? (half - tod) / (2 * half) : 0;
	double next = tod > DAY - half ? (tod - (DAY - half)) / (2 * half) : 0;

	return prev * day_factor(m, day + 6) + next * day_factor(m, day + 1) +
	    (1 - prev - next) * day_factor(m, day);
}

/* The benign mean packets/s of a series at second t. */
static double
benign_pps(const struct po_model *m, unsigned proto, uint64_t t)
{
	double hour = (double)(t % DAY) / 3600.0;
	unsigned dow = (unsigned)(t / DAY % 7);	/* 0 = Monday */
	double growth = 1.0 + 0.03 * (double)t / WEEK;
	double f;

	if (m->shape == SHAPE_OFFICE)	/* closed at weekends: flat, near the night level */
		f = dow >= 5 ? m->weekend : shape_of(m->shape, hour);
	else
		f = shape_of(m->shape, hour) * week_factor(m, t);
	return m->pps[proto] * f * growth;
}

/* --- the scenario --- */

static void
shuffle(struct injected *a, unsigned n, struct rng *r)
{
	for (unsigned i = n - 1; i > 0; i--) {
		unsigned j = (unsigned)(rng_u(r) * (i + 1));
		struct injected t = a[i];

		a[i] = a[j];
		a[j] = t;
	}
}

static int
scenario_build(struct scenario *sc, uint64_t seed, unsigned weeks, bool quick)
{
	const unsigned *durs = quick ? durs_quick : durs_full;
	unsigned ndurs = quick ? 2 : 4;
	unsigned ntypes = quick ? 6 : NTYPES;
	struct rng r = { .s = seed * 0x9e3779b97f4a7c15ULL + 1 };
	uint64_t attack_span, slot;
	unsigned per_po, k = 0;

	sc->seed = seed;
	sc->models = quick ? models_quick : models_full;
	sc->npos = quick ? 2 : 4;
	sc->learn_s = quick ? 6 * 3600 : (weeks - 1) * WEEK;
	attack_span = quick ? 6 * 3600 : WEEK;
	sc->total_s = sc->learn_s + attack_span;
	sc->natk = ntypes * 4 * ndurs;
	sc->atk = calloc(sc->natk, sizeof(*sc->atk));
	if (sc->atk == NULL)
		return -ENOMEM;
	for (unsigned t = 0; t < ntypes; t++)
		for (unsigned s = 0; s < 4; s++)
			for (unsigned d = 0; d < ndurs; d++) {
				struct injected *a = &sc->atk[k++];

				a->type = &atk_types[quick && t == 5 ? 5 : t];
				a->size = sizes_all[s];
				a->dur = durs[d];
			}
	shuffle(sc->atk, sc->natk, &r);
	/* Round-robin over POs; each PO's attacks get equal slots in the
	 * attack span, long enough for the longest attack, Defense4All's
	 * 300 s expiry and its re-learning afterwards. */
	per_po = (sc->natk + sc->npos - 1) / sc->npos;
	slot = attack_span / per_po;
	for (unsigned i = 0; i < sc->natk; i++) {
		struct injected *a = &sc->atk[i];
		uint64_t room = slot - a->dur - (quick ? 400 : 1200);

		a->po = i % sc->npos;
		a->s0 = sc->learn_s + (i / sc->npos) * slot + 60 + (uint64_t)(rng_u(&r) * (double)room);
	}
	return 0;
}

/* The attack on PO po active at second t, if any. */
static const struct injected *
active_attack(const struct scenario *sc, uint32_t po, uint64_t t)
{
	for (unsigned i = 0; i < sc->natk; i++) {
		const struct injected *a = &sc->atk[i];

		if (a->po == po && t >= a->s0 && t < a->s0 + a->dur)
			return a;
	}
	return NULL;
}

/* Per-series generator state: a slow AR(1) drift. */
struct gen {
	struct rng r;
	double drift[8][PROTO__COUNT];
};

struct sample {
	struct reading rd;
	uint64_t atk_packets;	/* attack share of rd.packets */
};

static void
gen_second(const struct scenario *sc, struct gen *g, uint32_t po, unsigned proto, uint64_t t,
    bool with_attacks, struct sample *out)
{
	const struct po_model *m = &sc->models[po];
	const struct injected *a = with_attacks ? active_attack(sc, po, t) : NULL;
	double mean = benign_pps(m, proto, t);
	double *z = &g->drift[po][proto];
	/* new flows per packet: benign TCP sessions are long, UDP and ICMP short */
	static const double flow_share[PROTO__COUNT] = { 0.05, 0.5, 0.3, 0.2 };
	double pk, bytes, syns, frags, flows, apk = 0, abytes = 0;

	*z = 0.998 * *z + 0.0632 * 0.03 * rng_n(&g->r);	/* ~3 % slow drift */
	pk = mean * (1 + *z) * (1 + 0.02 * rng_n(&g->r)) + sqrt(mean) * rng_n(&g->r);
	if (pk < 0)
		pk = 0;
	bytes = pk * m->size[proto] * (1 + 0.03 * rng_n(&g->r));
	if (bytes < 0)
		bytes = 0;
	syns = proto == PROTO_TCP ? pk * 0.02 : 0;
	frags = proto == PROTO_UDP ? pk * 0.001 : 0;
	flows = pk * flow_share[proto];
	if (a != NULL && a->type->proto == proto) {
		double base_pps = benign_pps(m, proto, a->s0);	/* the hour's baseline */

		if (a->type->by_bytes) {
			abytes = (a->size - 1) * base_pps * m->size[proto];
			apk = abytes / a->type->size;
		} else {
			apk = (a->size - 1) * base_pps;
			abytes = apk * a->type->size;
		}
		if (a->type->kind == K_SYN)
			syns += apk;
		if (a->type->kind == K_FRAG)
			frags += apk;
		/* spoofed sources open a flow per packet; reflectors are few */
		flows += a->type->kind == K_AMP || a->type->kind == K_FRAG ? apk * 0.01 : apk;
	}
	out->rd = (struct reading){
		.time_ns = (EPOCH + t + 1) * NS,
		.interval_ns = NS,
		.po_id = po,
		.proto = (uint8_t)proto,
		.dir = DIR_IN,
		.packets = (uint64_t)(pk + apk),
		.bytes = (uint64_t)(bytes + abytes),
		.syns = (uint64_t)syns,
		.flows = (uint64_t)flows,
		.frags = (uint64_t)frags,
	};
	out->atk_packets = (uint64_t)apk;
}

/* Sampled flows for the attacks' top lists: a few benign ones with random
 * ports, and the attack's from spoofed or reflector sources. */
static void
gen_observe(struct backtest *bt, struct gen *g, const struct injected *a, const struct sample *s)
{
	struct decision_obs o = { .po_id = s->rd.po_id, .proto = s->rd.proto, .alen = 4 };
	uint64_t benign = s->rd.packets - s->atk_packets;

	for (int i = 0; i < 8; i++) {
		uint32_t src = (uint32_t)(rng_u(&g->r) * 4294967295.0);

		memcpy(o.src, &src, 4);
		o.dst[0] = 192, o.dst[1] = 0, o.dst[2] = 2, o.dst[3] = (uint8_t)(1 + i);
		o.sport = (uint16_t)(1024 + rng_u(&g->r) * 60000);
		o.dport = 443;
		o.packets = benign / 8 + 1;
		o.bytes = s->rd.bytes * benign / (s->rd.packets + 1) / 8;
		backtest_observe(bt, &o);
		if (s->atk_packets == 0)
			continue;
		o.dst[3] = (uint8_t)(100 + a->po);
		o.sport = a->type->sport ? a->type->sport : o.sport;
		o.packets = s->atk_packets / 8 + 1;
		o.bytes = (uint64_t)(a->type->size * (double)s->atk_packets / 8);
		backtest_observe(bt, &o);
	}
}

struct run_result {
	unsigned fp;		/* declared attacks matching no injection */
	unsigned declared;
	double secs;		/* wall time of the run */
	uint64_t readings;
};

struct match_ctx {
	struct scenario *sc;
	const struct backtest *bt;
	int preset;
	unsigned fp, declared;
	bool with_attacks;
	bool verbose;
};

static bool eval_verbose;

static int
match_attack(const struct decision_attack *d, void *arg)
{
	struct match_ctx *mc = arg;
	char type[40];

	if (d->declared_ns == 0)
		return 0;
	mc->declared++;
	if (d->type == DECISION_TYPE_AMPLIFICATION)
		snprintf(type, sizeof(type), "amplification/%u", d->amp_port);
	else
		snprintf(type, sizeof(type), "%s", decision_type_name(d->type));
	for (unsigned i = 0; mc->with_attacks && i < mc->sc->natk; i++) {
		struct injected *a = &mc->sc->atk[i];
		uint64_t first = (EPOCH + a->s0 + 1) * NS, last = (EPOCH + a->s0 + a->dur) * NS;

		if (a->po != d->po_id || a->type->proto != d->proto)
			continue;
		if (d->declared_ns < first || d->declared_ns > last + 60 * NS)
			continue;
		if (a->detected[mc->preset])
			return 0;	/* a second declaration of the same attack */
		a->detected[mc->preset] = true;
		a->latency[mc->preset] = (double)(d->declared_ns - first) / NS + 1;
		a->end_latency[mc->preset] = d->end_ns ? ((double)d->end_ns - (double)last) / NS : -1;
		a->type_ok[mc->preset] = strcmp(type, a->type->expect) == 0;
		return 0;
	}
	mc->fp++;
	if (mc->verbose)
		printf("  false positive (%s run, preset %d): %s %s start %.0f declared %.0f end %.0f"
		    " (day %.2f) type %s: %s\n", mc->with_attacks ? "attack" : "benign", mc->preset,
		    mc->sc->models[d->po_id].name, detect_proto_name(d->proto), (double)d->start_ns / 1e9,
		    (double)d->declared_ns / 1e9, (double)d->end_ns / 1e9,
		    ((double)d->declared_ns / 1e9 - (double)EPOCH) / 86400.0, type, d->reason);
	return 0;
}

static int
run(struct scenario *sc, const struct dparams *p, int preset, bool with_attacks,
    struct run_result *res)
{
	struct backtest *bt;
	struct gen g = { .r = { .s = sc->seed * 0x2545f4914f6cdd1dULL + 7 } };
	struct match_ctx mc = { .sc = sc, .preset = preset, .with_attacks = with_attacks,
		.verbose = eval_verbose && preset == 0 };
	struct timespec a, b;
	int r;

	if ((r = backtest_new(p, &bt)) < 0)
		return r;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (uint64_t t = 0; t < sc->total_s; t++)
		for (uint32_t po = 0; po < sc->npos; po++) {
			const struct injected *atk = with_attacks ? active_attack(sc, po, t) : NULL;

			for (unsigned proto = 0; proto < PROTO__COUNT; proto++) {
				struct sample s;

				gen_second(sc, &g, po, proto, t, with_attacks, &s);
				backtest_feed(bt, &s.rd);
				if (atk != NULL && atk->type->proto == proto)
					gen_observe(bt, &g, atk, &s);
			}
		}
	backtest_finish(bt);
	clock_gettime(CLOCK_MONOTONIC, &b);
	mc.bt = bt;
	decision_walk(backtest_decision(bt), match_attack, &mc);
	res->fp = mc.fp;
	res->declared = mc.declared;
	res->secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	res->readings = backtest_stats(bt)->readings;
	backtest_free(bt);
	return 0;
}

/* --- CSV output --- */

static int
write_csv(struct scenario *sc, const char *path)
{
	char apath[4096];
	struct gen g = { .r = { .s = sc->seed * 0x2545f4914f6cdd1dULL + 7 } };
	FILE *f = fopen(path, "we"), *fa;

	snprintf(apath, sizeof(apath), "%s.attacks", path);
	fa = fopen(apath, "we");
	if (f == NULL || fa == NULL) {
		perror(path);
		return 1;
	}
	fprintf(f, "time,po,protocol,direction,bytes,packets,flows,syns,frags\n");
	for (uint64_t t = 0; t < sc->total_s; t++)
		for (uint32_t po = 0; po < sc->npos; po++)
			for (unsigned proto = 0; proto < PROTO__COUNT; proto++) {
				struct sample s;

				gen_second(sc, &g, po, proto, t, true, &s);
				fprintf(f, "%" PRIu64 ",%s,%s,in,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64
				    ",%" PRIu64 "\n", s.rd.time_ns / NS, sc->models[po].name,
				    detect_proto_name(proto), s.rd.bytes, s.rd.packets, s.rd.flows, s.rd.syns,
				    s.rd.frags);
			}
	/* po protocol size first_reading last_reading type */
	for (unsigned i = 0; i < sc->natk; i++) {
		const struct injected *a = &sc->atk[i];

		fprintf(fa, "%s %s %g %" PRIu64 " %" PRIu64 " %s\n", sc->models[a->po].name,
		    detect_proto_name(a->type->proto), a->size, EPOCH + a->s0 + 1, EPOCH + a->s0 + a->dur,
		    a->type->name);
	}
	if (fclose(f) != 0 || fclose(fa) != 0) {
		perror(path);
		return 1;
	}
	printf("wrote %s (learning %" PRIu64 " s, then %u attacks) and %s\n", path, sc->learn_s,
	    sc->natk, apath);
	return 0;
}

/* --- the table --- */

struct cell {
	unsigned n, det, typed;
	double lat_max, end_max;
};

static void
cell_add(struct cell *c, const struct injected *a, int p)
{
	c->n++;
	if (!a->detected[p])
		return;
	c->det++;
	c->typed += a->type_ok[p];
	if (a->latency[p] > c->lat_max)
		c->lat_max = a->latency[p];
	if (a->end_latency[p] > c->end_max)
		c->end_max = a->end_latency[p];
}

static void
cell_print(const struct cell *c)
{
	if (c->det == 0) {
		printf(" %3u/%-3u %5s %6s %5s |", c->det, c->n, "-", "-", "-");
		return;
	}
	printf(" %3u/%-3u %5.0f %6.0f %2u/%-2u |", c->det, c->n, c->lat_max, c->end_max, c->typed, c->det);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "seed", required_argument, NULL, 's' },
		{ "weeks", required_argument, NULL, 'w' },
		{ "quick", no_argument, NULL, 'q' },
		{ "csv", required_argument, NULL, 'c' },
		{ "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	const char *names[2] = { "moat", "defense4all" };
	struct dparams params[2];
	struct run_result att[2], ben[2];
	struct scenario sc;
	uint64_t seed = 1, weeks = 2;
	bool quick = false, goals = true;
	const char *csv = NULL;
	unsigned misses_2x = 0, slow_5x = 0, late_end = 0, early_end = 0;
	int c;

	while ((c = getopt_long(argc, argv, "s:w:qc:v", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (strnum_u64(optarg, 0, UINT32_MAX, &seed) < 0)
				return 2;
			break;
		case 'w':
			if (strnum_u64(optarg, 2, 8, &weeks) < 0)
				return 2;
			break;
		case 'q':
			quick = true;
			break;
		case 'c':
			csv = optarg;
			break;
		case 'v':
			eval_verbose = true;
			break;
		default:
			fprintf(stderr, "usage: detect_eval [--seed N] [--weeks N] [--quick] [--verbose] [--csv FILE]\n");
			return 2;
		}
	}
	if (scenario_build(&sc, seed, (unsigned)weeks, quick) < 0)
		return 1;
	if (csv != NULL)
		return write_csv(&sc, csv);
	for (int p = 0; p < 2; p++) {
		dparams_preset(names[p], &params[p]);
		params[p].rate.learn_s = (double)sc.learn_s;	/* both learn for the benign weeks */
		if (run(&sc, &params[p], p, true, &att[p]) < 0 || run(&sc, &params[p], p, false, &ben[p]) < 0)
			return 1;
	}
	printf("detect_eval: seed %" PRIu64 ", %u POs, %.0f h learning + %.0f h with %u attacks, 1 s readings\n",
	    seed, sc.npos, (double)sc.learn_s / 3600, (double)(sc.total_s - sc.learn_s) / 3600, sc.natk);
	printf("cells: detected/injected, worst latency (readings), worst end latency (readings after the\n"
	    "last attack reading), type named right/detected\n\n");
	printf("%-14s %5s | %-29s | %-29s |\n", "type", "size", "  moat", "  defense4all");
	for (unsigned t = 0; t < NTYPES; t++)
		for (unsigned s = 0; s < 4; s++) {
			struct cell cells[2] = { 0 };
			bool any = false;

			for (unsigned i = 0; i < sc.natk; i++) {
				const struct injected *a = &sc.atk[i];

				if (a->type != &atk_types[t] || a->size != sizes_all[s])
					continue;
				any = true;
				for (int p = 0; p < 2; p++)
					cell_add(&cells[p], a, p);
				if (a->size >= 2 && !a->detected[0]) {
					misses_2x++;
					if (eval_verbose)
						printf("  missed: %s %s %gx %u s at %" PRIu64 " (day %.2f)\n",
						    sc.models[a->po].name, a->type->name, a->size, a->dur,
						    EPOCH + a->s0 + 1, (double)a->s0 / 86400.0);
				}
				if (a->size >= 5 && a->detected[0] && a->latency[0] > 3)
					slow_5x++;
				if (a->detected[0] && a->end_latency[0] < 0) {
					early_end++;
					if (eval_verbose)
						printf("  ended while still attacking: %s %s %gx %u s at %" PRIu64 "\n",
						    sc.models[a->po].name, a->type->name, a->size, a->dur,
						    EPOCH + a->s0 + 1);
				}
				if (a->detected[0] && a->end_latency[0] > params[0].quiet_s + 2) {
					late_end++;
					if (eval_verbose)
						printf("  late end: %s %s %gx %u s at %" PRIu64 ": %.0f readings\n",
						    sc.models[a->po].name, a->type->name, a->size, a->dur,
						    EPOCH + a->s0 + 1, a->end_latency[0]);
				}
			}
			if (!any)
				continue;
			printf("%-14s %4gx |", atk_types[t].name, sizes_all[s]);
			cell_print(&cells[0]);
			cell_print(&cells[1]);
			printf("\n");
		}
	printf("\n%-44s %12s %12s\n", "", names[0], names[1]);
	printf("%-44s %12u %12u\n", "false positives, benign run (whole period)", ben[0].fp, ben[1].fp);
	printf("%-44s %12u %12u\n", "false positives, attack run (no injection)", att[0].fp, att[1].fp);
	printf("%-44s %12.2f %12.2f\n", "backtest wall time, attack run (s)", att[0].secs, att[1].secs);
	printf("%-44s %12.2f %12.2f\n", "readings per second of wall time (M)",
	    (double)att[0].readings / att[0].secs / 1e6, (double)att[1].readings / att[1].secs / 1e6);
	printf("%-44s %12.2f\n", "throughput ratio moat / defense4all (same run)",
	    ((double)att[0].readings / att[0].secs) / ((double)att[1].readings / att[1].secs));
	printf("\ngoals (moat preset):\n");
	printf("  zero false positives over the benign period: %s (%u)\n", ben[0].fp == 0 ? "PASS" : "FAIL", ben[0].fp);
	printf("  every attack of 2x or more detected:         %s (%u missed)\n", misses_2x == 0 ? "PASS" : "FAIL", misses_2x);
	printf("  within 3 readings at 5x and above:           %s (%u slower)\n", slow_5x == 0 ? "PASS" : "FAIL", slow_5x);
	printf("  end within quiet (%.0f s) + 2 readings:        %s (%u late)\n", params[0].quiet_s,
	    late_end == 0 ? "PASS" : "FAIL", late_end);
	printf("  (info) declared ended while the attack went on: %u (all sizes; --verbose lists them)\n",
	    early_end);
	goals = ben[0].fp == 0 && misses_2x == 0 && slow_5x == 0 && late_end == 0;
	free(sc.atk);
	return goals ? 0 : 1;
}
