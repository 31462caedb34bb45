/*
 * dgram: one flow-export datagram of any supported format, dispatched by
 * its version field: NetFlow v5 (5), v9 (9), IPFIX (10) and sFlow v5
 * (32-bit 5). Lets one UDP port take every format, as routers are often
 * pointed at a single collector port.
 */
#ifndef MOAT_DGRAM_H
#define MOAT_DGRAM_H

#include <stddef.h>
#include <stdint.h>

#include "collect/exporter.h"
#include "collect/flowrec.h"

/*
 * Parse buf as sent from `from`. Returns records passed to fn, -EPROTONOSUPPORT
 * for an unknown version, or the parser's error (-EINVAL, -ENOSPC, -ENOMEM).
 */
int dgram_parse(struct exporter_table *t, const struct ipaddr *from, const uint8_t *buf,
    size_t len, uint64_t now_ns, flowrec_sink_fn fn, void *ctx);

#endif
