/* Unit tests for src/chaff/smtp.c and svcver.c: products, EHLO per release, AUTH decoding. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "chaff/smtp.h"
#include "chaff/svcver.h"

static size_t
say1(const struct smtp_server *s, struct smtp_state *st, const char *line, char *out,
     struct smtp_login *l, bool *got)
{
	bool close = false;

	return smtp_line(s, st, line, 0xc6336401, out, 1024, l, got, &close);
}

static void
test_products(void **state)
{
	struct smtp_server s;

	(void)state;
	smtp_server_init(&s, "220 mail.localdomain ESMTP Exim 4.89", NULL);
	assert_int_equal(s.product, SMTP_EXIM);
	assert_string_equal(s.host, "mail.localdomain");
	smtp_server_init(&s, "220 ex1.contoso.com Microsoft ESMTP MAIL Service ready at Mon", NULL);
	assert_int_equal(s.product, SMTP_EXCHANGE);
	smtp_server_init(&s, "220 mail Microsoft ESMTP MAIL Service ready", NULL);
	assert_int_equal(s.product, SMTP_IIS);
	smtp_server_init(&s, "220 mail.localdomain ESMTP Postfix (Ubuntu)", "3.4.13");
	assert_int_equal(s.product, SMTP_POSTFIX);
	assert_true(s.postfix_chunking);
	smtp_server_init(&s, "220", "2.6.6");
	assert_string_equal(s.host, "mail");
	assert_false(s.postfix_utf8);
}

static void
test_ehlo(void **state)
{
	struct smtp_server s;
	struct smtp_state st = { 0 };
	struct smtp_login l;
	char out[1024];
	bool got;

	(void)state;
	smtp_server_init(&s, "220 mail.localdomain ESMTP Postfix", "3.4.13");
	say1(&s, &st, "EHLO x", out, &l, &got);
	assert_non_null(strstr(out, "250-SMTPUTF8\r\n250 CHUNKING\r\n"));
	smtp_server_init(&s, "220 mail.localdomain ESMTP Postfix", "3.1.15");
	say1(&s, &st, "EHLO x", out, &l, &got);
	assert_non_null(strstr(out, "250-DSN\r\n250 SMTPUTF8\r\n"));
	assert_null(strstr(out, "CHUNKING"));
	smtp_server_init(&s, "220 mail.localdomain ESMTP Postfix", "2.6.6");
	say1(&s, &st, "EHLO x", out, &l, &got);
	assert_non_null(strstr(out, "250 DSN\r\n"));
	assert_null(strstr(out, "SMTPUTF8"));
	smtp_server_init(&s, "220 mail.localdomain ESMTP Exim 4.89", NULL);
	say1(&s, &st, "EHLO kali", out, &l, &got);
	assert_int_equal(strncmp(out, "250-mail.localdomain Hello kali [198.51.100.1]\r\n", 46), 0);
	say1(&s, &st, "QUIT", out, &l, &got);
	assert_string_equal(out, "221 mail.localdomain closing connection\r\n");
}

static void
test_auth(void **state)
{
	struct smtp_server s;
	struct smtp_state st = { 0 };
	struct smtp_login l;
	char out[1024];
	bool got;

	(void)state;
	smtp_server_init(&s, "220 mail ESMTP Postfix", "3.4.13");
	/* PLAIN inline: \0alice\0wonder */
	say1(&s, &st, "AUTH PLAIN AGFsaWNlAHdvbmRlcg==", out, &l, &got);
	assert_true(got);
	assert_string_equal(l.user, "alice");
	assert_string_equal(l.pass, "wonder");
	assert_int_equal(strncmp(out, "535 5.7.8", 9), 0);
	/* LOGIN in three steps. */
	say1(&s, &st, "AUTH LOGIN", out, &l, &got);
	assert_string_equal(out, "334 VXNlcm5hbWU6\r\n");
	say1(&s, &st, "Ym9i", out, &l, &got);
	assert_false(got);
	assert_string_equal(out, "334 UGFzc3dvcmQ6\r\n");
	say1(&s, &st, "c2VjcmV0", out, &l, &got);
	assert_true(got);
	assert_string_equal(l.user, "bob");
	assert_string_equal(l.pass, "secret");
	/* PLAIN on the next line; garbage there is no login. */
	say1(&s, &st, "AUTH PLAIN", out, &l, &got);
	assert_string_equal(out, "334 \r\n");
	say1(&s, &st, "!!!", out, &l, &got);
	assert_false(got);
	assert_int_equal(st.phase, 0);
}

/* STARTTLS: accepted in the product's words where it is offered, the
 * session starts over, and EHLO inside TLS offers what the product does. */
static void
test_starttls(void **state)
{
	struct smtp_server s;
	struct smtp_state st = { 0 };
	struct smtp_login l;
	char out[1024];
	bool got;

	(void)state;
	smtp_server_init(&s, "220 mail.localdomain ESMTP Postfix", "3.4.13");
	say1(&s, &st, "EHLO x", out, &l, &got);
	assert_non_null(strstr(out, "250-STARTTLS\r\n"));
	say1(&s, &st, "AUTH LOGIN", out, &l, &got);
	say1(&s, &st, "*", out, &l, &got);
	say1(&s, &st, "STARTTLS", out, &l, &got);
	assert_string_equal(out, "220 2.0.0 Ready to start TLS\r\n");
	assert_true(st.start_tls);
	assert_int_equal(st.phase, 0);
	st.tls = true;
	say1(&s, &st, "EHLO x", out, &l, &got);
	assert_false(st.start_tls);
	assert_null(strstr(out, "STARTTLS"));
	assert_non_null(strstr(out, "250-AUTH PLAIN LOGIN\r\n"));
	say1(&s, &st, "STARTTLS", out, &l, &got);
	assert_string_equal(out, "554 5.5.1 Error: TLS already active\r\n");
	assert_false(st.start_tls);
	say1(&s, &st, "AUTH PLAIN AGFsaWNlAHdvbmRlcg==", out, &l, &got);
	assert_true(got);
	assert_string_equal(l.pass, "wonder");

	/* Exim (Debian's configuration): AUTH only inside TLS. */
	memset(&st, 0, sizeof(st));
	smtp_server_init(&s, "220 mail.localdomain ESMTP Exim 4.89", NULL);
	say1(&s, &st, "EHLO x", out, &l, &got);
	assert_null(strstr(out, "AUTH"));
	assert_non_null(strstr(out, "250-STARTTLS\r\n"));
	say1(&s, &st, "STARTTLS", out, &l, &got);
	assert_string_equal(out, "220 TLS go ahead\r\n");
	st.tls = true;
	say1(&s, &st, "EHLO x", out, &l, &got);
	assert_non_null(strstr(out, "250-AUTH PLAIN LOGIN\r\n"));
	assert_null(strstr(out, "STARTTLS"));

	/* Exchange: LOGIN joins NTLM inside TLS. */
	memset(&st, 0, sizeof(st));
	smtp_server_init(&s, "220 ex1.contoso.com Microsoft ESMTP MAIL Service ready at Mon", NULL);
	say1(&s, &st, "EHLO x", out, &l, &got);
	assert_non_null(strstr(out, "250-AUTH NTLM\r\n"));
	say1(&s, &st, "STARTTLS", out, &l, &got);
	assert_string_equal(out, "220 2.0.0 SMTP server ready\r\n");
	st.tls = true;
	say1(&s, &st, "EHLO x", out, &l, &got);
	assert_non_null(strstr(out, "250-AUTH NTLM LOGIN\r\n"));
	assert_null(strstr(out, "TLS"));

	/* No TLS to offer: advertised, then refused as before. */
	memset(&st, 0, sizeof(st));
	smtp_server_init(&s, "220 mail.localdomain ESMTP Postfix", "3.4.13");
	s.tls_off = true;
	say1(&s, &st, "STARTTLS", out, &l, &got);
	assert_string_equal(out, "454 4.7.0 TLS not available due to local problem\r\n");
	assert_false(st.start_tls);
	/* Sendmail offers no STARTTLS: an unknown command. */
	smtp_server_init(&s, "220 mx ESMTP Sendmail 8.15.2", NULL);
	say1(&s, &st, "STARTTLS", out, &l, &got);
	assert_false(st.start_tls);
	assert_int_equal(strncmp(out, "500 ", 4), 0);
}

static void
test_b64_and_versions(void **state)
{
	uint8_t b[8];
	struct persona p;
	struct svcver v;

	(void)state;
	assert_int_equal(smtp_b64decode("aGVsbG8gd29ybGQ=", b, sizeof(b)), 7);	/* cut at cap */
	assert_string_equal((char *)b, "hello w");
	assert_int_equal(smtp_b64decode("a$", b, sizeof(b)), -EINVAL);

	memset(&p, 0, sizeof(p));
	snprintf(p.name, sizeof(p.name), "linux-4.15");
	p.svc = persona_preset_find("linux-4.15")->svc;
	svcver_for(&p, &v);
	assert_string_equal(v.mysql, "5.7.42-0ubuntu0.18.04.1");
	assert_string_equal(v.redis, "4.0.9");
	/* A fingerprint decoy: from its banners. */
	snprintf(p.name, sizeof(p.name), "Linux 3.2 - 4.9");
	p.svc = persona_preset_find("linux-3")->svc;
	svcver_for(&p, &v);
	assert_string_equal(v.redis, "3.2.6");
	memset(&p, 0, sizeof(p));
	svcver_for(&p, &v);
	assert_string_equal(v.mysql, "8.0.36");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_products),
		cmocka_unit_test(test_ehlo),
		cmocka_unit_test(test_auth),
		cmocka_unit_test(test_starttls),
		cmocka_unit_test(test_b64_and_versions),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
