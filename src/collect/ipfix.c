#include "collect/ipfix.h"

#include <errno.h>
#include <string.h>

#include "collect/flowbatch.h"
#include "collect/nftmpl.h"

#define IPFIX_VERSION 10u

struct ipfix_header {
	uint16_t length;
	uint64_t export_ns;
	uint32_t sequence;
	uint32_t domain;
};

static uint32_t
ipfix_u32(uint64_t v)
{
	return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

/* A timing element, or IPFIX_CONN_UNKNOWN when the record lacks it. */
static uint32_t
ipfix_ins_opt(const struct nftmpl_extra *x, enum insie_id ie)
{
	return (x->ins_present & (1u << ie)) ? ipfix_u32(x->ins[ie]) : IPFIX_CONN_UNKNOWN;
}

/* The connection's view of a moat-ins record, to the sink. */
static void
ipfix_conn_event(const struct exporter *e, const struct ipfix_header *h, const struct flow_rec *r,
    const struct nftmpl_extra *x, ipfix_conn_fn conn_fn, void *conn_ctx)
{
	struct ipfix_conn ev = {
		.domain = h->domain,
		.event = (uint8_t)x->ins[INSIE_ID_EVENT],
		.tcp_flags = r->tcp_flags,
		.conn_id = x->ins[INSIE_ID_CONN_ID],
		.src = r->src, .dst = r->dst, .sport = r->sport, .dport = r->dport,
		.start_ms = x->start_ms,
		.end_ms = x->end_ms ? x->end_ms : h->export_ns / 1000000u,
		.in_delta = r->bytes, .pkts_delta = r->packets,
		.in_total = x->ins[INSIE_ID_BYTES_IN],
		.out_total = x->ins[INSIE_ID_BYTES_OUT],
		.rtt_us = ipfix_u32(x->ins[INSIE_ID_RTT_US]),
		.retrans = ipfix_u32(x->ins[INSIE_ID_RETRANS]),
		.snd_wnd = ipfix_u32(x->ins[INSIE_ID_SND_WND]),
		.rcv_wnd = ipfix_u32(x->ins[INSIE_ID_RCV_SPACE]),
		.rqueue = ipfix_u32(x->ins[INSIE_ID_RQUEUE]),
		.wqueue = ipfix_u32(x->ins[INSIE_ID_WQUEUE]),
		.last_recv_ms = ipfix_u32(x->ins[INSIE_ID_LAST_RECV_MS]),
		.last_sent_ms = ipfix_u32(x->ins[INSIE_ID_LAST_SENT_MS]),
		.held_ms = ipfix_u32(x->ins[INSIE_ID_HELD_MS]),
		.ttfb_ms = ipfix_ins_opt(x, INSIE_ID_TTFB_MS),
		.headers_ms = ipfix_ins_opt(x, INSIE_ID_HEADERS_MS),
	};

	ev.exporter = e->addr;
	conn_fn(conn_ctx, &ev);
}

long
ipfix_frame(const uint8_t *p, size_t avail)
{
	struct cursor c = cur_init(p, avail);
	uint16_t version, length;

	if (!cur_be16(&c, &version) || !cur_be16(&c, &length))
		return 0;
	if (version != IPFIX_VERSION || length < IPFIX_HEADER_LEN)
		return -EINVAL;
	return length;
}

static bool
ipfix_read_header(struct cursor *c, struct ipfix_header *h)
{
	uint16_t version;
	uint32_t secs;

	if (!cur_be16(c, &version) || version != IPFIX_VERSION || !cur_be16(c, &h->length) ||
	    h->length < IPFIX_HEADER_LEN || !cur_be32(c, &secs) || !cur_be32(c, &h->sequence) ||
	    !cur_be32(c, &h->domain))
		return false;
	h->export_ns = (uint64_t)secs * 1000000000u;
	return true;
}

/* Options data: only the sampling rate is of interest. Returns the records. */
static uint32_t
ipfix_options_data(struct exporter *e, const struct nftmpl *t, struct cursor *set)
{
	struct flow_rec r;
	struct nftmpl_extra x;
	uint32_t n = 0;

	while (cur_left(set) >= t->min_len && nftmpl_decode(t, set, &r, &x)) {
		uint32_t rate = nftmpl_extra_rate(&x);

		if (rate)
			e->sampling = rate;
		n++;
	}
	return n;
}

/* Returns the number of data records in the set (for the sequence). */
static uint32_t
ipfix_flow_data(struct exporter *e, const struct ipfix_header *h, const struct nftmpl *t,
    struct cursor *set, struct flowbatch *b, ipfix_conn_fn conn_fn, void *conn_ctx)
{
	struct nftmpl_extra x;
	uint32_t n = 0;

	while (cur_left(set) >= t->min_len) {
		struct flow_rec *r = flowbatch_slot(b);

		if (!nftmpl_decode(t, set, r, &x))
			break;
		r->time_ns = x.end_ms ? x.end_ms * 1000000u : h->export_ns;
		if (conn_fn != NULL && (x.ins_present & (1u << INSIE_ID_EVENT)))
			ipfix_conn_event(e, h, r, &x, conn_fn, conn_ctx);
		if (x.has_reverse) {
			struct flow_rec fwd = *r, rev;

			flowbatch_push(b, e, nftmpl_extra_rate(&x));
			if (nftmpl_reverse(&fwd, &x, &rev)) {
				*flowbatch_slot(b) = rev;
				flowbatch_push(b, e, nftmpl_extra_rate(&x));
			}
		} else {
			flowbatch_push(b, e, nftmpl_extra_rate(&x));
		}
		n++;
	}
	return n;
}

struct ipfix_msg {
	struct exporter *e;
	struct ipfix_header h;
	struct flowbatch *b;
	ipfix_conn_fn conn_fn;		/* the table's connection sink, or NULL */
	void *conn_ctx;
	uint32_t data_records;	/* all data records, for the sequence */
	int flows;
};

static int
ipfix_set(struct ipfix_msg *m, struct cursor *c)
{
	uint16_t id, len;
	struct cursor set;
	const struct nftmpl *t;
	int r;

	if (!cur_be16(c, &id) || !cur_be16(c, &len) || len < 4 || !cur_sub(c, len - 4u, &set))
		return -EINVAL;
	if (id == 2 || id == 3) {
		if (m->e->tmpl == NULL && (m->e->tmpl = nftmpl_cache_new()) == NULL)
			return -ENOMEM;
		r = nftmpl_parse_set(m->e->tmpl, &set, NFTMPL_IPFIX, id == 3);
		return r < 0 ? r : 0;
	}
	if (id < 256)
		return id < 4 ? -EINVAL : 0;	/* 0, 1: v9 ids, invalid in IPFIX */
	t = nftmpl_find(m->e->tmpl, id);
	if (t == NULL) {
		m->e->h.template_misses++;
		return 0;
	}
	if (t->options) {
		/* Options records are data records too, for the sequence. */
		m->data_records += ipfix_options_data(m->e, t, &set);
		return 0;
	}
	r = (int)ipfix_flow_data(m->e, &m->h, t, &set, m->b, m->conn_fn, m->conn_ctx);
	m->data_records += (uint32_t)r;
	m->flows += r;
	return 0;
}

static int
ipfix_message(struct exporter_table *t, const struct ipaddr *from, struct cursor *c,
    uint64_t now_ns, struct flowbatch *b, int *flows)
{
	struct ipfix_msg m = { .b = b };
	struct cursor body;
	int r = 0;

	m.conn_fn = exporter_table_conn_sink(t, &m.conn_ctx);

	if (!ipfix_read_header(c, &m.h))
		return -EINVAL;
	m.e = exporter_get(t, from, from, m.h.domain, EXPORTER_IPFIX, now_ns);
	if (m.e == NULL)
		return -ENOSPC;
	m.e->h.datagrams++;
	if (!cur_sub(c, m.h.length - IPFIX_HEADER_LEN, &body)) {
		m.e->h.parse_errors++;
		return -EINVAL;
	}
	/* Sets fill the message exactly; no padding between messages. */
	while (!cur_empty(&body)) {
		r = ipfix_set(&m, &body);
		if (r < 0) {
			m.e->h.parse_errors++;
			break;
		}
	}
	exporter_seq(m.e, m.h.sequence, m.data_records);
	*flows += m.flows;
	return r;
}

int
ipfix_parse(struct exporter_table *t, const struct ipaddr *from, struct cursor *c,
    uint64_t now_ns, flowrec_sink_fn fn, void *ctx)
{
	struct flowbatch b;
	int flows = 0, r = 0;

	flowbatch_init(&b, fn, ctx);
	do {
		r = ipfix_message(t, from, c, now_ns, &b, &flows);
	} while (r >= 0 && !cur_empty(c));
	flowbatch_flush(&b);
	return r < 0 ? r : flows;
}
