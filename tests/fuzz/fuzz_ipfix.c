/*
 * libFuzzer target for collect/ipfix. The input is a series of datagrams,
 * each prefixed by a 2-byte big-endian length, all from one source into one
 * exporter table, so template state carries from one datagram to the next.
 */
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "collect/ipfix.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
sink(void *ctx, const struct flow_rec *recs, unsigned n)
{
	uint64_t *sum = ctx;

	for (unsigned i = 0; i < n; i++)
		*sum += recs[i].bytes + recs[i].sport;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct exporter_table *t = exporter_table_new();
	struct ipaddr from = ipaddr_v4(0xc0000201u);
	struct cursor in = cur_init(data, size);
	uint64_t sum = 0;
	uint16_t len;
	struct cursor dg;

	if (t == NULL)
		return 0;
	while (cur_be16(&in, &len)) {
		if (!cur_sub(&in, len, &dg))
			dg = cur_rest(&in);
		(void)ipfix_parse(t, &from, &dg, 1, sink, &sum);
	}
	exporter_table_free(t);
	return 0;
}
