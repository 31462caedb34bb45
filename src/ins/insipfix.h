/*
 * insipfix: moat-ins's per-connection telemetry as IPFIX (RFC 7011) over UDP
 * — the seed's "NetFlow interface" — to moatd (or any IPFIX collector).
 *
 * One record per connection event (open, close, a slow verdict, a drop
 * before handoff). Standard IEs carry what moatd's flow counters need, as
 * deltas since the connection's previous record so a collector that sums
 * them counts each byte once: octetDeltaCount / packetDeltaCount (client to
 * application), protocolIdentifier, tcpControlBits (SYN on open, FIN on
 * close, RST on a destroy or drop), ports, IPv4 or IPv6 addresses,
 * flowStart/EndMilliseconds, flowEndReason. The rest (event kind,
 * connection id, cumulative bytes both ways, TCP_INFO fields, held time) are
 * enterprise IEs under INSIE_PEN, listed in docs/ins.md. Templates are
 * sent first and again every INSIPFIX_TEMPLATE_EVERY_S seconds (UDP).
 */
#ifndef MOAT_INS_INSIPFIX_H
#define MOAT_INS_INSIPFIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/insie.h"
#include "proto/insproto.h"

#define INSIPFIX_TMPL_V4 256u
#define INSIPFIX_TMPL_V6 257u
#define INSIPFIX_TEMPLATE_EVERY_S 30u
/* The largest record (IPv6: 141 bytes), with room to grow. */
#define INSIPFIX_REC_MAX 192u
/* moatInsFirstByteMs / moatInsHeadersMs when not measured (not held, or not HTTP). */
#define INSIPFIX_UNKNOWN_MS UINT32_MAX
/* Keep datagrams under a typical path MTU. */
#define INSIPFIX_MSG_MAX 1400u

struct insipfix_rec {
	uint8_t event;			/* enum insie_event */
	uint8_t tcp_flags;
	uint8_t end_reason;		/* RFC 5102 flowEndReason, 0 if not ended */
	uint64_t conn_id;
	struct ins_addr peer, local;	/* source = peer (the client), destination = local */
	uint64_t start_ms, end_ms;	/* wall clock, ms since the epoch */
	uint64_t in_delta, pkts_delta;	/* since the previous record of this connection */
	uint64_t in_total, out_total;
	uint32_t rtt_us, retrans, snd_wnd, rcv_wnd, rqueue, wqueue;
	uint32_t last_recv_ms, last_sent_ms, held_ms;
	/* From accept to the first bytes / to complete HTTP headers, measured
	 * while holding (INSIPFIX_UNKNOWN_MS for what was not); only when timed
	 * is set, so records built without them export "unknown", not 0. */
	bool timed;
	uint32_t ttfb_ms, headers_ms;
};

struct insipfix;

/* Open a UDP exporter to "ADDR:PORT" or "[ADDR6]:PORT". */
int insipfix_open(struct insipfix **ret, const char *dest, uint32_t domain_id);
void insipfix_close(struct insipfix *x);
/* Queue a record; full messages are sent at once. now_s: wall seconds. */
void insipfix_add(struct insipfix *x, const struct insipfix_rec *r, uint64_t now_s);
/* Send what is queued. */
void insipfix_flush(struct insipfix *x, uint64_t now_s);
/* Datagrams sent and send errors. */
void insipfix_counts(const struct insipfix *x, uint64_t *ret_sent, uint64_t *ret_errors);

/*
 * Encoding, exposed for tests: the template set for both templates, and one
 * data record for r. Each returns bytes written, or 0 if cap is too small.
 */
size_t insipfix_encode_templates(uint8_t *buf, size_t cap);
size_t insipfix_encode_record(const struct insipfix_rec *r, uint8_t *buf, size_t cap);
/* Write a message header over buf[0..16) for a message of len bytes. */
void insipfix_encode_header(uint8_t *buf, size_t len, uint32_t export_s, uint32_t seq,
			    uint32_t domain_id);

#endif
