/* Unit tests for collect/netflow5 (golden datagram: data/collect/gen.py nf5()). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>

#include "collect/netflow5.h"
#include "common/limits.h"
#include "collect_test.h"

static uint8_t buf[4096];
static size_t buflen;
static struct ct_sink sink;
static struct exporter_table *tab;
static struct ipaddr from;

static int
setup(void **state)
{
	buflen = ct_load("nf5_two.bin", buf, sizeof(buf));
	memset(&sink, 0, sizeof(sink));
	tab = exporter_table_new();
	from = ct_addr("192.0.2.1");
	return tab ? 0 : -1;
}

static int
teardown(void **state)
{
	exporter_table_free(tab);
	return 0;
}

static int
parse(size_t len)
{
	struct cursor c = cur_init(buf, len);

	return nf5_parse(tab, &from, &c, 1, ct_sink_fn, &sink);
}

static void
test_records_decoded(void **state)
{
	const struct flow_rec *r = &sink.r[0];
	struct ipaddr want = ct_addr("192.0.2.10");

	assert_int_equal(parse(buflen), 2);
	assert_int_equal(sink.n, 2);
	assert_int_equal(sink.calls, 1);
	assert_true(ipaddr_equal(&r->dst, &want));
	assert_int_equal(r->sport, 40000);
	assert_int_equal(r->dport, 80);
	assert_int_equal(r->proto, 6);
	assert_int_equal(r->packets, 10);
	assert_int_equal(r->bytes, 4000);
	/* SYN-only flow: every packet a SYN */
	assert_int_equal(r->syns, 10);
	assert_int_equal(r->sampling, 100);
	/* Last=9500 with uptime 10000 at 1700000000.5: 0.5 s earlier */
	assert_int_equal(r->time_ns, 1700000000000000000ull);
	assert_int_equal(sink.r[1].proto, 17);
	assert_int_equal(sink.r[1].syns, 0);
}

static void
test_exporter_health_and_sequence(void **state)
{
	struct exporter *e;

	assert_int_equal(parse(buflen), 2);
	e = exporter_at(tab, 0);
	assert_non_null(e);
	assert_int_equal(e->domain, 1 << 8 | 2);
	assert_int_equal(e->h.datagrams, 1);
	assert_int_equal(e->h.records, 2);
	assert_int_equal(e->sampling, 100);
	/* sequence 1000 again: expected 1002, got 1000 -> a step back, no gap */
	assert_int_equal(parse(buflen), 2);
	assert_int_equal(e->h.seq_gaps, 0);
	/* sequence 1010: 8 records missed */
	buf[19] = (uint8_t)(1010 & 0xff);
	buf[18] = (uint8_t)(1010 >> 8);
	assert_int_equal(parse(buflen), 2);
	assert_int_equal(e->h.seq_gaps, 8);
}

static void
test_short_datagram_rejected(void **state)
{
	assert_int_equal(parse(10), -EINVAL);
	assert_int_equal(exporter_count(tab), 0);
	/* header fine, second record cut */
	assert_int_equal(parse(buflen - 1), -EINVAL);
	assert_int_equal(exporter_at(tab, 0)->h.parse_errors, 1);
	assert_int_equal(sink.n, 0);
}

static void
test_count_over_30_rejected(void **state)
{
	buf[3] = 31;
	assert_int_equal(parse(buflen), -EINVAL);
	buf[3] = 0;
	assert_int_equal(parse(buflen), -EINVAL);
	assert_int_equal(sink.n, 0);
}

static void
test_override_beats_header(void **state)
{
	assert_int_equal(exporter_set_override(tab, &from, 1000), 0);
	assert_int_equal(parse(buflen), 2);
	assert_int_equal(sink.r[0].sampling, 1000);
}

static void
test_exporter_table_full(void **state)
{
	for (uint32_t i = 0; i < LIMIT_COLLECT_EXPORTERS; i++) {
		from = ipaddr_v4(0xc6336400u + i);	/* spoofed sources */
		assert_int_equal(parse(buflen), 2);
	}
	from = ct_addr("203.0.113.1");
	assert_int_equal(parse(buflen), -ENOSPC);
	assert_int_equal(exporter_table_refused(tab), 1);
	assert_int_equal(exporter_count(tab), LIMIT_COLLECT_EXPORTERS);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_records_decoded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exporter_health_and_sequence, setup, teardown),
		cmocka_unit_test_setup_teardown(test_short_datagram_rejected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_count_over_30_rejected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_override_beats_header, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exporter_table_full, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
