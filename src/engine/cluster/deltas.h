/*
 * cluster/deltas: the encoding of one second's per-PO counter deltas, as a
 * collect instance publishes them to JetStream (subject moat.deltas.<shard>)
 * and an engine instance reads them back. One message carries one shard's
 * readings (collect/reading.h) of one interval from one collector.
 *
 * Wire format, version 2 (all integers big-endian; "v" is an unsigned
 * LEB128 varint of at most 10 bytes):
 *
 *   'M' 'D' version:u8=2 flags:u8 (bit 0: a top-list section follows; others 0)
 *   shard:u16 seq:u64 time_ns:u64 interval_ns:v
 *   instance_len:u8 (1..CLUSTER_NAME_MAX) instance bytes
 *   nentries:u16
 *   nentries x { name_len:u8 (1..LIMIT_PO_NAME) name bytes
 *                nread:u8 (1..DELTAS_MAX_PER_ENTRY)
 *                nread x { proto:u8 dir:u8 port:u16
 *                          bytes:v packets:v flows:v syns:v frags:v } }
 *   [flags bit 0: nhosts:u16
 *    nhosts x { name_len:u8 name bytes kind:u8 (enum deltas_top) proto:u8
 *               kind DELTAS_TOP_SPORT: port:u16
 *               other kinds:           alen:u8 (4|16) addr
 *               packets:v bytes:v }]
 *
 * Version 1 (moatd before the top sources travelled) is still decoded: its
 * entries have no kind and no port (every one a DELTAS_TOP_DST address).
 * The encoder writes version 2 only; an engine older than this refuses it
 * (counted as refused), so upgrade engines before collectors.
 *
 * seq counts a collector's messages per shard from 1, so an engine sees a
 * gap (a lost or dropped second) as a jump. time_ns is the end of the
 * interval on the collector's wall clock. A PO may appear in several
 * entries (its any-port readings, then its ports'). The top-list section
 * carries, per PO and protocol, its busiest destination hosts of the
 * interval (inbound, scaled: an attack's top targets, which the local path
 * reads from the counters), and its top sources and source ports among the
 * interval's sampled inbound records (an attack's top sources and source
 * ports, which the local path takes from the same samples). Nothing may
 * follow.
 *
 * The decoder reads untrusted input (anyone who can publish on the
 * subject) only through common/cursor.h and refuses anything out of
 * bounds; it never allocates.
 */
#ifndef MOAT_ENGINE_CLUSTER_DELTAS_H
#define MOAT_ENGINE_CLUSTER_DELTAS_H

#include <stddef.h>
#include <stdint.h>

#include "collect/reading.h"
#include "common/limits.h"

#define DELTAS_VERSION 2u
#define DELTAS_VERSION_V1 1u	/* still decoded: destination hosts only */
#define DELTAS_MAX_PER_ENTRY 255u	/* nread is a byte; a PO has ~8 + 4 per port */
#define DELTAS_MAX_ENTRIES 65535u	/* nentries is a u16 */
#define DELTAS_MAX_HOSTS 65535u		/* nhosts is a u16 */
#define DELTAS_F_HOSTS 0x01u
/* Past this many bytes the encoder's user starts another message: under
 * NATS's default max_payload (1 MiB) with room for headers. */
#define DELTAS_FLUSH_AT (768u * 1024u)

struct deltas_hdr {
	uint16_t shard;
	uint64_t seq;
	uint64_t time_ns;
	uint64_t interval_ns;
	char instance[64];
};

/* A growing message. */
struct deltas_enc {
	uint8_t *buf;
	size_t len, cap;
	size_t nentries_at;	/* offset of nentries */
	size_t nread_at;	/* offset of the open entry's nread; 0: none */
	uint32_t nentries;
	char last[LIMIT_PO_NAME + 1];
	size_t nhosts_at;	/* offset of nhosts; 0: no hosts section yet */
	uint32_t nhosts;
	int err;		/* first error (-ENOMEM, -E2BIG); sticky */
};

/* The top lists of a PO a message may carry. */
enum deltas_top {
	DELTAS_TOP_DST,		/* busiest destination hosts (addr) */
	DELTAS_TOP_SRC,		/* top sources (addr) */
	DELTAS_TOP_SPORT,	/* top source ports (port) */
	DELTAS_TOP__COUNT
};

/* One entry of a PO's top list in the interval. */
struct deltas_host {
	uint8_t kind;		/* enum deltas_top */
	uint8_t proto;		/* enum proto_class */
	uint8_t alen;		/* 4 or 16; 0 for DELTAS_TOP_SPORT */
	uint16_t port;		/* DELTAS_TOP_SPORT only */
	uint8_t addr[16];
	uint64_t packets, bytes;
};

/* Start a message (the buffer is kept across messages). */
void deltas_enc_begin(struct deltas_enc *e, const struct deltas_hdr *h);
/* Append one reading of PO po (its po_id, time and interval are not sent). */
void deltas_enc_add(struct deltas_enc *e, const char *po, const struct reading *r);
/* Append one top-list entry of PO po: after the last reading (a reading
 * added after one is an error, -EINVAL). */
void deltas_enc_host(struct deltas_enc *e, const char *po, const struct deltas_host *h);
/* Finish: the message in ret and ret_len (inside e, valid until the next
 * begin); 0, or the first error. */
int deltas_enc_finish(struct deltas_enc *e, const uint8_t **ret, size_t *ret_len);
void deltas_enc_free(struct deltas_enc *e);

/* What a decoded message's contents go to; either may be NULL. */
struct deltas_sink {
	void (*reading)(void *ctx, const char *po, const struct reading *r);
	void (*host)(void *ctx, const char *po, const struct deltas_host *h);
};

/*
 * Decode a message: fill *ret_hdr, then, only if the whole message is
 * valid, hand sink (may be NULL) each reading with its PO name (a reading
 * whose time_ns/interval_ns are the header's and po_id is 0), then each
 * host. -EBADMSG for anything malformed or out of bounds,
 * -EPROTONOSUPPORT for another version.
 */
int deltas_decode(const uint8_t *buf, size_t len, struct deltas_hdr *ret_hdr,
    const struct deltas_sink *sink, void *ctx);

#endif
