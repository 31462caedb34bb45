/* Unit tests for engine/cluster/merge: two collectors' readings of one
 * second are summed, a silent collector releases the second after the
 * grace, a late message is refused and not fed twice, seconds arriving out
 * of order are fed in order, a collector's lost second drops that second
 * whole (no partial sum), top lists are summed and cut, the bounds. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/limits.h"
#include "engine/cluster/merge.h"

#define S UINT64_C(1000000000)
#define MS UINT64_C(1000000)
#define GRACE (1500 * MS)
#define LIVE (3 * S)

struct fed {
	unsigned n, nt;
	struct reading r[64];
	uint32_t tpo[64];
	struct deltas_host t[64];
	uint64_t total_packets;
};

static void
on_reading(void *ctx, const struct reading *r)
{
	struct fed *f = ctx;

	f->total_packets += r->packets;
	if (f->n < 64)
		f->r[f->n] = *r;
	f->n++;
}

static void
on_top(void *ctx, uint32_t po_id, const struct deltas_host *h)
{
	struct fed *f = ctx;

	if (f->nt < 64) {
		f->tpo[f->nt] = po_id;
		f->t[f->nt] = *h;
	}
	f->nt++;
}

static struct merge *
mk(struct fed *f, uint32_t shards)
{
	struct merge_sink sink = { .reading = on_reading, .top = on_top, .ctx = f };
	struct merge *m;

	memset(f, 0, sizeof(*f));
	assert_int_equal(merge_new(shards, GRACE, LIVE, &sink, &m), 0);
	return m;
}

static struct reading
rd(uint32_t po, uint8_t proto, uint16_t port, uint64_t packets)
{
	struct reading r = { .po_id = po, .proto = proto, .dir = DIR_IN, .port = port,
		.packets = packets, .bytes = packets * 100, .flows = 1, .syns = 2, .frags = 3 };

	return r;
}

/* A message of one reading from instance for second sec (its interval end
 * off ns past the whole second), arriving at now. */
static int
msg(struct merge *m, const char *inst, uint32_t shard, uint64_t sec, int64_t off, uint64_t now,
    uint64_t packets)
{
	struct reading r = rd(7, PROTO_UDP, 0, packets);
	int ret = merge_begin(m, inst, shard, (uint64_t)((int64_t)(sec * S) + off), S, now);

	if (ret == 0)
		merge_add(m, &r);
	return ret;
}

static void
test_two_collectors_sum(void **state)
{
	struct fed f;
	struct merge *m = mk(&f, 4);
	struct merge_stats st;
	struct reading a[3] = { rd(7, PROTO_UDP, 0, 100), rd(7, PROTO_TCP, 0, 5),
		rd(7, PROTO_UDP, 53, 40) };
	struct reading b[2] = { rd(7, PROTO_UDP, 0, 50), rd(9, PROTO_UDP, 0, 1) };
	uint64_t t0 = 1000 * S;

	(void)state;
	/* Out of phase by 0.4 s, both round to second 100. */
	assert_int_equal(merge_begin(m, "col-1", 2, 100 * S - 200 * MS, S, t0), 0);
	for (unsigned i = 0; i < 3; i++)
		merge_add(m, &a[i]);
	assert_int_equal(merge_begin(m, "col-2", 2, 100 * S + 200 * MS, S, t0 + 300 * MS), 0);
	for (unsigned i = 0; i < 2; i++)
		merge_add(m, &b[i]);
	assert_int_equal(merge_flush(m, t0 + 400 * MS, false), 1);
	/* po 7 udp any-port summed (150), po 7 tcp, po 7 udp/53, po 9 udp. */
	assert_int_equal(f.n, 4);
	assert_int_equal(f.r[0].po_id, 7);
	assert_int_equal(f.r[0].port, 0);
	assert_int_equal(f.r[0].proto, PROTO_TCP);
	assert_int_equal(f.r[1].proto, PROTO_UDP);
	assert_int_equal(f.r[1].packets, 150);
	assert_int_equal(f.r[1].bytes, 15000);
	assert_int_equal(f.r[1].flows, 2);
	assert_int_equal(f.r[1].syns, 4);
	assert_int_equal(f.r[1].frags, 6);
	assert_int_equal(f.r[1].time_ns, 100 * S - 200 * MS);	/* the first message's */
	assert_int_equal(f.r[1].interval_ns, S);
	assert_int_equal(f.r[2].port, 53);
	assert_int_equal(f.r[2].packets, 40);
	assert_int_equal(f.r[3].po_id, 9);
	merge_stats(m, &st);
	assert_int_equal(st.messages, 2);
	assert_int_equal(st.complete, 1);
	assert_int_equal(st.summed, 1);
	assert_int_equal(st.open, 0);
	merge_free(m);
}

static void
test_missing_collector_grace(void **state)
{
	struct fed f;
	struct merge *m = mk(&f, 4);
	struct merge_stats st;
	uint64_t t0 = 1000 * S;

	(void)state;
	assert_int_equal(msg(m, "col-1", 0, 100, 0, t0, 10), 0);
	assert_int_equal(msg(m, "col-2", 0, 100, 0, t0, 20), 0);
	assert_int_equal(merge_flush(m, t0 + 100 * MS, false), 1);
	assert_int_equal(f.total_packets, 30);
	/* col-2 stops: second 101 waits for it, but only for the grace. */
	assert_int_equal(msg(m, "col-1", 0, 101, 0, t0 + S, 11), 0);
	assert_int_equal(merge_flush(m, t0 + S + 100 * MS, false), 0);
	assert_int_equal(merge_flush(m, t0 + S + GRACE - 1, false), 0);
	assert_int_equal(f.n, 1);
	assert_int_equal(merge_flush(m, t0 + S + GRACE, false), 1);
	assert_int_equal(f.n, 2);
	assert_int_equal(f.r[1].packets, 11);
	merge_stats(m, &st);
	assert_int_equal(st.expired, 1);
	/* Once col-2 is no longer live, col-1 alone completes a second. */
	assert_int_equal(msg(m, "col-1", 0, 104, 0, t0 + 4 * S, 12), 0);
	assert_int_equal(merge_flush(m, t0 + 4 * S + 1, false), 1);
	assert_int_equal(f.r[2].packets, 12);
	merge_stats(m, &st);
	assert_int_equal(st.complete, 2);
	merge_free(m);
}

static void
test_late_not_fed_twice(void **state)
{
	struct fed f;
	struct merge *m = mk(&f, 4);
	struct merge_stats st;
	uint64_t t0 = 1000 * S;

	(void)state;
	assert_int_equal(msg(m, "col-1", 1, 100, 0, t0, 10), 0);
	assert_int_equal(msg(m, "col-2", 1, 99, 0, t0, 5), 0);	/* col-2 is live */
	assert_int_equal(merge_flush(m, t0 + GRACE, false), 2);
	assert_int_equal(f.total_packets, 15);
	/* col-2's second 100 comes after the grace released it: refused. */
	assert_int_equal(msg(m, "col-2", 1, 100, 0, t0 + 2 * S, 20), -ESTALE);
	assert_int_equal(msg(m, "col-2", 1, 99, 0, t0 + 2 * S, 20), -ESTALE);
	assert_int_equal(merge_flush(m, t0 + 10 * S, true), 0);
	assert_int_equal(f.total_packets, 15);
	assert_int_equal(f.n, 2);
	merge_stats(m, &st);
	assert_int_equal(st.late, 2);
	/* Other shards are not affected by shard 1's progress. */
	assert_int_equal(msg(m, "col-2", 2, 100, 0, t0 + 2 * S, 20), 0);
	assert_int_equal(merge_flush(m, t0 + 2 * S, false), 1);
	assert_int_equal(f.total_packets, 35);
	assert_int_equal(merge_begin(m, "col-2", 4, 100 * S, S, t0), -EINVAL);
	merge_free(m);
}

static void
test_out_of_order(void **state)
{
	struct fed f;
	struct merge *m = mk(&f, 4);
	uint64_t t0 = 1000 * S;

	(void)state;
	/* col-1 sends 103 before 102 (a buffer flushed after a NATS outage);
	 * col-2 sends 102, then 100 (older than anything open: its own bucket). */
	assert_int_equal(msg(m, "col-1", 3, 103, 0, t0, 3), 0);
	assert_int_equal(msg(m, "col-1", 3, 102, 0, t0, 2), 0);
	assert_int_equal(msg(m, "col-2", 3, 102, 0, t0, 20), 0);
	assert_int_equal(msg(m, "col-2", 3, 100, 0, t0, 100), 0);
	/* 100 and 102 are complete (both sent 102 or later); 103 waits for col-2. */
	assert_int_equal(merge_flush(m, t0 + 1, false), 2);
	assert_int_equal(f.n, 2);
	assert_int_equal(f.r[0].time_ns, 100 * S);
	assert_int_equal(f.r[0].packets, 100);
	assert_int_equal(f.r[1].time_ns, 102 * S);
	assert_int_equal(f.r[1].packets, 22);
	/* col-2's 103 completes it. */
	assert_int_equal(msg(m, "col-2", 3, 103, 0, t0 + 10, 30), 0);
	assert_int_equal(merge_flush(m, t0 + 20, false), 1);
	assert_int_equal(f.r[2].time_ns, 103 * S);
	assert_int_equal(f.r[2].packets, 33);
	merge_free(m);
}

/* A gap: col-2 is live and sends 105 but its 104 was lost. 104 would read
 * as col-1's part alone, a drop in traffic that never was: it is dropped
 * whole (a missing second, as with one collector); 105 is fed in full. */
static void
test_gap_is_hole(void **state)
{
	struct fed f;
	struct merge *m = mk(&f, 4);
	struct merge_stats st;
	uint64_t t0 = 1000 * S;

	(void)state;
	assert_int_equal(msg(m, "col-1", 3, 103, 0, t0, 3), 0);
	assert_int_equal(msg(m, "col-2", 3, 103, 0, t0, 30), 0);
	assert_int_equal(msg(m, "col-1", 3, 104, 0, t0 + S, 4), 0);
	/* before col-2's next second, 104 just waits (it may be coming) */
	assert_int_equal(merge_flush(m, t0 + S + 10, false), 1);
	assert_int_equal(f.n, 1);
	assert_int_equal(msg(m, "col-1", 3, 105, 0, t0 + 2 * S, 5), 0);
	assert_int_equal(msg(m, "col-2", 3, 105, 0, t0 + 2 * S, 50), 0);
	assert_int_equal(merge_flush(m, t0 + 2 * S + 10, false), 2);
	assert_int_equal(f.n, 2);
	assert_int_equal(f.r[1].time_ns, 105 * S);
	assert_int_equal(f.r[1].packets, 55);
	merge_stats(m, &st);
	assert_int_equal(st.holes, 1);
	assert_int_equal(st.complete, 2);
	/* its 104 now is late */
	assert_int_equal(msg(m, "col-2", 3, 104, 0, t0 + 2 * S + 20, 40), -ESTALE);
	/* a collector that joins later is no hole in the seconds before it */
	assert_int_equal(msg(m, "col-1", 3, 106, 0, t0 + 3 * S, 6), 0);
	assert_int_equal(msg(m, "col-2", 3, 106, 0, t0 + 3 * S, 60), 0);
	assert_int_equal(msg(m, "col-3", 3, 107, 0, t0 + 3 * S, 700), 0);
	assert_int_equal(merge_flush(m, t0 + 3 * S + 10, false), 1);
	assert_int_equal(f.r[2].packets, 66);
	merge_stats(m, &st);
	assert_int_equal(st.holes, 1);
	merge_free(m);
}

static struct deltas_host
host(uint8_t kind, uint8_t last, uint16_t port, uint64_t packets)
{
	struct deltas_host h = { .kind = kind, .proto = PROTO_UDP, .alen = 4, .port = port,
		.packets = packets, .bytes = packets * 10, .addr = { 198, 51, 100, last } };

	if (kind == DELTAS_TOP_SPORT) {
		h.alen = 0;
		memset(h.addr, 0, sizeof(h.addr));
	}
	return h;
}

static void
test_tops_sum_and_cut(void **state)
{
	struct fed f;
	struct merge *m = mk(&f, 1);
	uint64_t t0 = 1000 * S;
	struct deltas_host a[] = { host(DELTAS_TOP_DST, 1, 0, 100), host(DELTAS_TOP_DST, 2, 0, 50),
		host(DELTAS_TOP_DST, 3, 0, 10), host(DELTAS_TOP_SPORT, 0, 123, 7) };
	struct deltas_host b[] = { host(DELTAS_TOP_DST, 2, 0, 70), host(DELTAS_TOP_DST, 4, 0, 60),
		host(DELTAS_TOP_DST, 3, 0, 5), host(DELTAS_TOP_SPORT, 0, 123, 8),
		host(DELTAS_TOP_SRC, 9, 0, 1) };

	(void)state;
	assert_int_equal(merge_begin(m, "col-1", 0, 100 * S, S, t0), 0);
	for (unsigned i = 0; i < 4; i++)
		merge_top(m, 5, &a[i]);
	assert_int_equal(merge_begin(m, "col-2", 0, 100 * S, S, t0), 0);
	for (unsigned i = 0; i < 5; i++)
		merge_top(m, 5, &b[i]);
	assert_int_equal(merge_flush(m, t0, false), 1);
	/* dst: .2 (120), .1 (100), .4 (60); .3 (15) cut; then the source, the port. */
	assert_int_equal(f.nt, 5);
	assert_int_equal(f.t[0].kind, DELTAS_TOP_DST);
	assert_int_equal(f.t[0].addr[3], 2);
	assert_int_equal(f.t[0].packets, 120);
	assert_int_equal(f.t[0].bytes, 1200);
	assert_int_equal(f.t[1].addr[3], 1);
	assert_int_equal(f.t[2].addr[3], 4);
	assert_int_equal(f.t[3].kind, DELTAS_TOP_SRC);
	assert_int_equal(f.t[4].kind, DELTAS_TOP_SPORT);
	assert_int_equal(f.t[4].port, 123);
	assert_int_equal(f.t[4].packets, 15);
	assert_int_equal(f.tpo[4], 5);
	merge_free(m);
}

static void
test_bounds(void **state)
{
	struct fed f;
	struct merge *m = mk(&f, 1024);
	struct merge_stats st;
	uint64_t t0 = 1000 * S, sent = 0;

	(void)state;
	/* More open seconds than the bound: the earliest are fed at once. */
	for (unsigned i = 0; i < LIMIT_MERGE_BUCKETS + 100; i++) {
		assert_int_equal(msg(m, "col-1", i % 1024, 100 + i / 1024, 0, t0, 1), 0);
		sent++;
	}
	merge_stats(m, &st);
	assert_int_equal(st.open, LIMIT_MERGE_BUCKETS);
	assert_int_equal(st.forced, 100);
	assert_int_equal(merge_flush(m, t0, true), LIMIT_MERGE_BUCKETS);
	merge_stats(m, &st);
	assert_int_equal(st.open, 0);
	assert_int_equal(f.total_packets, sent);
	merge_free(m);

	/* More readings than the bound in one second: the rest is counted. */
	m = mk(&f, 1);
	assert_int_equal(merge_begin(m, "col-1", 0, 100 * S, S, t0), 0);
	for (unsigned i = 0; i < LIMIT_MERGE_READINGS + 10; i++) {
		struct reading r = rd(i, PROTO_UDP, 0, 1);

		merge_add(m, &r);
	}
	merge_stats(m, &st);
	assert_int_equal(st.overflow, 10);
	/* A new second makes the full one go. */
	assert_int_equal(msg(m, "col-1", 0, 101, 0, t0, 1), 0);
	merge_stats(m, &st);
	assert_int_equal(st.forced, 1);
	assert_int_equal(f.total_packets, LIMIT_MERGE_READINGS);
	merge_flush(m, t0, true);
	assert_int_equal(f.total_packets, LIMIT_MERGE_READINGS + 1);
	merge_free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_two_collectors_sum),
		cmocka_unit_test(test_missing_collector_grace),
		cmocka_unit_test(test_late_not_fed_twice),
		cmocka_unit_test(test_out_of_order),
		cmocka_unit_test(test_gap_is_hole),
		cmocka_unit_test(test_tops_sum_and_cut),
		cmocka_unit_test(test_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
