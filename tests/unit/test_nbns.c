/* Unit tests for src/chaff/nbns.c: node status, name query, what is ignored. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "chaff/nbns.h"

static const struct ntlm_ident ident = {
	"DESKTOP-AB12CD3", "WORKGROUP", "DESKTOP-AB12CD3", "DESKTOP-AB12CD3", 10, 0, 14393,
};
static const uint8_t mac[6] = { 0xd4, 0xbe, 0xd9, 1, 2, 3 };

/* A query for name (padded to 15 with pad) with suffix, of type qtype. */
static size_t
query(uint8_t *q, const char *name, char pad, uint8_t suffix, uint16_t qtype)
{
	uint8_t raw[16];
	size_t n = 0;

	memset(raw, (uint8_t)pad, 15);
	memcpy(raw, name, strlen(name));
	raw[15] = suffix;
	memcpy(q, "\x12\x34\x00\x10\x00\x01\x00\x00\x00\x00\x00\x00", 12);
	n = 12;
	q[n++] = 32;
	for (int i = 0; i < 16; i++) {
		q[n++] = (uint8_t)('A' + (raw[i] >> 4));
		q[n++] = (uint8_t)('A' + (raw[i] & 15));
	}
	q[n++] = 0;
	q[n++] = (uint8_t)(qtype >> 8);
	q[n++] = (uint8_t)qtype;
	q[n++] = 0;
	q[n++] = 1;
	return n;
}

static void
test_node_status(void **state)
{
	uint8_t q[128], out[512];
	enum nbns_kind k;
	size_t n = query(q, "*", 0, 0, 0x21), o;

	(void)state;
	o = nbns_answer(&ident, mac, 0xc6336446, q, n, out, sizeof(out), &k);
	assert_int_equal(k, NBNS_NODE_STATUS);
	assert_int_equal(o, 12 + 34 + 10 + 1 + 4 * 18 + 46);
	assert_memory_equal(out, "\x12\x34\x84\x00\x00\x00\x00\x01", 8);
	assert_memory_equal(out + 12, q + 12, 34);
	assert_int_equal(out[56], 4);
	assert_memory_equal(out + 57, "DESKTOP-AB12CD3\x00\x44\x00", 18);
	assert_memory_equal(out + 57 + 18, "WORKGROUP      \x00\xc4\x00", 18);
	assert_memory_equal(out + 57 + 36, "DESKTOP-AB12CD3\x20", 16);
	assert_memory_equal(out + 57 + 54, "WORKGROUP      \x1e\xc4\x00", 18);
	assert_memory_equal(out + 57 + 72, mac, 6);
	/* Too small a buffer: nothing. */
	assert_int_equal(nbns_answer(&ident, mac, 1, q, n, out, 100, &k), 0);
}

static void
test_name_query(void **state)
{
	uint8_t q[128], out[512];
	enum nbns_kind k;
	size_t n = query(q, "desktop-ab12cd3", ' ', 0x20, 0x20), o;

	(void)state;
	o = nbns_answer(&ident, mac, 0xc6336446, q, n, out, sizeof(out), &k);
	assert_int_equal(k, NBNS_NAME_QUERY);
	assert_int_equal(o, 12 + 34 + 10 + 6);
	assert_memory_equal(out + o - 4, "\xc6\x33\x64\x46", 4);
	/* Another host's name, a response, a truncated packet: no answer. */
	n = query(q, "FILESERVER", ' ', 0x20, 0x20);
	assert_int_equal(nbns_answer(&ident, mac, 1, q, n, out, sizeof(out), &k), 0);
	assert_int_equal(k, NBNS_IGNORED);
	n = query(q, "*", 0, 0, 0x21);
	q[2] = 0x84;
	assert_int_equal(nbns_answer(&ident, mac, 1, q, n, out, sizeof(out), &k), 0);
	q[2] = 0;
	for (size_t i = 0; i < n; i++)
		assert_int_equal(nbns_answer(&ident, mac, 1, q, i, out, sizeof(out), &k), 0);
	/* A letter outside A..P in the encoded name. */
	q[14] = 'Z';
	assert_int_equal(nbns_answer(&ident, mac, 1, q, n, out, sizeof(out), &k), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_node_status),
		cmocka_unit_test(test_name_query),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
