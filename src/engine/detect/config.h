/*
 * detection_conf: the `detection:` section of moatd's configuration —
 * detection parameters for every PO and per PO (docs/detection.md lists the
 * keys; values are text as on the backtest command line).
 *
 *   detection:
 *     preset: moat                 # or defense4all; the base of everything below
 *     set:                         # for every PO
 *       rate.learn: 1d
 *       quiet: 45s
 *     pos:                         # per PO, on top of `set`
 *       web: { rate.enter_ratio: 2, limits.udp.pps: 50000 }
 *
 * No section: the "moat" preset. A PO's own thresholds (REST/CLI) override
 * the `limits.*` here when they are non-zero. Named by detection's row of
 * engine_modules[] (core/modules.c); read back with settings_ext(conf, "detection").
 */
#ifndef MOAT_ENGINE_DETECTION_CONF_H
#define MOAT_ENGINE_DETECTION_CONF_H

#include <stddef.h>

#include "common/cfg.h"
#include "common/limits.h"
#include "engine/detect/params.h"

struct settings;

struct detection_conf_po {
	char name[LIMIT_PO_NAME + 1];
	struct dparams params;
};

struct detection_conf {
	struct dparams defaults;	/* preset + set */
	struct detection_conf_po *pos;
	size_t npos;
};

/* The section's parse and free functions (n is NULL without a section). */
int detection_conf_parse(struct settings *s, const struct cfg_node *n, void **ret_ext,
    struct cfg_error *err);
void detection_conf_free(void *ext);

/* The parameters of PO `name`: its own entry, else the defaults. */
const struct dparams *detection_conf_params(const struct detection_conf *c, const char *name);

#endif
