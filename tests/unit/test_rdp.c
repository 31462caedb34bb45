/* Unit tests for src/chaff/rdp.c: Connection Request parsing and the confirm per Windows version. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "chaff/rdp.h"

/* nmap's TerminalServerCookie probe: mstshash=nmap, TLS|CredSSP requested. */
static const uint8_t nmap_cookie[] = "\x03\0\0*%\xe0\0\0\0\0\0Cookie: mstshash=nmap\r\n"
				     "\x01\0\x08\0\x03\0\0\0";
/* nmap's TerminalServer probe: no cookie, no negotiation. */
static const uint8_t nmap_plain[] = "\x03\0\0\x0b\x06\xe0\0\0\0\0\0";

static void
test_parse(void **state)
{
	struct rdp_cr cr;

	(void)state;
	assert_int_equal(rdp_parse_cr(nmap_cookie, sizeof(nmap_cookie) - 1, &cr), 42);
	assert_true(cr.has_neg);
	assert_int_equal(cr.requested, 3);
	assert_string_equal(cr.cookie, "nmap");
	assert_int_equal(rdp_parse_cr(nmap_plain, sizeof(nmap_plain) - 1, &cr), 11);
	assert_false(cr.has_neg);
	assert_string_equal(cr.cookie, "");
	/* Short: wait for more. Not TPKT, or not a CR: refused. */
	assert_int_equal(rdp_parse_cr(nmap_cookie, 20, &cr), 0);
	assert_int_equal(rdp_parse_cr((const uint8_t *)"GET / HTTP/1.0\r\n", 16, &cr), -EINVAL);
	assert_int_equal(rdp_parse_cr((const uint8_t *)"\x03\0\0\x0b\x06\xd0\0\0\0\0\0", 11, &cr),
			 -EINVAL);
	/* An LI past the PDU is cut to it. */
	assert_int_equal(rdp_parse_cr((const uint8_t *)"\x03\0\0\x0b\xff\xe0\0\0\0\0\0", 11, &cr),
			 11);
}

static void
test_confirm(void **state)
{
	struct rdp_cr cr;
	uint8_t out[64];
	bool close;
	size_t n;

	(void)state;
	assert_true(rdp_parse_cr(nmap_cookie, sizeof(nmap_cookie) - 1, &cr) > 0);
	n = rdp_confirm(&cr, 10, 0, out, sizeof(out), &close);
	assert_int_equal(n, 19);
	assert_memory_equal(out, "\x03\0\0\x13\x0e\xd0\0\0\x12\x34\0\x02\x1f\x08\0\x02\0\0\0", 19);
	assert_false(close);
	/* Windows 7: CredSSP too, flags 0x01. */
	n = rdp_confirm(&cr, 6, 1, out, sizeof(out), &close);
	assert_int_equal(out[12], 0x01);
	assert_int_equal(out[15], 2);
	/* A TLS-only client: Windows 7 takes TLS, Windows 10 refuses (NLA required). */
	cr.requested = RDP_PROTO_SSL;
	n = rdp_confirm(&cr, 6, 1, out, sizeof(out), &close);
	assert_int_equal(out[15], 1);
	assert_false(close);
	n = rdp_confirm(&cr, 10, 0, out, sizeof(out), &close);
	assert_int_equal(out[11], 3);
	assert_int_equal(out[15], 5);
	assert_true(close);
	/* No negotiation: an 11-byte confirm. xrdp's zero source reference. */
	assert_true(rdp_parse_cr(nmap_plain, sizeof(nmap_plain) - 1, &cr) > 0);
	n = rdp_confirm(&cr, 0, 0, out, sizeof(out), &close);
	assert_int_equal(n, 11);
	assert_memory_equal(out, "\x03\0\0\x0b\x06\xd0\0\0\0\0\0", 11);
	assert_int_equal(rdp_confirm(&cr, 10, 0, out, 5, &close), 0);
}

static void
test_client_hello(void **state)
{
	/* TLS 1.2 ClientHello (record version 1.0, as clients send it). */
	static const uint8_t tls12[] = { 0x16, 3, 1, 0, 0x50, 1, 0, 0, 0x4c, 3, 3 };
	/* nmap's SSLSessionReq: SSL 3.0. */
	static const uint8_t ssl3[] = { 0x16, 3, 0, 0, 0x53, 1, 0, 0, 0x4f, 3, 0 };
	static const uint8_t x224[] = { 3, 0, 0, 0x13, 0x0e, 0xe0, 0, 0, 0, 0, 0 };

	(void)state;
	assert_true(rdp_is_client_hello(tls12, sizeof(tls12)));
	assert_false(rdp_is_client_hello(tls12, sizeof(tls12) - 1));
	assert_false(rdp_is_client_hello(ssl3, sizeof(ssl3)));
	assert_false(rdp_is_client_hello(x224, sizeof(x224)));
	assert_false(rdp_is_client_hello(NULL, 0));
}

/* TSRequest DER: version 6 + negoTokens, long-form lengths; errorCode. */
static void
test_tsrequest(void **state)
{
	static const uint8_t small[] = { 0x30, 0x11, 0xa0, 0x03, 0x02, 0x01, 0x06, 0xa1, 0x0a,
					 0x30, 0x08, 0x30, 0x06, 0xa0, 0x04, 0x04, 0x02, 'h', 'i' };
	static const uint8_t fail[] = { 0x30, 0x0d, 0xa0, 0x03, 0x02, 0x01, 0x06, 0xa4, 0x06,
					0x02, 0x04, 0xc0, 0x00, 0x00, 0x6d };
	uint8_t tok[300], out[400];
	size_t n;

	(void)state;
	n = rdp_tsrequest(6, (const uint8_t *)"hi", 2, false, out, sizeof(out));
	assert_int_equal(n, sizeof(small));
	assert_memory_equal(out, small, sizeof(small));
	n = rdp_tsrequest(6, NULL, 0, true, out, sizeof(out));
	assert_int_equal(n, sizeof(fail));
	assert_memory_equal(out, fail, sizeof(fail));
	memset(tok, 'x', sizeof(tok));
	n = rdp_tsrequest(6, tok, sizeof(tok), false, out, sizeof(out));
	/* 30 82 LL | a0 03 02 01 06 | a1 82 LL | 30 82 LL | 30 82 LL | a0 82 LL | 04 82 01 2c | token */
	assert_int_equal(n, 4 + 5 + 5 * 4 + sizeof(tok));
	assert_int_equal(out[0], 0x30);
	assert_int_equal(out[1], 0x82);
	assert_int_equal(out[2] << 8 | out[3], n - 4);
	assert_int_equal(out[n - sizeof(tok) - 4], 0x04);
	assert_int_equal(out[n - sizeof(tok) - 2] << 8 | out[n - sizeof(tok) - 1], sizeof(tok));
	assert_memory_equal(out + n - sizeof(tok), tok, sizeof(tok));
	assert_int_equal(rdp_tsrequest(6, tok, sizeof(tok), false, out, 100), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_confirm),
		cmocka_unit_test(test_client_hello),
		cmocka_unit_test(test_tsrequest),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
