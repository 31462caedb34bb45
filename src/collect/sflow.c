#include "collect/sflow.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "collect/decode.h"
#include "collect/flowbatch.h"

/* sample and record types: enterprise 0, format n */
#define SFLOW_FLOW_SAMPLE		1u
#define SFLOW_COUNTER_SAMPLE		2u
#define SFLOW_FLOW_SAMPLE_EXP		3u
#define SFLOW_COUNTER_SAMPLE_EXP	4u
#define SFLOW_REC_RAW_HEADER		1u
#define SFLOW_REC_IPV4			3u
#define SFLOW_REC_IPV6			4u
#define SFLOW_CTR_GENERIC		1u

/* raw header protocols */
#define SFLOW_HDR_ETHERNET		1u
#define SFLOW_HDR_IPV4			11u
#define SFLOW_HDR_IPV6			12u

struct sflow_dgram {
	struct exporter *e;
	struct flowbatch *b;
	uint64_t now_ns;
	int flows;
};

void
sflow_ifaces_free(struct sflow_ifaces *s)
{
	free(s);
}

const struct sflow_iface *
sflow_iface_find(const struct exporter *e, uint32_t ifindex)
{
	if (e->ifaces == NULL)
		return NULL;
	for (size_t k = 0; k < e->ifaces->n; k++)
		if (e->ifaces->i[k].ifindex == ifindex)
			return &e->ifaces->i[k];
	return NULL;
}

static bool
sflow_read_addr(struct cursor *c, struct ipaddr *a)
{
	uint32_t type;

	memset(a, 0, sizeof(*a));
	if (!cur_be32(c, &type))
		return false;
	if (type == 1) {
		a->af = AF_INET;
		return cur_bytes(c, a->a, 4);
	}
	if (type == 2) {
		a->af = AF_INET6;
		return cur_bytes(c, a->a, 16);
	}
	return false;
}

/* Raw packet header record: protocol, frame length, stripped, header. */
static int
sflow_raw_header(struct cursor *c, struct flow_rec *r)
{
	uint32_t proto, frame_len, stripped, hlen;
	struct cursor hdr;
	enum decode_link link;

	if (!cur_be32(c, &proto) || !cur_be32(c, &frame_len) || !cur_be32(c, &stripped) ||
	    !cur_be32(c, &hlen) || !cur_sub(c, hlen, &hdr))
		return -EINVAL;
	if (proto == SFLOW_HDR_ETHERNET)
		link = DECODE_ETHER;
	else if (proto == SFLOW_HDR_IPV4 || proto == SFLOW_HDR_IPV6)
		link = DECODE_RAW;
	else
		return -ENOENT;
	return decode_packet(&hdr, link, r);
}

/* Sampled IPv4 (0:3) / IPv6 (0:4) records: already parsed by the agent. */
static int
sflow_sampled_ip(struct cursor *c, uint32_t fmt, struct flow_rec *r)
{
	uint32_t len, proto, sport, dport, flags;
	size_t alen = fmt == SFLOW_REC_IPV4 ? 4 : 16;

	memset(r, 0, sizeof(*r));
	r->src.af = r->dst.af = fmt == SFLOW_REC_IPV4 ? AF_INET : AF_INET6;
	if (!cur_be32(c, &len) || !cur_be32(c, &proto) || !cur_bytes(c, r->src.a, alen) ||
	    !cur_bytes(c, r->dst.a, alen) || !cur_be32(c, &sport) || !cur_be32(c, &dport) ||
	    !cur_be32(c, &flags))
		return -EINVAL;
	r->bytes = len;
	r->packets = 1;
	r->flags = FLOWREC_PACKET;
	r->proto = (uint8_t)proto;
	r->sport = (uint16_t)sport;
	r->dport = (uint16_t)dport;
	r->tcp_flags = (uint8_t)flags;
	r->syns = r->proto == 6 && (flags & 0x12u) == 0x02u;
	return 0;
}

/* Flow records: format, length, body. The first packet-describing record wins. */
static int
sflow_flow_records(struct sflow_dgram *d, struct cursor *c, uint32_t nrec, uint32_t rate)
{
	bool have = false;

	for (uint32_t i = 0; i < nrec; i++) {
		uint32_t fmt, len;
		struct cursor rec;
		struct flow_rec *r;
		int err = -ENOENT;

		if (!cur_be32(c, &fmt) || !cur_be32(c, &len) || !cur_sub(c, len, &rec))
			return -EINVAL;
		if (have)
			continue;
		r = flowbatch_slot(d->b);
		if (fmt == SFLOW_REC_RAW_HEADER)
			err = sflow_raw_header(&rec, r);
		else if (fmt == SFLOW_REC_IPV4 || fmt == SFLOW_REC_IPV6)
			err = sflow_sampled_ip(&rec, fmt, r);
		if (err == 0) {
			r->time_ns = d->now_ns;
			flowbatch_push(d->b, d->e, rate ? rate : 1);
			d->flows++;
			have = true;
		}
	}
	return 0;
}

static int
sflow_flow_sample(struct sflow_dgram *d, struct cursor *c, bool expanded)
{
	uint32_t seq, rate, pool, drops, nrec;
	/* expanded: source id type + index, input/output format + value */
	size_t skip_src = expanded ? 8 : 4, skip_if = expanded ? 16 : 8;

	if (!cur_be32(c, &seq) || !cur_skip(c, skip_src) || !cur_be32(c, &rate) ||
	    !cur_be32(c, &pool) || !cur_be32(c, &drops) || !cur_skip(c, skip_if) ||
	    !cur_be32(c, &nrec))
		return -EINVAL;
	if (rate != 0)
		d->e->sampling_seen = rate;	/* shown per exporter: sFlow carries it per sample */
	return sflow_flow_records(d, c, nrec, rate);
}

static struct sflow_iface *
sflow_iface_slot(struct exporter *e, uint32_t ifindex)
{
	struct sflow_ifaces *s = e->ifaces;

	if (s == NULL && (s = e->ifaces = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	for (size_t k = 0; k < s->n; k++)
		if (s->i[k].ifindex == ifindex)
			return &s->i[k];
	if (s->n >= LIMIT_COLLECT_SFLOW_IFACES)
		return NULL;
	s->i[s->n].ifindex = ifindex;
	return &s->i[s->n++];
}

/* Generic interface counters (RFC 2863 subset), 88 bytes. */
static int
sflow_generic_counters(struct sflow_dgram *d, struct cursor *c)
{
	struct sflow_iface v = { 0 }, *slot;
	uint32_t type, dir, status, in_mc, in_bc, unknown, out_mc, out_bc, promisc;

	if (!cur_be32(c, &v.ifindex) || !cur_be32(c, &type) || !cur_be64(c, &v.speed) ||
	    !cur_be32(c, &dir) || !cur_be32(c, &status) || !cur_be64(c, &v.in_octets) ||
	    !cur_be32(c, &v.in_ucast) || !cur_be32(c, &in_mc) || !cur_be32(c, &in_bc) ||
	    !cur_be32(c, &v.in_discards) || !cur_be32(c, &v.in_errors) ||
	    !cur_be32(c, &unknown) || !cur_be64(c, &v.out_octets) ||
	    !cur_be32(c, &v.out_ucast) || !cur_be32(c, &out_mc) || !cur_be32(c, &out_bc) ||
	    !cur_be32(c, &v.out_discards) || !cur_be32(c, &v.out_errors) ||
	    !cur_be32(c, &promisc))
		return -EINVAL;
	slot = sflow_iface_slot(d->e, v.ifindex);
	if (slot == NULL)
		return 0;	/* table full: newer interfaces are not tracked */
	v.updated_ns = d->now_ns;
	*slot = v;
	return 0;
}

static int
sflow_counter_sample(struct sflow_dgram *d, struct cursor *c, bool expanded)
{
	uint32_t seq, nrec;

	if (!cur_be32(c, &seq) || !cur_skip(c, expanded ? 8 : 4) || !cur_be32(c, &nrec))
		return -EINVAL;
	for (uint32_t i = 0; i < nrec; i++) {
		uint32_t fmt, len;
		struct cursor rec;

		if (!cur_be32(c, &fmt) || !cur_be32(c, &len) || !cur_sub(c, len, &rec))
			return -EINVAL;
		if (fmt == SFLOW_CTR_GENERIC && sflow_generic_counters(d, &rec) < 0)
			return -EINVAL;
	}
	return 0;
}

static int
sflow_sample(struct sflow_dgram *d, struct cursor *c)
{
	uint32_t type, len;
	struct cursor s;

	if (!cur_be32(c, &type) || !cur_be32(c, &len) || !cur_sub(c, len, &s))
		return -EINVAL;
	switch (type) {	/* enterprise 0 only; others are skipped whole */
	case SFLOW_FLOW_SAMPLE:
	case SFLOW_FLOW_SAMPLE_EXP:
		return sflow_flow_sample(d, &s, type == SFLOW_FLOW_SAMPLE_EXP);
	case SFLOW_COUNTER_SAMPLE:
	case SFLOW_COUNTER_SAMPLE_EXP:
		return sflow_counter_sample(d, &s, type == SFLOW_COUNTER_SAMPLE_EXP);
	default:
		return 0;
	}
}

int
sflow_parse(struct exporter_table *t, const struct ipaddr *from, struct cursor *c,
    uint64_t now_ns, flowrec_sink_fn fn, void *ctx)
{
	uint32_t version, sub_agent, seq, uptime, nsamples;
	struct ipaddr agent;
	struct sflow_dgram d = { .now_ns = now_ns };
	struct flowbatch b;
	int r = 0;

	if (!cur_be32(c, &version) || version != 5 || !sflow_read_addr(c, &agent) ||
	    !cur_be32(c, &sub_agent) || !cur_be32(c, &seq) || !cur_be32(c, &uptime) ||
	    !cur_be32(c, &nsamples))
		return -EINVAL;
	d.e = exporter_get(t, from, &agent, sub_agent, EXPORTER_SFLOW, now_ns);
	if (d.e == NULL)
		return -ENOSPC;
	d.e->h.datagrams++;
	exporter_seq(d.e, seq, 1);
	flowbatch_init(&b, fn, ctx);
	d.b = &b;
	for (uint32_t i = 0; i < nsamples && r == 0; i++)
		r = sflow_sample(&d, c);
	if (r < 0)
		d.e->h.parse_errors++;
	flowbatch_flush(&b);
	return r < 0 ? r : d.flows;
}
