/* Unit tests for src/chaff/alarm.c: aggregation, allow-list, formats. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include "chaff/alarm.h"

struct captured {
	char *lines[64];
	size_t n;
};

static void
capture(void *arg, const char *json, const struct alarm_entry *e, const char *kind)
{
	struct captured *c = arg;

	if (c->n < 64)
		c->lines[c->n++] = strdup(json);
}

static void
captured_free(struct captured *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->lines[i]);
	c->n = 0;
}

static json_t *
line_json(struct captured *c, size_t i)
{
	json_error_t err;
	json_t *j = json_loads(c->lines[i], 0, &err);

	assert_non_null(j);
	return j;
}

static const uint64_t S = 1000000000ULL;

static void
test_sweep_is_aggregated(void **state)
{
	struct alarm a;
	struct captured cap = { 0 };
	struct respond_contact c = { .kind = CONTACT_ARP, .src = 0xc6336401 };
	json_t *j;

	assert_int_equal(alarm_init(&a, 10 * S, NULL, 0), 0);
	assert_int_equal(alarm_add_sink(&a, capture, &cap), 0);
	/* A /16 ARP sweep: the first contact at once, then one aggregate. */
	for (uint32_t i = 0; i < 65536; i++) {
		c.decoy = 0xcb000000u + i;
		alarm_contact(&a, &c, S + i);
	}
	assert_int_equal(cap.n, 1);
	j = line_json(&cap, 0);
	assert_string_equal(json_string_value(json_object_get(j, "kind")), "arp");
	assert_string_equal(json_string_value(json_object_get(j, "src")), "198.51.100.1");
	assert_int_equal(json_integer_value(json_object_get(j, "count")), 1);
	json_decref(j);
	alarm_tick(&a, 5 * S, false);
	assert_int_equal(cap.n, 1);	/* window not over */
	alarm_tick(&a, 12 * S, false);
	assert_int_equal(cap.n, 2);
	j = line_json(&cap, 1);
	assert_int_equal(json_integer_value(json_object_get(j, "count")), 65536);
	assert_true(json_integer_value(json_object_get(j, "n_decoys")) > 1000);
	assert_true(json_is_true(json_object_get(j, "scan")));
	assert_int_equal(json_array_size(json_object_get(j, "decoys")), LIMIT_CHAFF_ALARM_DECOYS);
	json_decref(j);
	captured_free(&cap);
	alarm_free(&a);
}

static void
test_exact_small_counts(void **state)
{
	struct alarm a;
	struct captured cap = { 0 };
	struct respond_contact c = { .kind = CONTACT_SYN, .src = 1, .proto = 6, .dport = 22 };
	json_t *j;

	assert_int_equal(alarm_init(&a, 10 * S, NULL, 0), 0);
	alarm_add_sink(&a, capture, &cap);
	for (int i = 0; i < 9; i++) {
		c.decoy = 100 + (uint32_t)(i % 3);
		alarm_contact(&a, &c, S);
	}
	alarm_tick(&a, 0, true);
	assert_int_equal(cap.n, 2);
	j = line_json(&cap, 1);
	assert_int_equal(json_integer_value(json_object_get(j, "n_decoys")), 3);
	assert_int_equal(json_integer_value(json_object_get(j, "count")), 9);
	assert_int_equal(json_integer_value(json_object_get(j, "dport")), 22);
	json_decref(j);
	captured_free(&cap);
	alarm_free(&a);
}

static void
test_allow_and_login(void **state)
{
	struct alarm a;
	struct captured cap = { 0 };
	struct decoy_prefix allow[] = { { 0xcb007100, 24 } };
	struct respond_contact c = { .kind = CONTACT_PING, .src = 0xcb007105, .decoy = 9 };
	json_t *j;

	assert_int_equal(alarm_init(&a, 10 * S, allow, 1), 0);
	alarm_add_sink(&a, capture, &cap);
	alarm_contact(&a, &c, S);
	assert_int_equal(cap.n, 0);
	assert_int_equal(a.suppressed_allow, 1);
	c.src = 0xc6336401;
	c.kind = CONTACT_LOGIN;
	c.user = "root";
	c.pass = "hunter\"2";
	alarm_contact(&a, &c, S);
	alarm_contact(&a, &c, S);
	assert_int_equal(cap.n, 2);	/* every login is its own alarm */
	j = line_json(&cap, 0);
	assert_string_equal(json_string_value(json_object_get(j, "username")), "root");
	assert_string_equal(json_string_value(json_object_get(j, "password")), "hunter\"2");
	json_decref(j);
	captured_free(&cap);
	alarm_free(&a);
}

static void
test_syslog_format(void **state)
{
	struct alarm_entry e = { .src = 0xc6336401, .count = 3, .n_decoys = 1,
				 .decoys = { 0xc0000201 } };
	char buf[512];
	size_t n = alarm_format_syslog(buf, sizeof(buf), "host", 42, 0, "syn_scan", &e, "{}");

	assert_true(n > 0);
	assert_non_null(strstr(buf, "<132>1 1970-01-01T00:00:00.000000Z host moat-chaff 42 syn_scan "
				    "[moat@32473 src=\"198.51.100.1\" decoy=\"192.0.2.1\" count=\"3\""));
	assert_int_equal(buf[n - 1], '}');
	/* Truncation never overruns. */
	n = alarm_format_syslog(buf, 16, "host", 42, 0, "syn_scan", &e, "{}");
	assert_int_equal(n, 15);
}

/* 3,000 SMTP NOOPs from one source: one alarm at once, one count at the window's end. */
static void
test_service_flood_is_aggregated(void **state)
{
	struct alarm a;
	struct captured cap = { 0 };
	struct respond_contact c = { .kind = CONTACT_SERVICE, .src = 0xc6336401, .decoy = 0xc6336410,
				     .proto = 6, .dport = 25, .detail = "NOOP" };
	struct respond_contact other = c;
	json_t *j;

	assert_int_equal(alarm_init(&a, 10 * S, NULL, 0), 0);
	assert_int_equal(alarm_add_sink(&a, capture, &cap), 0);
	for (int i = 0; i < 3000; i++)
		alarm_contact(&a, &c, S + (uint64_t)i);
	assert_int_equal(cap.n, 1);
	/* Another port of the same source is its own key. */
	other.dport = 21;
	alarm_contact(&a, &other, 2 * S);
	assert_int_equal(cap.n, 2);
	j = line_json(&cap, 0);
	assert_string_equal(json_string_value(json_object_get(j, "detail")), "NOOP");
	assert_true(json_is_true(json_object_get(j, "proven")));	/* on a connection */
	json_decref(j);
	alarm_tick(&a, 12 * S, false);
	assert_int_equal(cap.n, 3);
	j = line_json(&cap, 2);
	assert_int_equal(json_integer_value(json_object_get(j, "count")), 3000);
	assert_int_equal(json_integer_value(json_object_get(j, "dport")), 25);
	json_decref(j);
	captured_free(&cap);
	alarm_free(&a);
}

/* Only a completed handshake proves the source; ARP, ping, UDP, SYNs do not. */
static void
test_proven_flag(void **state)
{
	static const enum respond_contact_kind kinds[] = { CONTACT_ARP, CONTACT_PING, CONTACT_SYN,
		CONTACT_UDP, CONTACT_CONFLICT, CONTACT_CONNECT };
	struct alarm a;
	struct captured cap = { 0 };

	assert_int_equal(alarm_init(&a, 10 * S, NULL, 0), 0);
	assert_int_equal(alarm_add_sink(&a, capture, &cap), 0);
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		struct respond_contact c = { .kind = kinds[i], .src = 0xc6336401, .decoy = 0xc6336410 };
		json_t *j;

		alarm_contact(&a, &c, S);
		j = line_json(&cap, i);
		assert_int_equal(json_is_true(json_object_get(j, "proven")),
				 kinds[i] == CONTACT_CONNECT);
		json_decref(j);
	}
	captured_free(&cap);
	alarm_free(&a);
}

/* IPv6 sources: reported as such, keyed by the full address (two sources
 * with the same token stay apart), never allow-listed by IPv4 prefixes. */
static void
test_ipv6_source(void **state)
{
	static const struct decoy_prefix allow[] = { { 0, 0 } };	/* every IPv4 source */
	struct alarm a;
	struct captured cap = { 0 };
	struct respond_contact c = { .kind = CONTACT_PING, .src = 0x00123456, .decoy = 0xc6336410,
				     .proto = 58, .v6 = true,
				     .src6 = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 },
				     .decoy6 = { 0x20, 0x01, 0x0d, 0xb8, 0, 1, [15] = 0x10 } };
	struct respond_contact other = c;
	json_t *j;

	other.src6[15] = 2;
	assert_int_equal(alarm_init(&a, 10 * S, allow, 1), 0);
	assert_int_equal(alarm_add_sink(&a, capture, &cap), 0);
	alarm_contact(&a, &c, S);
	alarm_contact(&a, &other, S);
	assert_int_equal(cap.n, 2);
	j = line_json(&cap, 0);
	assert_string_equal(json_string_value(json_object_get(j, "src")), "2001:db8::1");
	assert_string_equal(json_string_value(json_object_get(j, "decoy")), "2001:db8:1::10");
	assert_string_equal(json_string_value(json_object_get(j, "decoy_v4")), "198.51.100.16");
	assert_string_equal(json_string_value(json_object_get(j, "proto")), "icmp6");
	json_decref(j);
	j = line_json(&cap, 1);
	assert_string_equal(json_string_value(json_object_get(j, "src")), "2001:db8::2");
	json_decref(j);
	captured_free(&cap);
	alarm_free(&a);
}

/* Logins: one line each up to the cap per window, then counted. */
static void
test_login_spray_capped(void **state)
{
	struct alarm a;
	struct captured cap = { 0 };
	struct respond_contact c = { .kind = CONTACT_LOGIN, .src = 0xc6336401, .decoy = 0xc6336410,
				     .proto = 6, .dport = 21, .user = "root", .pass = "x" };
	json_t *j;

	assert_int_equal(alarm_init(&a, 10 * S, NULL, 0), 0);
	assert_int_equal(alarm_add_sink(&a, capture, &cap), 0);
	for (int i = 0; i < 1000; i++)
		alarm_contact(&a, &c, S + (uint64_t)i);
	assert_int_equal(cap.n, LIMIT_CHAFF_ALARM_LOGINS);
	alarm_tick(&a, 12 * S, false);
	assert_int_equal(cap.n, LIMIT_CHAFF_ALARM_LOGINS + 1);
	j = line_json(&cap, cap.n - 1);
	assert_int_equal(json_integer_value(json_object_get(j, "count")), 1000);
	json_decref(j);
	captured_free(&cap);
	alarm_free(&a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sweep_is_aggregated),
		cmocka_unit_test(test_ipv6_source),
		cmocka_unit_test(test_exact_small_counts),
		cmocka_unit_test(test_allow_and_login),
		cmocka_unit_test(test_syslog_format),
		cmocka_unit_test(test_service_flood_is_aggregated),
		cmocka_unit_test(test_proven_flag),
		cmocka_unit_test(test_login_spray_capped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
