/*
 * libFuzzer target for the collector's state: sequences of datagrams from
 * many senders through one exporter table (dgram_parse: NetFlow v5/v9,
 * IPFIX, sFlow), so templates learned from one exporter meet data from
 * another, exporters hit the per-sender cap, the table fills, evicts and
 * expires, and template caches are freed with their exporter.
 *
 * Input: records of [sender u8][clock step u8][length be16][datagram]. The
 * sender picks one of 64 addresses (IPv4 192.0.2.x / IPv6 2001:db8::x by
 * the top bit); the step advances the clock by step^3 ms, so a run reaches
 * the quiet-eviction and idle limits. The table has a fixed key: a crash
 * reproduces. After each datagram the table's invariants are checked.
 */
#include <stdlib.h>
#include <string.h>

#include "collect/dgram.h"
#include "collect/exporter.h"
#include "common/cursor.h"
#include "common/limits.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
sink(void *ctx, const struct flow_rec *recs, unsigned n)
{
	uint64_t *sum = ctx;

	for (unsigned i = 0; i < n; i++)
		*sum += recs[i].bytes + recs[i].location;
}

static struct ipaddr
sender_addr(uint8_t s)
{
	struct ipaddr a = { 0 };

	if (s & 0x80) {
		static const uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8 };

		a.af = AF_INET6;
		memcpy(a.a, v6, 16);
		a.a[15] = s & 0x3f;
	} else {
		a = ipaddr_v4(0xc0000200u | (s & 0x3f));
	}
	return a;
}

static void
check(struct exporter_table *t)
{
	size_t n = 0;

	for (size_t i = 0; i < LIMIT_COLLECT_EXPORTERS; i++) {
		struct exporter *e = exporter_at(t, i);

		if (e == NULL)
			continue;
		n++;
		if (e->index != i)
			abort();
		/* every live exporter is found again under its key */
		if (exporter_get(t, &e->sender, &e->addr, e->domain, e->proto, e->last_seen_ns) != e)
			abort();
	}
	if (n != exporter_count(t))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t k[HASH_KEY_BYTES] = { 'm', 'o', 'a', 't' };
	struct exporter_limits lim = { .per_sender = 8, .idle_ns = 5000000000ull,
		.evict_quiet_ns = 1000000000ull };
	struct hash_key key;
	struct exporter_table *t;
	struct cursor in = cur_init(data, size), dg;
	uint64_t now = 1000000000ull, sum = 0;
	uint8_t s, step;
	uint16_t len;
	unsigned n = 0;

	hash_key_set(&key, k);
	t = exporter_table_new_keyed(&key);
	if (t == NULL)
		return 0;
	exporter_table_set_limits(t, &lim);
	while (cur_u8(&in, &s) && cur_u8(&in, &step) && cur_be16(&in, &len)) {
		struct ipaddr from = sender_addr(s);

		if (!cur_sub(&in, len, &dg))
			dg = cur_rest(&in);
		now += (uint64_t)step * step * step * 1000000ull;
		(void)dgram_parse(t, &from, cur_ptr(&dg), cur_left(&dg), now, sink, &sum);
		if (step == 0xff)
			exporter_table_expire(t, now);
		if (++n % 16 == 0)
			check(t);
	}
	check(t);
	exporter_table_free(t);
	return 0;
}
