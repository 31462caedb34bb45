/*
 * hash: SipHash-2-4, written from the paper's description. See hash.h.
 */
#include "common/hash.h"

#include <errno.h>
#include <sys/random.h>

#define HASH_ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

struct hash_state {
	uint64_t v0, v1, v2, v3;
};

static void
hash_round(struct hash_state *s)
{
	s->v0 += s->v1;
	s->v1 = HASH_ROTL(s->v1, 13);
	s->v1 ^= s->v0;
	s->v0 = HASH_ROTL(s->v0, 32);
	s->v2 += s->v3;
	s->v3 = HASH_ROTL(s->v3, 16);
	s->v3 ^= s->v2;
	s->v0 += s->v3;
	s->v3 = HASH_ROTL(s->v3, 21);
	s->v3 ^= s->v0;
	s->v2 += s->v1;
	s->v1 = HASH_ROTL(s->v1, 17);
	s->v1 ^= s->v2;
	s->v2 = HASH_ROTL(s->v2, 32);
}

static void
hash_compress(struct hash_state *s, uint64_t m)
{
	s->v3 ^= m;
	hash_round(s);
	hash_round(s);
	s->v0 ^= m;
}

/* Bytes as a little-endian word, whatever the host's order. */
static uint64_t
hash_load_le(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

int
hash_key_init(struct hash_key *ret_key)
{
	uint8_t b[HASH_KEY_BYTES];
	size_t got = 0;

	while (got < sizeof(b)) {
		ssize_t n = getrandom(b + got, sizeof(b) - got, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		got += (size_t)n;
	}
	hash_key_set(ret_key, b);
	return 0;
}

void
hash_key_set(struct hash_key *ret_key, const uint8_t bytes[HASH_KEY_BYTES])
{
	ret_key->k0 = hash_load_le(bytes, 8);
	ret_key->k1 = hash_load_le(bytes + 8, 8);
}

uint64_t
hash_bytes(const struct hash_key *k, const void *p, size_t len)
{
	const uint8_t *in = p;
	struct hash_state s = {
		.v0 = k->k0 ^ 0x736f6d6570736575ULL,	/* "somepseu" */
		.v1 = k->k1 ^ 0x646f72616e646f6dULL,	/* "dorandom" */
		.v2 = k->k0 ^ 0x6c7967656e657261ULL,	/* "lygenera" */
		.v3 = k->k1 ^ 0x7465646279746573ULL,	/* "tedbytes" */
	};
	size_t tail = len % 8;
	uint64_t b;

	for (size_t i = 0; i + 8 <= len; i += 8)
		hash_compress(&s, hash_load_le(in + i, 8));
	/* Last block: the remaining bytes, with len mod 256 in the top byte. */
	b = (uint64_t)(len & 0xff) << 56 | hash_load_le(in + (len - tail), tail);
	hash_compress(&s, b);
	s.v2 ^= 0xff;
	for (int i = 0; i < 4; i++)
		hash_round(&s);
	return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

uint64_t
hash_u32(const struct hash_key *k, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };

	return hash_bytes(k, b, sizeof(b));
}

uint64_t
hash_u64(const struct hash_key *k, uint64_t v)
{
	uint8_t b[8];

	for (size_t i = 0; i < sizeof(b); i++)
		b[i] = (uint8_t)(v >> (8 * i));
	return hash_bytes(k, b, sizeof(b));
}
