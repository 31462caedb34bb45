/*
 * flowbatch: how parsers hand records to a sink — in batches, so the
 * per-record cost of the indirect call disappears, and with the common
 * finishing step (location, sampling, SYN estimate) done in one place.
 * A flowbatch lives on the parser's stack for one datagram/block; call
 * flowbatch_flush() before returning.
 */
#ifndef MOAT_FLOWBATCH_H
#define MOAT_FLOWBATCH_H

#include "collect/exporter.h"
#include "collect/flowrec.h"

#define FLOWBATCH_MAX 64u

struct flowbatch {
	flowrec_sink_fn fn;
	void *ctx;
	unsigned n;
	struct flow_rec r[FLOWBATCH_MAX];
};

static inline void
flowbatch_init(struct flowbatch *b, flowrec_sink_fn fn, void *ctx)
{
	b->fn = fn;
	b->ctx = ctx;
	b->n = 0;
}

static inline void
flowbatch_flush(struct flowbatch *b)
{
	if (b->n && b->fn)
		b->fn(b->ctx, b->r, b->n);
	b->n = 0;
}

/* The slot the next record is decoded into; commit it with flowbatch_push(). */
static inline struct flow_rec *
flowbatch_slot(struct flowbatch *b)
{
	if (b->n == FLOWBATCH_MAX)
		flowbatch_flush(b);
	return &b->r[b->n];
}

/*
 * Keep the record in the current slot. For flow records (not single
 * packets) the SYN count is estimated from the OR of the flags: a flow with
 * SYN and no ACK is all SYNs (a flood or a failed handshake); a flow with
 * ACK set counts none — a SYN-ACK (the server's side, or a reflection) is
 * not a SYN, and a completed client handshake is not a flood.
 */
static inline void
flowbatch_push(struct flowbatch *b, struct exporter *e, uint32_t rec_rate)
{
	struct flow_rec *r = &b->r[b->n];

	r->location = e->index;
	r->sampling = exporter_sampling(e, rec_rate);
	if (!(r->flags & FLOWREC_PACKET) && r->proto == 6 && (r->tcp_flags & 0x02))
		r->syns = (r->tcp_flags & 0x10) ? 0u :
		    (r->packets > UINT32_MAX ? UINT32_MAX : (uint32_t)r->packets);
	e->h.records++;
	e->h.bytes += r->bytes;
	e->h.packets += r->packets;
	b->n++;
}

#endif
