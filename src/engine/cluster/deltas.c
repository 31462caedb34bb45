/*
 * cluster/deltas: the per-second deltas codec (see deltas.h).
 */
#include "engine/cluster/deltas.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/cursor.h"
#include "engine/cluster/conf.h"

/* ---- encoder ---- */

static bool
enc_room(struct deltas_enc *e, size_t n)
{
	size_t cap;
	uint8_t *b;

	if (e->err < 0)
		return false;
	if (e->len + n <= e->cap)
		return true;
	cap = e->cap ? e->cap * 2 : 4096;
	while (cap < e->len + n)
		cap *= 2;
	if ((b = realloc(e->buf, cap)) == NULL) {
		e->err = -ENOMEM;
		return false;
	}
	e->buf = b;
	e->cap = cap;
	return true;
}

static void
enc_bytes(struct deltas_enc *e, const void *p, size_t n)
{
	if (!enc_room(e, n))
		return;
	memcpy(e->buf + e->len, p, n);
	e->len += n;
}

static void
enc_be(struct deltas_enc *e, uint64_t v, unsigned n)
{
	uint8_t b[8];

	for (unsigned i = 0; i < n; i++)
		b[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
	enc_bytes(e, b, n);
}

static void
enc_var(struct deltas_enc *e, uint64_t v)
{
	uint8_t b[10];
	unsigned n = 0;

	do {
		b[n] = (uint8_t)(v & 0x7f);
		v >>= 7;
		if (v != 0)
			b[n] |= 0x80;
		n++;
	} while (v != 0);
	enc_bytes(e, b, n);
}

void
deltas_enc_begin(struct deltas_enc *e, const struct deltas_hdr *h)
{
	size_t il = strnlen(h->instance, CLUSTER_NAME_MAX);

	e->len = 0;
	e->err = 0;
	e->nentries = 0;
	e->nread_at = 0;
	e->nhosts_at = 0;
	e->nhosts = 0;
	e->last[0] = '\0';
	enc_bytes(e, "MD", 2);
	enc_be(e, DELTAS_VERSION, 1);
	enc_be(e, 0, 1);
	enc_be(e, h->shard, 2);
	enc_be(e, h->seq, 8);
	enc_be(e, h->time_ns, 8);
	enc_var(e, h->interval_ns);
	enc_be(e, il, 1);
	enc_bytes(e, h->instance, il);
	e->nentries_at = e->len;
	enc_be(e, 0, 2);
}

void
deltas_enc_add(struct deltas_enc *e, const char *po, const struct reading *r)
{
	size_t nl = strnlen(po, LIMIT_PO_NAME + 1);

	if (e->err < 0)
		return;
	if (nl == 0 || nl > LIMIT_PO_NAME || e->nhosts_at != 0) {
		e->err = -EINVAL;
		return;
	}
	if (e->nread_at == 0 || strcmp(e->last, po) != 0 ||
	    e->buf[e->nread_at] == DELTAS_MAX_PER_ENTRY) {
		if (e->nentries == DELTAS_MAX_ENTRIES) {
			e->err = -E2BIG;
			return;
		}
		enc_be(e, nl, 1);
		enc_bytes(e, po, nl);
		e->nread_at = e->len;
		enc_be(e, 0, 1);
		if (e->err < 0)
			return;
		e->nentries++;
		memcpy(e->last, po, nl + 1);
	}
	e->buf[e->nread_at]++;
	enc_be(e, r->proto, 1);
	enc_be(e, r->dir, 1);
	enc_be(e, r->port, 2);
	enc_var(e, r->bytes);
	enc_var(e, r->packets);
	enc_var(e, r->flows);
	enc_var(e, r->syns);
	enc_var(e, r->frags);
}

void
deltas_enc_host(struct deltas_enc *e, const char *po, const struct deltas_host *h)
{
	size_t nl = strnlen(po, LIMIT_PO_NAME + 1);

	if (e->err < 0)
		return;
	if (nl == 0 || nl > LIMIT_PO_NAME || h->kind >= DELTAS_TOP__COUNT ||
	    (h->kind != DELTAS_TOP_SPORT && h->alen != 4 && h->alen != 16) ||
	    h->proto >= PROTO__COUNT) {
		e->err = -EINVAL;
		return;
	}
	if (e->nhosts == DELTAS_MAX_HOSTS) {
		e->err = -E2BIG;
		return;
	}
	if (e->nhosts_at == 0) {
		e->buf[3] |= DELTAS_F_HOSTS;
		e->nhosts_at = e->len;
		enc_be(e, 0, 2);
	}
	enc_be(e, nl, 1);
	enc_bytes(e, po, nl);
	enc_be(e, h->kind, 1);
	enc_be(e, h->proto, 1);
	if (h->kind == DELTAS_TOP_SPORT) {
		enc_be(e, h->port, 2);
	} else {
		enc_be(e, h->alen, 1);
		enc_bytes(e, h->addr, h->alen);
	}
	enc_var(e, h->packets);
	enc_var(e, h->bytes);
	e->nhosts++;
}

int
deltas_enc_finish(struct deltas_enc *e, const uint8_t **ret, size_t *ret_len)
{
	if (e->err < 0)
		return e->err;
	e->buf[e->nentries_at] = (uint8_t)(e->nentries >> 8);
	e->buf[e->nentries_at + 1] = (uint8_t)e->nentries;
	if (e->nhosts_at != 0) {
		e->buf[e->nhosts_at] = (uint8_t)(e->nhosts >> 8);
		e->buf[e->nhosts_at + 1] = (uint8_t)e->nhosts;
	}
	*ret = e->buf;
	*ret_len = e->len;
	return 0;
}

void
deltas_enc_free(struct deltas_enc *e)
{
	free(e->buf);
	memset(e, 0, sizeof(*e));
}

/* ---- decoder ---- */

/* An unsigned LEB128 of at most 10 bytes that fits 64 bits. */
static bool
cur_var(struct cursor *c, uint64_t *ret)
{
	uint64_t v = 0;
	uint8_t b;

	for (unsigned i = 0; i < 10; i++) {
		if (!cur_u8(c, &b))
			return false;
		if (i == 9 && b > 1)
			return false;
		v |= (uint64_t)(b & 0x7f) << (7 * i);
		if (!(b & 0x80)) {
			*ret = v;
			return true;
		}
	}
	return false;
}

/* A length-prefixed name of 1..max bytes, no NUL, into dst (NUL-terminated). */
static bool
cur_name(struct cursor *c, char *dst, size_t max)
{
	uint8_t n;

	if (!cur_u8(c, &n) || n == 0 || n > max || !cur_bytes(c, dst, n))
		return false;
	dst[n] = '\0';
	return memchr(dst, '\0', n) == NULL;
}

static int
deltas_walk(const uint8_t *buf, size_t len, struct deltas_hdr *h, const struct deltas_sink *sink,
    void *ctx)
{
	struct cursor c = cur_init(buf, len);
	uint8_t m0, m1, ver, flags;
	uint16_t nentries;
	char po[LIMIT_PO_NAME + 1];

	if (!cur_u8(&c, &m0) || !cur_u8(&c, &m1) || m0 != 'M' || m1 != 'D' || !cur_u8(&c, &ver))
		return -EBADMSG;
	if (ver != DELTAS_VERSION && ver != DELTAS_VERSION_V1)
		return -EPROTONOSUPPORT;
	if (!cur_u8(&c, &flags) || (flags & ~DELTAS_F_HOSTS) != 0 || !cur_be16(&c, &h->shard) ||
	    !cur_be64(&c, &h->seq) || !cur_be64(&c, &h->time_ns) || !cur_var(&c, &h->interval_ns) ||
	    !cur_name(&c, h->instance, CLUSTER_NAME_MAX) || !cur_be16(&c, &nentries))
		return -EBADMSG;
	for (uint32_t i = 0; i < nentries; i++) {
		uint8_t nread;

		if (!cur_name(&c, po, LIMIT_PO_NAME) || !cur_u8(&c, &nread) || nread == 0)
			return -EBADMSG;
		for (unsigned j = 0; j < nread; j++) {
			struct reading r = { .time_ns = h->time_ns, .interval_ns = h->interval_ns };

			if (!cur_u8(&c, &r.proto) || r.proto >= PROTO__COUNT || !cur_u8(&c, &r.dir) ||
			    r.dir >= DIR__COUNT || !cur_be16(&c, &r.port) || !cur_var(&c, &r.bytes) ||
			    !cur_var(&c, &r.packets) || !cur_var(&c, &r.flows) ||
			    !cur_var(&c, &r.syns) || !cur_var(&c, &r.frags))
				return -EBADMSG;
			if (sink != NULL && sink->reading != NULL)
				sink->reading(ctx, po, &r);
		}
	}
	if (flags & DELTAS_F_HOSTS) {
		uint16_t nhosts;

		if (!cur_be16(&c, &nhosts))
			return -EBADMSG;
		for (uint32_t i = 0; i < nhosts; i++) {
			struct deltas_host hs = { .kind = DELTAS_TOP_DST };

			if (!cur_name(&c, po, LIMIT_PO_NAME) ||
			    (ver != DELTAS_VERSION_V1 &&
			    (!cur_u8(&c, &hs.kind) || hs.kind >= DELTAS_TOP__COUNT)) ||
			    !cur_u8(&c, &hs.proto) || hs.proto >= PROTO__COUNT)
				return -EBADMSG;
			if (hs.kind == DELTAS_TOP_SPORT) {
				if (!cur_be16(&c, &hs.port))
					return -EBADMSG;
			} else if (!cur_u8(&c, &hs.alen) || (hs.alen != 4 && hs.alen != 16) ||
			    !cur_bytes(&c, hs.addr, hs.alen)) {
				return -EBADMSG;
			}
			if (!cur_var(&c, &hs.packets) || !cur_var(&c, &hs.bytes))
				return -EBADMSG;
			if (sink != NULL && sink->host != NULL)
				sink->host(ctx, po, &hs);
		}
	}
	return cur_empty(&c) ? 0 : -EBADMSG;
}

int
deltas_decode(const uint8_t *buf, size_t len, struct deltas_hdr *ret_hdr,
    const struct deltas_sink *sink, void *ctx)
{
	int r;

	memset(ret_hdr, 0, sizeof(*ret_hdr));
	if ((r = deltas_walk(buf, len, ret_hdr, NULL, NULL)) < 0 || sink == NULL)
		return r;
	return deltas_walk(buf, len, ret_hdr, sink, ctx);
}
