#include "collect/netflow5.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "collect/flowbatch.h"

struct nf5_header {
	uint16_t count;
	uint32_t uptime_ms;
	uint64_t export_ns;
	uint32_t sequence;
	uint16_t engine;
	uint16_t sampling;
};

static bool
nf5_read_header(struct cursor *c, struct nf5_header *h)
{
	uint16_t version;
	uint32_t secs, nsecs;
	uint8_t etype, eid;

	if (!cur_be16(c, &version) || version != 5 || !cur_be16(c, &h->count) ||
	    !cur_be32(c, &h->uptime_ms) || !cur_be32(c, &secs) || !cur_be32(c, &nsecs) ||
	    !cur_be32(c, &h->sequence) || !cur_u8(c, &etype) || !cur_u8(c, &eid) ||
	    !cur_be16(c, &h->sampling))
		return false;
	h->export_ns = (uint64_t)secs * 1000000000u + nsecs;
	h->engine = (uint16_t)(etype << 8 | eid);
	return true;
}

static void
v4(struct ipaddr *a, uint32_t host)
{
	*a = ipaddr_v4(host);
}

/* Wall time of a router-uptime timestamp, through the header's clocks. */
static uint64_t
nf5_wall_ns(const struct nf5_header *h, uint32_t at_ms)
{
	int64_t back_ms = (int32_t)(h->uptime_ms - at_ms);
	int64_t t = (int64_t)h->export_ns - back_ms * 1000000;

	return t > 0 ? (uint64_t)t : 0;
}

static bool
nf5_read_record(struct cursor *c, const struct nf5_header *h, struct flow_rec *r)
{
	uint32_t src, dst, pkts, octets, first, last;
	uint8_t flags, proto;

	memset(r, 0, sizeof(*r));
	if (!cur_be32(c, &src) || !cur_be32(c, &dst) || !cur_skip(c, 8) ||
	    !cur_be32(c, &pkts) || !cur_be32(c, &octets) || !cur_be32(c, &first) ||
	    !cur_be32(c, &last) || !cur_be16(c, &r->sport) || !cur_be16(c, &r->dport) ||
	    !cur_skip(c, 1) || !cur_u8(c, &flags) || !cur_u8(c, &proto) || !cur_skip(c, 9))
		return false;
	v4(&r->src, src);
	v4(&r->dst, dst);
	r->packets = pkts;
	r->bytes = octets;
	r->tcp_flags = flags;
	r->proto = proto;
	r->time_ns = nf5_wall_ns(h, last);
	/* v5 exporters put ICMP type/code in the destination port already. */
	return true;
}

/* Interval 0 or 1 means unsampled; the mode bits do not change the rate. */
static uint32_t
nf5_rate(uint16_t sampling)
{
	uint32_t interval = sampling & 0x3fffu;

	return interval > 1 ? interval : 0;
}

int
nf5_parse(struct exporter_table *t, const struct ipaddr *from, struct cursor *c,
    uint64_t now_ns, flowrec_sink_fn fn, void *ctx)
{
	struct nf5_header h;
	struct exporter *e;
	struct flowbatch b;
	struct cursor recs;

	if (!nf5_read_header(c, &h))
		return -EINVAL;
	e = exporter_get(t, from, from, h.engine, EXPORTER_NF5, now_ns);
	if (e == NULL)
		return -ENOSPC;
	e->h.datagrams++;
	if (h.count == 0 || h.count > NF5_MAX_RECORDS ||
	    !cur_sub(c, (size_t)h.count * NF5_RECORD_LEN, &recs)) {
		e->h.parse_errors++;
		return -EINVAL;
	}
	exporter_seq(e, h.sequence, h.count);
	if (nf5_rate(h.sampling))
		e->sampling = nf5_rate(h.sampling);
	flowbatch_init(&b, fn, ctx);
	for (unsigned i = 0; i < h.count; i++) {
		if (!nf5_read_record(&recs, &h, flowbatch_slot(&b)))
			break;	/* cannot happen: the sub-cursor holds count records */
		flowbatch_push(&b, e, 0);
	}
	flowbatch_flush(&b);
	return h.count;
}
