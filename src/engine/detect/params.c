/*
 * dparams: presets are static const tables; the setter is one table of
 * (key, kind, offset, range) rows, so a new parameter is one row.
 */
#include "engine/detect/params.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "common/strnum.h"

static const struct dparams dparams_moat = {
	.rate = {
		.warmup_s = 20,
		.learn_s = 7 * 86400,	/* the hour-of-week profile needs a week */
		.period_learn_s = 240,
		.period_s = 900,
		.enter_ratio = 1.5,
		.stay_ratio = 1.2,
		.enter_spreads = 4,
		.stay_spreads = 3,
		.strong_ratio = 4,
		.spread_floor = 0.02,
		.min_pps = 10,
		.min_bps = 8000,
		.expiry_s = 10,
		.persist = 3,
		.count_down = true,
		.profile = true,
		.reset_baseline = false,
		.relearn_s = 600,
		.organic_ratio = 5,
		.learn_ratio = 2.5,
		.char_tolerance = 0.3,
		.peaks = true,
	},
	.threshold_expiry_s = 10,
	.quiet_s = 30,
};

/* The seed's published values: P = 3600 s active, 240 s learning, 20 s
 * warm-up, +40 % to become suspicious, +20 % once attacked, +1/-1 count,
 * detection when the count exceeds 3, detections live 300 s, an attack ends
 * when its detections expire, attack end resets the statistics. */
static const struct dparams dparams_d4a = {
	.rate = {
		.warmup_s = 20,
		.learn_s = 7 * 86400,
		.period_learn_s = 240,
		.period_s = 3600,
		.enter_ratio = 1.4,
		.stay_ratio = 1.2,
		.persist = 4,
		.count_down = true,
		.expiry_s = 300,
		.reset_baseline = true,
	},
	.threshold_expiry_s = 300,
	.quiet_s = 0,
};

static const struct {
	const char *name;
	const struct dparams *p;
} dparams_presets[] = {
	{ "moat", &dparams_moat },
	{ "defense4all", &dparams_d4a },
};

const char *const dparams_preset_names[] = { "moat", "defense4all", NULL };

void
dparams_default(struct dparams *ret)
{
	*ret = dparams_moat;
}

int
dparams_preset(const char *name, struct dparams *ret)
{
	for (size_t i = 0; i < sizeof(dparams_presets) / sizeof(dparams_presets[0]); i++)
		if (strcmp(name, dparams_presets[i].name) == 0) {
			*ret = *dparams_presets[i].p;
			return 0;
		}
	return -ENOENT;
}

enum dparams_kind { DP_DOUBLE, DP_DURATION, DP_U32, DP_BOOL };

struct dparams_field {
	const char *key;
	enum dparams_kind kind;
	size_t off;
	double max;
};

#define RATE(f) offsetof(struct dparams, rate.f)
static const struct dparams_field dparams_fields[] = {
	{ "rate.warmup", DP_DURATION, RATE(warmup_s), 86400 },
	{ "rate.learn", DP_DURATION, RATE(learn_s), 366 * 86400 },
	{ "rate.period_learn", DP_DURATION, RATE(period_learn_s), 7 * 86400 },
	{ "rate.period", DP_DURATION, RATE(period_s), 7 * 86400 },
	{ "rate.enter_ratio", DP_DOUBLE, RATE(enter_ratio), 1000 },
	{ "rate.stay_ratio", DP_DOUBLE, RATE(stay_ratio), 1000 },
	{ "rate.enter_spreads", DP_DOUBLE, RATE(enter_spreads), 1000 },
	{ "rate.stay_spreads", DP_DOUBLE, RATE(stay_spreads), 1000 },
	{ "rate.strong_ratio", DP_DOUBLE, RATE(strong_ratio), 1e6 },
	{ "rate.spread_floor", DP_DOUBLE, RATE(spread_floor), 10 },
	{ "rate.min_pps", DP_DOUBLE, RATE(min_pps), 1e12 },
	{ "rate.min_bps", DP_DOUBLE, RATE(min_bps), 1e15 },
	{ "rate.expiry", DP_DURATION, RATE(expiry_s), 86400 },
	{ "rate.persist", DP_U32, RATE(persist), 1000 },
	{ "rate.count_down", DP_BOOL, RATE(count_down), 0 },
	{ "rate.profile", DP_BOOL, RATE(profile), 0 },
	{ "rate.reset_baseline", DP_BOOL, RATE(reset_baseline), 0 },
	{ "rate.relearn", DP_DURATION, RATE(relearn_s), 7 * 86400 },
	{ "rate.organic_ratio", DP_DOUBLE, RATE(organic_ratio), 1000 },
	{ "rate.learn_ratio", DP_DOUBLE, RATE(learn_ratio), 1000 },
	{ "rate.char_tolerance", DP_DOUBLE, RATE(char_tolerance), 10 },
	{ "rate.peaks", DP_BOOL, RATE(peaks), 0 },
	{ "threshold_expiry", DP_DURATION, offsetof(struct dparams, threshold_expiry_s), 86400 },
	{ "quiet", DP_DURATION, offsetof(struct dparams, quiet_s), 86400 },
};
#undef RATE

static const char *const dparams_proto_names[PROTO__COUNT] = { "tcp", "udp", "icmp", "other" };

static const struct {
	const char *name;
	size_t off;
} dparams_limit_fields[] = {
	{ "pps", offsetof(struct dparams_limits, pps) },
	{ "bps", offsetof(struct dparams_limits, bps) },
	{ "flows", offsetof(struct dparams_limits, flows_ps) },
	{ "syn_pps", offsetof(struct dparams_limits, syn_pps) },
};

static int
dparams_parse_bool(const char *value, bool *ret)
{
	if (strcmp(value, "true") == 0 || strcmp(value, "1") == 0 || strcmp(value, "yes") == 0) {
		*ret = true;
		return 0;
	}
	if (strcmp(value, "false") == 0 || strcmp(value, "0") == 0 || strcmp(value, "no") == 0) {
		*ret = false;
		return 0;
	}
	return -EINVAL;
}

static int
dparams_set_field(struct dparams *p, const struct dparams_field *f, const char *value)
{
	char *base = (char *)p + f->off;
	int64_t secs;
	double d;
	uint64_t u;
	bool b;
	int r;

	switch (f->kind) {
	case DP_DOUBLE:
		if ((r = strnum_double(value, 0, f->max, &d)) < 0)
			return r;
		memcpy(base, &d, sizeof(d));
		return 0;
	case DP_DURATION:
		if ((r = strnum_duration(value, 0, (int64_t)f->max, &secs)) < 0)
			return r;
		d = (double)secs;
		memcpy(base, &d, sizeof(d));
		return 0;
	case DP_U32:
		if ((r = strnum_u64(value, 0, (uint64_t)f->max, &u)) < 0)
			return r;
		memcpy(base, &(uint32_t){ (uint32_t)u }, sizeof(uint32_t));
		return 0;
	case DP_BOOL:
		if ((r = dparams_parse_bool(value, &b)) < 0)
			return r;
		memcpy(base, &b, sizeof(b));
		return 0;
	}
	return -EINVAL;
}

/* "limits.<proto>.<field>" or "host_limits.<proto>.<field>" */
static int
dparams_set_limit(struct dparams *p, const char *key, const char *value)
{
	bool host = strncmp(key, "host_", 5) == 0;
	struct dparams_limits *limits = host ? p->host_limits : p->limits;
	char proto[16], field[16], tail;
	double d;
	int r;

	if (sscanf(key + (host ? 5 : 0), "limits.%15[a-z].%15[a-z_]%c", proto, field, &tail) != 2)
		return -ENOENT;
	for (size_t i = 0; i < PROTO__COUNT; i++) {
		if (strcmp(proto, dparams_proto_names[i]) != 0)
			continue;
		for (size_t j = 0; j < sizeof(dparams_limit_fields) / sizeof(dparams_limit_fields[0]); j++) {
			if (strcmp(field, dparams_limit_fields[j].name) != 0)
				continue;
			if ((r = strnum_double(value, 0, 1e15, &d)) < 0)
				return r;
			memcpy((char *)&limits[i] + dparams_limit_fields[j].off, &d, sizeof(d));
			return 0;
		}
	}
	return -ENOENT;
}

int
dparams_set(struct dparams *p, const char *key, const char *value)
{
	for (size_t i = 0; i < sizeof(dparams_fields) / sizeof(dparams_fields[0]); i++)
		if (strcmp(key, dparams_fields[i].key) == 0)
			return dparams_set_field(p, &dparams_fields[i], value);
	if (strncmp(key, "limits.", 7) == 0 || strncmp(key, "host_limits.", 12) == 0)
		return dparams_set_limit(p, key, value);
	return -ENOENT;
}

int
dparams_check(const struct dparams *p, const char **ret_what)
{
	const struct dparams_rate *r = &p->rate;

	if (r->persist < 1)
		*ret_what = "rate.persist must be at least 1";
	else if (r->enter_ratio < 1 || r->stay_ratio < 1)
		*ret_what = "rate.enter_ratio and rate.stay_ratio must be at least 1";
	else if (r->stay_ratio > r->enter_ratio)
		*ret_what = "rate.stay_ratio must not exceed rate.enter_ratio";
	else if (r->stay_spreads > r->enter_spreads)
		*ret_what = "rate.stay_spreads must not exceed rate.enter_spreads";
	else if (r->period_s <= 0 || r->period_learn_s <= 0)
		*ret_what = "rate.period and rate.period_learn must be positive";
	else if (r->warmup_s > r->learn_s)
		*ret_what = "rate.warmup must not exceed rate.learn";
	else if (r->learn_ratio != 0 && r->learn_ratio < r->enter_ratio)
		*ret_what = "rate.learn_ratio must be 0 (off) or at least rate.enter_ratio";
	else
		return 0;
	return -EINVAL;
}
