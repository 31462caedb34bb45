/*
 * detect_rate: the seed's RateBasedDetector, made sharper.
 *
 * Per series (PO x protocol x direction x port) and per measure (bytes/s,
 * packets/s) it keeps:
 *   - a time-weighted EWMA baseline (alpha = dt / (P + dt)); the first
 *     warm-up seconds are a plain average, then the learning period uses
 *     the short period and nothing is declared;
 *   - a learned spread (EW mean absolute deviation), so a deviation must be
 *     large against the traffic's own noise, not only a fixed percentage;
 *   - a time-of-week profile (672 quarter-hour means, blended week over
 *     week; quarter hours rather than hours so a sharp 07:00 rise is not
 *     smeared into 06:30). Once every slot is known the baseline is kept on the rate divided
 *     by the profile's factor for the moment (a multiplicative seasonal
 *     model), and the expected rate is baseline x factor: the morning rise
 *     of a normal weekday is expected, a night-time doubling is not.
 * A reading is over when a measure exceeds expected x ratio AND expected +
 * spreads x spread (the "enter" pair, or the lower "stay" pair while the
 * series is detected: hysteresis) and the noise floor. Over readings raise
 * a suspicion count (twice for a strong deviation), normal ones lower or
 * clear it; at `persist` an over reading emits a detection that expires
 * unless repeated. While the count is non-zero or the series detected the
 * baseline and profile are frozen, so attack traffic is never learned.
 *
 * Frozen forever would keep a sustained level shift (a new customer, the
 * day after a holiday) declared until an operator acts, so the excess over
 * the expected rate is also judged by its character: its packet size and
 * its SYN, fragment and new-flow shares against those the series learned
 * from unfrozen traffic. An excess with the traffic's own character (more
 * of the same users) is declared only above `organic_ratio`, and one that
 * lasts `relearn` becomes the new baseline, which ends its attack; an
 * excess of another character (tiny packets, SYNs, fragments, spoofed or
 * few heavy sources, reflectors' large packets) is not learned and is
 * re-examined every `relearn`. During the learning period the short
 * learning baseline catches surges above `learn_ratio`.
 */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cursor.h"
#include "common/limits.h"
#include "common/log.h"
#include "engine/detect/registry.h"

#define RATE_SLOT_S 900.0			/* a quarter of an hour */
#define RATE_SLOTS 672				/* quarter hours in a week */
#define RATE_BLOB_MAGIC 0x4d445235u	/* "MDR5": MDR4; the new-flow share may be unknown */
#define RATE_BLOB_MAGIC4 0x4d445234u	/* "MDR4": loaded with an unknown new-flow share */
#define RATE_BLOB_MAGIC3 0x4d445233u	/* "MDR3": also unknown peaks */
#define RATE_BLOB_MAGIC2 0x4d445232u	/* "MDR2": also an unknown character */
/* Weight of the previous readings in the recent excess (about 3 readings),
 * which decides whether a surge is declared. */
#define RATE_RECENT_DECAY 0.7
/* Absolute slack of the share comparisons (SYNs, fragments): shares of a
 * few per cent are noise at low rates. */
#define RATE_SHARE_SLACK 0.02
/* A SYN excess is a SYN flood's evidence when SYNs make at least this
 * share of the reading's packet excess: a burst of the series' own
 * connections brings a few SYNs and many more data and ACK packets (one
 * SYN per HTTP fetch of tens of packets), a SYN flood is its SYNs. */
#define RATE_SYN_EXCESS_SHARE 0.5
/* The quantile of the readings learned as the series' usual peak, and the
 * step of its tracking in spreads: a burst above 99 % of the series'
 * readings is unusual, one below is how this series behaves. */
#define RATE_PEAK_Q 0.99
#define RATE_PEAK_STEP 0.5
/* Counting noise allowed in a character comparison, in standard deviations. */
#define RATE_NOISE_SIGMAS 3.0
#define RATE_PROFILE_MIN_FACTOR 0.05
#define RATE_PROFILE_MAX_FACTOR 20.0
/* A slot contributes to the profile only if at least half of it was seen
 * unfrozen. */
#define RATE_PROFILE_MIN_DT (RATE_SLOT_S / 2)
/* Weight of this week's slot against the learned one. */
#define RATE_PROFILE_BLEND 0.5

enum { M_BYTES, M_PKTS, M__COUNT };
/* The counts of a reading whose ratios make the traffic's character. */
enum { C_BYTES, C_PKTS, C_SYNS, C_FLOWS, C_FRAGS, C__COUNT };

struct rate_profile {
	float bucket[RATE_SLOTS];	/* mean rate of that slot of the week; < 0 = unknown */
	uint16_t nlearned;
	int32_t acc_slot;		/* slot of the week being accumulated, -1 = none */
	double acc_sum;			/* sum of rate x dt */
	double acc_dt;
	double week_mean;		/* mean of the buckets, once all are known */
};

struct rate_measure {
	double mean;		/* EWMA of rate / factor */
	double spread;		/* EW mean absolute deviation, same units */
	double peak;		/* RATE_PEAK_Q quantile of rate / factor: the usual bursts */
	bool on;		/* the profile factor is applied */
	struct rate_profile prof;
};

/* Counts above those the learned character expects, and the counts
 * themselves (their Poisson noise bounds what a difference means). */
struct rate_excess {
	double ex[C__COUNT];
	double tot[C__COUNT];
};

struct rate_series {
	uint32_t po_id;
	uint8_t proto, dir;
	uint16_t port;
	bool seeded;		/* a first reading was seen since start or reset */
	bool learned;		/* the learning period is over (survives resets) */
	bool detected;		/* hysteresis: stay thresholds apply */
	uint32_t count;		/* suspicion count */
	uint64_t start_ns;	/* first reading since start or reset */
	uint64_t last_ns;
	struct rate_measure m[M__COUNT];
	double ch[C__COUNT];	/* EWMA of each count's rate, unfrozen traffic only: the character;
				   ch[C_FLOWS] < 0: the new-flow share is unknown */
	/* The shift window: since the count left zero (not saved). */
	struct rate_excess win;		/* the whole window */
	struct rate_excess recent;	/* the same, decaying: the last few readings */
	double lvl[M__COUNT];	/* sum of rate / factor x dt: the level to re-learn */
	double win_dt;
};

struct rate_state {
	struct detect_env env;
	struct rate_series *series;
	uint32_t n, cap;
	uint32_t *index;	/* series number + 1; 0 = free */
	uint32_t mask;
	uint64_t refused;	/* series with traffic refused past LIMIT_DETECT_SERIES */
	bool crowded;		/* the cap was reached: silent series are not kept */
};

/* --- series table --- */

static uint64_t
rate_key(uint32_t po_id, uint8_t proto, uint8_t dir, uint16_t port)
{
	return (uint64_t)po_id << 32 | (uint64_t)proto << 24 | (uint64_t)dir << 16 | port;
}

static uint32_t
rate_hash(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	k *= 0xc4ceb9fe1a85ec53ULL;
	k ^= k >> 33;
	return (uint32_t)k;
}

static uint64_t
rate_series_key(const struct rate_series *s)
{
	return rate_key(s->po_id, s->proto, s->dir, s->port);
}

static int
rate_index_rebuild(struct rate_state *st, uint32_t slots)
{
	uint32_t *index = calloc(slots, sizeof(*index));

	if (index == NULL)
		return -ENOMEM;
	free(st->index);
	st->index = index;
	st->mask = slots - 1;
	for (uint32_t i = 0; i < st->n; i++) {
		uint32_t h = rate_hash(rate_series_key(&st->series[i])) & st->mask;

		while (st->index[h] != 0)
			h = (h + 1) & st->mask;
		st->index[h] = i + 1;
	}
	return 0;
}

static struct rate_series *
rate_lookup(struct rate_state *st, uint64_t key, uint32_t *ret_slot)
{
	uint32_t h = rate_hash(key) & st->mask;

	while (st->index[h] != 0) {
		struct rate_series *s = &st->series[st->index[h] - 1];

		if (rate_series_key(s) == key)
			return s;
		h = (h + 1) & st->mask;
	}
	*ret_slot = h;
	return NULL;
}

static void
rate_series_init(struct rate_series *s, const struct reading *r)
{
	memset(s, 0, sizeof(*s));
	s->po_id = r->po_id;
	s->proto = r->proto;
	s->dir = r->dir;
	s->port = r->port;
	for (int i = 0; i < M__COUNT; i++) {
		s->m[i].prof.acc_slot = -1;
		for (int h = 0; h < RATE_SLOTS; h++)
			s->m[i].prof.bucket[h] = -1.0f;
	}
}

/* Never carried traffic: its baseline is the zero that EWMAs of zeros are. */
static bool
rate_series_silent(const struct rate_series *s)
{
	for (int i = 0; i < M__COUNT; i++)
		if (s->m[i].mean != 0 || s->m[i].spread != 0)
			return false;
	return true;
}

/*
 * The cap is full and traffic needs a series: drop the silent ones. The
 * counters hand over a reading for every PO, protocol and direction each
 * interval, so silent series (a quiet port learning its zero baseline) fill
 * the cap first with more than 8,192 POs; they must not keep the traffic
 * that is there from being learned. From then on a series begins at its
 * first reading with traffic.
 */
static void
rate_drop_silent(struct rate_state *st)
{
	uint32_t j = 0;

	st->crowded = true;
	for (uint32_t i = 0; i < st->n; i++)
		if (!rate_series_silent(&st->series[i]))
			st->series[j++] = st->series[i];
	log_warnx("rate: %u series, the limit: %u silent ones dropped; from now on a "
	    "series begins with traffic", LIMIT_DETECT_SERIES, st->n - j);
	st->n = j;
	if (rate_index_rebuild(st, st->mask + 1) < 0)
		st->n = 0;	/* cannot happen with the same size; stay consistent */
}

/* The series of reading r, created if new; NULL past the cap or on ENOMEM. */
static struct rate_series *
rate_series_get(struct rate_state *st, const struct reading *r)
{
	uint64_t key = rate_key(r->po_id, r->proto, r->dir, r->port);
	bool silent = r->bytes == 0 && r->packets == 0;
	struct rate_series *s;
	uint32_t slot;

	s = rate_lookup(st, key, &slot);
	if (s != NULL || (silent && st->crowded))
		return s;
	if (st->n >= LIMIT_DETECT_SERIES && !silent && !st->crowded) {
		rate_drop_silent(st);
		(void)rate_lookup(st, key, &slot);	/* the index was rebuilt */
	}
	if (st->n >= LIMIT_DETECT_SERIES) {
		if (!silent && st->refused++ == 0)
			log_warnx("rate: %u series with traffic, the limit: new series are "
			    "not learned (threshold limits still apply)", LIMIT_DETECT_SERIES);
		return NULL;
	}
	if (st->n == st->cap) {
		uint32_t cap = st->cap ? st->cap * 2 : 64;
		struct rate_series *p = realloc(st->series, (size_t)cap * sizeof(*p));

		if (p == NULL)
			return NULL;
		st->series = p;
		st->cap = cap;
	}
	if ((uint64_t)(st->n + 1) * 2 > (uint64_t)st->mask + 1) {
		rate_series_init(&st->series[st->n], r);
		st->n++;
		if (rate_index_rebuild(st, (st->mask + 1) * 2) < 0) {
			st->n--;
			return NULL;
		}
		return &st->series[st->n - 1];
	}
	rate_series_init(&st->series[st->n], r);
	st->index[slot] = ++st->n;
	return &st->series[st->n - 1];
}

/* --- time-of-week profile --- */

static bool
rate_profile_ready(const struct rate_profile *p)
{
	return p->nlearned == RATE_SLOTS && p->week_mean > 0;
}

/* The expected shape at time t relative to the week's mean. */
static double
rate_profile_factor(const struct rate_profile *p, double t_s)
{
	double hw = fmod(t_s / RATE_SLOT_S - 0.5, RATE_SLOTS);
	int i0, i1;
	double frac, v, f;

	if (hw < 0)
		hw += RATE_SLOTS;
	i0 = (int)hw % RATE_SLOTS;
	frac = hw - floor(hw);
	i1 = (i0 + 1) % RATE_SLOTS;
	v = p->bucket[i0] * (1 - frac) + p->bucket[i1] * frac;
	f = v / p->week_mean;
	if (f < RATE_PROFILE_MIN_FACTOR)
		f = RATE_PROFILE_MIN_FACTOR;
	if (f > RATE_PROFILE_MAX_FACTOR)
		f = RATE_PROFILE_MAX_FACTOR;
	return f;
}

static void
rate_profile_close_slot(struct rate_profile *p)
{
	float v;
	double sum = 0;

	if (p->acc_slot < 0 || p->acc_dt < RATE_PROFILE_MIN_DT)
		return;
	v = (float)(p->acc_sum / p->acc_dt);
	if (p->bucket[p->acc_slot] < 0) {
		p->bucket[p->acc_slot] = v;
		p->nlearned++;
	} else {
		p->bucket[p->acc_slot] = (float)((1 - RATE_PROFILE_BLEND) * p->bucket[p->acc_slot] +
		    RATE_PROFILE_BLEND * v);
	}
	if (p->nlearned < RATE_SLOTS)
		return;
	for (int h = 0; h < RATE_SLOTS; h++)
		sum += p->bucket[h];
	p->week_mean = sum / RATE_SLOTS;
}

static void
rate_profile_learn(struct rate_profile *p, double t_s, double x, double dt)
{
	int32_t slot = (int32_t)((uint64_t)(t_s / RATE_SLOT_S) % RATE_SLOTS);

	if (slot != p->acc_slot) {
		rate_profile_close_slot(p);
		p->acc_slot = slot;
		p->acc_sum = 0;
		p->acc_dt = 0;
	}
	p->acc_sum += x * dt;
	p->acc_dt += dt;
}

/* --- baseline --- */

/* Current factor of measure m; switching the profile on rescales the
 * baseline into the profile's units so nothing jumps. */
static double
rate_factor(struct rate_measure *m, const struct dparams_rate *pr, double t_s)
{
	bool ready = pr->profile && rate_profile_ready(&m->prof);
	double f = ready ? rate_profile_factor(&m->prof, t_s) : 1.0;

	if (ready != m->on) {
		double scale = ready ? 1.0 / f : rate_profile_factor(&m->prof, t_s);

		m->mean *= scale;
		m->spread *= scale;
		m->peak = m->mean;	/* re-learned in the new units */
		m->on = ready;
	}
	return f;
}

/*
 * Track the RATE_PEAK_Q quantile of the normalized rate (a stochastic
 * quantile estimate: up by q steps when a reading is above it, down by
 * 1 - q steps otherwise, so it settles where 1 - q of readings lie above).
 * The step is half a spread, and of a suspicion episode only the reading
 * that opens it teaches the peak (rate_update_clipped): a flood moves the
 * peak by at most half a spread, never above the flood, before it is
 * declared and frozen, while a series' recurring bursts (whose spread is
 * wide: they also teach it, clipped) lift it within tens of them.
 */
static void
rate_peak_learn(struct rate_measure *m, double xn, double floor_frac)
{
	double step = RATE_PEAK_STEP * fmax(m->spread, floor_frac * m->mean);

	if (m->peak < m->mean)
		m->peak = m->mean;
	if (xn > m->peak)
		m->peak = fmin(xn, m->peak + RATE_PEAK_Q * step);
	else
		m->peak = fmax(m->mean, m->peak - (1 - RATE_PEAK_Q) * step);
}

static void
rate_learn(struct rate_measure *m, double xn, double alpha)
{
	m->spread = (1 - alpha) * m->spread + alpha * fabs(xn - m->mean);
	m->mean = (1 - alpha) * m->mean + alpha * xn;
}

struct rate_eval {
	double x[M__COUNT];	/* this reading's rates */
	double f[M__COUNT];	/* profile factors */
	double e[M__COUNT];	/* expected rates */
	double s[M__COUNT];	/* spreads, in rate units */
	bool over;
	bool strong;
	bool syn;		/* over by its SYN or new-flow excess (rate_share_over) */
	int share;		/* then which: C_SYNS or C_FLOWS */
	int worst;		/* the measure with the largest ratio */
	double rel;		/* its ratio rate / expected */
	double syn_x, syn_e;	/* SYNs or new flows /s and those expected, when over by them */
};

/*
 * A SYN flood, or a flood of new flows (spoofed sources or ports: an ACK
 * flood), too small for the spread rule on a bursty series: the SYNs (new
 * flows) above those the learned share expects at the expected packet rate
 * are at least (ratio - 1) x the expected packet rate (the size the ratio
 * rule asks of any excess), at least RATE_SYN_EXCESS_SHARE of the packet
 * excess, and above their counting noise. The character stands in for the
 * spread rule: a series' own bursts (even 10x ones) are mostly data and
 * ACKs of flows already open, so its spread says nothing about how many
 * SYNs or new flows it sends, and a flood adding half the series' rate in
 * SYNs or in packets of new 5-tuples multiplies that rate several times.
 * SYNs: TCP; new flows: TCP and UDP (the protocols with ports), and only
 * when the packets are over the ratio rule too. Needs a
 * learned character; a source that counts no flows (sFlow) never has a
 * new-flow excess.
 */
static bool
rate_share_over(const struct rate_series *s, const struct dparams_rate *pr,
    const double c[C__COUNT], struct rate_eval *ev, double ratio, double dt, int k)
{
	double bp = s->ch[C_PKTS], e = ev->e[M_PKTS], es, ds;

	if (pr->char_tolerance <= 0 || bp <= 0 || e <= 0 || ev->x[M_PKTS] < pr->min_pps ||
	    s->ch[k] < 0)
		return false;
	if (k == C_SYNS ? s->proto != PROTO_TCP : s->proto != PROTO_TCP && s->proto != PROTO_UDP)
		return false;
	/* Every packet of a flood opens at most one flow: new flows above
	   their share with no packet excess to carry them are counting noise
	   (a series of short flows), so the packets must pass the ratio too. */
	if (k == C_FLOWS && ev->x[M_PKTS] <= ratio * e)
		return false;
	es = e * s->ch[k] / bp;
	ds = c[k] - es;
	if (!(ds >= (ratio - 1) * e && ds >= RATE_SYN_EXCESS_SHARE * (ev->x[M_PKTS] - e) &&
	    ds * dt > RATE_NOISE_SIGMAS * sqrt(fmax(es * dt, 1.0))))
		return false;
	ev->syn_x = c[k];
	ev->syn_e = es;
	ev->share = k;
	return true;
}

static void
rate_evaluate(const struct rate_series *s, const struct dparams_rate *pr, double enter_ratio,
    const double c[C__COUNT], double dt, struct rate_eval *ev)
{
	double ratio = s->detected ? pr->stay_ratio : enter_ratio;
	double k = s->detected ? pr->stay_spreads : pr->enter_spreads;
	const double floor_x[M__COUNT] = { pr->min_bps, pr->min_pps };
	double best = 0;

	ev->over = ev->strong = ev->syn = false;
	ev->worst = M_PKTS;
	ev->rel = 0;
	for (int i = 0; i < M__COUNT; i++) {
		double e = s->m[i].mean * ev->f[i];
		double sp = fmax(s->m[i].spread * ev->f[i], pr->spread_floor * e);
		double x = ev->x[i];
		double rel = e > 0 ? x / e : (x > 0 ? INFINITY : 0);
		bool over = x >= floor_x[i] && x > e * ratio && (k <= 0 || x - e > k * sp) &&
		    (!pr->peaks || s->detected || x > s->m[i].peak * ev->f[i]);

		ev->e[i] = e;
		ev->s[i] = sp;
		if (!over)
			continue;
		ev->over = true;
		/* Counted twice only if its excess is also more than twice
		 * the series' usual peak excess: a bursty series' 1-second
		 * peaks are far above strong_ratio x its mean, and a cluster
		 * of them (one download) must not make an attack. */
		if (pr->strong_ratio > 0 && rel > pr->strong_ratio &&
		    (!pr->peaks || x - e > 2 * (s->m[i].peak * ev->f[i] - e)))
			ev->strong = true;
		if (rel > best) {
			best = rel;
			ev->worst = i;
			ev->rel = rel;
		}
	}
	if (!ev->over && (rate_share_over(s, pr, c, ev, ratio, dt, C_SYNS) ||
	    rate_share_over(s, pr, c, ev, ratio, dt, C_FLOWS))) {
		ev->over = ev->syn = true;
		ev->worst = M_PKTS;
		ev->rel = ev->x[M_PKTS] / ev->e[M_PKTS];
	}
}

/* --- character --- */

static void
rate_counts(const struct reading *r, double dt, double ret_c[C__COUNT])
{
	ret_c[C_BYTES] = (double)r->bytes / dt;
	ret_c[C_PKTS] = (double)r->packets / dt;
	ret_c[C_SYNS] = (double)r->syns / dt;
	ret_c[C_FLOWS] = (double)r->flows / dt;
	ret_c[C_FRAGS] = (double)r->frags / dt;
}

/*
 * An unknown new-flow share (state saved before packet input counted new
 * flows: what it learned there was 0) starts from the first reading with
 * packets, at that reading's share of the learned packet rate, and is
 * learned as usual from then on.
 */
static void
rate_char_learn(struct rate_series *s, const double c[C__COUNT], double alpha)
{
	if (s->ch[C_FLOWS] < 0 && c[C_PKTS] > 0)
		s->ch[C_FLOWS] = s->ch[C_PKTS] > 0 ? s->ch[C_PKTS] * c[C_FLOWS] / c[C_PKTS] :
		    c[C_FLOWS];
	for (int k = 0; k < C__COUNT; k++)
		if (s->ch[k] >= 0)
			s->ch[k] = (1 - alpha) * s->ch[k] + alpha * c[k];
}

static void
rate_window_clear(struct rate_series *s)
{
	memset(&s->win, 0, sizeof(s->win));
	memset(&s->recent, 0, sizeof(s->recent));
	memset(s->lvl, 0, sizeof(s->lvl));
	s->win_dt = 0;
}

/* Add one reading to the shift window: its counts above those the learned
 * character expects at the expected packet rate. */
static void
rate_window_add(struct rate_series *s, const double c[C__COUNT], const struct rate_eval *ev,
    double dt)
{
	double bp = s->ch[C_PKTS];

	for (int k = 0; k < C__COUNT; k++) {
		double e = k == C_BYTES ? ev->e[M_BYTES] : k == C_PKTS ? ev->e[M_PKTS] :
		    bp > 0 ? ev->e[M_PKTS] * fmax(s->ch[k], 0) / bp : 0;
		double x = (c[k] - e) * dt;

		s->win.ex[k] += x;
		s->win.tot[k] += c[k] * dt;
		s->recent.ex[k] = RATE_RECENT_DECAY * s->recent.ex[k] + x;
		s->recent.tot[k] = RATE_RECENT_DECAY * s->recent.tot[k] + c[k] * dt;
	}
	for (int i = 0; i < M__COUNT; i++)
		s->lvl[i] += ev->x[i] / ev->f[i] * dt;
	s->win_dt += dt;
}

/*
 * Does an excess have the series' own character? Its packet size within
 * the tolerance, its new flows per packet within twice it (a flood from
 * spoofed sources opens a flow per packet, one from a few heavy sources
 * almost none), its SYN and fragment shares within the tolerance plus a
 * small slack. Counts of SYNs and flows are small at low rates, so each
 * comparison also allows RATE_NOISE_SIGMAS of their counting (Poisson)
 * noise. An excess without packets above its own noise (bytes only: large
 * packets) or a series without a learned character is not organic: when
 * in doubt, it is an attack.
 */
static bool
rate_organic(const struct rate_series *s, const struct rate_excess *w, double tol)
{
	double bp = s->ch[C_PKTS], xp = w->ex[C_PKTS], bsize, xsize;
	const int shares[] = { C_SYNS, C_FRAGS, C_FLOWS };

	if (bp <= 0 || s->ch[C_BYTES] <= 0 || w->ex[C_BYTES] <= 0 ||
	    xp <= RATE_NOISE_SIGMAS * sqrt(w->tot[C_PKTS]))
		return false;
	bsize = s->ch[C_BYTES] / bp;
	xsize = w->ex[C_BYTES] / xp;
	if (xsize > bsize * (1 + tol) || xsize < bsize / (1 + tol))
		return false;
	for (size_t i = 0; i < sizeof(shares) / sizeof(shares[0]); i++) {
		int k = shares[i];
		double b, t, allow;

		if (s->ch[k] < 0)
			continue;	/* an unknown share judges nothing */
		b = s->ch[k] / bp;
		t = k == C_FLOWS ? 2 * tol : tol;
		allow = (t * b + RATE_SHARE_SLACK) * xp +
		    RATE_NOISE_SIGMAS * sqrt(w->tot[k] + b * b * w->tot[C_PKTS]);

		if (fabs(w->ex[k] - b * xp) > allow)
			return false;
	}
	return true;
}

/* The window's level becomes the baseline (spreads keep their relative
 * size) and the suspicion is cleared: the shift is the new normal. */
static void
rate_relearn(struct rate_series *s)
{
	for (int i = 0; i < M__COUNT; i++) {
		struct rate_measure *m = &s->m[i];
		double lvl = s->lvl[i] / s->win_dt;

		if (m->mean > 0)
			m->spread *= lvl / m->mean;
		m->mean = lvl;
	}
	s->count = 0;
	s->detected = false;
	rate_window_clear(s);
}

static void
rate_emit(struct rate_state *st, const struct rate_series *s, const struct reading *r,
    const struct dparams_rate *pr, const struct rate_eval *ev, enum detect_kind kind)
{
	struct detection d = {
		.kind = kind,
		.detector = detect_rate_ops.name,
		.po_id = s->po_id,
		.proto = s->proto,
		.dir = s->dir,
		.port = s->port,
		.time_ns = r->time_ns,
		.expiry_ns = r->time_ns + (uint64_t)(pr->expiry_s * 1e9),
		.pps = ev->x[M_PKTS],
		.bps = ev->x[M_BYTES] * 8,
		.expected_pps = ev->e[M_PKTS],
		.expected_bps = ev->e[M_BYTES] * 8,
	};
	int w = ev->worst;
	double x = ev->x[w], e = ev->e[w];
	double conf = x > 0 ? 100.0 * (1.0 - e / x) : 0;

	d.confidence = (uint8_t)(conf < 1 ? 1 : conf > 100 ? 100 : conf);
	if (ev->syn) {
		conf = ev->syn_x > 0 ? 100.0 * (1.0 - ev->syn_e / ev->syn_x) : 0;
		d.confidence = (uint8_t)(conf < 1 ? 1 : conf > 100 ? 100 : conf);
		snprintf(d.reason, sizeof(d.reason),
		    "%s %.0f/s vs expected %.0f/s in packets %.0f/s vs expected %.0f/s, "
		    "suspicion %u/%u", ev->share == C_FLOWS ? "new flows" : "SYNs", ev->syn_x,
		    ev->syn_e, x, e, s->count, pr->persist);
		st->env.emit(st->env.ctx, &d);
		return;
	}
	snprintf(d.reason, sizeof(d.reason),
	    "%s %.0f/s vs expected %.0f/s (%.1fx, %.1f spreads), suspicion %u/%u",
	    w == M_PKTS ? "packets" : "bytes", x, e, e > 0 ? x / e : 0.0,
	    ev->s[w] > 0 ? (x - e) / ev->s[w] : 0.0, s->count, pr->persist);
	st->env.emit(st->env.ctx, &d);
}

/* Seed or warm up: a plain average of the first readings. */
static void
rate_warm(struct rate_series *s, const struct rate_eval *ev, double age_s, double dt)
{
	for (int i = 0; i < M__COUNT; i++) {
		double xn = ev->x[i] / ev->f[i];

		if (!s->seeded) {
			s->m[i].mean = xn;
			s->m[i].spread = 0;
		} else {
			rate_learn(&s->m[i], xn, dt / (age_s + dt));
		}
	}
	s->seeded = true;
}

static void
rate_update(struct rate_series *s, const struct dparams_rate *pr, const struct rate_eval *ev,
    double t_s, double dt, double period)
{
	double alpha = dt / (period + dt);

	for (int i = 0; i < M__COUNT; i++) {
		rate_peak_learn(&s->m[i], ev->x[i] / ev->f[i], pr->spread_floor);
		rate_learn(&s->m[i], ev->x[i] / ev->f[i], alpha);
		rate_profile_learn(&s->m[i].prof, t_s, ev->x[i], dt);
	}
}

/*
 * A reading under suspicion but not declared still teaches the baseline,
 * clipped to the entry bound (mean + enter_spreads spreads): a bursty
 * series' bursts would otherwise never reach its spread (they are the
 * readings that raise the count), so the spread would describe only its
 * calm seconds and every usual burst would look like an attack. Clipping
 * bounds what one reading can teach (a Huber-style robust update), so the
 * few readings of a flood before it is declared move the baseline by a
 * fraction of a spread; the character and the profile stay frozen.
 */
static void
rate_update_clipped(struct rate_series *s, const struct dparams_rate *pr,
    const struct rate_eval *ev, double dt, double period, bool first)
{
	double alpha = dt / (period + dt);

	for (int i = 0; i < M__COUNT; i++) {
		struct rate_measure *m = &s->m[i];
		double sp = fmax(m->spread, pr->spread_floor * m->mean);
		double cap = m->mean + fmax(pr->enter_spreads, 1.0) * sp;

		if (first)
			rate_peak_learn(m, ev->x[i] / ev->f[i], pr->spread_floor);
		rate_learn(m, fmin(ev->x[i] / ev->f[i], cap), alpha);
	}
}

static void
rate_count(struct rate_series *s, const struct dparams_rate *pr, const struct rate_eval *ev)
{
	if (ev->over) {
		s->count += ev->strong ? 2 : 1;
		if (s->count > pr->persist)
			s->count = pr->persist;
	} else if (pr->count_down && s->count > 0) {
		s->count--;
	} else {
		s->count = 0;
	}
	if (s->count == 0)
		s->detected = false;
}

static void
rate_feed(void *arg, const struct reading *r)
{
	struct rate_state *st = arg;
	const struct dparams_rate *pr;
	struct rate_series *s;
	struct rate_eval ev;
	double dt, t_s, age_s, period, c[C__COUNT];
	bool learning, organic, first;

	if (r->proto >= PROTO__COUNT || r->dir >= DIR__COUNT)
		return;
	if ((s = rate_series_get(st, r)) == NULL)
		return;		/* past the cap */
	if (s->seeded && r->time_ns == s->last_ns)
		return;		/* a duplicate */
	if (s->seeded && r->time_ns < s->last_ns && r->interval_ns == 0)
		return;		/* out of order, and no interval to go by */
	dt = r->interval_ns ? (double)r->interval_ns / 1e9 : s->seeded ?
	    (double)(r->time_ns - s->last_ns) / 1e9 : 1.0;
	pr = &st->env.params(st->env.ctx, r->po_id)->rate;
	t_s = (double)r->time_ns / 1e9;
	ev.x[M_BYTES] = (double)r->bytes / dt;
	ev.x[M_PKTS] = (double)r->packets / dt;
	for (int i = 0; i < M__COUNT; i++)
		ev.f[i] = rate_factor(&s->m[i], pr, t_s);
	/* A wall clock stepped back (or a restored state from the future)
	 * restarts the age count rather than stalling the series. */
	if (!s->seeded || r->time_ns < s->start_ns)
		s->start_ns = r->time_ns;
	s->last_ns = r->time_ns;
	age_s = (double)(r->time_ns - s->start_ns) / 1e9;
	rate_counts(r, dt, c);
	if (!s->seeded || age_s < pr->warmup_s) {
		rate_char_learn(s, c, s->seeded ? dt / (age_s + dt) : 1.0);
		rate_warm(s, &ev, age_s, dt);
		return;
	}
	learning = !s->learned && age_s < pr->learn_s;
	period = learning ? pr->period_learn_s : pr->period_s;
	if (learning && pr->learn_ratio <= 0) {
		rate_char_learn(s, c, dt / (period + dt));
		rate_update(s, pr, &ev, t_s, dt, period);
		return;
	}
	if (!learning && !s->learned) {
		s->learned = true;
		if (st->env.learned != NULL)
			st->env.learned(st->env.ctx, s->po_id, s->proto, s->dir, s->port);
	}
	rate_evaluate(s, pr, learning ? pr->learn_ratio : pr->enter_ratio, c, dt, &ev);
	first = s->count == 0;	/* before this reading: it opens an episode */
	rate_count(s, pr, &ev);
	if (s->count == 0) {
		rate_char_learn(s, c, dt / (period + dt));
		rate_update(s, pr, &ev, t_s, dt, period);
		rate_window_clear(s);
		return;
	}
	if (pr->peaks && !s->detected && !ev.syn)
		rate_update_clipped(s, pr, &ev, dt, period, first);
	rate_window_add(s, c, &ev, dt);
	/* The schedule: every `relearn` of a shift its whole window is judged;
	 * the same character becomes the baseline, another starts a new window. */
	if (pr->relearn_s > 0 && s->win_dt >= pr->relearn_s) {
		if (rate_organic(s, &s->win, pr->char_tolerance)) {
			rate_relearn(s);
			return;
		}
		rate_window_clear(s);
	}
	if (!ev.over)
		return;
	organic = pr->organic_ratio > 0 && !s->detected &&
	    rate_organic(s, &s->recent, pr->char_tolerance);
	if (s->count >= pr->persist && (!organic || ev.rel >= pr->organic_ratio)) {
		s->detected = true;
		rate_emit(st, s, r, pr, &ev, DETECT_ATTACK);
	} else if (!s->detected) {
		rate_emit(st, s, r, pr, &ev, DETECT_SUSPECT);
	}
}

static void
rate_tick(void *arg, uint64_t now_ns)
{
	/* Everything happens per reading; detections expire in the decision point. */
}

static void
rate_reset(void *arg, uint32_t po_id, uint8_t proto, uint8_t dir, uint16_t port)
{
	struct rate_state *st = arg;

	for (uint32_t i = 0; i < st->n; i++) {
		struct rate_series *s = &st->series[i];
		const struct dparams_rate *pr;

		if (s->po_id != po_id || s->proto != proto || s->dir != dir || s->port != port)
			continue;
		pr = &st->env.params(st->env.ctx, po_id)->rate;
		s->count = 0;
		s->detected = false;
		rate_window_clear(s);
		if (pr->reset_baseline)
			s->seeded = false;	/* warm up again; the profile is kept */
	}
}

static void
rate_forget_po(void *arg, uint32_t po_id)
{
	struct rate_state *st = arg;
	uint32_t j = 0;

	for (uint32_t i = 0; i < st->n; i++)
		if (st->series[i].po_id != po_id)
			st->series[j++] = st->series[i];
	if (j == st->n)
		return;
	st->n = j;
	if (rate_index_rebuild(st, st->mask + 1) < 0)
		st->n = 0;	/* cannot happen with the same size; stay consistent */
}

static void
rate_remap_po(void *arg, const uint32_t *map, uint32_t n)
{
	struct rate_state *st = arg;
	uint32_t j = 0;

	for (uint32_t i = 0; i < st->n; i++) {
		struct rate_series *s = &st->series[i];
		uint32_t to = s->po_id < n ? map[s->po_id] : DETECT_PO_GONE;

		if (to == DETECT_PO_GONE)
			continue;
		s->po_id = to;
		st->series[j++] = *s;
	}
	st->n = j;
	if (rate_index_rebuild(st, st->mask + 1) < 0)
		st->n = 0;	/* cannot happen with the same size; stay consistent */
}

/* --- state blob --- */

static void
rate_save_measure(struct detect_buf *b, const struct rate_measure *m)
{
	detect_buf_f64(b, m->mean);
	detect_buf_f64(b, m->spread);
	detect_buf_f64(b, m->peak);
	detect_buf_u8(b, m->on);
	detect_buf_u16(b, m->prof.nlearned);
	detect_buf_u32(b, (uint32_t)m->prof.acc_slot);
	detect_buf_f64(b, m->prof.acc_sum);
	detect_buf_f64(b, m->prof.acc_dt);
	detect_buf_f64(b, m->prof.week_mean);
	for (int h = 0; h < RATE_SLOTS; h++)
		detect_buf_f64(b, m->prof.bucket[h]);
}

static int
rate_save(void *arg, uint8_t **ret_blob, size_t *ret_len)
{
	struct rate_state *st = arg;
	struct detect_buf b = { 0 };

	detect_buf_u32(&b, RATE_BLOB_MAGIC);
	detect_buf_u32(&b, st->n);
	for (uint32_t i = 0; i < st->n; i++) {
		const struct rate_series *s = &st->series[i];

		detect_buf_u32(&b, s->po_id);
		detect_buf_u8(&b, s->proto);
		detect_buf_u8(&b, s->dir);
		detect_buf_u16(&b, s->port);
		detect_buf_u8(&b, (uint8_t)(s->seeded | s->learned << 1 | s->detected << 2));
		detect_buf_u32(&b, s->count);
		detect_buf_u64(&b, s->start_ns);
		detect_buf_u64(&b, s->last_ns);
		for (int m = 0; m < M__COUNT; m++)
			rate_save_measure(&b, &s->m[m]);
		for (int k = 0; k < C__COUNT; k++)
			detect_buf_f64(&b, s->ch[k]);
	}
	return detect_buf_take(&b, ret_blob, ret_len);
}

static bool
rate_load_measure(struct cursor *c, struct rate_measure *m, bool with_peak)
{
	uint8_t on;
	uint32_t slot;
	unsigned known = 0;

	m->peak = 0;	/* unknown: re-learned from the mean up */
	if (!detect_cur_f64(c, &m->mean) || !detect_cur_f64(c, &m->spread) ||
	    (with_peak && (!detect_cur_f64(c, &m->peak) || !(m->peak >= 0 && m->peak <= 1e18))) ||
	    !cur_u8(c, &on) ||
	    !cur_be16(c, &m->prof.nlearned) || !cur_be32(c, &slot) ||
	    !detect_cur_f64(c, &m->prof.acc_sum) || !detect_cur_f64(c, &m->prof.acc_dt) ||
	    !detect_cur_f64(c, &m->prof.week_mean))
		return false;
	if (on > 1 || m->mean < 0 || m->spread < 0 || m->prof.acc_dt < 0 || m->prof.week_mean < 0)
		return false;
	if ((int32_t)slot < -1 || (int32_t)slot >= RATE_SLOTS)
		return false;
	m->on = on;
	m->prof.acc_slot = (int32_t)slot;
	for (int h = 0; h < RATE_SLOTS; h++) {
		double v;

		if (!detect_cur_f64(c, &v) || v > 1e18)
			return false;
		m->prof.bucket[h] = v < 0 ? -1.0f : (float)v;
		known += v >= 0;
	}
	return known == m->prof.nlearned;
}

/* with_char: the blob has a character (MDR3 on); with_peak: peaks (MDR4
 * on); flows_known: its new-flow share is to be trusted (MDR5, where it may
 * also say unknown, -1). */
static bool
rate_load_series(struct cursor *c, struct rate_series *s, bool with_char, bool with_peak,
    bool flows_known)
{
	uint8_t flags;

	memset(s, 0, sizeof(*s));
	if (!cur_be32(c, &s->po_id) || !cur_u8(c, &s->proto) || !cur_u8(c, &s->dir) ||
	    !cur_be16(c, &s->port) || !cur_u8(c, &flags) || !cur_be32(c, &s->count) ||
	    !cur_be64(c, &s->start_ns) || !cur_be64(c, &s->last_ns))
		return false;
	if (s->proto >= PROTO__COUNT || s->dir >= DIR__COUNT || flags > 7 || s->count > 1000000)
		return false;
	s->seeded = flags & 1;
	s->learned = flags & 2;
	s->detected = flags & 4;
	for (int m = 0; m < M__COUNT; m++)
		if (!rate_load_measure(c, &s->m[m], with_peak))
			return false;
	for (int k = 0; with_char && k < C__COUNT; k++)
		if (!detect_cur_f64(c, &s->ch[k]) || !((s->ch[k] >= 0 && s->ch[k] <= 1e18) ||
		    (k == C_FLOWS && flows_known && s->ch[k] == -1.0)))
			return false;
	/* Before MDR5 packet input counted no new flows, so a share learned
	 * from it is 0 and would make every new flow look like a flood's. */
	if (with_char && !flows_known)
		s->ch[C_FLOWS] = -1.0;
	return true;
}

/* Parse a saved blob (untrusted) into ret, a state of its own with env;
 * on failure (-EINVAL, -ENOMEM) ret holds nothing to free. */
static int
rate_parse(const struct detect_env *env, const uint8_t *blob, size_t len, struct rate_state *ret)
{
	struct rate_state tmp = { .env = *env };
	struct cursor c = cur_init(blob, len);
	uint32_t magic, n, slots = 64;
	int r = -EINVAL;

	memset(ret, 0, sizeof(*ret));
	if (!cur_be32(&c, &magic) || !cur_be32(&c, &n) ||
	    (magic != RATE_BLOB_MAGIC && magic != RATE_BLOB_MAGIC4 && magic != RATE_BLOB_MAGIC3 &&
	    magic != RATE_BLOB_MAGIC2) ||
	    n > LIMIT_DETECT_SERIES || n > cur_left(&c) / 8)
		return -EINVAL;
	tmp.cap = n ? n : 1;
	tmp.series = calloc(tmp.cap, sizeof(*tmp.series));
	if (tmp.series == NULL)
		return -ENOMEM;
	for (tmp.n = 0; tmp.n < n; tmp.n++)
		if (!rate_load_series(&c, &tmp.series[tmp.n], magic != RATE_BLOB_MAGIC2,
		    magic == RATE_BLOB_MAGIC || magic == RATE_BLOB_MAGIC4, magic == RATE_BLOB_MAGIC))
			goto out;
	if (!cur_empty(&c))
		goto out;
	while (slots < 2 * n + 2)
		slots <<= 1;
	if ((r = rate_index_rebuild(&tmp, slots)) < 0)
		goto out;
	/* reject duplicate series: every key must find itself */
	for (uint32_t i = 0; i < tmp.n; i++) {
		uint32_t slot;

		if (rate_lookup(&tmp, rate_series_key(&tmp.series[i]), &slot) != &tmp.series[i]) {
			r = -EINVAL;
			goto out;
		}
	}
	*ret = tmp;
	return 0;
out:
	free(tmp.series);
	free(tmp.index);
	return r;
}

static int
rate_load(void *arg, const uint8_t *blob, size_t len)
{
	struct rate_state *st = arg, tmp;
	int r;

	if ((r = rate_parse(&st->env, blob, len, &tmp)) < 0)
		return r;
	free(st->series);
	free(st->index);
	*st = tmp;
	return 0;
}

/* The new id of a saved series, DETECT_PO_GONE when it stays behind. */
static uint32_t
rate_adopt_to(const struct rate_series *s, const uint32_t *map, uint32_t n)
{
	return s->po_id < n ? map[s->po_id] : DETECT_PO_GONE;
}

/*
 * Whether a saved series replaces the one this state has under its key
 * (own, NULL if none). The dead owner's baseline is the newest evidence of
 * the series' normal unless this state learned the series itself at least
 * as recently (it owned the PO after the saver did): a baseline it is
 * still learning, or one older than the saved one, gives way.
 */
static bool
rate_adopt_replaces(const struct rate_series *own, const struct rate_series *in)
{
	if (own == NULL || !own->learned)
		return true;
	return in->learned && in->last_ns > own->last_ns;
}

static int
rate_adopt(void *arg, const uint8_t *blob, size_t len, const uint32_t *map, uint32_t n,
    uint8_t **ret_rest, size_t *ret_rest_len)
{
	struct rate_state *st = arg, src;
	struct rate_series *in = NULL;
	uint32_t grow = 0, taken = 0, kept = 0, slots = st->mask + 1, slot;
	uint8_t *rest = NULL;
	size_t rest_len = 0;
	int r;

	*ret_rest = NULL;
	*ret_rest_len = 0;
	if ((r = rate_parse(&st->env, blob, len, &src)) < 0)
		return r;
	for (uint32_t i = 0; i < src.n; i++)
		taken += rate_adopt_to(&src.series[i], map, n) != DETECT_PO_GONE;
	if (taken == 0)
		goto out;	/* r = 0: nothing moves, no rest to write */
	if ((in = malloc((size_t)taken * sizeof(*in))) == NULL) {
		r = -ENOMEM;
		goto out;
	}
	/* Split: the taken series (under their new ids) into in, the kept
	 * ones compacted in src, which then saves as the rest. */
	taken = 0;
	for (uint32_t i = 0; i < src.n; i++) {
		struct rate_series *s = &src.series[i];
		uint32_t to = rate_adopt_to(s, map, n);

		if (to == DETECT_PO_GONE) {
			src.series[kept++] = *s;
			continue;
		}
		in[taken] = *s;
		in[taken].po_id = to;
		if (rate_lookup(st, rate_series_key(&in[taken]), &slot) == NULL)
			grow++;
		taken++;
	}
	src.n = kept;
	if ((r = rate_save(&src, &rest, &rest_len)) < 0)
		goto out;
	/* Room (nothing changes on failure): the series this state does not
	 * have yet, within the cap, in an index at most half full. Two taken
	 * series with one key (a hostile names map) are counted twice: room
	 * to spare, never too little. */
	if ((uint64_t)st->n + grow > LIMIT_DETECT_SERIES) {
		r = -ENOSPC;
		goto out;
	}
	if (st->n + grow > st->cap) {
		struct rate_series *p = realloc(st->series, (size_t)(st->n + grow) * sizeof(*p));

		if (p == NULL) {
			r = -ENOMEM;
			goto out;
		}
		st->series = p;
		st->cap = st->n + grow;
	}
	while ((uint64_t)(st->n + grow + 1) * 2 > slots)
		slots <<= 1;
	if (slots != st->mask + 1 && (r = rate_index_rebuild(st, slots)) < 0)
		goto out;
	for (uint32_t i = 0; i < taken; i++) {
		struct rate_series *own = rate_lookup(st, rate_series_key(&in[i]), &slot);

		if (!rate_adopt_replaces(own, &in[i]))
			continue;
		if (own != NULL) {
			*own = in[i];
		} else {
			st->series[st->n] = in[i];
			st->index[slot] = ++st->n;
		}
	}
	*ret_rest = rest;
	*ret_rest_len = rest_len;
	rest = NULL;
	r = (int)taken;
out:
	free(rest);
	free(in);
	free(src.series);
	free(src.index);
	return r;
}

/* --- lifecycle --- */

static int
rate_new(const struct detect_env *env, void **ret)
{
	struct rate_state *st = calloc(1, sizeof(*st));

	if (st == NULL)
		return -ENOMEM;
	st->env = *env;
	if (rate_index_rebuild(st, 64) < 0) {
		free(st);
		return -ENOMEM;
	}
	*ret = st;
	return 0;
}

static void
rate_free(void *arg)
{
	struct rate_state *st = arg;

	if (st == NULL)
		return;
	free(st->series);
	free(st->index);
	free(st);
}

const struct detect_ops detect_rate_ops = {
	.name = "rate",
	.new = rate_new,
	.free = rate_free,
	.feed = rate_feed,
	.tick = rate_tick,
	.save = rate_save,
	.load = rate_load,
	.reset = rate_reset,
	.forget_po = rate_forget_po,
	.remap_po = rate_remap_po,
	.adopt = rate_adopt,
};
