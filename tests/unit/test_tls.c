/* Unit tests for src/chaff/tls.c: certificate subjects, a real handshake over memory BIOs. */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "chaff/tls.h"

#define NOW	1796601600LL	/* 2026-12-07 */

static void
test_subject(void **state)
{
	static const uint8_t mac[6] = { 0x00, 0x40, 0x8c, 0x12, 0xab, 0xcd };
	struct tls_subject a, b;
	uint8_t h[32];

	for (int i = 0; i < 32; i++)
		h[i] = (uint8_t)(i * 37 + 11);
	assert_true(tls_speaks_13("nginx/1.18.0 (Ubuntu)"));
	assert_false(tls_speaks_13("Microsoft-IIS/10.0"));
	assert_false(tls_speaks_13("Apache/2.2.15 (CentOS)"));
	assert_false(tls_speaks_13(NULL));
	tls_subject("Microsoft-IIS/10.0", 0xc6336414, mac, h, NOW, &a);
	assert_int_equal(strncmp(a.cn, "WIN-", 4), 0);
	assert_int_equal(strlen(a.cn), 15);
	assert_true(a.server_auth);
	assert_false(a.san);
	assert_int_equal(a.serial_len, 16);
	assert_int_equal(a.not_after - a.not_before, 365 * 86400LL);
	tls_subject("nginx/1.18.0 (Ubuntu)", 0xc6336414, mac, h, NOW, &a);
	assert_true(a.san);
	assert_int_equal(a.serial_len, 20);
	assert_true(a.serial[0] > 0 && a.serial[0] < 0x80);
	assert_int_equal(a.not_after - a.not_before, 3650 * 86400LL);
	tls_subject(NULL, 0xc6336414, mac, h, NOW, &b);
	assert_string_equal(a.cn, b.cn);	/* no Server header: a Linux host too */
	tls_subject("cisco-IOS", 1, mac, h, NOW, &a);
	assert_int_equal(strncmp(a.cn, "IOS-Self-Signed-Certificate-", 28), 0);
	assert_int_equal(a.serial_len, 1);
	assert_int_equal(a.serial[0], 1);
	assert_true(a.ca);
	tls_subject("HP-ChaiSOE/1.0", 1, mac, h, NOW, &a);
	assert_string_equal(a.cn, "NPI12ABCD");
	assert_string_equal(a.org, "Hewlett-Packard");
	tls_subject("Boa/0.94.14rc21", 1, mac, h, NOW, &a);
	assert_string_equal(a.cn, "axis-00408c12abcd");
	/* Remote Desktop: the computer name, six months, server authentication. */
	tls_subject(TLS_RDP_PREFIX "DESKTOP-AB12CD3", 1, mac, h, NOW, &a);
	assert_string_equal(a.cn, "DESKTOP-AB12CD3");
	assert_true(a.server_auth);
	assert_false(a.san);
	assert_int_equal(a.serial_len, 16);
	assert_int_equal(a.not_after - a.not_before, 182 * 86400LL);
	assert_true(a.not_before <= NOW && NOW < a.not_after);
	/* For any decoy and day: issued in the last three years, valid now,
	 * and the same a day later unless a renewal fell in between. */
	for (int i = 0; i < 2000; i++) {
		int64_t now = NOW + (int64_t)i * 7919 * 60;

		h[0] = (uint8_t)i;
		h[3] = (uint8_t)(i >> 8);
		h[10] = (uint8_t)(i * 7);
		for (int k = 0; k < 5; k++) {
			static const char *const srv[] = { "Apache", "Microsoft-IIS/7.5", "cisco",
							   "HP", "Boa" };

			tls_subject(srv[k], (uint32_t)i, mac, h, now, &a);
			tls_subject(srv[k], (uint32_t)i, mac, h, now + 3600, &b);
			assert_true(a.not_before <= now);
			assert_true(now - a.not_before < 3 * 365 * 86400LL);
			assert_true(a.not_after > now);
			assert_true(b.not_before == a.not_before || b.not_before > now);
			assert_string_equal(a.cn, b.cn);
			assert_memory_equal(a.serial, b.serial, a.serial_len);
		}
	}
}

/* Move bytes between the client and the server session until the client's
 * handshake ends; the server's certificate is made by its worker meanwhile. */
static void
handshake(struct tls *t, struct tls_conn *sc, SSL *cl, BIO *c_in, BIO *c_out)
{
	uint8_t buf[16384], plain[256];
	size_t pn;

	for (int round = 0; round < 50; round++) {
		int r = SSL_do_handshake(cl), n;

		if (r == 1 && BIO_ctrl_pending(c_out) == 0)
			return;
		ERR_clear_error();
		n = BIO_read(c_out, buf, sizeof(buf));
		assert_int_equal(tls_conn_input(t, sc, n > 0 ? buf : NULL, n > 0 ? (size_t)n : 0,
						plain, sizeof(plain), &pn, 1), 0);
		assert_int_equal(pn, 0);
		if (tls_conn_waiting(sc)) {
			struct pollfd pfd = { .fd = tls_event_fd(t), .events = POLLIN };

			assert_int_equal(poll(&pfd, 1, 20000), 1);
			tls_ack(t);
			assert_int_equal(tls_conn_input(t, sc, NULL, 0, plain, sizeof(plain), &pn, 1),
					 0);
			assert_false(tls_conn_waiting(sc));
		}
		n = (int)tls_conn_output(sc, buf, sizeof(buf));
		if (n > 0)
			assert_int_equal(BIO_write(c_in, buf, n), n);
	}
	fail_msg("no handshake");
}

static void
client(SSL_CTX *ctx, SSL **ret, BIO **in, BIO **out)
{
	*ret = SSL_new(ctx);
	*in = BIO_new(BIO_s_mem());
	*out = BIO_new(BIO_s_mem());
	SSL_set_bio(*ret, *in, *out);
	SSL_set_connect_state(*ret);
}

static char *
peer_cn(SSL *cl, char *buf, size_t cap, uint8_t fp[32])
{
	X509 *x = SSL_get1_peer_certificate(cl);
	unsigned n = 0;

	assert_non_null(x);
	X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, buf, (int)cap);
	X509_digest(x, EVP_sha256(), fp, &n);
	X509_free(x);
	return buf;
}

static void
test_handshake(void **state)
{
	static const uint8_t secret[32] = { 9, 9, 9 };
	static const uint8_t mac[6] = { 0x52, 0x54, 0, 1, 2, 3 };
	static struct tls t;
	SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
	struct tls_conn *sc;
	SSL *cl;
	BIO *c_in, *c_out;
	uint8_t buf[16384], plain[256], fp1[32], fp2[32], fp3[32];
	char cn[80];
	size_t pn;
	int n;

	assert_non_null(cctx);
	assert_int_equal(tls_init(&t, secret), 0);
	sc = tls_conn_new(&t, 0xc6336414, mac, "nginx/1.18.0 (Ubuntu)", 0);
	assert_non_null(sc);
	assert_true(tls_conn_waiting(sc));
	client(cctx, &cl, &c_in, &c_out);
	handshake(&t, sc, cl, c_in, c_out);
	peer_cn(cl, cn, sizeof(cn), fp1);
	assert_int_equal(SSL_version(cl), TLS1_3_VERSION);	/* nginx on Ubuntu 20.04 */
	assert_true(strlen(cn) >= 4);
	/* Application data both ways. */
	assert_int_equal(SSL_write(cl, "GET / HTTP/1.0\r\n\r\n", 18), 18);
	n = BIO_read(c_out, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal(tls_conn_input(&t, sc, buf, (size_t)n, plain, sizeof(plain), &pn, 1), 0);
	assert_int_equal(pn, 18);
	assert_memory_equal(plain, "GET / HTTP/1.0\r\n\r\n", 18);
	assert_int_equal(tls_conn_write(sc, "HTTP/1.1 200 OK\r\n\r\n", 19), 0);
	tls_conn_shutdown(sc);
	n = (int)tls_conn_output(sc, buf, sizeof(buf));
	assert_int_equal(BIO_write(c_in, buf, n), n);
	n = SSL_read(cl, buf, sizeof(buf));
	assert_int_equal(n, 19);
	SSL_free(cl);
	tls_conn_free(&t, sc);

	/* The same decoy again: its certificate is ready at once, the same. */
	sc = tls_conn_new(&t, 0xc6336414, mac, "nginx/1.18.0 (Ubuntu)", 0);
	assert_false(tls_conn_waiting(sc));
	client(cctx, &cl, &c_in, &c_out);
	handshake(&t, sc, cl, c_in, c_out);
	peer_cn(cl, cn, sizeof(cn), fp2);
	assert_memory_equal(fp1, fp2, 32);
	SSL_free(cl);
	tls_conn_free(&t, sc);

	/* Another decoy: another certificate. */
	sc = tls_conn_new(&t, 0xc6336415, mac, "Microsoft-IIS/10.0", 0);
	client(cctx, &cl, &c_in, &c_out);
	handshake(&t, sc, cl, c_in, c_out);
	assert_int_equal(strncmp(peer_cn(cl, cn, sizeof(cn), fp3), "WIN-", 4), 0);
	assert_int_equal(SSL_version(cl), TLS1_2_VERSION);	/* IIS 10: TLS 1.2 */
	assert_memory_not_equal(fp1, fp3, 32);
	SSL_free(cl);
	tls_conn_free(&t, sc);

	/* The first decoy's Remote Desktop certificate: its own, apart from
	 * its web one in the cache, for the computer name, TLS 1.2. */
	sc = tls_conn_new(&t, 0xc6336414, mac, TLS_RDP_PREFIX "DESKTOP-AB12CD3", 0);
	client(cctx, &cl, &c_in, &c_out);
	handshake(&t, sc, cl, c_in, c_out);
	assert_string_equal(peer_cn(cl, cn, sizeof(cn), fp3), "DESKTOP-AB12CD3");
	assert_int_equal(SSL_version(cl), TLS1_2_VERSION);
	assert_memory_not_equal(fp1, fp3, 32);
	assert_true(tls_conn_done(sc));
	SSL_free(cl);
	tls_conn_free(&t, sc);
	sc = tls_conn_new(&t, 0xc6336414, mac, "nginx/1.18.0 (Ubuntu)", 0);
	assert_false(tls_conn_waiting(sc));	/* the web one is still cached */

	/* Garbage fails the session; a silent peer times out. */
	tls_conn_free(&t, sc);
	sc = tls_conn_new(&t, 0xc6336415, mac, "Microsoft-IIS/10.0", 0);
	assert_int_equal(tls_conn_input(&t, sc, (const uint8_t *)"GET / HTTP/1.0\r\n\r\n", 18,
					plain, sizeof(plain), &pn, 1), -EPROTO);
	tls_conn_free(&t, sc);
	sc = tls_conn_new(&t, 0xc6336415, mac, "Microsoft-IIS/10.0", 0);
	assert_int_equal(tls_conn_input(&t, sc, NULL, 0, plain, sizeof(plain), &pn,
					(TLS_HANDSHAKE_S + 1) * 1000000000ULL), -ETIMEDOUT);
	tls_conn_free(&t, sc);
	assert_int_equal(t.n_conns, 0);

	/* Made ahead: the first session for that decoy does not wait. */
	{
		struct tls_req w = { .decoy = 0xc6336499, .server = "Apache/2.4.25 (Debian)" };
		struct pollfd none = { .fd = -1 };
		bool made = false;

		assert_int_equal(tls_warm(&t, &w, 1), 0);
		for (int i = 0; i < 400 && !made; i++) {
			pthread_mutex_lock(&t.mu);
			made = t.made >= 4;
			pthread_mutex_unlock(&t.mu);
			if (!made)
				(void)poll(&none, 0, 50);
		}
		assert_true(made);
		sc = tls_conn_new(&t, 0xc6336499, mac, "Apache/2.4.25 (Debian)", 0);
		assert_non_null(sc);
		assert_false(tls_conn_waiting(sc));
		tls_conn_free(&t, sc);
	}
	tls_free(&t);
	SSL_CTX_free(cctx);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_subject),
		cmocka_unit_test(test_handshake),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
