/*
 * po: the protected object model — validation of a PO exactly as the REST
 * contract states it, conversion from and to JSON, and the canonical form
 * stored and served.
 *
 * Canonical form: prefixes formatted by prefix_format() and sorted (IPv4
 * first, then by address and length); ports ascending; drivers in the given
 * order (the order is the mitigation order); thresholds only with non-zero
 * values, protocols without any omitted; "host_thresholds" the same, and
 * omitted altogether when it has none; "source", "created_at" and
 * "updated_at" always present.
 */
#ifndef MOAT_ENGINE_PO_H
#define MOAT_ENGINE_PO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/limits.h"
#include "common/prefix.h"
#include "collect/reading.h"

enum po_source { PO_SOURCE_API, PO_SOURCE_CONFIG };

enum po_driver { PO_DRV_NFT, PO_DRV_XDP, PO_DRV_BGP, PO_DRV_INS, PO_DRV_NOTIFY, PO_DRV__COUNT };

/* Absolute limits per protocol; 0 = none. syn_pps applies to TCP only. */
struct po_thresholds {
	uint64_t pps;
	uint64_t bps;
	uint64_t flows;
	uint64_t syn_pps;
};

struct po {
	char name[LIMIT_PO_NAME + 1];
	struct prefix *prefixes;	/* owned, sorted, unique */
	size_t nprefixes;
	uint16_t ports[LIMIT_PO_PORTS];	/* sorted, unique */
	size_t nports;
	struct po_thresholds thresholds[PROTO__COUNT];
	/* The same limits for each single destination host inside the PO. */
	struct po_thresholds host_thresholds[PROTO__COUNT];
	uint8_t drivers[PO_DRV__COUNT];	/* enum po_driver, in mitigation order */
	size_t ndrivers;
	enum po_source source;
	int64_t created_at;		/* Unix seconds */
	int64_t updated_at;
};

/* What went wrong and in which JSON field ("prefixes", "thresholds.tcp.pps",
   "host_thresholds.udp.pps"). */
struct po_error {
	char field[64];
	char msg[256];
};

/* How to treat the server-owned fields source/created_at/updated_at:
 * PO_IN_API ignores them when well-typed (a client may send back what it
 * got); PO_IN_STORED reads them (replay from the store). */
enum po_input { PO_IN_API, PO_IN_STORED };

/* True for [A-Za-z0-9_.-]{1,64} other than "." and ".." (which URL clients
 * rewrite as path steps, so such a PO could never be addressed). */
bool po_name_valid(const char *name);

/*
 * Build a PO from JSON (j is only read; jansson's iterators want it
 * non-const). url_name, when not NULL, is the name from the URL:
 * "name" may then be absent and must match if present. Returns 0, -EINVAL
 * (err filled; a 400), or -ENOMEM. *ret is freed with po_free().
 */
int po_from_json(json_t *j, const char *url_name, enum po_input in,
    struct po **ret, struct po_error *err);
/* Parse JSON text then po_from_json() (duplicate keys are refused). */
int po_from_text(const char *text, size_t len, const char *url_name, enum po_input in,
    struct po **ret, struct po_error *err);
/* The canonical JSON of p (a new reference), NULL on allocation failure. */
json_t *po_to_json(const struct po *p);
/* Canonical JSON text, malloc'd. */
char *po_to_text(const struct po *p);

void po_free(struct po *p);
struct po *po_dup(const struct po *p);

const char *po_driver_name(enum po_driver d);
/* -EINVAL for an unknown name. */
int po_driver_parse(const char *s, enum po_driver *ret);
const char *po_source_name(enum po_source s);

/* Total order of prefixes used for the canonical form and for lookups. */
int po_prefix_cmp(const struct prefix *a, const struct prefix *b);

#endif
