/*
 * fuzz_flow: the harness shared by the flow-export fuzz targets (NetFlow
 * v5/v9, IPFIX, sFlow). The input is a series of datagrams, each prefixed by
 * a 2-byte big-endian length (a lying length takes the rest), all from one
 * source into one exporter table, so template state carries from one
 * datagram to the next. Records are folded into a sum so none is optimised
 * away.
 */
#ifndef MOAT_FUZZ_FLOW_H
#define MOAT_FUZZ_FLOW_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "collect/exporter.h"
#include "collect/flowrec.h"
#include "common/cursor.h"

typedef int (*fuzz_flow_parse_fn)(struct exporter_table *t, const struct ipaddr *from,
    struct cursor *c, uint64_t now_ns, flowrec_sink_fn fn, void *ctx);

static void
fuzz_flow_sink(void *ctx, const struct flow_rec *recs, unsigned n)
{
	uint64_t *sum = ctx;

	for (unsigned i = 0; i < n; i++)
		*sum += recs[i].bytes + recs[i].sport;
}

static int
fuzz_flow_datagrams(const uint8_t *data, size_t size, fuzz_flow_parse_fn parse)
{
	struct exporter_table *t = exporter_table_new();
	struct ipaddr from = ipaddr_v4(0xc0000201u);
	struct cursor in = cur_init(data, size), dg;
	uint64_t sum = 0;
	uint16_t len;

	if (t == NULL)
		return 0;
	while (cur_be16(&in, &len)) {
		if (!cur_sub(&in, len, &dg))
			dg = cur_rest(&in);
		(void)parse(t, &from, &dg, 1, fuzz_flow_sink, &sum);
	}
	exporter_table_free(t);
	return 0;
}

#endif
