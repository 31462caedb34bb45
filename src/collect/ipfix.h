/*
 * ipfix: IPFIX (RFC 7011) messages -> flow records.
 *
 * Templates (set 2) and options templates (set 3) are cached per exporter =
 * (source address, observation domain); variable-length fields are walked,
 * enterprise-specific elements skipped, set and message lengths checked
 * against each other (a message length over the datagram, or a set length
 * over the message, rejects what remains). Data sets with an unknown
 * template are counted as template misses. The sequence number counts data
 * records, so gaps are missed records. Options data with samplingInterval,
 * samplerRandomInterval or samplingPacketInterval/Space set the exporter's
 * rate.
 *
 * Over TCP a stream is a series of messages framed by their own length
 * field: ipfix_frame() says how long the next one is.
 */
#ifndef MOAT_IPFIX_H
#define MOAT_IPFIX_H

#include <stddef.h>
#include <stdint.h>

#include "collect/exporter.h"
#include "collect/flowrec.h"
#include "common/cursor.h"

#define IPFIX_HEADER_LEN 16u

/*
 * Parse every message in c (a UDP datagram holds one; a TCP read may be
 * framed to one by ipfix_frame()). Returns records passed to fn, -EINVAL
 * for a malformed message (counted as the exporter's parse error), -ENOSPC
 * when the exporter table is full, -ENOMEM.
 */
int ipfix_parse(struct exporter_table *t, const struct ipaddr *from, struct cursor *c,
    uint64_t now_ns, flowrec_sink_fn fn, void *ctx);

/*
 * Stream framing: given the first `avail` bytes of a stream, the length of
 * the message that starts there (>= IPFIX_HEADER_LEN), 0 when fewer than 4
 * bytes are available, -EINVAL when the version is not 10 or the length is
 * shorter than a header (the connection must be closed).
 */
long ipfix_frame(const uint8_t *p, size_t avail);

#endif
