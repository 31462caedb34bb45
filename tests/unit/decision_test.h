/*
 * Helpers shared by the unit tests that build decision state (the cluster's
 * adoption and the deployment's view): one set of default parameters for
 * every PO, PO names "po<id>", and a threshold attack on a PO.
 */
#ifndef MOAT_DECISION_TEST_H
#define MOAT_DECISION_TEST_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "engine/detect/decision.h"
#include "engine/detect/params.h"

#define DT_NS 1000000000ULL

static struct dparams dt_params;	/* dparams_default() it before use */

static inline const struct dparams *
dt_params_of(void *ctx, uint32_t po_id)
{
	(void)ctx;
	(void)po_id;
	return &dt_params;
}

static inline const char *
dt_po_name(void *ctx, uint32_t po_id)
{
	static char name[16];

	(void)ctx;
	snprintf(name, sizeof(name), "po%u", po_id);
	return name;
}

/* A UDP flood on po declared by the threshold detector at t_s seconds. */
static inline void
dt_attack(struct decision *dp, uint32_t po, uint64_t t_s)
{
	struct detection d = { .kind = DETECT_ATTACK, .detector = "threshold", .po_id = po,
		.proto = PROTO_UDP, .dir = DIR_IN, .confidence = 90, .time_ns = t_s * DT_NS,
		.expiry_ns = (t_s + 60) * DT_NS };

	strcpy(d.reason, "flood");
	decision_detect(dp, &d);
}

#endif
