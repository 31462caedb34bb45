/* libFuzzer target for collect/ipfix: IPFIX (templates, variable-length and enterprise fields,
 * moat-ins connection events), through fuzz_flow.h. */
#include "collect/ipfix.h"
#include "fuzz_flow.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reads every field, so the sanitizers see any uninitialised one. */
static void
fuzz_conn_sink(void *ctx, const struct ipfix_conn *ev)
{
	uint64_t *sum = ctx;

	*sum += ev->event + ev->conn_id + ev->in_total + ev->out_total + ev->sport + ev->dport +
	    ev->start_ms + ev->end_ms + ev->rtt_us + ev->held_ms + ev->ttfb_ms + ev->headers_ms +
	    ev->src.af + ev->dst.af;
}

/* ipfix_parse with the connection sink set on the harness's table. */
static int
fuzz_ipfix_parse(struct exporter_table *t, const struct ipaddr *from, struct cursor *c,
    uint64_t now_ns, flowrec_sink_fn fn, void *ctx)
{
	static uint64_t sum;

	exporter_table_set_conn_sink(t, fuzz_conn_sink, &sum);
	return ipfix_parse(t, from, c, now_ns, fn, ctx);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_flow_datagrams(data, size, fuzz_ipfix_parse);
}
