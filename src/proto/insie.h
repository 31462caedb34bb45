/*
 * insie: moat-ins's IPFIX vocabulary — the enterprise number, the enterprise
 * information elements and the connection event kinds. moat-ins writes them
 * (ins/insipfix), moatd's collector reads them (collect/nftmpl, engine/conntab);
 * this one header is what keeps the two sides of the wire in step.
 * docs/ins.md, "Telemetry: IPFIX", lists the elements for other collectors.
 */
#ifndef MOAT_COMMON_INSIE_H
#define MOAT_COMMON_INSIE_H

/* IANA PEN 32473 is reserved for documentation (RFC 5612); a deployment
 * with its own PEN changes this one number. */
#define INSIE_PEN 32473u

/* Enterprise element ids under INSIE_PEN. */
enum insie_id {
	INSIE_ID_EVENT = 1,		/* enum insie_event, 1 byte */
	INSIE_ID_CONN_ID,		/* 8 */
	INSIE_ID_BYTES_IN,		/* 8: cumulative, client to application */
	INSIE_ID_BYTES_OUT,		/* 8: cumulative, acknowledged by the client */
	INSIE_ID_RTT_US,		/* 4 */
	INSIE_ID_RETRANS,		/* 4 */
	INSIE_ID_SND_WND,		/* 4 */
	INSIE_ID_RCV_SPACE,		/* 4 */
	INSIE_ID_RQUEUE,		/* 4 */
	INSIE_ID_WQUEUE,		/* 4 */
	INSIE_ID_LAST_RECV_MS,		/* 4 */
	INSIE_ID_LAST_SENT_MS,		/* 4 */
	INSIE_ID_HELD_MS,		/* 4 */
	INSIE_ID_TTFB_MS,		/* 4 */
	INSIE_ID_HEADERS_MS,		/* 4 */
	INSIE_ID__COUNT
};

/* What a record reports (INSIE_ID_EVENT). */
enum insie_event {
	INSIE_OPEN = 1,
	INSIE_CLOSE,
	INSIE_SLOW_BODY,
	INSIE_SLOW_READ,
	INSIE_IDLE,
	INSIE_HOLD_TIMEOUT,		/* dropped before handoff: headers too slow */
	INSIE_DENIED,			/* dropped at accept: source denied */
	INSIE_CAPPED,			/* dropped at accept: per-source cap */
	INSIE_UPDATE,			/* periodic record of a long connection */
	INSIE_EVENT__COUNT
};

#endif
