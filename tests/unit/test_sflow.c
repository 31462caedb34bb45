/* Unit tests for collect/sflow (golden datagram: data/collect/gen.py sflow()). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>

#include "collect/sflow.h"
#include "collect_test.h"

static struct ct_sink sink;
static struct exporter_table *tab;
static struct ipaddr from;
static uint8_t buf[4096];
static size_t buflen;

static int
setup(void **state)
{
	memset(&sink, 0, sizeof(sink));
	tab = exporter_table_new();
	from = ct_addr("198.51.100.254");
	buflen = ct_load("sflow_mixed.bin", buf, sizeof(buf));
	return tab ? 0 : -1;
}

static int
teardown(void **state)
{
	exporter_table_free(tab);
	return 0;
}

static int
parse(size_t n)
{
	struct cursor c = cur_init(buf, n);

	return sflow_parse(tab, &from, &c, 77, ct_sink_fn, &sink);
}

static void
test_flow_samples(void **state)
{
	struct ipaddr want = ct_addr("192.0.2.99");
	const struct flow_rec *r = &sink.r[0];

	assert_int_equal(parse(buflen), 2);
	/* raw Ethernet header sample */
	assert_true(ipaddr_equal(&r->dst, &want));
	assert_int_equal(r->proto, 6);
	assert_int_equal(r->dport, 443);
	assert_int_equal(r->bytes, 1000);	/* IP total length, not the captured header */
	assert_int_equal(r->packets, 1);
	assert_int_equal(r->syns, 1);
	assert_int_equal(r->sampling, 512);
	assert_int_equal(r->time_ns, 77);
	/* expanded sample with a sampled-IPv6 record */
	want = ct_addr("2001:db8:1::9");
	assert_true(ipaddr_equal(&sink.r[1].dst, &want));
	assert_int_equal(sink.r[1].bytes, 200);
	assert_int_equal(sink.r[1].dport, 5353);
	assert_int_equal(sink.r[1].sampling, 2048);
}

static void
test_agent_is_the_exporter(void **state)
{
	struct ipaddr agent = ct_addr("192.0.2.254");
	struct exporter *e;

	assert_int_equal(parse(buflen), 2);
	e = exporter_at(tab, 0);
	assert_true(ipaddr_equal(&e->addr, &agent));
	assert_int_equal(e->h.datagrams, 1);
	assert_int_equal(e->h.records, 2);
}

static void
test_counter_sample_kept(void **state)
{
	const struct sflow_iface *ifc;

	assert_int_equal(parse(buflen), 2);
	ifc = sflow_iface_find(exporter_at(tab, 0), 3);
	assert_non_null(ifc);
	assert_int_equal(ifc->speed, 10000000000ull);
	assert_int_equal(ifc->in_octets, 987654321ull);
	assert_int_equal(ifc->out_octets, 123456789ull);
	assert_int_equal(ifc->in_discards, 5);
	assert_int_equal(ifc->out_ucast, 900);
	assert_null(sflow_iface_find(exporter_at(tab, 0), 4));
}

static void
test_truncated_everywhere(void **state)
{
	for (size_t n = 0; n < buflen; n++) {
		int r;

		memset(&sink, 0, sizeof(sink));
		r = parse(n);
		assert_true(r == -EINVAL || r >= 0);
		assert_true(sink.n <= 2);
	}
}

static void
test_sample_count_lie(void **state)
{
	buf[27] = 200;	/* 200 samples announced, 3 present */
	assert_int_equal(parse(buflen), -EINVAL);
	assert_int_equal(sink.n, 2);	/* what came before the fault is kept */
	assert_int_equal(exporter_at(tab, 0)->h.parse_errors, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_flow_samples, setup, teardown),
		cmocka_unit_test_setup_teardown(test_agent_is_the_exporter, setup, teardown),
		cmocka_unit_test_setup_teardown(test_counter_sample_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated_everywhere, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sample_count_lie, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
