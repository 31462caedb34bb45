/* Unit tests for engine/po: the validation rules of the REST contract, the
 * field named by each error, and the canonical JSON form. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "engine/po/po.h"

static int
parse(const char *text, const char *url_name, struct po **ret, struct po_error *err)
{
	memset(err, 0, sizeof(*err));
	return po_from_text(text, strlen(text), url_name, PO_IN_API, ret, err);
}

/* Parsing text must fail naming `field`. */
static void
expect_bad(const char *text, const char *field)
{
	struct po_error err;
	struct po *p = NULL;

	assert_int_equal(parse(text, NULL, &p, &err), -EINVAL);
	assert_null(p);
	assert_string_equal(err.field, field);
	assert_true(err.msg[0] != '\0');
}

static void
test_full_po_canonical(void **state)
{
	const char *in = "{\"name\":\"web\",\"prefixes\":[\"2001:db8:1::/48\",\"192.0.2.0/24\","
	    "\"198.51.100.7\"],\"ports\":[443,80],\"thresholds\":{\"tcp\":{\"pps\":100000,"
	    "\"syn_pps\":20000,\"bps\":0},\"udp\":{}},\"drivers\":[\"nft\",\"notify\"]}";
	struct po_error err;
	struct po *p = NULL;
	char *out;

	assert_int_equal(parse(in, NULL, &p, &err), 0);
	assert_int_equal(p->nprefixes, 3);
	assert_int_equal(p->thresholds[PROTO_TCP].pps, 100000);
	out = po_to_text(p);
	assert_string_equal(out, "{\"name\":\"web\",\"prefixes\":[\"192.0.2.0/24\","
	    "\"198.51.100.7/32\",\"2001:db8:1::/48\"],\"ports\":[80,443],\"thresholds\":"
	    "{\"tcp\":{\"pps\":100000,\"syn_pps\":20000}},\"drivers\":[\"nft\",\"notify\"],"
	    "\"source\":\"api\",\"created_at\":0,\"updated_at\":0}");

	/* The canonical form parses back to the same canonical form. */
	{
		struct po *q = NULL;
		char *out2;

		memset(&err, 0, sizeof(err));
		assert_int_equal(po_from_text(out, strlen(out), NULL, PO_IN_STORED, &q, &err), 0);
		out2 = po_to_text(q);
		assert_string_equal(out, out2);
		free(out2);
		po_free(q);
	}
	free(out);
	po_free(p);
}

static void
test_name_rules(void **state)
{
	struct po_error err;
	struct po *p = NULL;

	assert_true(po_name_valid("a"));
	assert_true(po_name_valid("Web_1.prod-2"));
	assert_false(po_name_valid(""));
	assert_false(po_name_valid("a b"));
	assert_false(po_name_valid("a/b"));
	assert_false(po_name_valid(".."));
	assert_true(po_name_valid("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
	assert_false(po_name_valid("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
	expect_bad("{\"prefixes\":[\"192.0.2.0/24\"]}", "name");
	expect_bad("{\"name\":\"a b\",\"prefixes\":[\"192.0.2.0/24\"]}", "name");
	expect_bad("{\"name\":7,\"prefixes\":[\"192.0.2.0/24\"]}", "name");

	/* Name from the URL: may be omitted, must match. */
	assert_int_equal(parse("{\"prefixes\":[\"192.0.2.0/24\"]}", "web", &p, &err), 0);
	assert_string_equal(p->name, "web");
	po_free(p);
	assert_int_equal(parse("{\"name\":\"dns\",\"prefixes\":[\"192.0.2.0/24\"]}", "web", &p,
	    &err), -EINVAL);
	assert_string_equal(err.field, "name");
}

static void
test_prefix_rules(void **state)
{
	struct po_error err;
	struct po *p = NULL;

	expect_bad("{\"name\":\"a\"}", "prefixes");
	expect_bad("{\"name\":\"a\",\"prefixes\":[]}", "prefixes");
	expect_bad("{\"name\":\"a\",\"prefixes\":\"192.0.2.0/24\"}", "prefixes");
	expect_bad("{\"name\":\"a\",\"prefixes\":[\"192.0.2.0/33\"]}", "prefixes");
	expect_bad("{\"name\":\"a\",\"prefixes\":[\"banana\"]}", "prefixes");
	expect_bad("{\"name\":\"a\",\"prefixes\":[\"192.0.2.0/24\",\"192.0.2.0/24\"]}", "prefixes");
	assert_int_equal(parse("{\"name\":\"a\",\"prefixes\":[\"192.0.2.1/24\"]}", NULL, &p, &err),
	    -EINVAL);
	assert_string_equal(err.field, "prefixes");
	assert_non_null(strstr(err.msg, "192.0.2.1/24"));
	assert_non_null(strstr(err.msg, "host bits"));
}

static void
test_port_driver_threshold_rules(void **state)
{
	expect_bad("{\"name\":\"a\",\"prefixes\":[\"192.0.2.0/24\"],\"ports\":[0]}", "ports");
	expect_bad("{\"name\":\"a\",\"prefixes\":[\"192.0.2.0/24\"],\"ports\":[65536]}", "ports");
	expect_bad("{\"name\":\"a\",\"prefixes\":[\"192.0.2.0/24\"],\"ports\":[80,80]}", "ports");
	expect_bad("{\"name\":\"a\",\"prefixes\":[\"192.0.2.0/24\"],\"ports\":[\"80\"]}", "ports");
	expect_bad("{\"name\":\"a\",\"prefixes\":[\"192.0.2.0/24\"],\"drivers\":[\"iptables\"]}",
	    "drivers");
	expect_bad("{\"name\":\"a\",\"prefixes\":[\"192.0.2.0/24\"],\"drivers\":[\"nft\",\"nft\"]}",
	    "drivers");
	expect_bad("{\"name\":\"a\",\"prefixes\":[\"192.0.2.0/24\"],\"thresholds\":{\"sctp\":{}}}",
	    "thresholds.sctp");
	expect_bad("{\"name\":\"a\",\"prefixes\":[\"192.0.2.0/24\"],\"thresholds\":{\"tcp\":"
	    "{\"pps\":-1}}}", "thresholds.tcp.pps");
	expect_bad("{\"name\":\"a\",\"prefixes\":[\"192.0.2.0/24\"],\"thresholds\":{\"udp\":"
	    "{\"syn_pps\":1}}}", "thresholds.udp.syn_pps");
	expect_bad("{\"name\":\"a\",\"prefixes\":[\"192.0.2.0/24\"],\"colour\":\"red\"}", "colour");
	expect_bad("{\"name\":\"a\",\"prefixes\":[\"192.0.2.0/24\"],\"source\":\"config\"}", "source");
	expect_bad("[1,2]", "");
	expect_bad("{\"name\":\"a\",", "");
	expect_bad("{\"name\":\"a\",\"name\":\"b\",\"prefixes\":[\"192.0.2.0/24\"]}", "");
}

/* host_thresholds: validated like thresholds, canonical after thresholds,
 * omitted when empty, and the canonical form parses back to itself. */
static void
test_host_thresholds(void **state)
{
	const char *in = "{\"name\":\"dns\",\"prefixes\":[\"192.0.2.0/24\"],\"ports\":[80,53],"
	    "\"host_thresholds\":{\"udp\":{\"pps\":500,\"bps\":0},\"tcp\":{\"syn_pps\":50},"
	    "\"icmp\":{}},\"thresholds\":{\"udp\":{\"pps\":9000}}}";
	struct po_error err;
	struct po *p = NULL, *q = NULL;
	char *out, *out2;

	assert_int_equal(parse(in, NULL, &p, &err), 0);
	assert_int_equal(p->host_thresholds[PROTO_UDP].pps, 500);
	assert_int_equal(p->host_thresholds[PROTO_UDP].bps, 0);
	assert_int_equal(p->host_thresholds[PROTO_TCP].syn_pps, 50);
	assert_int_equal(p->thresholds[PROTO_UDP].pps, 9000);
	assert_int_equal(p->thresholds[PROTO_TCP].syn_pps, 0);
	out = po_to_text(p);
	assert_string_equal(out, "{\"name\":\"dns\",\"prefixes\":[\"192.0.2.0/24\"],"
	    "\"ports\":[53,80],\"thresholds\":{\"udp\":{\"pps\":9000}},\"host_thresholds\":"
	    "{\"tcp\":{\"syn_pps\":50},\"udp\":{\"pps\":500}},\"drivers\":[],"
	    "\"source\":\"api\",\"created_at\":0,\"updated_at\":0}");
	assert_int_equal(po_from_text(out, strlen(out), NULL, PO_IN_STORED, &q, &err), 0);
	out2 = po_to_text(q);
	assert_string_equal(out, out2);
	free(out2);
	po_free(q);
	free(out);
	po_free(p);

	/* only zero host limits: the field is left out */
	assert_int_equal(parse("{\"name\":\"a\",\"prefixes\":[\"192.0.2.0/24\"],"
	    "\"host_thresholds\":{\"udp\":{\"pps\":0}}}", NULL, &p, &err), 0);
	out = po_to_text(p);
	assert_null(strstr(out, "host_thresholds"));
	free(out);
	po_free(p);

	expect_bad("{\"name\":\"a\",\"prefixes\":[\"192.0.2.0/24\"],\"host_thresholds\":[]}",
	    "host_thresholds");
	expect_bad("{\"name\":\"a\",\"prefixes\":[\"192.0.2.0/24\"],\"host_thresholds\":"
	    "{\"sctp\":{}}}", "host_thresholds.sctp");
	expect_bad("{\"name\":\"a\",\"prefixes\":[\"192.0.2.0/24\"],\"host_thresholds\":"
	    "{\"udp\":1}}", "host_thresholds.udp");
	expect_bad("{\"name\":\"a\",\"prefixes\":[\"192.0.2.0/24\"],\"host_thresholds\":"
	    "{\"udp\":{\"pps\":-5}}}", "host_thresholds.udp.pps");
	expect_bad("{\"name\":\"a\",\"prefixes\":[\"192.0.2.0/24\"],\"host_thresholds\":"
	    "{\"udp\":{\"syn_pps\":1}}}", "host_thresholds.udp.syn_pps");
	expect_bad("{\"name\":\"a\",\"prefixes\":[\"192.0.2.0/24\"],\"host_thresholds\":"
	    "{\"tcp\":{\"pps\":\"10\"}}}", "host_thresholds.tcp.pps");
}

static void
test_limits(void **state)
{
	size_t cap = 64 + LIMIT_PO_PREFIXES * 24;
	char *buf = malloc(cap);
	struct po_error err;
	struct po *p = NULL;
	size_t n;

	n = (size_t)sprintf(buf, "{\"name\":\"big\",\"prefixes\":[");
	for (unsigned i = 0; i <= LIMIT_PO_PREFIXES; i++)
		n += (size_t)sprintf(buf + n, "%s\"10.%u.%u.0/24\"", i ? "," : "", i / 256, i % 256);
	sprintf(buf + n, "]}");
	assert_int_equal(parse(buf, NULL, &p, &err), -EINVAL);
	assert_string_equal(err.field, "prefixes");
	free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_po_canonical),
		cmocka_unit_test(test_name_rules),
		cmocka_unit_test(test_prefix_rules),
		cmocka_unit_test(test_port_driver_threshold_rules),
		cmocka_unit_test(test_host_thresholds),
		cmocka_unit_test(test_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
