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
		cmocka_unit_test_setup_teardown(test_varlen_and_enterprise_fields, setup, teardown),
		cmocka_unit_test_setup_teardown(test_miss_then_withdraw, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sequence_counts_records, setup, teardown),
		cmocka_unit_test_setup_teardown(test_options_packet_interval_space, setup, teardown),
		cmocka_unit_test_setup_teardown(test_message_length_checked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_varlen_lie_stops_set, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_messages_in_one_buffer, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
