/* Unit tests for collect/ipfix (golden messages: data/collect/gen.py ipfix()). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>

#include "collect/ipfix.h"
#include "collect/nftmpl.h"
#include "collect_test.h"

static struct ct_sink sink;
static struct exporter_table *tab;
static struct ipaddr from;
static uint8_t buf[4096];

static int
setup(void **state)
{
	memset(&sink, 0, sizeof(sink));
	tab = exporter_table_new();
	from = ct_addr("2001:db8::fe");
	return tab ? 0 : -1;
}

static int
teardown(void **state)
{
	exporter_table_free(tab);
	return 0;
}

static int
parse_buf(size_t n)
{
	struct cursor c = cur_init(buf, n);

	return ipfix_parse(tab, &from, &c, 9, ct_sink_fn, &sink);
}

static int
parse_file(const char *name)
{
	return parse_buf(ct_load(name, buf, sizeof(buf)));
}

/* Big-endian writers for hand-built messages. */
static size_t
put16(uint8_t *p, size_t off, uint16_t v)
{
	p[off] = (uint8_t)(v >> 8);
	p[off + 1] = (uint8_t)v;
	return off + 2;
}

static size_t
put32(uint8_t *p, size_t off, uint32_t v)
{
	off = put16(p, off, (uint16_t)(v >> 16));
	return put16(p, off, (uint16_t)v);
}

/*
 * RFC 5103 biflow: one record 192.0.2.10:1111 -> 198.51.100.1:80 with 600
 * bytes / 5 packets forward (SYN|ACK|PSH) and reverse counters (PEN 29305)
 * of 9000 bytes / 7 packets with SYN|ACK: two records come out, the reverse
 * one with addresses and ports swapped, and neither counts a SYN.
 */
static void
test_biflow_reverse_counters(void **state)
{
	static const uint16_t fields[][2] = {
		{ 8, 4 }, { 12, 4 }, { 7, 2 }, { 11, 2 }, { 4, 1 }, { 1, 4 }, { 2, 4 }, { 6, 1 },
	};
	static const uint16_t rev[][2] = { { 1, 4 }, { 2, 4 }, { 6, 1 } };
	size_t off = 16, tlen_at, dlen_at;

	memset(buf, 0, sizeof(buf));
	/* template set */
	off = put16(buf, off, 2);
	tlen_at = off;
	off = put16(buf, off, 0);
	off = put16(buf, off, 300);
	off = put16(buf, off, 11);
	for (size_t i = 0; i < 8; i++) {
		off = put16(buf, off, fields[i][0]);
		off = put16(buf, off, fields[i][1]);
	}
	for (size_t i = 0; i < 3; i++) {
		off = put16(buf, off, (uint16_t)(0x8000u | rev[i][0]));
		off = put16(buf, off, rev[i][1]);
		off = put32(buf, off, 29305);
	}
	put16(buf, tlen_at, (uint16_t)(off - tlen_at + 2));
	/* data set */
	dlen_at = off + 2;
	off = put16(buf, off, 300);
	off = put16(buf, off, 0);
	off = put32(buf, off, 0xc000020au);
	off = put32(buf, off, 0xc6336401u);
	off = put16(buf, off, 1111);
	off = put16(buf, off, 80);
	buf[off++] = 6;
	off = put32(buf, off, 600);
	off = put32(buf, off, 5);
	buf[off++] = 0x1a;
	off = put32(buf, off, 9000);
	off = put32(buf, off, 7);
	buf[off++] = 0x12;
	put16(buf, dlen_at, (uint16_t)(off - dlen_at + 2));
	/* header */
	put16(buf, 0, 10);
	put16(buf, 2, (uint16_t)off);
	put32(buf, 4, 1700000000u);
	put32(buf, 8, 0);
	put32(buf, 12, 1);
	assert_int_equal(parse_buf(off), 1);
	assert_int_equal(sink.n, 2);
	assert_int_equal(sink.r[0].bytes, 600);
	assert_int_equal(sink.r[0].sport, 1111);
	assert_int_equal(sink.r[0].syns, 0);
	assert_int_equal(sink.r[1].bytes, 9000);
	assert_int_equal(sink.r[1].packets, 7);
	assert_int_equal(sink.r[1].sport, 80);
	assert_int_equal(sink.r[1].dport, 1111);
	assert_int_equal(sink.r[1].tcp_flags, 0x12);
	assert_int_equal(sink.r[1].syns, 0);
	assert_true(ipaddr_equal(&sink.r[1].src, &sink.r[0].dst));
	assert_true(ipaddr_equal(&sink.r[1].dst, &sink.r[0].src));
}

static void
test_varlen_and_enterprise_fields(void **state)
{
	struct ipaddr want = ct_addr("2001:db8:1::2");
	const struct flow_rec *r = &sink.r[0];

	assert_int_equal(parse_file("ipfix_tmpl_data.bin"), 2);
	assert_true(ipaddr_equal(&r->dst, &want));
	assert_int_equal(r->sport, 5000);
	assert_int_equal(r->dport, 443);
	assert_int_equal(r->proto, 6);
	assert_int_equal(r->bytes, 123456);
	assert_int_equal(r->packets, 100);
	assert_int_equal(r->time_ns, 1700000199123000000ull);
	/* the second record has an empty varlen string and still aligns */
	want = ct_addr("2001:db8:1::3");
	assert_true(ipaddr_equal(&sink.r[1].dst, &want));
	assert_int_equal(sink.r[1].bytes, 64);
	assert_int_equal(exporter_at(tab, 0)->domain, 7);
}

struct conn_sink {
	unsigned n;
	struct ipfix_conn ev[4];
};

static void
conn_sink_fn(void *ctx, const struct ipfix_conn *ev)
{
	struct conn_sink *s = ctx;

	if (s->n < 4)
		s->ev[s->n] = *ev;
	s->n++;
}

/* moat-ins's enterprise elements become connection events; the records are
 * flows too; unknown enterprise elements (another PEN, an unknown moat-ins
 * id, a variable length) are skipped and the record still aligns. */
static void
test_moat_ins_events(void **state)
{
	struct conn_sink cs = { 0 };
	struct ipaddr src = ct_addr("198.51.100.9"), dst = ct_addr("203.0.113.5");
	const struct ipfix_conn *e = &cs.ev[0];

	exporter_table_set_conn_sink(tab, conn_sink_fn, &cs);
	assert_int_equal(parse_file("ipfix_ins.bin"), 2);
	exporter_table_set_conn_sink(tab, NULL, NULL);
	assert_int_equal(cs.n, 2);
	assert_true(ipaddr_equal(&e->exporter, &from));
	assert_int_equal(e->domain, 4242);
	assert_int_equal(e->event, 2);
	assert_int_equal(e->conn_id, 77);
	assert_true(ipaddr_equal(&e->src, &src));
	assert_true(ipaddr_equal(&e->dst, &dst));
	assert_int_equal(e->sport, 40000);
	assert_int_equal(e->dport, 80);
	assert_int_equal(e->start_ms, 1700000000000ull);
	assert_int_equal(e->end_ms, 1700000001000ull);
	assert_int_equal(e->in_delta, 1234);
	assert_int_equal(e->pkts_delta, 5);
	assert_int_equal(e->in_total, 1234);
	assert_int_equal(e->out_total, 99999);
	assert_int_equal(e->rtt_us, 150);
	assert_int_equal(e->retrans, 2);
	assert_int_equal(e->snd_wnd, 65535);
	assert_int_equal(e->rcv_wnd, 131072);
	assert_int_equal(e->wqueue, 10);
	assert_int_equal(e->last_recv_ms, 5);
	assert_int_equal(e->last_sent_ms, 6);
	assert_int_equal(e->held_ms, 12);
	assert_int_equal(e->ttfb_ms, 3);
	assert_int_equal(e->headers_ms, IPFIX_CONN_UNKNOWN);
	/* the flow view of the same record, counted as before */
	assert_int_equal(sink.r[0].bytes, 1234);
	assert_int_equal(sink.r[0].packets, 5);
	assert_int_equal(sink.r[0].proto, 6);
	/* template 258: skipped elements around the known ones */
	e = &cs.ev[1];
	assert_int_equal(e->event, 8);
	assert_int_equal(e->conn_id, 78);
	assert_int_equal(e->in_total, 500);	/* reduced-size encoding */
	assert_int_equal(e->out_total, 0);	/* variable length: skipped */
	assert_int_equal(e->ttfb_ms, IPFIX_CONN_UNKNOWN);	/* absent */
	src = ct_addr("198.51.100.7");
	assert_true(ipaddr_equal(&e->src, &src));
	/* without a sink the records are flows only */
	memset(&sink, 0, sizeof(sink));
	cs.n = 0;
	assert_int_equal(parse_file("ipfix_ins.bin"), 2);
	assert_int_equal(cs.n, 0);
}

static void
test_miss_then_withdraw(void **state)
{
	struct exporter *e;

	assert_int_equal(parse_file("ipfix_data_only.bin"), 0);
	e = exporter_at(tab, 0);
	assert_int_equal(e->h.template_misses, 1);
	assert_int_equal(parse_file("ipfix_tmpl_data.bin"), 2);
	assert_int_equal(parse_file("ipfix_data_only.bin"), 2);
	assert_int_equal(parse_file("ipfix_withdraw.bin"), 0);
	assert_int_equal(nftmpl_cache_count(e->tmpl), 0);
	assert_int_equal(parse_file("ipfix_data_only.bin"), 0);
	assert_int_equal(e->h.template_misses, 2);
}

static void
test_sequence_counts_records(void **state)
{
	/* tmpl_data: seq 0 with 2 records; data_only: seq 2 -> no gap; again seq 2 after 4 */
	assert_int_equal(parse_file("ipfix_tmpl_data.bin"), 2);
	assert_int_equal(parse_file("ipfix_data_only.bin"), 2);
	assert_int_equal(exporter_at(tab, 0)->h.seq_gaps, 0);
	assert_int_equal(parse_file("ipfix_options.bin"), 0);	/* seq 4: as expected */
	assert_int_equal(exporter_at(tab, 0)->h.seq_gaps, 0);
}

static void
test_options_packet_interval_space(void **state)
{
	assert_int_equal(parse_file("ipfix_options.bin"), 0);
	assert_int_equal(exporter_at(tab, 0)->sampling, 100);
	assert_int_equal(parse_file("ipfix_tmpl_data.bin"), 2);
	assert_int_equal(sink.r[0].sampling, 100);
}

static void
test_message_length_checked(void **state)
{
	size_t n = ct_load("ipfix_tmpl_data.bin", buf, sizeof(buf));

	buf[3] = (uint8_t)(buf[3] + 1);	/* message one byte longer than the datagram */
	assert_int_equal(parse_buf(n), -EINVAL);
	assert_int_equal(sink.n, 0);
	n = ct_load("ipfix_tmpl_data.bin", buf, sizeof(buf));
	buf[19] = (uint8_t)(buf[19] + 1);	/* template set one byte past the message */
	assert_int_equal(parse_buf(n), -EINVAL);
	assert_int_equal(exporter_at(tab, 0)->h.parse_errors, 2);
}

static void
test_varlen_lie_stops_set(void **state)
{
	size_t n = ct_load("ipfix_tmpl_data.bin", buf, sizeof(buf));

	/* the first record's varlen length byte (0x04 before "eth0"): claim 250 */
	for (size_t i = 0; i + 4 < n; i++)
		if (memcmp(buf + i + 1, "eth0", 4) == 0 && buf[i] == 4)
			buf[i] = 250;
	assert_int_equal(parse_buf(n), 0);
	assert_int_equal(sink.n, 0);
}

static void
test_two_messages_in_one_buffer(void **state)
{
	size_t a = ct_load("ipfix_tmpl_data.bin", buf, sizeof(buf));
	uint8_t second[512];
	size_t b = ct_load("ipfix_data_only.bin", second, sizeof(second));

	memcpy(buf + a, second, b);
	assert_int_equal(parse_buf(a + b), 4);
	assert_int_equal(ipfix_frame(buf, 3), 0);
	assert_int_equal(ipfix_frame(buf, 4), (long)a);
	assert_int_equal(ipfix_frame(buf + a, 16), (long)b);
	buf[1] = 9;
	assert_int_equal(ipfix_frame(buf, 4), -EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_biflow_reverse_counters, setup, teardown),
		cmocka_unit_test_setup_teardown(test_varlen_and_enterprise_fields, setup, teardown),
		cmocka_unit_test_setup_teardown(test_moat_ins_events, setup, teardown),
		cmocka_unit_test_setup_teardown(test_miss_then_withdraw, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sequence_counts_records, setup, teardown),
		cmocka_unit_test_setup_teardown(test_options_packet_interval_space, setup, teardown),
		cmocka_unit_test_setup_teardown(test_message_length_checked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_varlen_lie_stops_set, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_messages_in_one_buffer, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
