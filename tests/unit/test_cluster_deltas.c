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
	assert_int_equal(deltas_decode(p, len, &h, collect, s), 0);
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
	assert_int_equal(deltas_decode(p, len, &h, collect, s), 0);
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
		assert_int_equal(deltas_decode(p, l, &h, count, NULL), -EBADMSG);
		assert_int_equal(calls, 0);
	}
	big = malloc(len + 1);
	memcpy(big, p, len);
	big[len] = 0;
	assert_int_equal(deltas_decode(big, len + 1, &h, count, NULL), -EBADMSG);
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
	m[2] = 2;
	assert_int_equal(deltas_decode(m, len, &h, NULL, NULL), -EPROTONOSUPPORT);
	memcpy(m, p, len);
	m[3] = 1;
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
		cmocka_unit_test(test_shard_of),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
