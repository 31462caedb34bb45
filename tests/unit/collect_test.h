/*
 * Helpers shared by the collect unit tests: load a golden file from
 * MOAT_TEST_DATA/collect/, and a sink that keeps every record it is given.
 */
#ifndef MOAT_COLLECT_TEST_H
#define MOAT_COLLECT_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collect/flowrec.h"

#define CT_MAX_RECS 256

struct ct_sink {
	unsigned n, calls;
	struct flow_rec r[CT_MAX_RECS];
};

static inline void
ct_sink_fn(void *ctx, const struct flow_rec *recs, unsigned n)
{
	struct ct_sink *s = ctx;

	s->calls++;
	for (unsigned i = 0; i < n && s->n < CT_MAX_RECS; i++)
		s->r[s->n++] = recs[i];
}

/* Reads MOAT_TEST_DATA/collect/<name> into buf; returns its length, or aborts. */
static inline size_t
ct_load(const char *name, uint8_t *buf, size_t cap)
{
	const char *dir = getenv("MOAT_TEST_DATA");
	char path[1024];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/collect/%s", dir ? dir : "data", name);
	f = fopen(path, "rb");
	if (f == NULL) {
		fprintf(stderr, "cannot open %s\n", path);
		abort();
	}
	n = fread(buf, 1, cap, f);
	fclose(f);
	return n;
}

static inline struct ipaddr
ct_addr(const char *s)
{
	struct ipaddr a;

	if (ipaddr_parse(s, &a) != 0)
		abort();
	return a;
}

#endif
