/*
 * nftmpl: templates for NetFlow v9 and IPFIX, shared by both parsers.
 *
 * A template set is parsed once into a compact field list in which every
 * field already carries the action to take (nftmpl_op), so decoding a data
 * record is a walk over the list with no lookups. Templates are cached per
 * exporter (struct nftmpl_cache, at most LIMIT_COLLECT_TEMPLATES of them,
 * LIMIT_COLLECT_TEMPLATE_FIELDS fields each); a template with the same id
 * replaces the old one (refresh), an IPFIX record with field count 0
 * withdraws it.
 *
 * Records are decoded into a struct flow_rec plus the side facts a record
 * may carry (absolute or uptime-relative end time, sampling rate) in a
 * struct nftmpl_extra; the caller turns those into time and sampling,
 * because v9 and IPFIX headers give the time base differently.
 */
#ifndef MOAT_NFTMPL_H
#define MOAT_NFTMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "collect/exporter.h"
#include "collect/flowrec.h"
#include "common/cursor.h"
#include "proto/insie.h"

#define NFTMPL_VARLEN	0xffffu		/* IPFIX: field length carried in the record */

enum nftmpl_dialect { NFTMPL_V9, NFTMPL_IPFIX };

struct nftmpl_field {
	uint16_t len;		/* bytes, or NFTMPL_VARLEN */
	uint8_t op;		/* enum nftmpl_op, resolved at parse time */
};

struct nftmpl {
	uint16_t id;
	uint16_t nfields;
	bool options;		/* an options template (scope fields first) */
	uint32_t min_len;	/* smallest encoding of one record, > 0 */
	struct nftmpl_field f[];
};

struct nftmpl_cache;

/* The cache of one exporter; created on first use. NULL + errno. */
struct nftmpl_cache *nftmpl_cache_new(void);
void nftmpl_cache_free(struct nftmpl_cache *c);		/* accepts NULL */
size_t nftmpl_cache_count(const struct nftmpl_cache *c);	/* accepts NULL */
const struct nftmpl *nftmpl_find(const struct nftmpl_cache *c, uint16_t id);

/*
 * Parse one template set (v9 flowset 0/1, IPFIX set 2/3) from `set`, which
 * must hold exactly the set's body (after the set header), and store each
 * template. Trailing padding shorter than a template header is accepted.
 * Returns the number of templates stored, or -EINVAL for a malformed set
 * (templates before the fault stay stored), -ENOSPC when the cache is full.
 */
int nftmpl_parse_set(struct nftmpl_cache *c, struct cursor *set, enum nftmpl_dialect d,
    bool options);

/* Facts a record carries besides the flow_rec fields. */
struct nftmpl_extra {
	uint64_t start_ms;	/* flowStartMilliseconds, Unix ms; 0 = absent */
	uint64_t end_ms;	/* flowEnd{Seconds,Milliseconds}, Unix ms; 0 = absent */
	uint32_t end_uptime_ms;	/* v9 LAST_SWITCHED / flowEndSysUpTime */
	bool has_uptime;
	uint32_t sampling;	/* samplingInterval etc.; 0 = absent */
	uint32_t pkt_interval, pkt_space; /* IPFIX samplingPacketInterval/Space */
	uint64_t rbytes, rpackets; /* RFC 5103 reverse counters (biflows) */
	uint8_t rtcp_flags;	/* reverseTcpControlBits */
	bool has_reverse;	/* a reverse counter was in the record */
	uint32_t ins_present;	/* bit i: ins[i] was in the record */
	uint64_t ins[INSIE_ID__COUNT];	/* moat-ins's elements (enum insie_id, under
					   INSIE_PEN); other enterprise elements are skipped */
};

/*
 * Decode one record of template t from rec (consumed as the record is read)
 * into *r (zeroed first) and *x. Returns false when the record is short or
 * a variable-length field lies about its length.
 */
bool nftmpl_decode(const struct nftmpl *t, struct cursor *rec, struct flow_rec *r,
    struct nftmpl_extra *x);

/* RFC 5103 biflow: the reverse direction of fwd (addresses and ports
   swapped, the reverse counters and flags) into *ret; false when the record
   carried no reverse traffic. */
bool nftmpl_reverse(const struct flow_rec *fwd, const struct nftmpl_extra *x,
    struct flow_rec *ret);

/* The sampling rate an nftmpl_extra implies, 0 if none. */
uint32_t nftmpl_extra_rate(const struct nftmpl_extra *x);

#endif
