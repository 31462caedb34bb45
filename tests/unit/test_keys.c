/* Unit tests for src/chaff/keys.c: the era table, deterministic keys, the cache. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "chaff/keys.h"

static const uint8_t secret[32] = { 7, 1, 2 };

static void
test_era(void **state)
{
	struct keys_era e;

	keys_era("OpenSSH_5.3", &e);
	assert_int_equal(e.kinds, KEYS_RSA | KEYS_DSA);
	assert_string_equal(e.hostkey_algos, "ssh-rsa,ssh-dss");
	assert_int_equal(e.rsa_bits, 2048);
	keys_era("OpenSSH_5.9p1 Debian-5ubuntu1", &e);
	assert_int_equal(e.kinds, KEYS_RSA | KEYS_DSA | KEYS_ECDSA);
	keys_era("OpenSSH_6.6.1p1 Ubuntu-2ubuntu2", &e);
	assert_int_equal(e.kinds, KEYS_RSA | KEYS_DSA | KEYS_ECDSA | KEYS_ED25519);
	keys_era("OpenSSH_7.4p1 Debian-10+deb9u7", &e);
	assert_int_equal(e.kinds, KEYS_RSA | KEYS_ECDSA | KEYS_ED25519);
	assert_non_null(strstr(e.hostkey_algos, "rsa-sha2-512"));
	assert_non_null(strstr(e.hostkey_algos, "ssh-rsa,"));
	assert_int_equal(e.rsa_bits, 2048);
	keys_era("OpenSSH_for_Windows_7.7", &e);
	assert_int_equal(e.kinds, KEYS_RSA | KEYS_ECDSA | KEYS_ED25519);
	keys_era("OpenSSH_8.2p1 Ubuntu-4ubuntu0.5", &e);
	assert_int_equal(e.rsa_bits, 3072);
	assert_non_null(strstr(e.hostkey_algos, "ssh-rsa,"));
	keys_era("OpenSSH_9.2p1 Debian-2", &e);
	assert_null(strstr(e.hostkey_algos, "ssh-rsa,"));
	assert_non_null(strstr(e.hostkey_algos, "ssh-ed25519"));
	keys_era("OpenSSH_10.0", &e);
	assert_int_equal(e.kinds, KEYS_RSA | KEYS_ECDSA | KEYS_ED25519);
	/* Not OpenSSH (Cisco), or no number at all. */
	keys_era("Cisco-1.25", &e);
	assert_int_equal(e.kinds, KEYS_RSA);
	assert_string_equal(e.hostkey_algos, "ssh-rsa");
	keys_era("OpenSSH_", &e);
	assert_int_equal(e.kinds, KEYS_RSA | KEYS_ECDSA | KEYS_ED25519);
	/* Every era's algorithm list names each kind it offers and no other. */
	for (const char *const *v = (const char *const[]){ "OpenSSH_4.3", "OpenSSH_5.8",
		     "OpenSSH_6.5", "OpenSSH_7.0", "OpenSSH_7.2", "OpenSSH_8.8", NULL }; *v; v++) {
		keys_era(*v, &e);
		assert_int_equal(!!(e.kinds & KEYS_DSA), !!strstr(e.hostkey_algos, "ssh-dss"));
		assert_int_equal(!!(e.kinds & KEYS_ECDSA), !!strstr(e.hostkey_algos, "ecdsa"));
		assert_int_equal(!!(e.kinds & KEYS_ED25519), !!strstr(e.hostkey_algos, "ed25519"));
	}
}

static int
pub_equal(EVP_PKEY *a, EVP_PKEY *b)
{
	return EVP_PKEY_eq(a, b) == 1;
}

static void
test_derive(void **state)
{
	EVP_PKEY *a = NULL, *b = NULL, *c = NULL;

	/* RSA: deterministic per (secret, label, id), the asked size, valid. */
	assert_int_equal(keys_derive(secret, "t", KEYS_RSA, 1, 1024, &a), 0);
	assert_int_equal(keys_derive(secret, "t", KEYS_RSA, 1, 1024, &b), 0);
	assert_int_equal(keys_derive(secret, "t", KEYS_RSA, 2, 1024, &c), 0);
	assert_int_equal(EVP_PKEY_get_bits(a), 1024);
	assert_true(EVP_PKEY_is_a(a, "RSA"));
	assert_true(pub_equal(a, b));
	assert_false(pub_equal(a, c));
	{
		EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(a, NULL);

		assert_int_equal(EVP_PKEY_private_check(ctx), 1);
		assert_int_equal(EVP_PKEY_pairwise_check(ctx), 1);
		EVP_PKEY_CTX_free(ctx);
	}
	EVP_PKEY_free(b);
	EVP_PKEY_free(c);
	/* Another label, another key. */
	assert_int_equal(keys_derive(secret, "u", KEYS_RSA, 1, 1024, &b), 0);
	assert_false(pub_equal(a, b));
	EVP_PKEY_free(a);
	EVP_PKEY_free(b);
	/* ECDSA P-256 */
	assert_int_equal(keys_derive(secret, "t", KEYS_ECDSA, 1, 0, &a), 0);
	assert_int_equal(keys_derive(secret, "t", KEYS_ECDSA, 1, 0, &b), 0);
	assert_int_equal(keys_derive(secret, "t", KEYS_ECDSA, 3, 0, &c), 0);
	assert_true(EVP_PKEY_is_a(a, "EC"));
	assert_int_equal(EVP_PKEY_get_bits(a), 256);
	assert_true(pub_equal(a, b));
	assert_false(pub_equal(a, c));
	EVP_PKEY_free(a);
	EVP_PKEY_free(b);
	EVP_PKEY_free(c);
	/* DSA 1024/160 */
	assert_int_equal(keys_derive(secret, "t", KEYS_DSA, 1, 0, &a), 0);
	assert_true(EVP_PKEY_is_a(a, "DSA"));
	assert_int_equal(EVP_PKEY_get_bits(a), 1024);
	{
		EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(a, NULL);

		assert_int_equal(EVP_PKEY_param_check(ctx), 1);
		EVP_PKEY_CTX_free(ctx);
	}
	EVP_PKEY_free(a);
	/* Ed25519 is sshd's, and a label too long is refused. */
	assert_int_equal(keys_derive(secret, "t", KEYS_ED25519, 1, 0, &a), -EINVAL);
	assert_int_equal(keys_derive(secret, "a label far too long for the stream's message buffer"
				     " here", KEYS_ECDSA, 1, 0, &a), -EINVAL);
}

static void
test_pem_and_cache(void **state)
{
	struct keys_cache kc;
	EVP_PKEY *a = NULL, *b = NULL;
	char *pem = NULL;
	size_t len = 0;

	assert_int_equal(keys_cache_init(&kc, secret), 0);
	assert_null(keys_peek(&kc, "t", KEYS_ECDSA, 9, 0));
	assert_int_equal(keys_get(&kc, "t", KEYS_ECDSA, 9, 0, &a), 0);
	b = keys_peek(&kc, "t", KEYS_ECDSA, 9, 0);
	assert_ptr_equal(a, b);
	assert_int_equal(kc.derived, 1);
	EVP_PKEY_free(b);
	b = NULL;
	/* Made ahead while it is cached already: the cached one stays. */
	assert_int_equal(keys_get_ahead(&kc, "t", KEYS_ECDSA, 9, 0, &b), 0);
	assert_ptr_equal(a, b);
	EVP_PKEY_free(b);
	assert_int_equal(keys_get_ahead(&kc, "t", KEYS_ECDSA, 10, 0, &b), 0);
	EVP_PKEY_free(b);
	b = keys_peek(&kc, "t", KEYS_ECDSA, 10, 0);
	assert_non_null(b);
	EVP_PKEY_free(b);
	assert_int_equal(keys_pem(a, &pem, &len), 0);
	assert_non_null(strstr(pem, "BEGIN EC PRIVATE KEY"));
	assert_int_equal(strlen(pem) + 1, len);
	OPENSSL_clear_free(pem, len);
	EVP_PKEY_free(a);
	/* Filling the cache replaces the oldest entry. */
	for (uint32_t i = 0; i < KEYS_CACHE; i++) {
		assert_int_equal(keys_get(&kc, "t", KEYS_ECDSA, 100 + i, 0, &a), 0);
		EVP_PKEY_free(a);
	}
	assert_null(keys_peek(&kc, "t", KEYS_ECDSA, 9, 0));
	a = keys_peek(&kc, "t", KEYS_ECDSA, 100 + KEYS_CACHE - 1, 0);
	assert_non_null(a);
	EVP_PKEY_free(a);
	keys_cache_free(&kc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_era),
		cmocka_unit_test(test_derive),
		cmocka_unit_test(test_pem_and_cache),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
