/* libFuzzer target for collect/pcapin: the input is a whole capture file
   read from memory through libpcap and the packet decoder. */
#include <stddef.h>
#include <stdint.h>

#include "collect/pcapin.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
sink(void *ctx, const struct flow_rec *recs, unsigned n)
{
	uint64_t *sum = ctx;

	for (unsigned i = 0; i < n; i++)
		*sum += recs[i].bytes;
}

static void
on_time(void *ctx, uint64_t t)
{
	(void)ctx;
	(void)t;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t sum = 0;
	struct pcapin_hooks h = { .sink = sink, .sink_ctx = &sum, .on_time = on_time,
		.step_ns = 1000000000u };
	struct pcapin_stats st = { 0 };
	struct pcapin *p;
	char err[256];

	if (pcapin_open_mem(data, size, &p, err, sizeof(err)) < 0)
		return 0;
	/* Bounded: a lying timestamp must not make on_time loop for ages. */
	(void)pcapin_run(p, &h, 10000, &st);
	pcapin_close(p);
	return 0;
}
