/*
 * netflow9: NetFlow v9 (RFC 3954) export datagrams -> flow records.
 *
 * Templates (flowset 0) and options templates (flowset 1) are cached per
 * exporter = (source address, source id), see nftmpl.h. A data flowset whose
 * template is not known is counted as a template miss and skipped — never
 * guessed. Options data records that carry a sampling interval
 * (SAMPLING_INTERVAL, FLOW_SAMPLER_RANDOM_INTERVAL) set the exporter's
 * learned rate; a data record carrying one itself uses its own. The
 * header's package sequence counts datagrams.
 */
#ifndef MOAT_NETFLOW9_H
#define MOAT_NETFLOW9_H

#include "collect/exporter.h"
#include "collect/flowrec.h"
#include "common/cursor.h"

#define NF9_HEADER_LEN 20u

/*
 * Parse one datagram from `from`. Returns the number of flow records passed
 * to fn, -EINVAL for a malformed datagram (a bad flowset stops the parse;
 * records before it are kept; counted in the exporter's parse_errors),
 * -ENOSPC when the exporter table is full, -ENOMEM.
 */
int nf9_parse(struct exporter_table *t, const struct ipaddr *from, struct cursor *c,
    uint64_t now_ns, flowrec_sink_fn fn, void *ctx);

#endif
