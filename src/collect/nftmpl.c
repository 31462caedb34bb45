#include "collect/nftmpl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/limits.h"

/* What decoding does with a field; resolved from the element id once. */
enum nftmpl_op {
	OP_SKIP,
	OP_BYTES,
	OP_PKTS,
	OP_BYTES_TOTAL,
	OP_PKTS_TOTAL,
	OP_PROTO,
	OP_TCPFLAGS,
	OP_SPORT,
	OP_DPORT,
	OP_SRC4,
	OP_DST4,
	OP_SRC6,
	OP_DST6,
	OP_ICMP,
	OP_END_UPTIME,
	OP_END_SEC,
	OP_END_MS,
	OP_SAMPLING,
	OP_PKT_INTERVAL,
	OP_PKT_SPACE,
	OP_FRAG_OFFSET,
	OP_START_MS,
	OP_RBYTES,		/* RFC 5103 reverse elements (PEN 29305) */
	OP_RPKTS,
	OP_RBYTES_TOTAL,
	OP_RPKTS_TOTAL,
	OP_RTCPFLAGS,
	OP_INS,			/* OP_INS + i: moat-ins element i (enum insie_id) */
	OP_INS_LAST = OP_INS + INSIE_ID__COUNT - 1,
};

_Static_assert(OP_INS_LAST <= UINT8_MAX, "ops must fit nftmpl_field.op");
_Static_assert(INSIE_ID__COUNT <= 32, "ins_present is a 32-bit mask");

/* Information element ids (NetFlow v9 field types share the numbering). */
struct ie_map {
	uint16_t id;
	uint8_t op;
	uint8_t need_len;	/* exact length required; 0 = any integer 1..8 */
};

static const struct ie_map ie_table[] = {
	{ 1, OP_BYTES, 0 },		/* octetDeltaCount / IN_BYTES */
	{ 2, OP_PKTS, 0 },		/* packetDeltaCount / IN_PKTS */
	{ 4, OP_PROTO, 1 },		/* protocolIdentifier */
	{ 6, OP_TCPFLAGS, 0 },		/* tcpControlBits (1 or 2 bytes) */
	{ 7, OP_SPORT, 2 },		/* sourceTransportPort */
	{ 8, OP_SRC4, 4 },		/* sourceIPv4Address */
	{ 11, OP_DPORT, 2 },		/* destinationTransportPort */
	{ 12, OP_DST4, 4 },		/* destinationIPv4Address */
	{ 21, OP_END_UPTIME, 4 },	/* flowEndSysUpTime / LAST_SWITCHED */
	{ 27, OP_SRC6, 16 },		/* sourceIPv6Address */
	{ 28, OP_DST6, 16 },		/* destinationIPv6Address */
	{ 32, OP_ICMP, 2 },		/* icmpTypeCodeIPv4 */
	{ 34, OP_SAMPLING, 0 },		/* samplingInterval */
	{ 50, OP_SAMPLING, 0 },		/* samplerRandomInterval */
	{ 85, OP_BYTES_TOTAL, 0 },	/* octetTotalCount */
	{ 86, OP_PKTS_TOTAL, 0 },	/* packetTotalCount */
	{ 88, OP_FRAG_OFFSET, 2 },	/* fragmentOffset */
	{ 139, OP_ICMP, 2 },		/* icmpTypeCodeIPv6 */
	{ 151, OP_END_SEC, 4 },		/* flowEndSeconds */
	{ 152, OP_START_MS, 8 },	/* flowStartMilliseconds */
	{ 153, OP_END_MS, 8 },		/* flowEndMilliseconds */
	{ 305, OP_PKT_INTERVAL, 0 },	/* samplingPacketInterval */
	{ 306, OP_PKT_SPACE, 0 },	/* samplingPacketSpace */
};

struct nftmpl_cache {
	size_t n;
	struct nftmpl *t[LIMIT_COLLECT_TEMPLATES];	/* sorted by id */
};

struct nftmpl_cache *
nftmpl_cache_new(void)
{
	return calloc(1, sizeof(struct nftmpl_cache));
}

void
nftmpl_cache_free(struct nftmpl_cache *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->n; i++)
		free(c->t[i]);
	free(c);
}

size_t
nftmpl_cache_count(const struct nftmpl_cache *c)
{
	return c ? c->n : 0;
}

/* Index of id in the sorted array, or where it would go. */
static size_t
cache_pos(const struct nftmpl_cache *c, uint16_t id)
{
	size_t lo = 0, hi = c->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (c->t[mid]->id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const struct nftmpl *
nftmpl_find(const struct nftmpl_cache *c, uint16_t id)
{
	size_t i;

	if (c == NULL)
		return NULL;
	i = cache_pos(c, id);
	return i < c->n && c->t[i]->id == id ? c->t[i] : NULL;
}

/* Store t (taking ownership), replacing a template with the same id. */
static int
cache_put(struct nftmpl_cache *c, struct nftmpl *t)
{
	size_t i = cache_pos(c, t->id);

	if (i < c->n && c->t[i]->id == t->id) {
		free(c->t[i]);
		c->t[i] = t;
		return 0;
	}
	if (c->n >= LIMIT_COLLECT_TEMPLATES) {
		free(t);
		return -ENOSPC;
	}
	memmove(&c->t[i + 1], &c->t[i], (c->n - i) * sizeof(c->t[0]));
	c->t[i] = t;
	c->n++;
	return 0;
}

static void
cache_del(struct nftmpl_cache *c, uint16_t id)
{
	size_t i = cache_pos(c, id);

	if (i >= c->n || c->t[i]->id != id)
		return;
	free(c->t[i]);
	memmove(&c->t[i], &c->t[i + 1], (c->n - i - 1) * sizeof(c->t[0]));
	c->n--;
}

/* IPFIX "withdraw all" (template id = set id, count 0): of one kind only. */
static void
cache_del_kind(struct nftmpl_cache *c, bool options)
{
	size_t k = 0;

	for (size_t i = 0; i < c->n; i++) {
		if (c->t[i]->options == options)
			free(c->t[i]);
		else
			c->t[k++] = c->t[i];
	}
	c->n = k;
}

/* A moat-ins element: any unsigned integer of 1..8 bytes, ids 1..INSIE_ID__COUNT-1. */
static uint8_t
field_op_ins(uint16_t ie, uint16_t len)
{
	if (ie == 0 || ie >= INSIE_ID__COUNT || len == 0 || len > 8)
		return OP_SKIP;
	return (uint8_t)(OP_INS + ie);
}

/* RFC 5103: the reverse of a counter is the same element under PEN 29305. */
#define REVERSE_PEN 29305u

static uint8_t
field_op_reverse(uint16_t ie, uint16_t len)
{
	if (len == 0 || len > 8)
		return OP_SKIP;
	switch (ie) {
	case 1: return OP_RBYTES;		/* reverseOctetDeltaCount */
	case 2: return OP_RPKTS;		/* reversePacketDeltaCount */
	case 6: return OP_RTCPFLAGS;		/* reverseTcpControlBits */
	case 85: return OP_RBYTES_TOTAL;	/* reverseOctetTotalCount */
	case 86: return OP_RPKTS_TOTAL;		/* reversePacketTotalCount */
	default: return OP_SKIP;
	}
}

static uint8_t
field_op(uint16_t ie, uint32_t pen, uint16_t len)
{
	if (len == NFTMPL_VARLEN)
		return OP_SKIP;
	if (pen == INSIE_PEN)
		return field_op_ins(ie, len);
	if (pen == REVERSE_PEN)
		return field_op_reverse(ie, len);
	if (pen != 0)
		return OP_SKIP;
	for (size_t i = 0; i < sizeof(ie_table) / sizeof(ie_table[0]); i++) {
		const struct ie_map *m = &ie_table[i];

		if (m->id != ie)
			continue;
		if (m->need_len ? len != m->need_len : (len == 0 || len > 8))
			return OP_SKIP;
		/* tcpControlBits: 1 or 2 bytes; 2-byte also in the any-width path. */
		return m->op;
	}
	return OP_SKIP;
}

/*
 * Read one field specifier. IPFIX: the top bit of the id says an enterprise
 * number follows. v9: no enterprise numbers, no variable length.
 */
static int
read_field(struct cursor *c, enum nftmpl_dialect d, struct nftmpl_field *f, uint32_t *min_len)
{
	uint16_t id, len;
	uint32_t pen = 0;

	if (!cur_be16(c, &id) || !cur_be16(c, &len))
		return -EINVAL;
	if (d == NFTMPL_IPFIX && (id & 0x8000u)) {
		if (!cur_be32(c, &pen))
			return -EINVAL;
		id &= 0x7fffu;
	}
	if (d == NFTMPL_V9 && len == NFTMPL_VARLEN)
		return -EINVAL;
	if (len != NFTMPL_VARLEN && len > LIMIT_COLLECT_FIELD_LEN)
		return -EINVAL;
	f->len = len;
	f->op = field_op(id, pen, len);
	*min_len += len == NFTMPL_VARLEN ? 1u : len;
	return 0;
}

/* Parse fields into a freshly allocated template. */
static int
read_template(struct cursor *c, enum nftmpl_dialect d, uint16_t id, uint16_t nfields,
    bool options, struct nftmpl **ret)
{
	struct nftmpl *t;
	int r;

	if (nfields == 0 || nfields > LIMIT_COLLECT_TEMPLATE_FIELDS)
		return -EINVAL;
	t = calloc(1, sizeof(*t) + (size_t)nfields * sizeof(t->f[0]));
	if (t == NULL)
		return -ENOMEM;
	t->id = id;
	t->nfields = nfields;
	t->options = options;
	for (uint16_t i = 0; i < nfields; i++) {
		r = read_field(c, d, &t->f[i], &t->min_len);
		if (r < 0)
			goto fail;
	}
	/* A record of zero bytes would make a data set loop forever. */
	if (t->min_len == 0) {
		r = -EINVAL;
		goto fail;
	}
	*ret = t;
	return 0;
fail:
	free(t);
	return r;
}

/* Template ids below 256 name sets, not templates. */
static bool
template_id_ok(uint16_t id)
{
	return id >= 256;
}

/* One template record header; returns the count of fields and options scope. */
static int
parse_one(struct nftmpl_cache *c, struct cursor *set, enum nftmpl_dialect d, bool options)
{
	uint16_t id, count, scope = 0;
	struct nftmpl *t;
	int r;

	if (!cur_be16(set, &id) || !cur_be16(set, &count))
		return -EINVAL;
	if (d == NFTMPL_V9 && options) {
		/* v9 options: scope length and option length in bytes. */
		uint16_t optlen;

		scope = count;
		if (!cur_be16(set, &optlen) || scope % 4 || optlen % 4)
			return -EINVAL;
		count = (uint16_t)(((uint32_t)scope + optlen) / 4);
	} else if (d == NFTMPL_IPFIX && options && count > 0) {
		if (!cur_be16(set, &scope) || scope == 0 || scope > count)
			return -EINVAL;
	}
	if (d == NFTMPL_IPFIX && count == 0) {
		/* Withdrawal; id 2/3 withdraws every template of the kind. */
		if (id == (options ? 3 : 2))
			cache_del_kind(c, options);
		else if (template_id_ok(id))
			cache_del(c, id);
		else
			return -EINVAL;
		return 0;
	}
	if (!template_id_ok(id))
		return -EINVAL;
	r = read_template(set, d, id, count, options, &t);
	if (r < 0)
		return r;
	r = cache_put(c, t);
	return r < 0 ? r : 1;
}

int
nftmpl_parse_set(struct nftmpl_cache *c, struct cursor *set, enum nftmpl_dialect d, bool options)
{
	int stored = 0, r;

	/* Anything shorter than a template header is padding. */
	while (cur_left(set) >= 4) {
		uint8_t b0, b1;

		/* v9 pads with zeros; a zero id is padding, not a template. */
		if (cur_peek_u8(set, 0, &b0) && cur_peek_u8(set, 1, &b1) && b0 == 0 && b1 == 0 &&
		    d == NFTMPL_V9)
			break;
		r = parse_one(c, set, d, options);
		if (r < 0)
			return r;
		stored += r;
	}
	return stored;
}

static void
set_addr(struct ipaddr *a, int af, const uint8_t *p, size_t n)
{
	memset(a, 0, sizeof(*a));
	a->af = (uint8_t)af;
	memcpy(a->a, p, n);
}

static uint64_t
min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* Apply one fixed-length field's value. v holds its bytes. */
static void
apply(uint8_t op, struct cursor *v, struct flow_rec *r, struct nftmpl_extra *x)
{
	uint64_t n = 0;

	switch (op) {
	case OP_SRC4:
		set_addr(&r->src, AF_INET, cur_ptr(v), 4);
		return;
	case OP_DST4:
		set_addr(&r->dst, AF_INET, cur_ptr(v), 4);
		return;
	case OP_SRC6:
		set_addr(&r->src, AF_INET6, cur_ptr(v), 16);
		return;
	case OP_DST6:
		set_addr(&r->dst, AF_INET6, cur_ptr(v), 16);
		return;
	default:
		break;
	}
	if (!cur_uint_n(v, cur_left(v), &n))
		return;
	if (op > OP_INS && op <= OP_INS_LAST) {
		x->ins[op - OP_INS] = n;
		x->ins_present |= 1u << (op - OP_INS);
		return;
	}
	switch (op) {
	case OP_BYTES:
		r->bytes = n;
		break;
	case OP_PKTS:
		r->packets = n;
		break;
	case OP_BYTES_TOTAL:
		if (r->bytes == 0)
			r->bytes = n;
		break;
	case OP_PKTS_TOTAL:
		if (r->packets == 0)
			r->packets = n;
		break;
	case OP_PROTO:
		r->proto = (uint8_t)n;
		break;
	case OP_TCPFLAGS:
		r->tcp_flags = (uint8_t)n;
		break;
	case OP_SPORT:
		r->sport = (uint16_t)n;
		break;
	case OP_DPORT:
		r->dport = (uint16_t)n;
		break;
	case OP_ICMP:
		if (n)
			r->dport = (uint16_t)n;
		break;
	case OP_END_UPTIME:
		x->end_uptime_ms = (uint32_t)n;
		x->has_uptime = true;
		break;
	case OP_END_SEC:
		x->end_ms = n * 1000u;
		break;
	case OP_END_MS:
		x->end_ms = n;
		break;
	case OP_START_MS:
		x->start_ms = n;
		break;
	case OP_RBYTES:
		x->rbytes = n;
		x->has_reverse = true;
		break;
	case OP_RPKTS:
		x->rpackets = n;
		x->has_reverse = true;
		break;
	case OP_RBYTES_TOTAL:
		if (x->rbytes == 0)
			x->rbytes = n;
		x->has_reverse = true;
		break;
	case OP_RPKTS_TOTAL:
		if (x->rpackets == 0)
			x->rpackets = n;
		x->has_reverse = true;
		break;
	case OP_RTCPFLAGS:
		x->rtcp_flags = (uint8_t)n;
		break;
	case OP_SAMPLING:
		x->sampling = (uint32_t)min_u64(n, UINT32_MAX);
		break;
	case OP_PKT_INTERVAL:
		x->pkt_interval = (uint32_t)min_u64(n, UINT32_MAX);
		break;
	case OP_PKT_SPACE:
		x->pkt_space = (uint32_t)min_u64(n, UINT32_MAX);
		break;
	case OP_FRAG_OFFSET:
		if (n & 0x1fffu)
			r->flags |= FLOWREC_FRAG;
		break;
	default:
		break;
	}
}

/* IPFIX variable length: one byte, or 255 followed by two bytes. */
static bool
read_varlen(struct cursor *rec, uint16_t *ret)
{
	uint8_t l8;

	if (!cur_u8(rec, &l8))
		return false;
	if (l8 < 255) {
		*ret = l8;
		return true;
	}
	return cur_be16(rec, ret);
}

bool
nftmpl_decode(const struct nftmpl *t, struct cursor *rec, struct flow_rec *r,
    struct nftmpl_extra *x)
{
	memset(r, 0, sizeof(*r));
	memset(x, 0, sizeof(*x));
	for (uint16_t i = 0; i < t->nfields; i++) {
		const struct nftmpl_field *f = &t->f[i];
		uint16_t len = f->len;
		struct cursor v;

		if (len == NFTMPL_VARLEN && !read_varlen(rec, &len))
			return false;
		if (!cur_sub(rec, len, &v))
			return false;
		if (f->op != OP_SKIP)
			apply(f->op, &v, r, x);
	}
	return true;
}

bool
nftmpl_reverse(const struct flow_rec *fwd, const struct nftmpl_extra *x, struct flow_rec *ret)
{
	if (!x->has_reverse || (x->rbytes == 0 && x->rpackets == 0))
		return false;
	*ret = *fwd;
	ret->src = fwd->dst;
	ret->dst = fwd->src;
	if (fwd->proto == 6 || fwd->proto == 17 || fwd->proto == 132) {
		ret->sport = fwd->dport;
		ret->dport = fwd->sport;
	}
	ret->bytes = x->rbytes;
	ret->packets = x->rpackets;
	ret->tcp_flags = x->rtcp_flags;
	ret->syns = 0;
	return true;
}

uint32_t
nftmpl_extra_rate(const struct nftmpl_extra *x)
{
	if (x->pkt_interval) {
		uint64_t rate = ((uint64_t)x->pkt_interval + x->pkt_space) / x->pkt_interval;

		return (uint32_t)min_u64(rate, UINT32_MAX);
	}
	return x->sampling;
}
