/*
 * netflow5: NetFlow v5 export datagrams -> flow records.
 *
 * The header's sampling field (2 bits mode, 14 bits interval) sets the
 * exporter's learned rate; engine type and id form the exporter's domain;
 * flow_sequence counts flows, so gaps are missed records. A datagram
 * whose count is 0 or over 30, or that is shorter than its count says, is
 * rejected whole (parse error). Records are timed at their Last switched
 * time converted to wall time through the header's uptime and clock.
 */
#ifndef MOAT_NETFLOW5_H
#define MOAT_NETFLOW5_H

#include "collect/exporter.h"
#include "collect/flowrec.h"
#include "common/cursor.h"

#define NF5_HEADER_LEN	24u
#define NF5_RECORD_LEN	48u
#define NF5_MAX_RECORDS	30u

/*
 * Parse one datagram from `from` and pass its records to fn(ctx, ...).
 * Returns the number of records, -EINVAL (malformed: counted on the
 * exporter when it can be told, else the caller counts it), -ENOSPC when
 * the exporter table is full.
 */
int nf5_parse(struct exporter_table *t, const struct ipaddr *from, struct cursor *c,
    uint64_t now_ns, flowrec_sink_fn fn, void *ctx);

#endif
