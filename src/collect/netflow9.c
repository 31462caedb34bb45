#include "collect/netflow9.h"

#include <errno.h>

#include "collect/flowbatch.h"
#include "collect/nftmpl.h"

struct nf9_header {
	uint32_t uptime_ms;
	uint64_t export_ns;
	uint32_t sequence;
	uint32_t source_id;
};

static bool
nf9_read_header(struct cursor *c, struct nf9_header *h)
{
	uint16_t version, count;
	uint32_t secs;

	if (!cur_be16(c, &version) || version != 9 || !cur_be16(c, &count) ||
	    !cur_be32(c, &h->uptime_ms) || !cur_be32(c, &secs) || !cur_be32(c, &h->sequence) ||
	    !cur_be32(c, &h->source_id))
		return false;
	h->export_ns = (uint64_t)secs * 1000000000u;
	return true;
}

static uint64_t
nf9_rec_time(const struct nf9_header *h, const struct nftmpl_extra *x)
{
	int64_t t;

	if (x->end_ms)
		return x->end_ms * 1000000u;
	if (!x->has_uptime)
		return h->export_ns;
	t = (int64_t)h->export_ns - (int64_t)(int32_t)(h->uptime_ms - x->end_uptime_ms) * 1000000;
	return t > 0 ? (uint64_t)t : 0;
}

/* Options data: only the sampling rate is of interest. */
static void
nf9_options_data(struct exporter *e, const struct nftmpl *t, struct cursor *set)
{
	struct flow_rec r;
	struct nftmpl_extra x;

	while (cur_left(set) >= t->min_len && nftmpl_decode(t, set, &r, &x)) {
		uint32_t rate = nftmpl_extra_rate(&x);

		if (rate)
			e->sampling = rate;
	}
}

static void
nf9_flow_data(struct exporter *e, const struct nf9_header *h, const struct nftmpl *t,
    struct cursor *set, struct flowbatch *b, int *nrec)
{
	struct nftmpl_extra x;

	/* What is left past the last whole record is padding. */
	while (cur_left(set) >= t->min_len) {
		struct flow_rec *r = flowbatch_slot(b);

		if (!nftmpl_decode(t, set, r, &x))
			break;
		r->time_ns = nf9_rec_time(h, &x);
		flowbatch_push(b, e, nftmpl_extra_rate(&x));
		(*nrec)++;
	}
}

static int
nf9_template_set(struct exporter *e, struct cursor *set, bool options)
{
	int r;

	if (e->tmpl == NULL && (e->tmpl = nftmpl_cache_new()) == NULL)
		return -ENOMEM;
	r = nftmpl_parse_set(e->tmpl, set, NFTMPL_V9, options);
	return r < 0 ? r : 0;
}

static void
nf9_data_set(struct exporter *e, const struct nf9_header *h, uint16_t id, struct cursor *set,
    struct flowbatch *b, int *nrec)
{
	const struct nftmpl *t = nftmpl_find(e->tmpl, id);

	if (t == NULL) {
		e->h.template_misses++;
		return;
	}
	if (t->options)
		nf9_options_data(e, t, set);
	else
		nf9_flow_data(e, h, t, set, b, nrec);
}

/* One flowset: id, length (including these 4 bytes), body. */
static int
nf9_flowset(struct exporter *e, const struct nf9_header *h, struct cursor *c,
    struct flowbatch *b, int *nrec)
{
	uint16_t id, len;
	struct cursor set;

	if (!cur_be16(c, &id) || !cur_be16(c, &len) || len < 4 || !cur_sub(c, len - 4u, &set))
		return -EINVAL;
	if (id == 0 || id == 1)
		return nf9_template_set(e, &set, id == 1);
	if (id >= 256)
		nf9_data_set(e, h, id, &set, b, nrec);
	return 0;	/* 2..255: reserved, skipped */
}

int
nf9_parse(struct exporter_table *t, const struct ipaddr *from, struct cursor *c,
    uint64_t now_ns, flowrec_sink_fn fn, void *ctx)
{
	struct nf9_header h;
	struct exporter *e;
	struct flowbatch b;
	int nrec = 0, r = 0;

	if (!nf9_read_header(c, &h))
		return -EINVAL;
	e = exporter_get(t, from, from, h.source_id, EXPORTER_NF9, now_ns);
	if (e == NULL)
		return -ENOSPC;
	e->h.datagrams++;
	exporter_seq(e, h.sequence, 1);
	flowbatch_init(&b, fn, ctx);
	/* Trailing bytes shorter than a flowset header are padding. */
	while (cur_left(c) >= 4) {
		r = nf9_flowset(e, &h, c, &b, &nrec);
		if (r < 0) {
			e->h.parse_errors++;
			break;
		}
	}
	flowbatch_flush(&b);
	return r < 0 ? r : nrec;
}
