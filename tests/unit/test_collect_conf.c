/* Unit tests for engine/collect_conf: the `collect:` section, defaults and errors with positions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "collect/conf.h"

static struct cfg_doc *doc;

static int
parse(const char *yaml, struct collect_conf **ret, struct cfg_error *err)
{
	void *ext = NULL;
	int r;

	cfg_free(doc);
	doc = NULL;
	if (cfg_load_buffer("test.yaml", yaml, strlen(yaml), &doc, err) < 0)
		return -EINVAL;
	r = collect_conf_parse(NULL, cfg_get(cfg_root(doc), "collect"), &ext, err);
	*ret = ext;
	return r;
}

static int
teardown(void **state)
{
	cfg_free(doc);
	doc = NULL;
	return 0;
}

static void
test_full_section(void **state)
{
	struct cfg_error err;
	struct collect_conf *cc;

	assert_int_equal(parse("collect:\n"
	    "  udp: [\"127.0.0.1:2055\", \"[::1]:6343\"]\n"
	    "  tcp: [\"0.0.0.0:4739\"]\n"
	    "  sampling:\n    - {exporter: 192.0.2.1, rate: 1000}\n"
	    "  capture:\n    - {interface: eth1, threads: 2}\n"
	    "  pcap:\n    - {file: /tmp/x.pcap, speed: 1.5}\n", &cc, &err), 0);
	assert_non_null(cc);
	assert_int_equal(cc->nudp, 2);
	assert_int_equal(cc->udp[0].port, 2055);
	assert_int_equal(cc->udp[1].addr.af, AF_INET6);
	assert_int_equal(cc->udp[1].port, 6343);
	assert_int_equal(cc->ntcp, 1);
	assert_int_equal(cc->nsampling, 1);
	assert_int_equal(cc->sampling[0].rate, 1000);
	assert_int_equal(cc->ncapture, 1);
	assert_string_equal(cc->capture[0].ifname, "eth1");
	assert_int_equal(cc->capture[0].threads, 2);
	assert_int_equal(cc->npcap, 1);
	assert_string_equal(cc->pcap[0].file, "/tmp/x.pcap");
	assert_true(cc->pcap[0].speed > 1.4 && cc->pcap[0].speed < 1.6);
	collect_conf_free(cc);
}

static void
test_absent_and_default(void **state)
{
	struct cfg_error err;
	struct collect_conf *cc = (struct collect_conf *)&err;

	assert_int_equal(parse("log: {level: info}\n", &cc, &err), 0);
	assert_null(cc);	/* no section: nothing collected */
	assert_int_equal(parse("collect: {pcap: [{file: a.pcap}]}\n", &cc, &err), 0);
	assert_int_equal(cc->nudp, 6);	/* 2055, 4739, 6343 on v4 and v6 */
	collect_conf_free(cc);
	assert_int_equal(parse("collect: {udp: []}\n", &cc, &err), 0);
	assert_int_equal(cc->nudp, 0);
	collect_conf_free(cc);
}

static void
test_errors_name_position(void **state)
{
	struct cfg_error err;
	struct collect_conf *cc;

	assert_int_equal(parse("collect:\n  udp: [\"localhost:2055\"]\n", &cc, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "test.yaml:2:"));
	assert_non_null(strstr(err.msg, "ADDRESS:PORT"));
	assert_int_equal(parse("collect:\n  udp: [\"127.0.0.1:70000\"]\n", &cc, &err), -EINVAL);
	assert_int_equal(parse("collect:\n  bogus: 1\n", &cc, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "bogus"));
	assert_int_equal(parse("collect:\n  capture:\n    - {interface: eth0, threads: 99}\n", &cc,
	    &err), -EINVAL);
	assert_non_null(strstr(err.msg, "test.yaml:3:"));
	assert_int_equal(parse("collect:\n  sampling:\n    - {exporter: nope, rate: 5}\n", &cc, &err),
	    -EINVAL);
	assert_int_equal(parse("collect:\n  pcap:\n    - {speed: 1}\n", &cc, &err), -EINVAL);
	assert_int_equal(parse("collect: [1, 2]\n", &cc, &err), -EINVAL);
}

static void
test_packet_clock(void **state)
{
	struct cfg_error err;
	struct collect_conf *cc;

	assert_int_equal(parse("collect:\n  clock: packet\n"
	    "  pcap: [{file: a.pcap, speed: recorded}]\n", &cc, &err), 0);
	assert_true(cc->packet_time);
	assert_int_equal(cc->nudp, 0);		/* no default listeners on packet time */
	assert_true(cc->pcap[0].speed == 1.0);
	collect_conf_free(cc);
	assert_int_equal(parse("collect: {clock: real, pcap: [{file: a.pcap, speed: max}]}\n", &cc,
	    &err), 0);
	assert_false(cc->packet_time);
	assert_true(cc->pcap[0].speed == 0.0);
	assert_int_equal(cc->nudp, 6);
	collect_conf_free(cc);
	assert_int_equal(parse("collect: {pcap: [{file: a.pcap, speed: 2.5}]}\n", &cc, &err), 0);
	assert_true(cc->pcap[0].speed == 2.5);
	collect_conf_free(cc);

	/* live inputs and packet time in one process: refused, with a position */
	assert_int_equal(parse("collect:\n  clock: packet\n  pcap: [{file: a.pcap}]\n"
	    "  udp: [\"127.0.0.1:2055\"]\n", &cc, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "test.yaml:4:"));
	assert_non_null(strstr(err.msg, "live inputs"));
	assert_int_equal(parse("collect:\n  clock: packet\n  pcap: [{file: a.pcap}]\n"
	    "  capture: [{interface: eth0}]\n", &cc, &err), -EINVAL);
	assert_int_equal(parse("collect:\n  clock: packet\n  pcap: [{file: a.pcap}]\n"
	    "  udp: []\n", &cc, &err), -EINVAL);
	assert_int_equal(parse("collect:\n  clock: packet\n", &cc, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "exactly one pcap"));
	assert_int_equal(parse("collect:\n  clock: packet\n"
	    "  pcap: [{file: a.pcap}, {file: b.pcap}]\n", &cc, &err), -EINVAL);
	assert_int_equal(parse("collect:\n  clock: sundial\n", &cc, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "real or packet"));
	assert_int_equal(parse("collect:\n  pcap: [{file: a.pcap, speed: warp}]\n", &cc, &err),
	    -EINVAL);
	assert_non_null(strstr(err.msg, "max, recorded"));
	assert_int_equal(parse("collect:\n  pcap: [{file: a.pcap, speed: 1001}]\n", &cc, &err),
	    -EINVAL);
}

static void
test_endpoint_parse(void **state)
{
	struct collect_endpoint ep;

	assert_int_equal(collect_endpoint_parse("[2001:db8::1]:9995", &ep), 0);
	assert_int_equal(ep.port, 9995);
	assert_int_equal(collect_endpoint_parse("2001:db8::1:9995", &ep), -EINVAL);
	assert_int_equal(collect_endpoint_parse("192.0.2.1:", &ep), -EINVAL);
	assert_int_equal(collect_endpoint_parse(":80", &ep), -EINVAL);
	assert_int_equal(collect_endpoint_parse("[]:80", &ep), -EINVAL);
	assert_int_equal(collect_endpoint_parse("192.0.2.1:0", &ep), -EINVAL);
	/* only addr and port are written: an index set by the caller stays */
	ep.allow = 1;
	assert_int_equal(collect_endpoint_parse("192.0.2.1:4739", &ep), 0);
	assert_int_equal(ep.allow, 1);
}

/* Each listener's allow-list index: 0 (the section's) for a plain string,
 * its own for the map form — the parsed address must not overwrite it. */
static void
test_listener_allow_index(void **state)
{
	struct cfg_error err;
	struct collect_conf *cc;

	assert_int_equal(parse("collect:\n"
	    "  udp: [\"203.0.113.1:4739\", {listen: \"127.0.0.1:2055\", exporters: [192.0.2.0/24]}]\n"
	    "  tcp: [\"127.0.0.1:4739\"]\n", &cc, &err), 0);
	assert_int_equal(cc->nudp, 2);
	assert_int_equal(cc->udp[0].allow, 0);
	assert_int_equal(cc->udp[1].allow, 1);
	assert_int_equal(cc->udp[1].port, 2055);
	assert_int_equal(cc->tcp[0].allow, 0);
	assert_int_equal(cc->nallow, 2);
	collect_conf_free(cc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_full_section, teardown),
		cmocka_unit_test_teardown(test_absent_and_default, teardown),
		cmocka_unit_test_teardown(test_errors_name_position, teardown),
		cmocka_unit_test_teardown(test_packet_clock, teardown),
		cmocka_unit_test(test_endpoint_parse),
		cmocka_unit_test_teardown(test_listener_allow_index, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
