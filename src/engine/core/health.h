/*
 * health: the HealthTracker. Modules report issues with a significance
 * (0 < s <= 1, say 0.1 for a transient hiccup, 1 for a lost subsystem);
 * each module's score is the sum of its reports, each decaying with a
 * half-life. The overall score is the sum over modules and maps to a status:
 * ok below `degraded`, degraded below `failing`, failing above.
 *
 * health_tick() (the engine calls it every second) acts on the score: at
 * `reset` it runs the registered soft-reset hooks (at most once per
 * cooldown), at `fatal` it calls the fatal hook once — moatd then exits
 * cleanly with status 1 so the service manager restarts it.
 */
#ifndef MOAT_ENGINE_HEALTH_H
#define MOAT_ENGINE_HEALTH_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "common/clock.h"

struct health_config {
	double half_life_s;
	double degraded;	/* score thresholds, increasing */
	double failing;
	double reset;
	double fatal;
	int64_t reset_cooldown_s;
};

#define HEALTH_DEFAULT_CONFIG { .half_life_s = 300, .degraded = 0.2, .failing = 1.0, \
	.reset = 2.0, .fatal = 4.0, .reset_cooldown_s = 600 }

enum health_status { HEALTH_OK, HEALTH_DEGRADED, HEALTH_FAILING };

/* Modules tracked at once; module names are code constants, not input. */
#define HEALTH_MAX_MODULES 32u
#define HEALTH_MAX_HOOKS 16u

typedef void (*health_hook)(void *arg);

struct health;

/* The tracker keeps the clock pointer; the clock outlives it. */
int health_new(const struct clock *clock, const struct health_config *cfg, struct health **ret);
void health_free(struct health *h);
void health_set_config(struct health *h, const struct health_config *cfg);

/* -EINVAL unless 0 < significance <= 1 and the thresholds hold;
 * -ENOSPC past HEALTH_MAX_MODULES modules. */
int health_report(struct health *h, const char *module, double significance,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

double health_score(const struct health *h);
enum health_status health_status(const struct health *h);
const char *health_status_name(enum health_status s);
/* [{"module","significance","message"}] of modules whose score is still
 * noticeable (>= 0.01), highest first. */
json_t *health_issues_json(const struct health *h);

/* Soft-reset hooks run in registration order. -ENOSPC past HEALTH_MAX_HOOKS. */
int health_on_reset(struct health *h, health_hook fn, void *arg);
void health_on_fatal(struct health *h, health_hook fn, void *arg);

/* Evaluate thresholds now; returns the status. */
enum health_status health_tick(struct health *h);
/* Forget every issue (after a factory reset). */
void health_clear(struct health *h);

#endif
