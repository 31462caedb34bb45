/* Unit tests for engine/counters: matching, scaling, readings, rates, hosts, shards. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "common/limits.h"
#include "collect/counters.h"

#define NS 1000000000ull
#define PO_WEB 0u
#define PO_DNS 1u

static struct lpm *lpm;
static struct counters *cnt;

struct got {
	unsigned n;
	struct reading r[64];
};

static void
collect_reading(void *ctx, const struct reading *r)
{
	struct got *g = ctx;

	if (g->n < 64)
		g->r[g->n++] = *r;
}

static const struct reading *
find(const struct got *g, uint32_t po, unsigned proto, unsigned dir)
{
	for (unsigned i = 0; i < g->n; i++)
		if (g->r[i].po_id == po && g->r[i].proto == proto && g->r[i].dir == dir)
			return &g->r[i];
	return NULL;
}

static void
add_prefix(const char *s, uint32_t po)
{
	struct prefix p;

	assert_int_equal(prefix_parse(s, &p), 0);
	assert_int_equal(lpm_insert(lpm, &p, po), 0);
}

static int
setup(void **state)
{
	lpm = lpm_new();
	assert_non_null(lpm);
	add_prefix("192.0.2.0/24", PO_WEB);
	add_prefix("2001:db8:1::/48", PO_WEB);
	add_prefix("198.51.100.0/25", PO_DNS);
	cnt = counters_new(4, 8, 1);
	assert_non_null(cnt);
	counters_set_lpm(cnt, lpm);
	counters_set_npos(cnt, 2);
	counters_tick(cnt, 100 * NS, NULL, NULL);	/* start the clock */
	return 0;
}

static int
teardown(void **state)
{
	counters_free(cnt);
	lpm_free(lpm);
	return 0;
}

static struct flow_rec
rec(const char *src, const char *dst, uint8_t proto, uint64_t bytes, uint64_t packets,
    uint32_t sampling)
{
	struct flow_rec r;

	memset(&r, 0, sizeof(r));
	assert_int_equal(ipaddr_parse(src, &r.src), 0);
	assert_int_equal(ipaddr_parse(dst, &r.dst), 0);
	r.proto = proto;
	r.bytes = bytes;
	r.packets = packets;
	r.sampling = sampling;
	return r;
}

static void
test_inbound_outbound_and_scaling(void **state)
{
	struct flow_rec r[3] = {
		rec("203.0.113.1", "192.0.2.10", 6, 1000, 10, 100),	/* in to web, 1:100 */
		rec("2001:db8:1::5", "2001:db8:ffff::1", 17, 500, 5, 1),	/* out of web (v6) */
		rec("203.0.113.1", "203.0.113.2", 6, 1, 1, 1),		/* matches nothing */
	};
	struct got g = { 0 };
	const struct reading *in, *out;
	uint64_t ub, up;

	r[0].syns = 10;
	counters_add(counters_shard(cnt, 0), r, 3);
	counters_tick(cnt, 101 * NS, collect_reading, &g);
	assert_int_equal(g.n, 2 * PROTO__COUNT * DIR__COUNT);
	in = find(&g, PO_WEB, PROTO_TCP, DIR_IN);
	assert_int_equal(in->bytes, 100000);
	assert_int_equal(in->packets, 1000);
	assert_int_equal(in->flows, 100);
	assert_int_equal(in->syns, 1000);
	assert_int_equal(in->interval_ns, NS);
	assert_int_equal(in->time_ns, 101 * NS);
	out = find(&g, PO_WEB, PROTO_UDP, DIR_OUT);
	assert_int_equal(out->bytes, 500);
	assert_int_equal(find(&g, PO_WEB, PROTO_UDP, DIR_IN)->bytes, 0);
	assert_int_equal(find(&g, PO_DNS, PROTO_TCP, DIR_IN)->bytes, 0);
	counters_unmatched(cnt, &ub, &up);
	assert_int_equal(ub, 1);
	assert_int_equal(up, 1);
}

static void
test_between_two_pos_counts_for_both(void **state)
{
	struct flow_rec r = rec("198.51.100.3", "192.0.2.1", 17, 70, 1, 1);
	struct counters_stat st;

	counters_add(counters_shard(cnt, 0), &r, 1);
	counters_tick(cnt, 101 * NS, NULL, NULL);
	assert_int_equal(counters_po_stat(cnt, PO_WEB, PROTO_UDP, DIR_IN, &st), 0);
	assert_int_equal(st.total[CNT_BYTES], 70);
	assert_int_equal(counters_po_stat(cnt, PO_DNS, PROTO_UDP, DIR_OUT, &st), 0);
	assert_int_equal(st.total[CNT_BYTES], 70);
	assert_int_equal(counters_po_stat(cnt, 9, PROTO_UDP, DIR_OUT, &st), -ERANGE);
}

static void
test_packets_fragments_and_icmp_class(void **state)
{
	struct flow_rec r[2] = {
		rec("203.0.113.1", "192.0.2.10", 17, 1500, 1, 1),
		rec("2001:db8::9", "2001:db8:1::1", 58, 100, 1, 4),
	};
	struct counters_stat st;

	r[0].flags = FLOWREC_PACKET | FLOWREC_FRAG;
	r[1].flags = FLOWREC_PACKET;
	counters_add(counters_shard(cnt, 0), r, 2);
	counters_tick(cnt, 101 * NS, NULL, NULL);
	counters_po_stat(cnt, PO_WEB, PROTO_UDP, DIR_IN, &st);
	assert_int_equal(st.last[CNT_FRAGS], 1);
	assert_int_equal(st.last[CNT_FLOWS], 1);	/* an unsampled packet starts a flow */
	counters_po_stat(cnt, PO_WEB, PROTO_ICMP, DIR_IN, &st);
	assert_int_equal(st.last[CNT_PACKETS], 4);
	assert_int_equal(st.last[CNT_BYTES], 400);
	assert_int_equal(st.last[CNT_FLOWS], 0);	/* sampled packets count no flows */
}

static struct flow_rec
pkt(const char *src, const char *dst, uint8_t proto, uint16_t sport, uint16_t dport,
    uint64_t t_s)
{
	struct flow_rec r = rec(src, dst, proto, 60, 1, 1);

	r.flags = FLOWREC_PACKET;
	r.sport = sport;
	r.dport = dport;
	r.time_ns = t_s * NS;
	return r;
}

static uint64_t
flows_last(uint32_t po, unsigned proto, unsigned dir)
{
	struct counters_stat st;

	assert_int_equal(counters_po_stat(cnt, po, proto, dir, &st), 0);
	return st.last[CNT_FLOWS];
}

/* Packet input: one flow per ordered 5-tuple until it has been quiet for
   one to two COUNTERS_FLOW_AGE_S. */
static void
test_packet_flows_new_and_aged(void **state)
{
	struct counters_shard *sh = counters_shard(cnt, 0);
	const uint64_t t0 = 1000, age = COUNTERS_FLOW_AGE_S;
	struct flow_rec r;

	for (int i = 0; i < 100; i++) {
		r = pkt("203.0.113.1", "192.0.2.10", 6, 40000, 80, t0);
		counters_add(sh, &r, 1);
	}
	r = pkt("192.0.2.10", "203.0.113.1", 6, 80, 40000, t0);	/* the reply: a flow out */
	counters_add(sh, &r, 1);
	r = pkt("203.0.113.1", "192.0.2.10", 17, 40000, 80, t0);	/* UDP: another flow */
	counters_add(sh, &r, 1);
	r = pkt("203.0.113.1", "192.0.2.10", 6, 40001, 80, t0);	/* another source port */
	counters_add(sh, &r, 1);
	r = pkt("203.0.113.1", "203.0.113.2", 6, 1, 2, t0);	/* no PO: not counted */
	counters_add(sh, &r, 1);
	counters_tick(cnt, 101 * NS, NULL, NULL);
	assert_int_equal(flows_last(PO_WEB, PROTO_TCP, DIR_IN), 2);
	assert_int_equal(flows_last(PO_WEB, PROTO_TCP, DIR_OUT), 1);
	assert_int_equal(flows_last(PO_WEB, PROTO_UDP, DIR_IN), 1);

	/* Seen again within an age, then once more an age later: still the
	   same flow (it moves to the newer generation). */
	r = pkt("203.0.113.1", "192.0.2.10", 6, 40000, 80, t0 + age - 1);
	counters_add(sh, &r, 1);
	r = pkt("203.0.113.1", "192.0.2.10", 6, 40000, 80, t0 + 2 * age - 1);
	counters_add(sh, &r, 1);
	counters_tick(cnt, 102 * NS, NULL, NULL);
	assert_int_equal(flows_last(PO_WEB, PROTO_TCP, DIR_IN), 0);

	/* Quiet for more than two ages: a new flow. */
	r = pkt("203.0.113.1", "192.0.2.10", 6, 40000, 80, t0 + 4 * age + 1);
	counters_add(sh, &r, 1);
	counters_tick(cnt, 103 * NS, NULL, NULL);
	assert_int_equal(flows_last(PO_WEB, PROTO_TCP, DIR_IN), 1);
}

/*
 * A flood of spoofed 5-tuples, several times what the bitmaps hold: the
 * bitmaps turn over early instead of growing, and the count stays close to
 * the truth (the weights make up for the flows collisions hide).
 */
static void
test_packet_flows_spoofed_flood(void **state)
{
	struct counters_shard *sh = counters_shard(cnt, 0);
	enum { BATCH = 256, NFLOWS = 8 * LIMIT_COLLECT_FLOW_BITS };
	static struct flow_rec b[BATCH];
	uint32_t x = 12345;
	uint64_t got, benign;

	for (unsigned i = 0; i < NFLOWS; i += BATCH) {
		for (unsigned k = 0; k < BATCH; k++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			b[k] = pkt("203.0.113.1", "192.0.2.10", 17, (uint16_t)x, 53, 2000);
			memcpy(b[k].src.a, &x, 4);	/* a random source, a random port */
			b[k].src.a[0] = 203;
		}
		counters_add(sh, b, BATCH);
	}
	counters_tick(cnt, 101 * NS, NULL, NULL);
	got = flows_last(PO_WEB, PROTO_UDP, DIR_IN);
	/* xorshift32 does not repeat within 2^32 - 1 draws: every tuple is new
	   up to the few whose random source byte was overwritten alike. */
	assert_true(got > (uint64_t)(NFLOWS * 0.97) && got < (uint64_t)(NFLOWS * 1.03));

	/* One benign flow, many packets, after the flood: at most one flow's
	   weight (or none: with the bitmaps half full its bits may be set). */
	for (int i = 0; i < 1000; i++) {
		struct flow_rec r = pkt("198.51.100.9", "192.0.2.10", 6, 5000, 443, 2001);

		counters_add(sh, &r, 1);
	}
	counters_tick(cnt, 102 * NS, NULL, NULL);
	benign = flows_last(PO_WEB, PROTO_TCP, DIR_IN);
	assert_true(benign <= 4);
}

static void
test_rates_and_intervals(void **state)
{
	struct flow_rec r = rec("203.0.113.1", "192.0.2.10", 6, 1000, 10, 1);
	struct counters_stat st;

	counters_add(counters_shard(cnt, 0), &r, 1);
	counters_tick(cnt, 102 * NS, NULL, NULL);	/* a 2 s interval */
	counters_po_stat(cnt, PO_WEB, PROTO_TCP, DIR_IN, &st);
	assert_int_equal(st.last[CNT_BYTES], 1000);
	assert_true(fabs(st.rate[CNT_W1][CNT_BYTES] - 500.0) < 1e-9);
	assert_true(fabs(st.rate[CNT_W10][CNT_BYTES] - 500.0 * (1 - exp(-0.2))) < 1e-2);
	assert_true(fabs(st.rate[CNT_W60][CNT_BYTES] - 500.0 * (1 - exp(-2.0 / 60))) < 1e-2);
	/* an idle interval: the last-second rate drops to 0, the averages decay */
	counters_tick(cnt, 103 * NS, NULL, NULL);
	counters_po_stat(cnt, PO_WEB, PROTO_TCP, DIR_IN, &st);
	assert_int_equal(st.last[CNT_BYTES], 0);
	assert_int_equal(st.total[CNT_BYTES], 1000);
	assert_true(st.rate[CNT_W10][CNT_BYTES] > 0);
	assert_true(st.rate[CNT_W10][CNT_BYTES] < 500.0 * (1 - exp(-0.2)));
}

static void
test_top_hosts_per_interval(void **state)
{
	struct flow_rec r[3] = {
		rec("203.0.113.1", "192.0.2.10", 6, 100, 1, 1),
		rec("203.0.113.2", "192.0.2.11", 6, 900, 1, 1),
		rec("203.0.113.3", "192.0.2.10", 6, 50, 1, 1),
	};
	struct counters_host top[4];
	struct ipaddr a11;

	counters_add(counters_shard(cnt, 0), r, 3);
	counters_tick(cnt, 101 * NS, NULL, NULL);
	assert_int_equal(counters_top_hosts(cnt, PO_WEB, top, 4), 2);
	assert_int_equal(ipaddr_parse("192.0.2.11", &a11), 0);
	assert_true(ipaddr_equal(&top[0].addr, &a11));
	assert_int_equal(top[0].bytes, 900);
	assert_int_equal(top[1].bytes, 150);
	assert_int_equal(top[1].packets, 2);
	assert_int_equal(counters_top_hosts(cnt, PO_WEB, top, 1), 1);
	assert_int_equal(top[0].bytes, 900);
	/* the next interval starts empty */
	counters_tick(cnt, 102 * NS, NULL, NULL);
	assert_int_equal(counters_top_hosts(cnt, PO_WEB, top, 4), 0);
}

struct samples {
	unsigned n, heavy, outbound;
	struct ipaddr heavy_src;
};

static void
collect_sample(void *ctx, const struct counters_obs *o)
{
	struct samples *sm = ctx;

	sm->n++;
	sm->heavy += ipaddr_equal(&o->src, &sm->heavy_src);
	sm->outbound += o->po != PO_WEB;
}

/* Inbound records are sampled about 1 in COUNTERS_OBS_EVERY, bounded per
 * interval, delivered at the tick, and a heavy source shows in them. */
static void
test_samples_for_top_sources(void **state)
{
	struct samples sm = { 0 };
	struct flow_rec r[64];
	char src[32];

	assert_int_equal(ipaddr_parse("203.0.113.66", &sm.heavy_src), 0);
	counters_set_observer(cnt, collect_sample, &sm);
	for (unsigned round = 0; round < 100; round++) {
		for (unsigned i = 0; i < 64; i++) {
			/* half from one source, half from 32 others */
			snprintf(src, sizeof(src), "203.0.113.%u", i % 2 ? 66 : 100 + i % 64 / 2);
			r[i] = rec(src, "192.0.2.10", 17, 100, 1, 1);
		}
		counters_add(counters_shard(cnt, 0), r, 64);
	}
	r[0] = rec("192.0.2.10", "203.0.113.9", 17, 100, 1, 1);	/* outbound: never sampled */
	for (unsigned i = 0; i < 100; i++)
		counters_add(counters_shard(cnt, 0), r, 1);
	assert_int_equal(sm.n, 0);	/* nothing before the tick */
	counters_tick(cnt, 101 * NS, NULL, NULL);
	/* 6400 inbound records, one in 16 on average */
	assert_in_range(sm.n, 6400 / COUNTERS_OBS_EVERY / 2, 6400 / COUNTERS_OBS_EVERY * 2);
	assert_int_equal(sm.outbound, 0);
	assert_in_range(sm.heavy * 100 / sm.n, 30, 70);

	/* A flood fills the interval's buffer and no more. */
	sm.n = 0;
	for (unsigned round = 0; round < 3000; round++)
		counters_add(counters_shard(cnt, 0), r + 1, 63);
	counters_tick(cnt, 102 * NS, NULL, NULL);
	assert_int_equal(sm.n, LIMIT_COLLECT_OBS);
	counters_set_observer(cnt, NULL, NULL);
}

static void
test_locations(void **state)
{
	struct flow_rec r = rec("203.0.113.1", "192.0.2.10", 6, 100, 1, 1);
	struct counters_stat st;

	r.location = 3;
	counters_add(counters_shard(cnt, 0), &r, 1);
	r.location = 200;	/* beyond max_locations: still counted for the PO */
	counters_add(counters_shard(cnt, 0), &r, 1);
	counters_tick(cnt, 101 * NS, NULL, NULL);
	assert_int_equal(counters_location_stat(cnt, 3, PROTO_TCP, DIR_IN, &st), 0);
	assert_int_equal(st.total[CNT_BYTES], 100);
	counters_po_stat(cnt, PO_WEB, PROTO_TCP, DIR_IN, &st);
	assert_int_equal(st.total[CNT_BYTES], 200);
	assert_int_equal(counters_location_stat(cnt, 8, PROTO_TCP, DIR_IN, &st), -ERANGE);
}

static void
test_lpm_swap(void **state)
{
	struct lpm *l2 = lpm_new();
	struct prefix p;
	struct flow_rec r = rec("203.0.113.1", "203.0.113.9", 6, 100, 1, 1);
	struct counters_stat st;

	assert_int_equal(prefix_parse("203.0.113.0/24", &p), 0);
	assert_int_equal(lpm_insert(l2, &p, PO_DNS), 0);
	counters_set_lpm(cnt, l2);
	assert_true(counters_lpm_idle(cnt, lpm));
	counters_add(counters_shard(cnt, 0), &r, 1);
	counters_tick(cnt, 101 * NS, NULL, NULL);
	counters_po_stat(cnt, PO_DNS, PROTO_TCP, DIR_IN, &st);
	assert_int_equal(st.total[CNT_BYTES], 100);
	counters_set_lpm(cnt, lpm);
	lpm_free(l2);
}

struct writer_arg {
	struct counters_shard *s;
	unsigned rounds;
};

static void *
writer(void *arg)
{
	struct writer_arg *w = arg;
	struct flow_rec r = rec("203.0.113.1", "192.0.2.10", 6, 10, 1, 1);

	for (unsigned i = 0; i < w->rounds; i++)
		counters_add(w->s, &r, 1);
	return NULL;
}

/* Two writer threads on two shards, ticks in between: totals are exact. */
static void
test_shards_sum_exactly(void **state)
{
	struct counters *c2 = counters_new(2, 2, 2);
	struct writer_arg wa[2];
	pthread_t th[2];
	struct counters_stat st;

	counters_set_lpm(c2, lpm);
	counters_tick(c2, 1 * NS, NULL, NULL);
	for (unsigned i = 0; i < 2; i++) {
		wa[i] = (struct writer_arg){ counters_shard(c2, i), 100000 };
		assert_int_equal(pthread_create(&th[i], NULL, writer, &wa[i]), 0);
	}
	for (unsigned t = 2; t < 6; t++)
		counters_tick(c2, t * NS, NULL, NULL);
	for (unsigned i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	counters_tick(c2, 6 * NS, NULL, NULL);
	counters_po_stat(c2, PO_WEB, PROTO_TCP, DIR_IN, &st);
	assert_int_equal(st.total[CNT_PACKETS], 200000);
	assert_int_equal(st.total[CNT_BYTES], 2000000);
	counters_free(c2);
}

static struct flow_rec
rec_ports(const char *src, const char *dst, uint8_t proto, uint16_t sport, uint16_t dport,
    uint64_t bytes, uint64_t packets)
{
	struct flow_rec r = rec(src, dst, proto, bytes, packets, 1);

	r.sport = sport;
	r.dport = dport;
	return r;
}

static const struct reading *
find_port(const struct got *g, uint32_t po, unsigned proto, unsigned dir, uint16_t port)
{
	for (unsigned i = 0; i < g->n; i++)
		if (g->r[i].po_id == po && g->r[i].proto == proto && g->r[i].dir == dir &&
		    g->r[i].port == port)
			return &g->r[i];
	return NULL;
}

static void
set_web_ports(void)
{
	static const uint16_t web_ports[] = { 53, 80 };
	const struct counters_po_ports list[] = { { PO_WEB, web_ports, 2 } };

	assert_int_equal(counters_set_ports(cnt, list, 1), 0);
}

/* Inbound by destination port, outbound by source port, exact; other
 * ports only in port 0; ICMP has no port series. */
static void
test_ports_exact(void **state)
{
	struct flow_rec r[] = {
		rec_ports("203.0.113.1", "192.0.2.10", 17, 4000, 53, 100, 2),	/* in udp/53 */
		rec_ports("203.0.113.2", "192.0.2.11", 17, 4001, 53, 60, 1),	/* in udp/53 */
		rec_ports("203.0.113.1", "192.0.2.10", 6, 5000, 80, 1000, 10),	/* in tcp/80 */
		rec_ports("203.0.113.1", "192.0.2.10", 6, 5000, 443, 7, 1),	/* in tcp/443: not configured */
		rec_ports("192.0.2.10", "203.0.113.1", 6, 80, 5000, 3000, 3),	/* out tcp from 80 */
		rec_ports("192.0.2.10", "203.0.113.1", 6, 5000, 80, 11, 1),	/* out tcp to 80: not a service port */
		rec_ports("198.51.100.3", "198.51.100.4", 17, 9, 53, 5, 1),	/* DNS PO: no ports */
	};
	struct got g = { 0 };
	struct counters_stat st;
	const struct reading *x;

	set_web_ports();
	counters_add(counters_shard(cnt, 0), r, sizeof(r) / sizeof(r[0]));
	counters_tick(cnt, 101 * NS, collect_reading, &g);
	/* port 0 for both POs, then 2 ports x 2 protocols x 2 directions of web */
	assert_int_equal(g.n, 2 * PROTO__COUNT * DIR__COUNT + 2 * 2 * 2);
	x = find_port(&g, PO_WEB, PROTO_UDP, DIR_IN, 53);
	assert_non_null(x);
	assert_int_equal(x->bytes, 160);
	assert_int_equal(x->packets, 3);
	assert_int_equal(x->flows, 2);
	assert_int_equal(find_port(&g, PO_WEB, PROTO_TCP, DIR_IN, 80)->bytes, 1000);
	assert_int_equal(find_port(&g, PO_WEB, PROTO_TCP, DIR_IN, 53)->bytes, 0);
	assert_int_equal(find_port(&g, PO_WEB, PROTO_TCP, DIR_OUT, 80)->bytes, 3000);
	assert_int_equal(find_port(&g, PO_WEB, PROTO_UDP, DIR_OUT, 53)->bytes, 0);
	assert_null(find_port(&g, PO_WEB, PROTO_TCP, DIR_IN, 443));
	assert_null(find_port(&g, PO_WEB, PROTO_ICMP, DIR_IN, 53));
	assert_null(find_port(&g, PO_DNS, PROTO_UDP, DIR_IN, 53));
	/* port 0 still has everything */
	assert_int_equal(find_port(&g, PO_WEB, PROTO_TCP, DIR_IN, 0)->bytes, 1007);
	assert_int_equal(find_port(&g, PO_WEB, PROTO_TCP, DIR_OUT, 0)->bytes, 3011);
	assert_int_equal(counters_port_stat(cnt, PO_WEB, PROTO_UDP, DIR_IN, 53, &st), 0);
	assert_int_equal(st.total[CNT_PACKETS], 3);
	assert_true(fabs(st.rate[CNT_W1][CNT_BYTES] - 160.0) < 1e-9);
	assert_int_equal(counters_port_stat(cnt, PO_WEB, PROTO_UDP, DIR_IN, 443, &st), -ENOENT);
	assert_int_equal(counters_port_stat(cnt, PO_WEB, PROTO_ICMP, DIR_IN, 53, &st), -ENOENT);
	assert_int_equal(counters_port_stat(cnt, PO_DNS, PROTO_UDP, DIR_IN, 53, &st), -ENOENT);
	assert_int_equal(counters_port_stat(cnt, 9, PROTO_UDP, DIR_IN, 53, &st), -ERANGE);
}

/* A new port table keeps the series that stay, with what was counted
 * before the swap; bad lists are refused. */
static void
test_ports_swap_keeps_series(void **state)
{
	static const uint16_t p80[] = { 80 }, bad[] = { 80, 53 }, zero[] = { 0 };
	const struct counters_po_ports only80[] = { { PO_WEB, p80, 1 } };
	const struct counters_po_ports unsorted[] = { { PO_WEB, bad, 2 } };
	const struct counters_po_ports zerop[] = { { PO_WEB, zero, 1 } };
	const struct counters_po_ports twice[] = { { PO_DNS, p80, 1 }, { PO_WEB, p80, 1 } };
	struct flow_rec r = rec_ports("203.0.113.1", "192.0.2.10", 6, 5000, 80, 100, 1);
	struct counters_stat st;

	set_web_ports();
	counters_add(counters_shard(cnt, 0), &r, 1);
	counters_tick(cnt, 101 * NS, NULL, NULL);
	counters_add(counters_shard(cnt, 0), &r, 1);	/* counted in the old table */
	assert_int_equal(counters_set_ports(cnt, only80, 1), 0);
	counters_add(counters_shard(cnt, 0), &r, 1);	/* and in the new one */
	counters_tick(cnt, 102 * NS, NULL, NULL);
	assert_int_equal(counters_port_stat(cnt, PO_WEB, PROTO_TCP, DIR_IN, 80, &st), 0);
	assert_int_equal(st.last[CNT_BYTES], 200);
	assert_int_equal(st.total[CNT_BYTES], 300);
	assert_int_equal(counters_port_stat(cnt, PO_WEB, PROTO_UDP, DIR_IN, 53, &st), -ENOENT);
	assert_int_equal(counters_set_ports(cnt, unsorted, 1), -EINVAL);
	assert_int_equal(counters_set_ports(cnt, zerop, 1), -EINVAL);
	assert_int_equal(counters_set_ports(cnt, twice, 2), -EINVAL);
	assert_int_equal(counters_set_ports(cnt, NULL, 0), 0);
	assert_int_equal(counters_port_stat(cnt, PO_WEB, PROTO_TCP, DIR_IN, 80, &st), -ENOENT);
}

/*
 * The tick sums only the port slots written since the last tick or still
 * live: a quiet series reads zero, its rates decay to zero over idle ticks,
 * it counts again when traffic returns, from either shard, and what is
 * counted while its PO is beyond the npos limit shows once the PO is back.
 */
static void
test_ports_quiet_and_resumed(void **state)
{
	struct counters *c2 = counters_new(4, 8, 2);
	struct flow_rec r = rec_ports("203.0.113.1", "192.0.2.10", 6, 5000, 80, 100, 1);
	static const uint16_t p80[] = { 80 };
	const struct counters_po_ports only80[] = { { PO_WEB, p80, 1 } };
	struct counters_stat st;
	struct got g = { 0 };
	uint64_t t = 100;

	assert_non_null(c2);
	counters_set_lpm(c2, lpm);
	counters_set_npos(c2, 2);
	assert_int_equal(counters_set_ports(c2, only80, 1), 0);
	counters_tick(c2, t * NS, NULL, NULL);
	counters_add(counters_shard(c2, 0), &r, 1);
	counters_add(counters_shard(c2, 1), &r, 1);
	counters_tick(c2, ++t * NS, NULL, NULL);
	assert_int_equal(counters_port_stat(c2, PO_WEB, PROTO_TCP, DIR_IN, 80, &st), 0);
	assert_int_equal(st.last[CNT_BYTES], 200);
	assert_true(st.rate[CNT_W10][CNT_BYTES] > 0);
	/* quiet: last interval zero at once, the averages fall to zero */
	counters_tick(c2, ++t * NS, collect_reading, &g);
	assert_int_equal(find_port(&g, PO_WEB, PROTO_TCP, DIR_IN, 80)->bytes, 0);
	for (unsigned i = 0; i < 2000; i++)
		counters_tick(c2, ++t * NS, NULL, NULL);
	assert_int_equal(counters_port_stat(c2, PO_WEB, PROTO_TCP, DIR_IN, 80, &st), 0);
	assert_int_equal(st.last[CNT_BYTES], 0);
	assert_true(st.rate[CNT_W10][CNT_BYTES] == 0 && st.rate[CNT_W60][CNT_BYTES] == 0);
	assert_int_equal(st.total[CNT_BYTES], 200);
	/* traffic again, from the second shard only */
	counters_add(counters_shard(c2, 1), &r, 1);
	g.n = 0;
	counters_tick(c2, ++t * NS, collect_reading, &g);
	assert_int_equal(find_port(&g, PO_WEB, PROTO_TCP, DIR_IN, 80)->bytes, 100);
	assert_int_equal(counters_port_stat(c2, PO_WEB, PROTO_TCP, DIR_IN, 80, &st), 0);
	assert_int_equal(st.total[CNT_BYTES], 300);
	/* counted while the PO is beyond npos: no reading, then all of it */
	counters_set_npos(c2, 0);
	counters_add(counters_shard(c2, 0), &r, 1);
	g.n = 0;
	counters_tick(c2, ++t * NS, collect_reading, &g);
	assert_null(find_port(&g, PO_WEB, PROTO_TCP, DIR_IN, 80));
	counters_tick(c2, ++t * NS, NULL, NULL);
	counters_set_npos(c2, 2);
	counters_tick(c2, ++t * NS, NULL, NULL);
	assert_int_equal(counters_port_stat(c2, PO_WEB, PROTO_TCP, DIR_IN, 80, &st), 0);
	assert_int_equal(st.last[CNT_BYTES], 100);
	assert_int_equal(st.total[CNT_BYTES], 400);
	counters_free(c2);
}

struct host_seen {
	unsigned n;
	uint32_t po[16];
	unsigned proto[16];
	struct counters_host h[16];
};

static void
collect_host(void *ctx, uint32_t po, enum proto_class proto, const struct counters_host *h)
{
	struct host_seen *hs = ctx;

	if (hs->n < 16) {
		hs->po[hs->n] = po;
		hs->proto[hs->n] = proto;
		hs->h[hs->n++] = *h;
	}
}

/* Hosts are kept per protocol: top lists per protocol and summed. */
static void
test_hosts_per_protocol(void **state)
{
	struct flow_rec r[] = {
		rec_ports("203.0.113.1", "192.0.2.10", 17, 1, 53, 800, 8),
		rec_ports("203.0.113.1", "192.0.2.10", 6, 1, 80, 100, 1),
		rec_ports("203.0.113.1", "192.0.2.11", 6, 1, 80, 500, 5),
	};
	struct counters_host top[4];
	struct host_seen hs = { 0 };
	struct ipaddr a10, a11;

	r[1].syns = 1;
	counters_add(counters_shard(cnt, 0), r, 3);
	counters_tick(cnt, 101 * NS, NULL, NULL);
	assert_int_equal(ipaddr_parse("192.0.2.10", &a10), 0);
	assert_int_equal(ipaddr_parse("192.0.2.11", &a11), 0);
	/* over all protocols: .10 has 900 bytes */
	assert_int_equal(counters_top_hosts(cnt, PO_WEB, top, 4), 2);
	assert_true(ipaddr_equal(&top[0].addr, &a10));
	assert_int_equal(top[0].bytes, 900);
	assert_int_equal(top[0].packets, 9);
	assert_int_equal(top[0].syns, 1);
	/* TCP only: .11 leads, and .10 has only its TCP bytes */
	assert_int_equal(counters_top_hosts_proto(cnt, PO_WEB, PROTO_TCP, top, 4), 2);
	assert_true(ipaddr_equal(&top[0].addr, &a11));
	assert_int_equal(top[1].bytes, 100);
	assert_int_equal(top[1].syns, 1);
	assert_int_equal(top[1].flows, 1);
	assert_int_equal(counters_top_hosts_proto(cnt, PO_WEB, PROTO_UDP, top, 4), 1);
	assert_int_equal(top[0].bytes, 800);
	assert_int_equal(counters_top_hosts_proto(cnt, PO_WEB, PROTO_ICMP, top, 4), 0);
	counters_walk_hosts(cnt, collect_host, &hs);
	assert_int_equal(hs.n, 3);
	assert_int_equal(counters_interval_ns(cnt), NS);
	assert_int_equal(counters_last_tick_ns(cnt), 101 * NS);
}

/* The host table holds LIMIT_COLLECT_HOSTS (PO, protocol, host) entries per
 * interval and counts what did not fit. */
static void
test_hosts_bounded(void **state)
{
	struct flow_rec r[256];
	struct host_seen hs = { 0 };
	unsigned total = 0;

	for (unsigned base = 0; base < LIMIT_COLLECT_HOSTS + 512; base += 256) {
		for (unsigned i = 0; i < 256; i++) {
			unsigned k = base + i;

			r[i] = rec("203.0.113.1", "2001:db8:1::1", 17, 10, 1, 1);
			r[i].dst.a[12] = (uint8_t)(k >> 24), r[i].dst.a[13] = (uint8_t)(k >> 16);
			r[i].dst.a[14] = (uint8_t)(k >> 8), r[i].dst.a[15] = (uint8_t)k;
		}
		counters_add(counters_shard(cnt, 0), r, 256);
		total += 256;
	}
	counters_tick(cnt, 101 * NS, NULL, NULL);
	assert_int_equal(counters_hosts_dropped(cnt), total - LIMIT_COLLECT_HOSTS);
	counters_walk_hosts(cnt, collect_host, &hs);
	assert_int_equal(hs.n, 16);	/* the walk saw many; the test keeps 16 */
}

static void
test_proto_class(void **state)
{
	assert_int_equal(counters_proto_class(6), PROTO_TCP);
	assert_int_equal(counters_proto_class(17), PROTO_UDP);
	assert_int_equal(counters_proto_class(1), PROTO_ICMP);
	assert_int_equal(counters_proto_class(58), PROTO_ICMP);
	assert_int_equal(counters_proto_class(47), PROTO_OTHER);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_inbound_outbound_and_scaling, setup, teardown),
		cmocka_unit_test_setup_teardown(test_samples_for_top_sources, setup, teardown),
		cmocka_unit_test_setup_teardown(test_between_two_pos_counts_for_both, setup, teardown),
		cmocka_unit_test_setup_teardown(test_packets_fragments_and_icmp_class, setup, teardown),
		cmocka_unit_test_setup_teardown(test_packet_flows_new_and_aged, setup, teardown),
		cmocka_unit_test_setup_teardown(test_packet_flows_spoofed_flood, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rates_and_intervals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_top_hosts_per_interval, setup, teardown),
		cmocka_unit_test_setup_teardown(test_locations, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lpm_swap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shards_sum_exactly, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ports_exact, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ports_swap_keeps_series, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ports_quiet_and_resumed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hosts_per_protocol, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hosts_bounded, setup, teardown),
		cmocka_unit_test(test_proto_class),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
