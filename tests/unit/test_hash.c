/* Unit tests for common/hash: SipHash-2-4 against the reference vectors of
 * the SipHash paper (key 00..0f, message 00..len-1, 64-bit output written
 * little-endian), the helpers' definitions and the random key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "common/hash.h"

/* Outputs for messages of length 0..15, as little-endian bytes. */
static const uint8_t vectors[16][8] = {
	{ 0x31, 0x0e, 0x0e, 0xdd, 0x47, 0xdb, 0x6f, 0x72 },
	{ 0xfd, 0x67, 0xdc, 0x93, 0xc5, 0x39, 0xf8, 0x74 },
	{ 0x5a, 0x4f, 0xa9, 0xd9, 0x09, 0x80, 0x6c, 0x0d },
	{ 0x2d, 0x7e, 0xfb, 0xd7, 0x96, 0x66, 0x67, 0x85 },
	{ 0xb7, 0x87, 0x71, 0x27, 0xe0, 0x94, 0x27, 0xcf },
	{ 0x8d, 0xa6, 0x99, 0xcd, 0x64, 0x55, 0x76, 0x18 },
	{ 0xce, 0xe3, 0xfe, 0x58, 0x6e, 0x46, 0xc9, 0xcb },
	{ 0x37, 0xd1, 0x01, 0x8b, 0xf5, 0x00, 0x02, 0xab },
	{ 0x62, 0x24, 0x93, 0x9a, 0x79, 0xf5, 0xf5, 0x93 },
	{ 0xb0, 0xe4, 0xa9, 0x0b, 0xdf, 0x82, 0x00, 0x9e },
	{ 0xf3, 0xb9, 0xdd, 0x94, 0xc5, 0xbb, 0x5d, 0x7a },
	{ 0xa7, 0xad, 0x6b, 0x22, 0x46, 0x2f, 0xb3, 0xf4 },
	{ 0xfb, 0xe5, 0x0e, 0x86, 0xbc, 0x8f, 0x1e, 0x75 },
	{ 0x90, 0x3d, 0x84, 0xc0, 0x27, 0x56, 0xea, 0x14 },
	{ 0xee, 0xf2, 0x7a, 0x8e, 0x90, 0xca, 0x23, 0xf7 },
	{ 0xe5, 0x45, 0xbe, 0x49, 0x61, 0xca, 0x29, 0xa1 },
};

static void
reference_key(struct hash_key *k)
{
	uint8_t b[HASH_KEY_BYTES];

	for (size_t i = 0; i < sizeof(b); i++)
		b[i] = (uint8_t)i;
	hash_key_set(k, b);
}

static uint64_t
le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static void
test_reference_vectors(void **state)
{
	struct hash_key k;
	uint8_t msg[16];

	reference_key(&k);
	assert_int_equal(k.k0, 0x0706050403020100ULL);
	assert_int_equal(k.k1, 0x0f0e0d0c0b0a0908ULL);
	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)i;
	for (size_t len = 0; len < 16; len++)
		assert_int_equal(hash_bytes(&k, msg, len), le64(vectors[len]));
	/* The paper's worked example: message 00..0e. */
	assert_int_equal(hash_bytes(&k, msg, 15), 0xa129ca6149be45e5ULL);
}

static void
test_helpers_hash_little_endian_bytes(void **state)
{
	const uint8_t b4[4] = { 0x78, 0x56, 0x34, 0x12 };
	const uint8_t b8[8] = { 0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x01 };
	struct hash_key k;

	reference_key(&k);
	assert_int_equal(hash_u32(&k, 0x12345678u), hash_bytes(&k, b4, 4));
	assert_int_equal(hash_u64(&k, 0x0123456789abcdefULL), hash_bytes(&k, b8, 8));
	/* message 00..07 as a word */
	assert_int_equal(hash_u64(&k, 0x0706050403020100ULL), le64(vectors[8]));
	assert_int_equal(hash_u32(&k, 0x03020100u), le64(vectors[4]));
}

static void
test_key_changes_everything(void **state)
{
	struct hash_key a, b;
	const char *name = "web-frontends";

	assert_int_equal(hash_key_init(&a), 0);
	assert_int_equal(hash_key_init(&b), 0);
	/* 2^-128 chance of a false failure. */
	assert_false(a.k0 == b.k0 && a.k1 == b.k1);
	assert_int_not_equal(hash_bytes(&a, name, strlen(name)),
			     hash_bytes(&b, name, strlen(name)));
	/* Same key, same input, same value; length is part of the input. */
	assert_int_equal(hash_bytes(&a, name, 5), hash_bytes(&a, "web-f", 5));
	assert_int_not_equal(hash_bytes(&a, "\0", 1), hash_bytes(&a, "", 0));
}

static void
test_long_input_uses_every_block(void **state)
{
	uint8_t msg[1000];
	struct hash_key k;
	uint64_t h;

	reference_key(&k);
	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)(i * 7);
	h = hash_bytes(&k, msg, sizeof(msg));
	for (size_t i = 0; i < sizeof(msg); i += 97) {
		msg[i] ^= 1;
		assert_int_not_equal(hash_bytes(&k, msg, sizeof(msg)), h);
		msg[i] ^= 1;
	}
	assert_int_equal(hash_bytes(&k, msg, sizeof(msg)), h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reference_vectors),
		cmocka_unit_test(test_helpers_hash_little_endian_bytes),
		cmocka_unit_test(test_key_changes_everything),
		cmocka_unit_test(test_long_input_uses_every_block),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
