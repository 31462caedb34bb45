/* Unit tests for src/chaff/conf.c: a full config, and errors with positions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "chaff/conf.h"

static int
load(const char *text, struct conf *c, struct cfg_error *err)
{
	return conf_load_buffer("t.yaml", text, strlen(text), c, err);
}

static void
test_full(void **state)
{
	static const char text[] =
		"interface: chaff0\n"
		"seed: 9\n"
		"decoys:\n"
		"  - ranges: [192.0.2.0/24, 198.51.100.7]\n"
		"    exclude: [192.0.2.1]\n"
		"    personality: windows-10\n"
		"    tcp: [80, 445]\n"
		"    udp: [53]\n"
		"  - ranges: [203.0.113.0/28]\n"
		"    fingerprint: \"Linux 5.0 - 5.4\"\n"
		"    vendor: synology\n"
		"    background: arp\n"
		"alarms:\n"
		"  file: /tmp/x\n"
		"  window: 5m\n"
		"  allow: [203.0.113.200/32]\n"
		"  syslog: \"udp:127.0.0.1:514\"\n"
		"alive: {interval: 30s, pps: 50, start: 2m}\n"
		"background: off\n";
	struct cfg_error err;
	struct conf c;

	if (load(text, &c, &err) < 0)
		fail_msg("%s", err.msg);
	assert_string_equal(c.ifname, "chaff0");
	assert_true(c.have_seed);
	assert_int_equal(c.n_groups, 2);
	assert_int_equal(c.groups[0].n_ranges, 2);
	assert_int_equal(c.groups[0].ranges[1].base, 0xc6336407);
	assert_int_equal(c.groups[0].ranges[1].len, 32);
	assert_int_equal(c.groups[0].ports.n_tcp, 2);
	assert_int_equal(c.groups[0].ports.tcp_ports[1], 445);
	assert_int_equal(c.groups[0].ports.udp_ports[0], 53);
	assert_string_equal(c.groups[1].fingerprint, "Linux 5.0 - 5.4");
	assert_int_equal(c.alarm_window_s, 300);
	assert_int_equal(c.n_allow, 1);
	assert_int_equal(c.alive_pps, 50);
	assert_int_equal(c.alive_start_s, 120);
	assert_int_equal(c.background, CONF_BG_OFF);
	assert_int_equal(c.groups[0].background, CONF_BG_DEFAULT);
	assert_true(c.groups[0].ports_set);
	assert_int_equal(c.groups[1].background, CONF_BG_ARP);
	assert_string_equal(c.groups[1].vendor, "synology");
	assert_false(c.groups[1].ports_set);
	conf_free(&c);
}

static void
expect_error(const char *text, const char *what)
{
	struct cfg_error err;
	struct conf c;

	assert_true(load(text, &c, &err) < 0);
	if (!strstr(err.msg, what))
		fail_msg("expected \"%s\" in \"%s\"", what, err.msg);
}

static void
test_errors(void **state)
{
	expect_error("interface: a\ndecoys:\n  - ranges: [192.0.2.0/24]\n    personality: beos\n",
		     "t.yaml:4:18: personality: unknown preset \"beos\"");
	expect_error("interface: a\ndecoys:\n  - ranges: [2001:db8::/64]\n", "t.yaml:3:14:");
	expect_error("interface: a\ndecoys:\n  - ranges: [10.0.0.0/8]\n", "shorter than /12");
	expect_error("interface: a\ndecoys:\n  - ranges: [192.0.2.0/24]\n    tcp: [0]\n",
		     "expected a port");
	expect_error("interface: a\ndecoys: []\n", "at least one group");
	expect_error("decoys:\n  - ranges: [192.0.2.0/24]\n", "interface: required");
	expect_error("interface: a\nbogus: 1\ndecoys:\n  - ranges: [192.0.2.0/24]\n", "bogus");
	expect_error("interface: a\ndecoys:\n  - ranges: [192.0.2.0/24]\nalarms:\n  syslog: x\n",
		     "syslog: expected");
	expect_error("interface: a\ndecoys:\n  - ranges: [192.0.2.0/24]\n    vendor: beos\n",
		     "t.yaml:4:13: vendor: unknown profile \"beos\"");
	expect_error("interface: a\ndecoys:\n  - ranges: [192.0.2.0/24]\nbackground: sometimes\n",
		     "background: expected on, arp or off");
	expect_error("interface: a\ndecoys:\n  - ranges: [192.0.2.0/24]\nalive: {start: 2h}\n",
		     "start");
}

static void
test_ipv6(void **state)
{
	static const char text[] =
		"interface: chaff0\n"
		"decoys:\n"
		"  - ranges: [192.0.2.0/24]\n"
		"    ipv6: {prefix: \"2001:db8:1::/64\"}\n"
		"  - ranges: [198.51.100.0/24]\n"
		"    ipv6: {prefix: \"fd00:1:2:3::/64\", iid: eui64}\n"
		"  - ranges: [203.0.113.0/24]\n";
	static const uint8_t p0[8] = { 0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0 };
	struct cfg_error err;
	struct conf c;

	if (load(text, &c, &err) < 0)
		fail_msg("%s", err.msg);
	assert_true(c.groups[0].v6);
	assert_memory_equal(c.groups[0].v6_prefix, p0, 8);
	assert_int_equal(c.groups[0].v6_iid, CONF_IID_AUTO);
	assert_true(c.groups[1].v6);
	assert_int_equal(c.groups[1].v6_iid, CONF_IID_EUI64);
	assert_false(c.groups[2].v6);	/* default: IPv4 only */
	conf_free(&c);
	expect_error("interface: a\ndecoys:\n  - ranges: [192.0.2.0/24]\n"
		     "    ipv6: {prefix: \"2001:db8::/48\"}\n", "an IPv6 /64");
	expect_error("interface: a\ndecoys:\n  - ranges: [192.0.2.0/24]\n"
		     "    ipv6: {prefix: 192.0.2.0/24}\n", "an IPv6 /64");
	expect_error("interface: a\ndecoys:\n  - ranges: [192.0.2.0/24]\n"
		     "    ipv6: {prefix: \"fe80::/64\"}\n", "link-local is implied");
	expect_error("interface: a\ndecoys:\n  - ranges: [192.0.2.0/24]\n"
		     "    ipv6: {prefix: \"2001:db8::/64\", iid: random}\n", "iid: expected");
	expect_error("interface: a\ndecoys:\n  - ranges: [192.0.2.0/24]\n"
		     "    ipv6: {iid: eui64}\n", "an IPv6 /64");
	expect_error("interface: a\ndecoys:\n  - ranges: [192.0.2.0/24]\n"
		     "    ipv6: {prefix: \"2001:db8::/64\", mtu: 1}\n", "mtu");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_ipv6),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
