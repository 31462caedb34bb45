/* Unit tests for engine/cluster/deltas: the per-second deltas codec — a
 * round trip of many POs and ports, the header, entries past 255
 * readings, every truncation and bad field refused, varint bounds. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "engine/cluster/conf.h"
#include "engine/cluster/deltas.h"

struct seen {
	unsigned n;
	char po[600][LIMIT_PO_NAME + 1];
	struct reading r[600];
};

static void
collect(void *ctx, const char *po, const struct reading *r)
{
	struct seen *s = ctx;

	assert_true(s->n < 600);
	snprintf(s->po[s->n], sizeof(s->po[0]), "%s", po);
	s->r[s->n++] = *r;
}

static const struct deltas_sink collect_sink = { .reading = collect };

static struct reading
mk(unsigned i)
{
	struct reading r = { .proto = (uint8_t)(i % PROTO__COUNT), .dir = (uint8_t)(i % DIR__COUNT),
		.port = (uint16_t)(i * 7), .bytes = UINT64_MAX - i, .packets = i,
		.flows = (uint64_t)1 << (i % 64), .syns = 127, .frags = 128 };

	return r;
}

static void
encode(struct deltas_enc *e, unsigned npos, unsigned per, const uint8_t **p, size_t *len)
{
	struct deltas_hdr h = { .shard = 7, .seq = 42, .time_ns = UINT64_C(1700000000000000000),
		.interval_ns = 1000000000, .instance = "edge-1" };
	char po[32];

	deltas_enc_begin(e, &h);
	for (unsigned i = 0; i < npos; i++) {
		snprintf(po, sizeof(po), "po-%u", i);
		for (unsigned j = 0; j < per; j++) {
			struct reading r = mk(i * per + j);

			deltas_enc_add(e, po, &r);
		}
	}
	assert_int_equal(deltas_enc_finish(e, p, len), 0);
}

static void
test_round_trip(void **state)
{
	struct deltas_enc e = { 0 };
	struct deltas_hdr h;
	struct seen *s = calloc(1, sizeof(*s));
	const uint8_t *p;
	size_t len;

	(void)state;
	encode(&e, 50, 8, &p, &len);
	assert_int_equal(deltas_decode(p, len, &h, &collect_sink, s), 0);
	assert_int_equal(h.shard, 7);
	assert_int_equal(h.seq, 42);
	assert_int_equal(h.time_ns, UINT64_C(1700000000000000000));
	assert_int_equal(h.interval_ns, 1000000000);
	assert_string_equal(h.instance, "edge-1");
	assert_int_equal(s->n, 400);
	for (unsigned i = 0; i < 400; i++) {
		struct reading want = mk(i);
		char po[32];

		snprintf(po, sizeof(po), "po-%u", i / 8);
		assert_string_equal(s->po[i], po);
		assert_int_equal(s->r[i].proto, want.proto);
		assert_int_equal(s->r[i].dir, want.dir);
		assert_int_equal(s->r[i].port, want.port);
		assert_int_equal(s->r[i].bytes, want.bytes);
		assert_int_equal(s->r[i].packets, want.packets);
		assert_int_equal(s->r[i].flows, want.flows);
		assert_int_equal(s->r[i].syns, want.syns);
		assert_int_equal(s->r[i].frags, want.frags);
		assert_int_equal(s->r[i].time_ns, h.time_ns);
		assert_int_equal(s->r[i].po_id, 0);
	}
	/* Compact: small counters take a byte each. */
	assert_true(len < 400 * 30);
	deltas_enc_free(&e);
	free(s);
}

/* One PO with more readings than an entry holds: continued in a second
 * entry, read back in order. */
static void
test_long_entry(void **state)
{
	struct deltas_enc e = { 0 };
	struct deltas_hdr h;
	struct seen *s = calloc(1, sizeof(*s));
	const uint8_t *p;
	size_t len;

	(void)state;
	encode(&e, 1, 300, &p, &len);
	assert_int_equal(deltas_decode(p, len, &h, &collect_sink, s), 0);
	assert_int_equal(s->n, 300);
	assert_int_equal(s->r[299].packets, 299);
	deltas_enc_free(&e);
	free(s);
}

static unsigned calls;

static void
count(void *ctx, const char *po, const struct reading *r)
{
	(void)ctx;
	(void)po;
	(void)r;
	calls++;
}

static const struct deltas_sink count_sink = { .reading = count };

/* Every proper prefix and every longer buffer is refused, without a
 * single callback (a message is applied whole or not at all). */
static void
test_truncated_and_trailing(void **state)
{
	struct deltas_enc e = { 0 };
	struct deltas_hdr h;
	const uint8_t *p;
	size_t len;
	uint8_t *big;

	(void)state;
	encode(&e, 3, 4, &p, &len);
	for (size_t l = 0; l < len; l++) {
		calls = 0;
		assert_int_equal(deltas_decode(p, l, &h, &count_sink, NULL), -EBADMSG);
		assert_int_equal(calls, 0);
	}
	big = malloc(len + 1);
	memcpy(big, p, len);
	big[len] = 0;
	assert_int_equal(deltas_decode(big, len + 1, &h, &count_sink, NULL), -EBADMSG);
	free(big);
	deltas_enc_free(&e);
}

static void
test_bad_fields(void **state)
{
	struct deltas_enc e = { 0 };
	struct deltas_hdr h;
	const uint8_t *p;
	size_t len, name_at;
	uint8_t *m;

	(void)state;
	encode(&e, 1, 1, &p, &len);
	m = malloc(len);
	/* header: magic, version, flags */
	memcpy(m, p, len);
	m[0] = 'X';
	assert_int_equal(deltas_decode(m, len, &h, NULL, NULL), -EBADMSG);
	memcpy(m, p, len);
	m[2] = 3;
	assert_int_equal(deltas_decode(m, len, &h, NULL, NULL), -EPROTONOSUPPORT);
	m[2] = 0;
	assert_int_equal(deltas_decode(m, len, &h, NULL, NULL), -EPROTONOSUPPORT);
	memcpy(m, p, len);
	m[3] = 2;			/* an unknown flag */
	assert_int_equal(deltas_decode(m, len, &h, NULL, NULL), -EBADMSG);
	memcpy(m, p, len);
	m[3] = DELTAS_F_HOSTS;		/* a hosts section that is not there */
	assert_int_equal(deltas_decode(m, len, &h, NULL, NULL), -EBADMSG);
	/* 'M' 'D' v f shard(2) seq(8) time(8) interval varint(5 for 1e9) inst_len inst */
	name_at = 4 + 2 + 8 + 8 + 5;
	memcpy(m, p, len);
	assert_int_equal(m[name_at], 6);
	m[name_at] = 0;			/* empty instance */
	assert_int_equal(deltas_decode(m, len, &h, NULL, NULL), -EBADMSG);
	memcpy(m, p, len);
	m[name_at + 1] = 0;		/* NUL inside the instance name */
	assert_int_equal(deltas_decode(m, len, &h, NULL, NULL), -EBADMSG);
	/* the reading: proto and dir bounds (after nentries, name, nread) */
	memcpy(m, p, len);
	m[name_at + 1 + 6 + 2 + 1 + 4 + 1] = PROTO__COUNT;
	assert_int_equal(deltas_decode(m, len, &h, NULL, NULL), -EBADMSG);
	memcpy(m, p, len);
	m[name_at + 1 + 6 + 2 + 1 + 4 + 1 + 1] = DIR__COUNT;
	assert_int_equal(deltas_decode(m, len, &h, NULL, NULL), -EBADMSG);
	memcpy(m, p, len);
	m[name_at + 1 + 6 + 2 + 1 + 4] = 0;	/* nread 0 */
	assert_int_equal(deltas_decode(m, len, &h, NULL, NULL), -EBADMSG);
	memcpy(m, p, len);
	assert_int_equal(deltas_decode(m, len, &h, NULL, NULL), 0);
	free(m);
	deltas_enc_free(&e);
}

/* A varint past 64 bits, or longer than 10 bytes, is refused. */
static void
test_varint_bounds(void **state)
{
	static const uint8_t head[] = { 'M', 'D', 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1,
		0, 0, 0, 0, 0, 0, 0, 1 };
	uint8_t m[64];
	struct deltas_hdr h;
	size_t n = sizeof(head);

	(void)state;
	memcpy(m, head, n);
	memset(m + n, 0xff, 9);		/* 9 continuation bytes ... */
	m[n + 9] = 0x02;		/* ... and a tenth past 64 bits */
	m[n + 10] = 1;
	m[n + 11] = 'a';
	m[n + 12] = 0;
	m[n + 13] = 0;
	assert_int_equal(deltas_decode(m, n + 14, &h, NULL, NULL), -EBADMSG);
	m[n + 9] = 0x01;		/* exactly UINT64_MAX */
	assert_int_equal(deltas_decode(m, n + 14, &h, NULL, NULL), 0);
	assert_int_equal(h.interval_ns, UINT64_MAX);
}

struct hosts_seen {
	unsigned n, readings;
	char po[8][LIMIT_PO_NAME + 1];
	struct deltas_host h[8];
};

static void
host_cb(void *ctx, const char *po, const struct deltas_host *h)
{
	struct hosts_seen *s = ctx;

	assert_true(s->n < 8);
	snprintf(s->po[s->n], sizeof(s->po[0]), "%s", po);
	s->h[s->n++] = *h;
}

static void
reading_cb(void *ctx, const char *po, const struct reading *r)
{
	(void)po;
	(void)r;
	((struct hosts_seen *)ctx)->readings++;
}

/* The hosts section: after the readings, both address families, read back
 * in order; a reading after a host is refused; a bad address length is
 * refused by the encoder and by the decoder. */
static void
test_hosts(void **state)
{
	static const struct deltas_sink sink = { .reading = reading_cb, .host = host_cb };
	struct deltas_hdr h = { .shard = 1, .seq = 9, .time_ns = 5, .interval_ns = 1000000000,
		.instance = "c" };
	struct deltas_host v4 = { .proto = PROTO_UDP, .alen = 4, .addr = { 198, 51, 100, 10 },
		.packets = 10000, .bytes = 2000000 };
	struct deltas_host v6 = { .proto = PROTO_TCP, .alen = 16, .addr = { 0x20, 0x01, 0x0d, 0xb8 },
		.packets = 1, .bytes = 60 };
	struct reading r = mk(3);
	struct deltas_enc e = { 0 };
	struct hosts_seen seen = { 0 };
	const uint8_t *p;
	size_t len;
	uint8_t *m;

	(void)state;
	deltas_enc_begin(&e, &h);
	deltas_enc_add(&e, "web", &r);
	deltas_enc_host(&e, "web", &v4);
	deltas_enc_host(&e, "mail", &v6);
	assert_int_equal(deltas_enc_finish(&e, &p, &len), 0);
	assert_int_equal(deltas_decode(p, len, &h, &sink, &seen), 0);
	assert_int_equal(seen.readings, 1);
	assert_int_equal(seen.n, 2);
	assert_string_equal(seen.po[0], "web");
	assert_int_equal(seen.h[0].alen, 4);
	assert_memory_equal(seen.h[0].addr, v4.addr, 4);
	assert_int_equal(seen.h[0].packets, 10000);
	assert_int_equal(seen.h[0].bytes, 2000000);
	assert_string_equal(seen.po[1], "mail");
	assert_int_equal(seen.h[1].alen, 16);
	assert_int_equal(seen.h[1].proto, PROTO_TCP);
	/* the address length byte of the second host (before its 16 bytes) */
	m = malloc(len);
	memcpy(m, p, len);
	assert_int_equal(m[len - 16 - 2 - 1], 16);
	m[len - 16 - 2 - 1] = 8;
	assert_int_equal(deltas_decode(m, len, &h, NULL, NULL), -EBADMSG);
	free(m);
	/* a reading after a host, a bad length: refused by the encoder */
	deltas_enc_add(&e, "web", &r);
	assert_int_equal(deltas_enc_finish(&e, &p, &len), -EINVAL);
	deltas_enc_begin(&e, &h);
	v4.alen = 5;
	deltas_enc_host(&e, "web", &v4);
	assert_int_equal(deltas_enc_finish(&e, &p, &len), -EINVAL);
	deltas_enc_free(&e);
}

/* Version 2's top lists: sources and source ports next to the destination
 * hosts, each with its kind; a bad kind is refused by both sides. */
static void
test_tops(void **state)
{
	static const struct deltas_sink sink = { .reading = reading_cb, .host = host_cb };
	struct deltas_hdr h = { .shard = 1, .seq = 9, .time_ns = 5, .interval_ns = 1000000000,
		.instance = "c" };
	struct deltas_host dst = { .kind = DELTAS_TOP_DST, .proto = PROTO_UDP, .alen = 4,
		.addr = { 198, 51, 100, 10 }, .packets = 10, .bytes = 2000 };
	struct deltas_host src = { .kind = DELTAS_TOP_SRC, .proto = PROTO_UDP, .alen = 16,
		.addr = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9 },
		.packets = 3, .bytes = 300 };
	struct deltas_host sport = { .kind = DELTAS_TOP_SPORT, .proto = PROTO_UDP, .port = 53,
		.packets = 7, .bytes = 7000000 };
	struct deltas_enc e = { 0 };
	struct hosts_seen seen = { 0 };
	const uint8_t *p;
	size_t len;
	uint8_t *m;

	(void)state;
	deltas_enc_begin(&e, &h);
	deltas_enc_host(&e, "web", &dst);
	deltas_enc_host(&e, "web", &src);
	deltas_enc_host(&e, "web", &sport);
	assert_int_equal(deltas_enc_finish(&e, &p, &len), 0);
	assert_int_equal(p[2], DELTAS_VERSION);
	assert_int_equal(deltas_decode(p, len, &h, &sink, &seen), 0);
	assert_int_equal(seen.n, 3);
	assert_int_equal(seen.h[0].kind, DELTAS_TOP_DST);
	assert_int_equal(seen.h[1].kind, DELTAS_TOP_SRC);
	assert_int_equal(seen.h[1].alen, 16);
	assert_memory_equal(seen.h[1].addr, src.addr, 16);
	assert_int_equal(seen.h[2].kind, DELTAS_TOP_SPORT);
	assert_int_equal(seen.h[2].port, 53);
	assert_int_equal(seen.h[2].alen, 0);
	assert_int_equal(seen.h[2].bytes, 7000000);
	/* the last entry: name(1+3) kind proto port(2) packets(1) bytes(4) */
	m = malloc(len);
	memcpy(m, p, len);
	assert_int_equal(m[len - 4 - 1 - 2 - 1 - 1], DELTAS_TOP_SPORT);
	m[len - 4 - 1 - 2 - 1 - 1] = DELTAS_TOP__COUNT;
	assert_int_equal(deltas_decode(m, len, &h, NULL, NULL), -EBADMSG);
	/* cut inside the port */
	assert_int_equal(deltas_decode(p, len - 4 - 1 - 1, &h, NULL, NULL), -EBADMSG);
	free(m);
	deltas_enc_begin(&e, &h);
	sport.kind = DELTAS_TOP__COUNT;
	deltas_enc_host(&e, "web", &sport);
	assert_int_equal(deltas_enc_finish(&e, &p, &len), -EINVAL);
	deltas_enc_free(&e);
}

/* A version 1 message (destination hosts without a kind) is still read. */
static void
test_v1(void **state)
{
	static const struct deltas_sink sink = { .reading = reading_cb, .host = host_cb };
	static const uint8_t v1[] = { 'M', 'D', 1, DELTAS_F_HOSTS, 0, 1,	/* shard 1 */
		0, 0, 0, 0, 0, 0, 0, 7,		/* seq */
		0, 0, 0, 0, 0, 0, 0, 9,		/* time */
		0x80, 0x94, 0xeb, 0xdc, 0x03,	/* interval 1e9 */
		1, 'c', 0, 0,			/* instance, no entries */
		0, 1, 3, 'w', 'e', 'b', PROTO_UDP, 4, 198, 51, 100, 10, 5, 6 };
	struct deltas_hdr h;
	struct hosts_seen seen = { 0 };

	(void)state;
	assert_int_equal(deltas_decode(v1, sizeof(v1), &h, &sink, &seen), 0);
	assert_int_equal(h.seq, 7);
	assert_int_equal(h.interval_ns, 1000000000);
	assert_int_equal(seen.n, 1);
	assert_int_equal(seen.h[0].kind, DELTAS_TOP_DST);
	assert_int_equal(seen.h[0].proto, PROTO_UDP);
	assert_int_equal(seen.h[0].alen, 4);
	assert_int_equal(seen.h[0].addr[3], 10);
	assert_int_equal(seen.h[0].packets, 5);
	assert_int_equal(seen.h[0].bytes, 6);
	assert_int_equal(deltas_decode(v1, sizeof(v1) - 1, &h, NULL, NULL), -EBADMSG);
}

static void
test_shard_of(void **state)
{
	unsigned hist[8] = { 0 };
	char name[32];

	(void)state;
	assert_int_equal(cluster_shard_of("web", 16), cluster_shard_of("web", 16));
	assert_int_equal(cluster_shard_of("web", 1), 0);
	for (unsigned i = 0; i < 800; i++) {
		snprintf(name, sizeof(name), "po-%u", i);
		hist[cluster_shard_of(name, 8)]++;
	}
	for (unsigned i = 0; i < 8; i++)
		assert_true(hist[i] > 50);	/* spread, roughly 100 each */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_long_entry),
		cmocka_unit_test(test_truncated_and_trailing),
		cmocka_unit_test(test_bad_fields),
		cmocka_unit_test(test_varint_bounds),
		cmocka_unit_test(test_hosts),
		cmocka_unit_test(test_tops),
		cmocka_unit_test(test_v1),
		cmocka_unit_test(test_shard_of),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
