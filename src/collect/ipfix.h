/*
 * ipfix: IPFIX (RFC 7011) messages -> flow records.
 *
 * Templates (set 2) and options templates (set 3) are cached per exporter =
 * (source address, observation domain); variable-length fields are walked,
 * enterprise-specific elements skipped (except moat-ins's, which also make
 * connection events: ipfix_set_conn_sink), set and message lengths checked
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
 * A moat-ins connection event: a data record whose template carries the
 * moat-ins event element (INSIE_PEN, id 1). The record also counts as
 * a flow record (its octet/packet deltas), as every other record does; this
 * is the connection's view of it. Fields absent from the record are 0;
 * ttfb_ms / headers_ms are IPFIX_CONN_UNKNOWN when not measured.
 */
#define IPFIX_CONN_UNKNOWN UINT32_MAX
struct ipfix_conn {
	struct ipaddr exporter;		/* the datagram's source */
	uint32_t domain;		/* observation domain (moat-ins: its pid) */
	uint8_t event;			/* moat-ins event kind (docs/ins.md) */
	uint8_t tcp_flags, end_reason;
	uint64_t conn_id;
	struct ipaddr src, dst;		/* peer (client) and local (application) */
	uint16_t sport, dport;
	uint64_t start_ms, end_ms;	/* Unix ms; end_ms = the event's time */
	uint64_t in_delta, pkts_delta;
	uint64_t in_total, out_total;
	uint32_t rtt_us, retrans, snd_wnd, rcv_wnd, rqueue, wqueue;
	uint32_t last_recv_ms, last_sent_ms, held_ms, ttfb_ms, headers_ms;
};

/*
 * Where connection events go is a property of the exporter table
 * (exporter_table_set_conn_sink(), exporter.h): fn(ctx, ev) is called from
 * the parsing thread, for each one, during ipfix_parse(); ev is valid during
 * the call only. No sink: the records are counted as flows only.
 */

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
