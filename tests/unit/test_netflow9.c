/* Unit tests for collect/netflow9 (golden datagrams: data/collect/gen.py nf9()). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>

#include "collect/netflow9.h"
#include "collect/nftmpl.h"
#include "collect_test.h"

static struct ct_sink sink;
static struct exporter_table *tab;
static struct ipaddr from;

static int
setup(void **state)
{
	memset(&sink, 0, sizeof(sink));
	tab = exporter_table_new();
	from = ct_addr("192.0.2.2");
	return tab ? 0 : -1;
}

static int
teardown(void **state)
{
	exporter_table_free(tab);
	return 0;
}

static int
parse_file(const char *name)
{
	static uint8_t buf[4096];
	size_t n = ct_load(name, buf, sizeof(buf));
	struct cursor c = cur_init(buf, n);

	return nf9_parse(tab, &from, &c, 5, ct_sink_fn, &sink);
}

static void
test_template_then_data(void **state)
{
	struct ipaddr want = ct_addr("192.0.2.50");
	const struct flow_rec *r = &sink.r[0];
	struct exporter *e;

	assert_int_equal(parse_file("nf9_tmpl_data.bin"), 2);
	assert_true(ipaddr_equal(&r->dst, &want));
	assert_int_equal(r->sport, 1111);
	assert_int_equal(r->dport, 443);
	assert_int_equal(r->bytes, 1500);
	assert_int_equal(r->packets, 5);
	assert_int_equal(r->tcp_flags, 0x12);
	assert_int_equal(r->syns, 0);		/* SYN+ACK: not a SYN */
	assert_int_equal(r->sampling, 1);
	/* LAST_SWITCHED 19000 with uptime 20000 at 1700000100 s */
	assert_int_equal(r->time_ns, 1700000099000000000ull);
	assert_int_equal(sink.r[1].proto, 17);
	e = exporter_at(tab, 0);
	assert_int_equal(e->domain, 42);
	assert_int_equal(nftmpl_cache_count(e->tmpl), 1);
	assert_int_equal(e->h.template_misses, 0);
}

static void
test_data_before_template_is_a_miss(void **state)
{
	assert_int_equal(parse_file("nf9_data_only.bin"), 0);
	assert_int_equal(sink.n, 0);
	assert_int_equal(exporter_at(tab, 0)->h.template_misses, 1);
	/* once the template arrives, the same data decodes */
	assert_int_equal(parse_file("nf9_tmpl_data.bin"), 2);
	assert_int_equal(parse_file("nf9_data_only.bin"), 2);
	assert_int_equal(exporter_at(tab, 0)->h.template_misses, 1);
}

static void
test_templates_are_per_source_id(void **state)
{
	static uint8_t buf[4096];
	size_t n;
	struct cursor c;

	assert_int_equal(parse_file("nf9_tmpl_data.bin"), 2);
	n = ct_load("nf9_data_only.bin", buf, sizeof(buf));
	buf[19] = 43;	/* another source id on the same address */
	c = cur_init(buf, n);
	assert_int_equal(nf9_parse(tab, &from, &c, 5, ct_sink_fn, &sink), 0);
	assert_int_equal(exporter_count(tab), 2);
	assert_int_equal(exporter_at(tab, 1)->h.template_misses, 1);
}

static void
test_options_sampling(void **state)
{
	assert_int_equal(parse_file("nf9_options.bin"), 0);
	assert_int_equal(exporter_at(tab, 0)->sampling, 64);
	assert_int_equal(parse_file("nf9_tmpl_data.bin"), 2);
	assert_int_equal(sink.r[0].sampling, 64);
}

static void
test_sequence_gap_counts_datagrams(void **state)
{
	/* sequences 7 (tmpl_data), then 9 (options): one datagram (8) missed */
	assert_int_equal(parse_file("nf9_tmpl_data.bin"), 2);
	assert_int_equal(parse_file("nf9_options.bin"), 0);
	assert_int_equal(exporter_at(tab, 0)->h.seq_gaps, 1);
}

static void
test_bad_flowset_length(void **state)
{
	static uint8_t buf[4096];
	size_t n = ct_load("nf9_tmpl_data.bin", buf, sizeof(buf));
	struct cursor c;

	buf[22] = 0x7f;	/* template flowset length far past the datagram */
	c = cur_init(buf, n);
	assert_int_equal(nf9_parse(tab, &from, &c, 5, ct_sink_fn, &sink), -EINVAL);
	assert_int_equal(exporter_at(tab, 0)->h.parse_errors, 1);
	buf[22] = 0;
	buf[23] = 2;	/* shorter than its own header */
	c = cur_init(buf, n);
	assert_int_equal(nf9_parse(tab, &from, &c, 5, ct_sink_fn, &sink), -EINVAL);
	assert_int_equal(sink.n, 0);
}

static void
test_template_field_count_capped(void **state)
{
	/* one template claiming 65535 fields: refused without reading past the set */
	static const uint8_t dg[] = {
		0, 9, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1,
		0, 0, 0, 12, 1, 0, 0xff, 0xff, 0, 8, 0, 4,
	};
	struct cursor c = cur_init(dg, sizeof(dg));

	assert_int_equal(nf9_parse(tab, &from, &c, 5, ct_sink_fn, &sink), -EINVAL);
	assert_int_equal(nftmpl_cache_count(exporter_at(tab, 0)->tmpl), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_template_then_data, setup, teardown),
		cmocka_unit_test_setup_teardown(test_data_before_template_is_a_miss, setup, teardown),
		cmocka_unit_test_setup_teardown(test_templates_are_per_source_id, setup, teardown),
		cmocka_unit_test_setup_teardown(test_options_sampling, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sequence_gap_counts_datagrams, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_flowset_length, setup, teardown),
		cmocka_unit_test_setup_teardown(test_template_field_count_capped, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
