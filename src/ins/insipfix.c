/*
 * insipfix: IPFIX export of connection events. See insipfix.h.
 */
#include "ins/insipfix.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "common/wbuf.h"
#include "common/strnum.h"

#define IPFIX_VERSION 10u
#define IPFIX_HDR 16u
#define IPFIX_SET_HDR 4u
#define IPFIX_SET_TEMPLATE 2u

struct ie {
	uint16_t id;
	uint16_t len;
	bool pen;		/* enterprise IE under INSIE_PEN (id: enum insie_id) */
};

/* The record layout; order here is the order on the wire. addr_src/dst are patched per family. */
enum { IE_SRC_ADDR = 5, IE_DST_ADDR = 7 };	/* indexes of the address fields below */
static const struct ie insipfix_fields[] = {
	{ 1, 8, false },	/* octetDeltaCount */
	{ 2, 8, false },	/* packetDeltaCount */
	{ 4, 1, false },	/* protocolIdentifier */
	{ 6, 2, false },	/* tcpControlBits */
	{ 7, 2, false },	/* sourceTransportPort */
	{ 8, 4, false },	/* sourceIPv4Address (v6: 27, 16) */
	{ 11, 2, false },	/* destinationTransportPort */
	{ 12, 4, false },	/* destinationIPv4Address (v6: 28, 16) */
	{ 152, 8, false },	/* flowStartMilliseconds */
	{ 153, 8, false },	/* flowEndMilliseconds */
	{ 136, 1, false },	/* flowEndReason */
	{ INSIE_ID_EVENT, 1, true },	/* moatInsEvent */
	{ INSIE_ID_CONN_ID, 8, true },	/* moatInsConnId */
	{ INSIE_ID_BYTES_IN, 8, true },	/* moatInsBytesInTotal */
	{ INSIE_ID_BYTES_OUT, 8, true }, /* moatInsBytesOutTotal */
	{ INSIE_ID_RTT_US, 4, true },	/* moatInsRttMicroseconds */
	{ INSIE_ID_RETRANS, 4, true },	/* moatInsRetransmits */
	{ INSIE_ID_SND_WND, 4, true },	/* moatInsSendWindow */
	{ INSIE_ID_RCV_SPACE, 4, true }, /* moatInsRecvSpace */
	{ INSIE_ID_RQUEUE, 4, true },	/* moatInsRecvQueue */
	{ INSIE_ID_WQUEUE, 4, true },	/* moatInsSendQueue */
	{ INSIE_ID_LAST_RECV_MS, 4, true }, /* moatInsLastRecvMs */
	{ INSIE_ID_LAST_SENT_MS, 4, true }, /* moatInsLastSentMs */
	{ INSIE_ID_HELD_MS, 4, true },	/* moatInsHeldMs */
	{ INSIE_ID_TTFB_MS, 4, true },	/* moatInsFirstByteMs */
	{ INSIE_ID_HEADERS_MS, 4, true }, /* moatInsHeadersMs */
};
#define INSIPFIX_NFIELDS (sizeof(insipfix_fields) / sizeof(insipfix_fields[0]))

struct insipfix {
	int fd;
	uint32_t domain;
	uint32_t seq;			/* data records sent so far (RFC 7011 §3.1) */
	uint64_t last_tmpl_s;
	bool tmpl_sent;
	size_t len;			/* bytes queued in msg, header included */
	uint32_t nrecs;			/* records queued */
	size_t set_off;			/* offset of the open data set's header, 0 if none */
	uint16_t set_id;		/* its template */
	uint64_t sent, errors;
	uint8_t msg[INSIPFIX_MSG_MAX];
};

static void
insipfix_put_template(struct wbuf *w, uint16_t id, bool v6)
{
	wb_uint_n(w, id, 2);
	wb_uint_n(w, INSIPFIX_NFIELDS, 2);
	for (size_t i = 0; i < INSIPFIX_NFIELDS; i++) {
		struct ie f = insipfix_fields[i];

		if (v6 && i == IE_SRC_ADDR)
			f = (struct ie){ 27, 16, false };
		if (v6 && i == IE_DST_ADDR)
			f = (struct ie){ 28, 16, false };
		wb_uint_n(w, f.pen ? (0x8000u | f.id) : f.id, 2);
		wb_uint_n(w, f.len, 2);
		if (f.pen)
			wb_uint_n(w, INSIE_PEN, 4);
	}
}

size_t
insipfix_encode_templates(uint8_t *buf, size_t cap)
{
	struct wbuf w = wb_init(buf, cap);
	size_t start;

	wb_uint_n(&w, IPFIX_SET_TEMPLATE, 2);
	start = wb_len(&w);
	wb_uint_n(&w, 0, 2);	/* set length, patched below */
	insipfix_put_template(&w, INSIPFIX_TMPL_V4, false);
	insipfix_put_template(&w, INSIPFIX_TMPL_V6, true);
	if (!wb_ok(&w))
		return 0;
	wb_patch_u16(buf + start, (uint16_t)wb_len(&w));
	return wb_len(&w);
}

static size_t
insipfix_addr_len(const struct ins_addr *a)
{
	return a->family == INS_AF_INET ? 4 : 16;
}

size_t
insipfix_encode_record(const struct insipfix_rec *r, uint8_t *buf, size_t cap)
{
	struct wbuf w = wb_init(buf, cap);

	if (r->peer.family != r->local.family)
		return 0;
	wb_uint_n(&w, r->in_delta, 8);
	wb_uint_n(&w, r->pkts_delta, 8);
	wb_uint_n(&w, 6, 1);	/* TCP */
	wb_uint_n(&w, r->tcp_flags, 2);
	wb_uint_n(&w, r->peer.port, 2);
	wb_bytes(&w, r->peer.addr, insipfix_addr_len(&r->peer));
	wb_uint_n(&w, r->local.port, 2);
	wb_bytes(&w, r->local.addr, insipfix_addr_len(&r->local));
	wb_uint_n(&w, r->start_ms, 8);
	wb_uint_n(&w, r->end_ms, 8);
	wb_uint_n(&w, r->end_reason, 1);
	wb_uint_n(&w, r->event, 1);
	wb_uint_n(&w, r->conn_id, 8);
	wb_uint_n(&w, r->in_total, 8);
	wb_uint_n(&w, r->out_total, 8);
	wb_uint_n(&w, r->rtt_us, 4);
	wb_uint_n(&w, r->retrans, 4);
	wb_uint_n(&w, r->snd_wnd, 4);
	wb_uint_n(&w, r->rcv_wnd, 4);
	wb_uint_n(&w, r->rqueue, 4);
	wb_uint_n(&w, r->wqueue, 4);
	wb_uint_n(&w, r->last_recv_ms, 4);
	wb_uint_n(&w, r->last_sent_ms, 4);
	wb_uint_n(&w, r->held_ms, 4);
	wb_uint_n(&w, r->timed ? r->ttfb_ms : INSIPFIX_UNKNOWN_MS, 4);
	wb_uint_n(&w, r->timed ? r->headers_ms : INSIPFIX_UNKNOWN_MS, 4);
	return wb_ok(&w) ? wb_len(&w) : 0;
}

void
insipfix_encode_header(uint8_t *buf, size_t len, uint32_t export_s, uint32_t seq,
		       uint32_t domain_id)
{
	struct wbuf w = wb_init(buf, IPFIX_HDR);

	wb_uint_n(&w, IPFIX_VERSION, 2);
	wb_uint_n(&w, len, 2);
	wb_uint_n(&w, export_s, 4);
	wb_uint_n(&w, seq, 4);
	wb_uint_n(&w, domain_id, 4);
}

/* Parse "ADDR:PORT" / "[ADDR6]:PORT". */
static int
insipfix_parse_dest(const char *dest, struct sockaddr_storage *ss, socklen_t *ret_len)
{
	char host[64];
	const char *colon, *h = dest;
	size_t hl;
	uint64_t port;

	if (*dest == '[') {
		const char *end = strchr(dest, ']');

		if (!end || end[1] != ':')
			return -EINVAL;
		h = dest + 1;
		hl = (size_t)(end - h);
		colon = end + 1;
	} else {
		colon = strrchr(dest, ':');
		if (!colon)
			return -EINVAL;
		hl = (size_t)(colon - dest);
	}
	if (hl == 0 || hl >= sizeof(host) || strnum_u64(colon + 1, 1, 65535, &port) < 0)
		return -EINVAL;
	memcpy(host, h, hl);
	host[hl] = '\0';
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &((struct sockaddr_in *)ss)->sin_addr) == 1) {
		((struct sockaddr_in *)ss)->sin_family = AF_INET;
		((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
		*ret_len = sizeof(struct sockaddr_in);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)ss)->sin6_addr) == 1) {
		((struct sockaddr_in6 *)ss)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
		*ret_len = sizeof(struct sockaddr_in6);
		return 0;
	}
	return -EINVAL;
}

int
insipfix_open(struct insipfix **ret, const char *dest, uint32_t domain_id)
{
	struct sockaddr_storage ss;
	socklen_t len;
	struct insipfix *x;
	int r;

	r = insipfix_parse_dest(dest, &ss, &len);
	if (r < 0)
		return r;
	x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	x->fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (x->fd < 0 || connect(x->fd, (struct sockaddr *)&ss, len) < 0) {
		r = -errno;
		insipfix_close(x);
		return r;
	}
	x->domain = domain_id;
	x->len = IPFIX_HDR;
	*ret = x;
	return 0;
}

void
insipfix_close(struct insipfix *x)
{
	if (!x)
		return;
	if (x->fd >= 0)
		close(x->fd);
	free(x);
}

void
insipfix_counts(const struct insipfix *x, uint64_t *ret_sent, uint64_t *ret_errors)
{
	*ret_sent = x->sent;
	*ret_errors = x->errors;
}

/* Write the open data set's length; no set is open afterwards. */
static void
insipfix_close_set(struct insipfix *x)
{
	size_t n;

	if (!x->set_off)
		return;
	n = x->len - x->set_off;
	x->msg[x->set_off + 2] = (uint8_t)(n >> 8);
	x->msg[x->set_off + 3] = (uint8_t)n;
	x->set_off = 0;
}

static void
insipfix_send(struct insipfix *x, uint64_t now_s)
{
	insipfix_close_set(x);
	if (x->len <= IPFIX_HDR)
		return;
	insipfix_encode_header(x->msg, x->len, (uint32_t)now_s, x->seq, x->domain);
	if (send(x->fd, x->msg, x->len, MSG_DONTWAIT) < 0)
		x->errors++;	/* the collector may be down: telemetry is best effort */
	else
		x->sent++;
	x->seq += x->nrecs;
	x->nrecs = 0;
	x->len = IPFIX_HDR;
}

/* Start a message with the templates when they are due. */
static void
insipfix_maybe_templates(struct insipfix *x, uint64_t now_s)
{
	size_t n;

	if (x->tmpl_sent && now_s - x->last_tmpl_s < INSIPFIX_TEMPLATE_EVERY_S)
		return;
	insipfix_send(x, now_s);
	n = insipfix_encode_templates(x->msg + x->len, sizeof(x->msg) - x->len);
	x->len += n;
	x->tmpl_sent = true;
	x->last_tmpl_s = now_s;
}

/* An IPv4-mapped IPv6 address (::ffff:a.b.c.d) becomes plain IPv4. */
static void
insipfix_unmap(struct ins_addr *a)
{
	static const uint8_t prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	if (a->family != INS_AF_INET6 || memcmp(a->addr, prefix, sizeof(prefix)) != 0)
		return;
	memmove(a->addr, a->addr + 12, 4);
	memset(a->addr + 4, 0, 12);
	a->family = INS_AF_INET;
	a->scope_id = 0;
}

void
insipfix_add(struct insipfix *x, const struct insipfix_rec *in, uint64_t now_s)
{
	struct insipfix_rec copy = *in, *r = &copy;
	uint8_t rec[INSIPFIX_REC_MAX];
	uint16_t id;
	size_t n, need;

	/* Dual-stack listeners see IPv4 clients as mapped addresses; collectors
	 * match IPv4 prefixes, so export them as IPv4 (both ends or neither). */
	insipfix_unmap(&r->peer);
	insipfix_unmap(&r->local);
	if (r->peer.family != r->local.family) {
		copy = *in;
	}
	id = r->peer.family == INS_AF_INET ? INSIPFIX_TMPL_V4 : INSIPFIX_TMPL_V6;
	n = insipfix_encode_record(r, rec, sizeof(rec));
	if (n == 0)
		return;
	insipfix_maybe_templates(x, now_s);
	need = n + ((x->set_off && x->set_id == id) ? 0 : IPFIX_SET_HDR);
	if (x->len + need > sizeof(x->msg))
		insipfix_send(x, now_s);
	if (!x->set_off || x->set_id != id) {
		insipfix_close_set(x);
		x->set_off = x->len;
		x->set_id = id;
		x->msg[x->len++] = (uint8_t)(id >> 8);
		x->msg[x->len++] = (uint8_t)id;
		x->len += 2;	/* length, written when the set closes */
	}
	memcpy(x->msg + x->len, rec, n);
	x->len += n;
	x->nrecs++;
}

void
insipfix_flush(struct insipfix *x, uint64_t now_s)
{
	insipfix_send(x, now_s);
}
