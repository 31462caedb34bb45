/* libFuzzer target: the per-second deltas an engine instance reads from
 * JetStream (engine/cluster/deltas.c), versions 1 and 2. Anything accepted
 * must re-encode (as version 2) to the same readings and top-list entries
 * (kind, protocol, address or port, counts); nothing may read out of
 * bounds. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/cluster/deltas.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_ctx {
	struct deltas_enc enc;
	unsigned n, nh;
	uint64_t sum;		/* a digest of the top-list entries */
};

static uint64_t
digest(uint64_t d, const struct deltas_host *h)
{
	const uint64_t v[] = { h->kind, h->proto, h->alen, h->port, h->packets, h->bytes };

	for (unsigned i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		d = (d ^ v[i]) * UINT64_C(1099511628211);
	for (unsigned i = 0; i < h->alen && i < sizeof(h->addr); i++)
		d = (d ^ h->addr[i]) * UINT64_C(1099511628211);
	return d;
}

static void
reencode(void *ctx, const char *po, const struct reading *r)
{
	struct fuzz_ctx *f = ctx;

	deltas_enc_add(&f->enc, po, r);
	f->n++;
}

static void
reencode_host(void *ctx, const char *po, const struct deltas_host *h)
{
	struct fuzz_ctx *f = ctx;

	deltas_enc_host(&f->enc, po, h);
	f->nh++;
	f->sum = digest(f->sum, h);
}

static void
count(void *ctx, const char *po, const struct reading *r)
{
	(void)po;
	(void)r;
	((struct fuzz_ctx *)ctx)->n++;
}

static void
count_host(void *ctx, const char *po, const struct deltas_host *h)
{
	struct fuzz_ctx *f = ctx;

	(void)po;
	f->nh++;
	f->sum = digest(f->sum, h);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct deltas_sink again = { .reading = reencode, .host = reencode_host };
	static const struct deltas_sink counting = { .reading = count, .host = count_host };
	struct fuzz_ctx f = { 0 }, f2 = { 0 };
	struct deltas_hdr h, h2;
	const uint8_t *p;
	size_t len;

	if (deltas_decode(data, size, &h, NULL, NULL) < 0)
		return 0;
	deltas_enc_begin(&f.enc, &h);
	if (deltas_decode(data, size, &h, &again, &f) != 0)
		abort();
	if (deltas_enc_finish(&f.enc, &p, &len) == 0) {
		if (deltas_decode(p, len, &h2, &counting, &f2) != 0 || f2.n != f.n || f2.nh != f.nh ||
		    f2.sum != f.sum || h2.seq != h.seq || h2.time_ns != h.time_ns ||
		    h2.shard != h.shard || strcmp(h2.instance, h.instance) != 0)
			abort();
	}
	deltas_enc_free(&f.enc);
	return 0;
}
