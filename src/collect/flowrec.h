/*
 * flowrec: the normalised record every collector produces.
 *
 * NetFlow v5/v9, IPFIX, sFlow samples, captured and replayed packets all
 * become a struct flow_rec; counting never looks at the input format again.
 * Counts are as observed: bytes/packets are NOT yet multiplied by
 * `sampling`; the counting stage scales them (so a test can check both).
 */
#ifndef MOAT_FLOWREC_H
#define MOAT_FLOWREC_H

#include <stdint.h>

#include "common/prefix.h"

enum flowrec_flags {
	FLOWREC_FRAG = 1u << 0,		/* an IP fragment (any) */
	FLOWREC_FRAG_FIRST = 1u << 1,	/* the first fragment (has ports) */
	FLOWREC_PACKET = 1u << 2,	/* one packet (capture/sFlow), not a flow */
};

struct flow_rec {
	uint64_t time_ns;	/* end of flow / packet timestamp, wall clock */
	uint32_t location;	/* exporter or capture point index ("network location") */
	uint32_t sampling;	/* 1 = unsampled; N = one in N */
	struct ipaddr src;
	struct ipaddr dst;
	uint16_t sport;		/* 0 when the protocol has no ports or a non-first fragment */
	uint16_t dport;		/* for ICMP: type << 8 | code */
	uint8_t proto;		/* IP protocol number */
	uint8_t tcp_flags;	/* OR of the flow's TCP flags */
	uint16_t flags;		/* enum flowrec_flags */
	uint64_t bytes;		/* layer-3 bytes */
	uint64_t packets;
	uint32_t syns;		/* TCP SYN-without-ACK packets, when known (capture: exact) */
};

/*
 * A sink takes records in batches; collectors call it with up to a batch of
 * records decoded from one datagram/ring block. The records are only valid
 * during the call.
 */
typedef void (*flowrec_sink_fn)(void *ctx, const struct flow_rec *recs, unsigned n);

#endif
