/*
 * health: decaying per-module scores. A score is stored with the time it was
 * last updated and decayed lazily when read, so nothing runs per report but
 * one exp2().
 */
#include "engine/core/health.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEALTH_MESSAGE_MAX 256
#define HEALTH_VISIBLE 0.01

struct health_module {
	char name[32];
	double score;		/* at time t_ns */
	uint64_t t_ns;
	char message[HEALTH_MESSAGE_MAX];
};

struct health_hook_row {
	health_hook fn;
	void *arg;
};

struct health {
	const struct clock *clock;
	struct health_config cfg;
	struct health_module mods[HEALTH_MAX_MODULES];
	unsigned nmods;
	struct health_hook_row reset_hooks[HEALTH_MAX_HOOKS];
	unsigned nreset;
	struct health_hook_row fatal;
	uint64_t last_reset_ns;
	bool reset_ever;
	bool fatal_fired;
};

static bool
health_config_valid(const struct health_config *c)
{
	return c->half_life_s > 0 && c->degraded > 0 && c->degraded <= c->failing &&
	    c->failing <= c->reset && c->reset <= c->fatal && c->reset_cooldown_s >= 0;
}

int
health_new(const struct clock *clock, const struct health_config *cfg, struct health **ret)
{
	struct health *h;

	if (!health_config_valid(cfg))
		return -EINVAL;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->clock = clock;
	h->cfg = *cfg;
	*ret = h;
	return 0;
}

void
health_free(struct health *h)
{
	free(h);
}

void
health_set_config(struct health *h, const struct health_config *cfg)
{
	if (health_config_valid(cfg))
		h->cfg = *cfg;
}

static double
health_decayed(const struct health *h, const struct health_module *m, uint64_t now_ns)
{
	double dt;

	if (now_ns <= m->t_ns)
		return m->score;
	dt = (double)(now_ns - m->t_ns) / (double)CLOCK_NS_PER_SEC;
	return m->score * exp2(-dt / h->cfg.half_life_s);
}

static struct health_module *
health_module(struct health *h, const char *name)
{
	struct health_module *m;

	for (unsigned i = 0; i < h->nmods; i++)
		if (strcmp(h->mods[i].name, name) == 0)
			return &h->mods[i];
	if (h->nmods == HEALTH_MAX_MODULES)
		return NULL;
	m = &h->mods[h->nmods++];
	memset(m, 0, sizeof(*m));
	snprintf(m->name, sizeof(m->name), "%s", name);
	return m;
}

int
health_report(struct health *h, const char *module, double significance,
    const char *fmt, ...)
{
	uint64_t now = clock_mono_ns(h->clock);
	struct health_module *m;
	va_list ap;

	if (!(significance > 0 && significance <= 1))
		return -EINVAL;
	m = health_module(h, module);
	if (!m)
		return -ENOSPC;
	m->score = health_decayed(h, m, now) + significance;
	m->t_ns = now;
	va_start(ap, fmt);
	vsnprintf(m->message, sizeof(m->message), fmt, ap);
	va_end(ap);
	return 0;
}

double
health_score(const struct health *h)
{
	uint64_t now = clock_mono_ns(h->clock);
	double sum = 0;

	for (unsigned i = 0; i < h->nmods; i++)
		sum += health_decayed(h, &h->mods[i], now);
	return sum;
}

static enum health_status
health_status_of(const struct health *h, double score)
{
	if (score >= h->cfg.failing)
		return HEALTH_FAILING;
	if (score >= h->cfg.degraded)
		return HEALTH_DEGRADED;
	return HEALTH_OK;
}

enum health_status
health_status(const struct health *h)
{
	return health_status_of(h, health_score(h));
}

const char *
health_status_name(enum health_status s)
{
	static const char *const names[] = { "ok", "degraded", "failing" };

	return (unsigned)s < 3 ? names[s] : "?";
}

static int
health_issue_cmp(const void *a, const void *b)
{
	double x = json_real_value(json_object_get(*(json_t *const *)a, "significance"));
	double y = json_real_value(json_object_get(*(json_t *const *)b, "significance"));

	return x < y ? 1 : x > y ? -1 : 0;
}

json_t *
health_issues_json(const struct health *h)
{
	uint64_t now = clock_mono_ns(h->clock);
	json_t *items[HEALTH_MAX_MODULES];
	json_t *arr = json_array();
	unsigned n = 0;

	if (!arr)
		return NULL;
	for (unsigned i = 0; i < h->nmods; i++) {
		double s = health_decayed(h, &h->mods[i], now);

		if (s < HEALTH_VISIBLE)
			continue;
		/* Two decimals: the value is a rough gauge, not a measurement. */
		items[n] = json_pack("{s:s, s:f, s:s}", "module", h->mods[i].name,
		    "significance", round(s * 100) / 100, "message", h->mods[i].message);
		if (items[n])
			n++;
	}
	qsort(items, n, sizeof(items[0]), health_issue_cmp);
	for (unsigned i = 0; i < n; i++)
		json_array_append_new(arr, items[i]);
	return arr;
}

int
health_on_reset(struct health *h, health_hook fn, void *arg)
{
	if (h->nreset == HEALTH_MAX_HOOKS)
		return -ENOSPC;
	h->reset_hooks[h->nreset++] = (struct health_hook_row){ fn, arg };
	return 0;
}

void
health_on_fatal(struct health *h, health_hook fn, void *arg)
{
	h->fatal = (struct health_hook_row){ fn, arg };
}

enum health_status
health_tick(struct health *h)
{
	uint64_t now = clock_mono_ns(h->clock);
	uint64_t cooldown = (uint64_t)h->cfg.reset_cooldown_s * CLOCK_NS_PER_SEC;
	double score = health_score(h);

	if (score >= h->cfg.fatal && !h->fatal_fired && h->fatal.fn) {
		h->fatal_fired = true;
		h->fatal.fn(h->fatal.arg);
	} else if (score >= h->cfg.reset &&
	    (!h->reset_ever || now - h->last_reset_ns >= cooldown)) {
		h->reset_ever = true;
		h->last_reset_ns = now;
		for (unsigned i = 0; i < h->nreset; i++)
			h->reset_hooks[i].fn(h->reset_hooks[i].arg);
	}
	return health_status_of(h, score);
}

void
health_clear(struct health *h)
{
	h->nmods = 0;
	h->fatal_fired = false;
}
