/* libFuzzer target: the per-second deltas an engine instance reads from
 * JetStream (engine/cluster/deltas.c). Anything accepted must re-encode to
 * the same readings; nothing may read out of bounds. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/cluster/deltas.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_ctx {
	struct deltas_enc enc;
	unsigned n, nh;
};

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
}

static void
count(void *ctx, const char *po, const struct reading *r)
{
	(void)po;
	(void)r;
	((unsigned *)ctx)[0]++;
}

static void
count_host(void *ctx, const char *po, const struct deltas_host *h)
{
	(void)po;
	(void)h;
	((unsigned *)ctx)[1]++;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct deltas_sink again = { .reading = reencode, .host = reencode_host };
	static const struct deltas_sink counting = { .reading = count, .host = count_host };
	struct fuzz_ctx f = { 0 };
	struct deltas_hdr h, h2;
	const uint8_t *p;
	size_t len;
	unsigned n2[2] = { 0, 0 };

	if (deltas_decode(data, size, &h, NULL, NULL) < 0)
		return 0;
	deltas_enc_begin(&f.enc, &h);
	if (deltas_decode(data, size, &h, &again, &f) != 0)
		abort();
	if (deltas_enc_finish(&f.enc, &p, &len) == 0) {
		if (deltas_decode(p, len, &h2, &counting, n2) != 0 || n2[0] != f.n || n2[1] != f.nh ||
		    h2.seq != h.seq ||
		    h2.shard != h.shard || strcmp(h2.instance, h.instance) != 0)
			abort();
	}
	deltas_enc_free(&f.enc);
	return 0;
}
