/* Unit tests for src/chaff/ntlm.c: CHALLENGE layout, AUTHENTICATE parsing and its bounds, SPNEGO. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "chaff/ntlm.h"

static const struct ntlm_ident ident = {
	"WIN-ABCDEFGHIJK", "WORKGROUP", "WIN-ABCDEFGHIJK", "WIN-ABCDEFGHIJK", 10, 0, 14393,
};
static const uint8_t chal[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

static uint16_t
rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t
rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void
test_challenge(void **state)
{
	uint8_t out[512];
	size_t n = ntlm_challenge(&ident, 0x62088215, chal, 0x01d9000000000000ULL, out, sizeof(out));
	uint32_t flags, toff;
	uint16_t tlen;
	const uint8_t *av;

	(void)state;
	assert_true(n > 56);
	assert_memory_equal(out, "NTLMSSP\0\x02\0\0\0", 12);
	flags = rd32(out + 20);
	assert_true(flags & 0x00000001);	/* Unicode, as asked */
	assert_true(flags & 0x00800000);	/* target info */
	assert_true(flags & 0x00080000);	/* extended session security */
	assert_memory_equal(out + 24, chal, 8);
	assert_int_equal(out[48], 10);
	assert_int_equal(rd16(out + 50), 14393);
	assert_int_equal(out[55], 15);
	/* Target name: the NetBIOS name in UTF-16. */
	assert_int_equal(rd16(out + 12), 30);
	assert_int_equal(rd32(out + 16), 56);
	assert_memory_equal(out + 56, "W\0I\0N\0-\0", 8);
	/* Target info: NB domain first, EOL last, inside the message. */
	tlen = rd16(out + 40);
	toff = rd32(out + 44);
	assert_int_equal(toff + tlen, n);
	av = out + toff;
	assert_int_equal(rd16(av), 2);
	assert_int_equal(rd16(av + 2), 18);
	assert_memory_equal(av + 4, "W\0O\0R\0K\0G\0R\0O\0U\0P\0", 18);
	assert_memory_equal(out + n - 4, "\0\0\0\0", 4);
	assert_int_equal(ntlm_challenge(&ident, 0, chal, 0, out, 100), 0);
}

static size_t
auth(uint8_t *out, uint16_t nt_len, uint32_t user_off)
{
	memset(out, 0, 200);
	memcpy(out, "NTLMSSP\0\x03\0\0\0", 12);
	/* LM: 24 at 88; NT: nt_len at 112; domain "D" at 112+nt; user "bob" (OEM); ws empty. */
	out[12] = 24; out[14] = 24; out[16] = 88;
	out[20] = (uint8_t)nt_len; out[22] = (uint8_t)nt_len; out[24] = 112;
	out[28] = 1; out[30] = 1; out[32] = (uint8_t)(112 + nt_len);
	out[36] = 3; out[38] = 3; out[40] = (uint8_t)user_off; out[41] = (uint8_t)(user_off >> 8);
	out[44] = 0; out[48] = 0;
	out[60] = 0x02;		/* OEM strings */
	for (int i = 0; i < nt_len; i++)
		out[112 + i] = 0x11;
	out[112 + nt_len] = 'D';
	memcpy(out + 113 + nt_len, "bob", 3);
	return 116u + nt_len;
}

static void
test_parse_auth(void **state)
{
	uint8_t m[256];
	struct ntlm_auth a;
	size_t n;

	(void)state;
	n = auth(m, 24, 113 + 24);
	assert_int_equal(ntlm_parse_auth(m, n, chal, &a), 0);
	assert_int_equal(a.version, 1);
	assert_string_equal(a.user, "bob");
	assert_string_equal(a.domain, "D");
	assert_string_equal(a.hash, "bob::D:000000000000000000000000000000000000000000000000:"
			    "111111111111111111111111111111111111111111111111:0102030405060708");
	n = auth(m, 40, 113 + 40);
	assert_int_equal(ntlm_parse_auth(m, n, chal, &a), 0);
	assert_int_equal(a.version, 2);
	assert_string_equal(a.hash, "bob::D:0102030405060708:11111111111111111111111111111111:"
			    "111111111111111111111111111111111111111111111111");
	/* A user name pointing past the end is refused; so is a short message. */
	n = auth(m, 24, 250);
	assert_int_equal(ntlm_parse_auth(m, n, chal, &a), -EINVAL);
	assert_int_equal(ntlm_parse_auth(m, 40, chal, &a), -EINVAL);
	m[8] = 1;
	assert_int_equal(ntlm_parse_auth(m, n, chal, &a), -EINVAL);
}

static void
test_spnego(void **state)
{
	uint8_t init[128], resp[600], tok[300];
	size_t n = ntlm_spnego_init(init, sizeof(init)), off = 99;

	(void)state;
	assert_true(n > 20);
	assert_int_equal(init[0], 0x60);
	assert_int_equal(init[1], n - 2);
	assert_non_null(memmem(init, n, "not_defined_in_RFC4178@please_ignore", 36));
	memset(tok, 0, sizeof(tok));
	memcpy(tok, "NTLMSSP\0\x02\0\0\0", 12);
	n = ntlm_spnego_resp(tok, sizeof(tok), resp, sizeof(resp));
	assert_true(n > sizeof(tok));
	assert_int_equal(resp[0], 0xa1);
	assert_int_equal(resp[1], 0x82);
	assert_int_equal((resp[2] << 8 | resp[3]) + 4, n);
	assert_int_equal(ntlm_find(resp, n, &off), NTLM_CHALLENGE);
	assert_int_equal(off, n - sizeof(tok));
	assert_int_equal(ntlm_find(init, 30, &off), NTLM_NONE);
	assert_int_equal(ntlm_spnego_resp(tok, sizeof(tok), resp, 100), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_challenge),
		cmocka_unit_test(test_parse_auth),
		cmocka_unit_test(test_spnego),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
