/* Unit tests for engine/conntab: the connection table built from moat-ins
 * events — states and figures through a connection's life, the key
 * (exporter, domain, id), retention of ended connections, eviction when
 * full (oldest ended first, then the stalest open one), slow verdicts,
 * names and JSON. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "engine/conntab/conntab.h"

#define NS 1000000000ULL

static struct ipfix_conn
ev(uint8_t event, uint64_t id)
{
	struct ipfix_conn e = {
		.domain = 7, .event = event, .conn_id = id, .sport = 40000, .dport = 80,
		.start_ms = 1700000000000ull, .end_ms = 1700000000000ull + id,
		.ttfb_ms = IPFIX_CONN_UNKNOWN, .headers_ms = IPFIX_CONN_UNKNOWN,
	};

	assert_int_equal(ipaddr_parse("192.0.2.1", &e.exporter), 0);
	assert_int_equal(ipaddr_parse("198.51.100.9", &e.src), 0);
	assert_int_equal(ipaddr_parse("203.0.113.5", &e.dst), 0);
	return e;
}

static int
count_cb(const struct conntab_conn *c, void *arg)
{
	(void)c;
	(*(unsigned *)arg)++;
	return 0;
}

static unsigned
count(const struct conntab *t)
{
	unsigned n = 0;

	conntab_walk(t, count_cb, &n);
	return n;
}

static void
test_lifecycle(void **state)
{
	struct conntab *t = conntab_new(16, 300 * NS);
	struct ipfix_conn e = ev(INSIE_OPEN, 1);
	const struct conntab_conn *c;
	struct conntab_stats st;

	(void)state;
	e.held_ms = 12;
	e.ttfb_ms = 3;
	e.headers_ms = 10;
	c = conntab_apply(t, &e, 4, 1 * NS);
	assert_int_equal(c->state, CONNTAB_OPEN);
	assert_int_equal(c->po_id, 4);
	assert_int_equal(c->held_ms, 12);
	assert_int_equal(c->ttfb_ms, 3);
	assert_int_equal(c->headers_ms, 10);
	e = ev(INSIE_UPDATE, 1);
	e.in_total = 500;
	e.out_total = 9000;
	e.in_delta = 500;
	e.pkts_delta = 3;
	e.rtt_us = 150;
	e.snd_wnd = 65535;
	c = conntab_apply(t, &e, 4, 2 * NS);
	assert_int_equal(c->bytes_in, 500);
	assert_int_equal(c->bytes_out, 9000);
	assert_int_equal(c->rtt_us, 150);
	assert_int_equal(c->ttfb_ms, 3);	/* unknown in this record: kept */
	/* a CLOSE from what moat-ins last knew never lowers the totals */
	e = ev(INSIE_CLOSE, 1);
	e.in_total = 0;
	c = conntab_apply(t, &e, 4, 3 * NS);
	assert_int_equal(c->state, CONNTAB_CLOSED);
	assert_true(c->ended);
	assert_int_equal(c->end_ms, e.end_ms);
	assert_int_equal(c->bytes_in, 500);
	assert_int_equal(c->packets, 3);
	assert_int_equal(c->events, 3);
	conntab_stats(t, &st);
	assert_int_equal(st.open, 0);
	assert_int_equal(st.entries, 1);
	assert_int_equal(st.events[INSIE_OPEN], 1);
	assert_int_equal(st.events[INSIE_UPDATE], 1);
	assert_int_equal(st.events[INSIE_CLOSE], 1);
	/* kept for the retention, then gone */
	conntab_expire(t, 302 * NS);
	assert_int_equal(count(t), 1);
	conntab_expire(t, 303 * NS);
	assert_int_equal(count(t), 0);
	conntab_stats(t, &st);
	assert_int_equal(st.expired, 1);
	conntab_free(t);
}

static void
test_key(void **state)
{
	struct conntab *t = conntab_new(16, 300 * NS);
	struct ipfix_conn e = ev(INSIE_OPEN, 1);

	(void)state;
	conntab_apply(t, &e, CONNTAB_NONE, NS);
	e.domain = 8;		/* another moat-ins on the same host */
	conntab_apply(t, &e, CONNTAB_NONE, NS);
	assert_int_equal(ipaddr_parse("192.0.2.2", &e.exporter), 0);
	conntab_apply(t, &e, CONNTAB_NONE, NS);
	conntab_apply(t, &e, CONNTAB_NONE, NS);	/* the same again */
	assert_int_equal(count(t), 3);
	conntab_free(t);
}

static void
test_slow_states(void **state)
{
	struct conntab *t = conntab_new(16, 300 * NS);
	struct ipfix_conn e = ev(INSIE_OPEN, 1);
	const struct conntab_conn *c;

	(void)state;
	conntab_apply(t, &e, 0, NS);
	e = ev(INSIE_SLOW_READ, 1);
	c = conntab_apply(t, &e, 0, 2 * NS);
	assert_int_equal(c->state, CONNTAB_SLOW);
	e = ev(INSIE_CLOSE, 1);	/* the close after the destroy: still slow */
	c = conntab_apply(t, &e, 0, 3 * NS);
	assert_int_equal(c->state, CONNTAB_SLOW);
	assert_int_equal(c->last_event, INSIE_SLOW_READ);	/* the verdict stays the reason */
	e = ev(INSIE_HOLD_TIMEOUT, 2);	/* never handed over */
	c = conntab_apply(t, &e, 0, 3 * NS);
	assert_int_equal(c->state, CONNTAB_DROPPED);
	e = ev(INSIE_CLOSE, 2);
	c = conntab_apply(t, &e, 0, 4 * NS);
	assert_int_equal(c->state, CONNTAB_DROPPED);
	assert_int_equal(c->last_event, INSIE_HOLD_TIMEOUT);
	assert_true(conntab_event_is_slow(INSIE_HOLD_TIMEOUT));
	assert_true(conntab_event_is_slow(INSIE_CAPPED));
	assert_true(conntab_event_is_slow(INSIE_SLOW_BODY));
	assert_true(conntab_event_is_slow(INSIE_IDLE));
	assert_false(conntab_event_is_slow(INSIE_DENIED));
	assert_false(conntab_event_is_slow(INSIE_CLOSE));
	assert_false(conntab_event_is_slow(200));
	conntab_free(t);
}

struct first {
	uint64_t id;
};

static int
first_cb(const struct conntab_conn *c, void *arg)
{
	((struct first *)arg)->id = c->conn_id;
	return 1;
}

static void
test_eviction(void **state)
{
	struct conntab *t = conntab_new(4, 300 * NS);
	struct ipfix_conn e;
	struct conntab_stats st;
	struct first f;

	(void)state;
	for (uint64_t id = 1; id <= 4; id++) {
		e = ev(INSIE_OPEN, id);
		conntab_apply(t, &e, 0, NS);
	}
	e = ev(INSIE_CLOSE, 3);
	conntab_apply(t, &e, 0, 2 * NS);
	e = ev(INSIE_UPDATE, 1);	/* 1 is now the most recently updated */
	conntab_apply(t, &e, 0, 2 * NS);
	e = ev(INSIE_OPEN, 5);	/* full: the ended one (3) goes */
	conntab_apply(t, &e, 0, 3 * NS);
	e = ev(INSIE_OPEN, 6);	/* no ended one: the stalest open (2) goes */
	conntab_apply(t, &e, 0, 3 * NS);
	conntab_stats(t, &st);
	assert_int_equal(st.evictions, 2);
	assert_int_equal(st.entries, 4);
	assert_int_equal(st.open, 4);
	conntab_walk(t, first_cb, &f);
	assert_int_equal(f.id, 4);
	assert_int_equal(count(t), 4);
	conntab_free(t);
}

static uint32_t
po_of_last_octet(void *arg, const struct ipaddr *a)
{
	(void)arg;
	return a->a[3];
}

static void
test_remap_json_names(void **state)
{
	struct conntab *t = conntab_new(4, 300 * NS);
	struct ipfix_conn e = ev(INSIE_OPEN, 9);
	const struct conntab_conn *c = conntab_apply(t, &e, CONNTAB_NONE, NS);
	json_t *j;
	uint8_t s;

	(void)state;
	conntab_remap(t, po_of_last_octet, NULL);
	assert_int_equal(c->po_id, 5);
	j = conntab_conn_json(c, "web");
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "source")), "198.51.100.9");
	assert_string_equal(json_string_value(json_object_get(j, "local")), "203.0.113.5");
	assert_int_equal(json_integer_value(json_object_get(j, "local_port")), 80);
	assert_string_equal(json_string_value(json_object_get(j, "state")), "open");
	assert_string_equal(json_string_value(json_object_get(j, "po")), "web");
	assert_true(json_is_null(json_object_get(j, "end")));
	assert_true(json_real_value(json_object_get(j, "start")) == 1700000000.0);
	assert_true(json_is_null(json_object_get(j, "first_byte_ms")));
	json_decref(j);
	assert_int_equal(conntab_state_parse("slow", &s), 0);
	assert_int_equal(s, CONNTAB_SLOW);
	assert_int_equal(conntab_state_parse("live", &s), -EINVAL);
	assert_string_equal(conntab_event_name(INSIE_HOLD_TIMEOUT), "hold_timeout");
	assert_string_equal(conntab_event_name(99), "unknown");
	assert_string_equal(conntab_state_name(CONNTAB_DROPPED), "dropped");
	assert_null(conntab_new(0, NS));
	conntab_free(NULL);
	conntab_free(t);
}

static void
test_settings(void **state)
{
	static const char good[] = "connections:\n  retention: 10m\n";
	static const char bad[] = "connections:\n  retention: 10m\n  size: 3\n";
	struct cfg_error err = { 0 };
	struct cfg_doc *doc = NULL;
	void *ext = NULL;

	(void)state;
	assert_int_equal(conntab_settings_parse(NULL, NULL, &ext, &err), 0);
	assert_int_equal(((struct conntab_settings *)ext)->retention_s, 300);
	conntab_settings_free(ext);
	assert_int_equal(cfg_load_buffer("t", good, sizeof(good) - 1, &doc, &err), 0);
	assert_int_equal(conntab_settings_parse(NULL, cfg_get(cfg_root(doc), "connections"), &ext,
	    &err), 0);
	assert_int_equal(((struct conntab_settings *)ext)->retention_s, 600);
	conntab_settings_free(ext);
	cfg_free(doc);
	assert_int_equal(cfg_load_buffer("t", bad, sizeof(bad) - 1, &doc, &err), 0);
	assert_int_equal(conntab_settings_parse(NULL, cfg_get(cfg_root(doc), "connections"), &ext,
	    &err), -EINVAL);
	assert_non_null(strstr(err.msg, "size"));
	cfg_free(doc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lifecycle),
		cmocka_unit_test(test_key),
		cmocka_unit_test(test_slow_states),
		cmocka_unit_test(test_eviction),
		cmocka_unit_test(test_remap_json_names),
		cmocka_unit_test(test_settings),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
