/* Unit tests for engine/backtest: the CSV reader (header, columns in any
 * order, comments, CRLF, chunked input, every error names its line), PO
 * names, the replay clock, an end-to-end flood declared and ended with
 * the text and JSON reports, and a pcap where one host crosses its host
 * limit while the PO stays under its own. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "engine/backtest/backtest.h"

struct fixture {
	struct backtest *bt;
	struct dparams p;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	dparams_default(&f->p);
	f->p.rate.warmup_s = 5;
	f->p.rate.learn_s = 60;
	assert_int_equal(backtest_new(&f->p, &f->bt), 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	backtest_free(f->bt);
	free(f);
	return 0;
}

static int
csv(struct fixture *f, const char *text, struct backtest_error *err)
{
	return backtest_csv(f->bt, text, strlen(text), err);
}

static void
expect_error(const char *text, const char *msg)
{
	struct fixture *f;
	struct backtest_error err;

	setup((void **)&f);
	assert_int_not_equal(csv(f, text, &err), 0);
	if (strstr(err.msg, msg) == NULL)
		fail_msg("expected \"%s\" in \"%s\"", msg, err.msg);
	teardown((void **)&f);
}

static void
test_csv_errors(void **state)
{
	expect_error("time,po,protocol,direction,bytes\n", "line 1: missing column: packets");
	expect_error("time,po,protocol,direction,bytes,packets,color\n", "line 1: unknown column: color");
	expect_error("time,po,po,protocol,direction,bytes,packets\n", "duplicate column: po");
	expect_error("time,po,protocol,direction,bytes,packets\n1,web,tcp,in,1\n", "line 2: wrong number of fields");
	expect_error("time,po,protocol,direction,bytes,packets\n1x,web,tcp,in,1,1\n", "line 2: bad time");
	expect_error("time,po,protocol,direction,bytes,packets\n1,w b,tcp,in,1,1\n", "bad PO name");
	expect_error("time,po,protocol,direction,bytes,packets\n1,web,sctp,in,1,1\n", "protocol must be");
	expect_error("time,po,protocol,direction,bytes,packets\n1,web,tcp,up,1,1\n", "direction must be");
	expect_error("time,po,protocol,direction,bytes,packets\n1,web,tcp,in,-1,1\n", "not a count: bytes");
	expect_error("time,po,protocol,direction,bytes,packets\n\n#c\n2,web,tcp,in,1,1\n1,web,udp,in,1,1\n",
	    "line 5: time goes backwards");
	expect_error("time,po,protocol,direction,bytes,packets\n2,web,tcp,in,1,1\n2,web,tcp,in,1,1\n",
	    "line 3: time does not advance");
	/* A time whose nanoseconds overflow uint64_t (found by fuzz_backtest_csv). */
	expect_error("time,po,protocol,direction,bytes,packets\n99999999999.5,web,tcp,in,1,1\n", "line 2: bad time");
	expect_error("time,po,protocol,direction,bytes,packets\n20000000000,web,tcp,in,1,1\n", "line 2: bad time");
	expect_error("time,po,protocol,direction,bytes,packets,port\n1,web,tcp,in,1,1,65536\n", "port must be");
}

static void
test_csv_no_header(void **state)
{
	struct fixture *f = *state;
	struct backtest_error err;

	assert_int_equal(csv(f, "# only a comment\n\n", &err), 0);
	assert_int_equal(backtest_csv_done(f->bt, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "no header row"));
}

static void
test_csv_long_line(void **state)
{
	struct fixture *f = *state;
	struct backtest_error err;
	char *text = malloc(4096);

	memset(text, 'a', 4095);
	text[4095] = '\0';
	assert_int_equal(csv(f, text, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "line 1: line too long"));
	free(text);
}

static void
test_csv_columns_any_order_and_chunks(void **state)
{
	struct fixture *f = *state;
	struct backtest_error err;
	uint32_t id;

	assert_int_equal(csv(f, "packets,bytes,direction,protocol,po,time,syns\r\n", &err), 0);
	assert_int_equal(csv(f, "10,1000,in,tcp,web,1700000000,1\r\n", &err), 0);
	assert_int_equal(csv(f, "# comment\n10,1000,out,tcp,db,1700000000.5,0\n", &err), 0);
	assert_int_equal(backtest_csv_done(f->bt, &err), 0);
	assert_int_equal(backtest_stats(f->bt)->readings, 2);
	assert_int_equal(backtest_po(f->bt, "db", &id), 0);
	assert_int_equal(id, 1);
	assert_string_equal(backtest_po_name(f->bt, 0), "web");
	assert_string_equal(backtest_po_name(f->bt, 9), "?");
	assert_int_equal(backtest_po(f->bt, "", &id), -EINVAL);
}

/* A file through backtest_csv_file: a steady series, a flood, calm again. */
static void
test_flood_declared_and_ended(void **state)
{
	struct fixture *f = *state;
	struct backtest_error err;
	FILE *in = tmpfile(), *out = tmpfile();
	char report[8192];
	size_t n;

	assert_non_null(in);
	fprintf(in, "time,po,protocol,direction,bytes,packets,syns\n");
	for (unsigned s = 0; s < 400; s++) {
		unsigned pk = 1000 + (s * 7919) % 50;	/* +-2.5 % */
		unsigned syn = 10;

		if (s >= 200 && s < 260) {
			pk *= 10;
			syn = pk - 1000;
		}
		fprintf(in, "%u,web,tcp,in,%u,%u,%u\n", 1700000000 + s, pk * 100, pk, syn);
		fprintf(in, "%u,web,udp,in,%u,%u,0\n", 1700000000 + s, 5000, 50);
	}
	rewind(in);
	assert_int_equal(backtest_csv_file(f->bt, in, &err), 0);
	backtest_finish(f->bt);
	fclose(in);

	const struct decision_attack *a = decision_get(backtest_decision(f->bt), 1);
	assert_non_null(a);
	assert_null(decision_get(backtest_decision(f->bt), 2));
	assert_int_equal(a->state, DECISION_ENDED);
	assert_int_equal(a->type, DECISION_TYPE_SYN_FLOOD);
	assert_int_equal(a->proto, PROTO_TCP);
	/* first flood reading at +200, declared on the second (strong: 10x) */
	assert_int_equal(a->start_ns / 1000000000ULL, 1700000200);
	assert_int_equal(a->declared_ns / 1000000000ULL, 1700000201);
	/* last flood reading at +259, quiet period 30 s */
	assert_int_equal(a->end_ns / 1000000000ULL, 1700000259 + 30);
	assert_true(a->peak_pps >= 10000);

	assert_int_equal(backtest_report_text(f->bt, out), 0);
	rewind(out);
	n = fread(report, 1, sizeof(report) - 1, out);
	report[n] = '\0';
	assert_non_null(strstr(report, "syn-flood"));
	assert_non_null(strstr(report, "2023-11-14 22:16:40"));	/* +200 */
	assert_non_null(strstr(report, "1 attack(s) declared; 800 readings"));
	fclose(out);

	out = tmpfile();
	assert_int_equal(backtest_report_json(f->bt, out), 0);
	rewind(out);
	n = fread(report, 1, sizeof(report) - 1, out);
	report[n] = '\0';
	assert_non_null(strstr(report, "\"type\": \"syn-flood\""));
	assert_non_null(strstr(report, "\"start\": 1700000200"));
	assert_non_null(strstr(report, "\"po\": \"web\""));
	fclose(out);
}

/* --- host limits on packet input --- */

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* One IPv4/UDP packet (DLT_RAW) to 192.0.2.host:dport at t0 + us. */
static void
pcap_udp(FILE *f, uint64_t us, uint8_t host, uint16_t dport, uint16_t payload)
{
	uint8_t pkt[28] = { 0x45, 0, 0, 0, 0, 1, 0, 0, 64, 17, 0, 0, 203, 0, 113, 9, 192, 0, 2, host };
	uint32_t rec[4] = { (uint32_t)(1700000000 + us / 1000000), (uint32_t)(us % 1000000),
		sizeof(pkt), (uint32_t)sizeof(pkt) + payload };
	uint32_t sum = 0;

	put16(pkt + 2, (uint16_t)(sizeof(pkt) + payload));
	for (int i = 0; i < 20; i += 2)
		sum += (uint32_t)(pkt[i] << 8 | pkt[i + 1]);
	sum = (sum & 0xffff) + (sum >> 16);
	put16(pkt + 10, (uint16_t)~sum);
	put16(pkt + 20, 40000);
	put16(pkt + 22, dport);
	put16(pkt + 24, (uint16_t)(8 + payload));
	fwrite(rec, sizeof(rec), 1, f);
	fwrite(pkt, sizeof(pkt), 1, f);
}

/*
 * 12 s of UDP to web (192.0.2.0/24): 192.0.2.8 at 50 pps throughout, and
 * 192.0.2.7 at 300 pps on port 53 from +4 s to +8 s. The PO stays under its
 * limit (1000 pps); .7 crosses the host limit (100 pps) and is declared on
 * (web, udp, any) with its address in the reason and as the top target.
 */
static void
write_host_pcap(const char *path)
{
	FILE *f = fopen(path, "wb");
	uint32_t hdr[6] = { 0xa1b2c3d4u, 2u | 4u << 16, 0, 0, 65535, 101 /* DLT_RAW */ };

	assert_non_null(f);
	fwrite(hdr, sizeof(hdr), 1, f);
	for (uint64_t ms = 0; ms < 12000; ms++) {
		if (ms % 20 == 0)
			pcap_udp(f, ms * 1000, 8, 443, 100);
		if (ms >= 4000 && ms < 8000 && ms % 10 < 3)
			pcap_udp(f, ms * 1000 + ms % 10 * 100, 7, 53, 50);
	}
	fclose(f);
}

static void
report_of(struct backtest *bt, bool json, char *buf, size_t size)
{
	FILE *out = tmpfile();
	size_t n;

	assert_non_null(out);
	assert_int_equal(json ? backtest_report_json(bt, out) : backtest_report_text(bt, out), 0);
	rewind(out);
	n = fread(buf, 1, size - 1, out);
	buf[n] = '\0';
	fclose(out);
}

static void
test_pcap_host_limit(void **state)
{
	char path[] = "/tmp/moat-bt-hostXXXXXX";
	struct prefix pfx;
	struct backtest_po_def def = { .name = "web", .prefixes = &pfx, .nprefixes = 1 };
	struct backtest_error err;
	struct backtest *bt;
	struct dparams p;
	const struct decision_attack *a;
	const uint8_t host7[4] = { 192, 0, 2, 7 };
	char report[8192];
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	close(fd);
	write_host_pcap(path);
	assert_int_equal(prefix_parse("192.0.2.0/24", &pfx), 0);
	dparams_default(&p);
	p.limits[PROTO_UDP].pps = 1000;
	p.host_limits[PROTO_UDP].pps = 100;
	assert_int_equal(backtest_new(&p, &bt), 0);
	assert_int_equal(backtest_pcap_file(bt, path, &def, 1, &err), 0);
	backtest_finish(bt);

	a = decision_get(backtest_decision(bt), 1);
	assert_non_null(a);
	assert_null(decision_get(backtest_decision(bt), 2));	/* the PO limit held */
	assert_int_equal(a->proto, PROTO_UDP);
	assert_int_equal(a->port, 0);
	assert_string_equal(a->det[0].name, "threshold");
	assert_non_null(strstr(a->reason, "host 192.0.2.7: pps 300 over the host limit 100"));
	/* first full second of .7's flood ends at +5 s */
	assert_int_equal(a->declared_ns / 1000000000ULL, 1700000005);
	assert_memory_equal(a->top[DECISION_TOP_TARGETS][0].key, host7, 4);
	assert_true(backtest_stats(bt)->host_intervals >= 11);
	assert_int_equal(backtest_stats(bt)->hosts_dropped, 0);

	report_of(bt, false, report, sizeof(report));
	assert_non_null(strstr(report, "host 192.0.2.7"));
	assert_non_null(strstr(report, "1 attack(s) declared"));
	report_of(bt, true, report, sizeof(report));
	assert_non_null(strstr(report, "\"reason\": \"host 192.0.2.7: pps 300"));
	assert_non_null(strstr(report, "\"address\": \"192.0.2.7\""));
	backtest_free(bt);

	/* without a host limit the same traffic is no attack */
	p.host_limits[PROTO_UDP].pps = 0;
	assert_int_equal(backtest_new(&p, &bt), 0);
	assert_int_equal(backtest_pcap_file(bt, path, &def, 1, &err), 0);
	backtest_finish(bt);
	assert_null(decision_get(backtest_decision(bt), 1));
	assert_int_equal(backtest_stats(bt)->host_intervals, 11);
	backtest_free(bt);
	unlink(path);
}

static void
test_feed_order(void **state)
{
	struct fixture *f = *state;
	struct reading r = { .time_ns = 100, .interval_ns = 1 };

	assert_int_equal(backtest_feed(f->bt, &r), 0);
	r.time_ns = 99;
	assert_int_equal(backtest_feed(f->bt, &r), -EINVAL);
	r.time_ns = 100;
	assert_int_equal(backtest_feed(f->bt, &r), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_csv_errors),
		cmocka_unit_test_setup_teardown(test_csv_no_header, setup, teardown),
		cmocka_unit_test_setup_teardown(test_csv_long_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_csv_columns_any_order_and_chunks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flood_declared_and_ended, setup, teardown),
		cmocka_unit_test_setup_teardown(test_feed_order, setup, teardown),
		cmocka_unit_test(test_pcap_host_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
