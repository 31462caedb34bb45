/*
 * hash: the one keyed hash for tables whose keys an attacker can choose.
 *
 * SipHash-2-4 with a 64-bit result (Aumasson and Bernstein, 2012). A table
 * filled by attacker-chosen keys (source addresses, exporter ids, names from
 * the wire) must be hashed with a secret the attacker cannot learn, or a
 * flood of colliding keys turns every probe into a linear scan. Each table
 * owner draws its own key with hash_key_init() and keeps it in the table;
 * there is no process-wide key, so a test can give a table a fixed one.
 *
 * SipHash-2-4 rather than the faster 1-3: the published reference vectors
 * check exactly the function that ships, and the keys hashed here are short
 * (an address, a name), where the difference is a few nanoseconds.
 *
 * Not for identifiers stored on disk or sent on the wire: the value changes
 * with the key, i.e. with every process.
 */
#ifndef MOAT_HASH_H
#define MOAT_HASH_H

#include <stddef.h>
#include <stdint.h>

#define HASH_KEY_BYTES 16

struct hash_key {
	uint64_t k0, k1;
};

/* A random key from getrandom(2), which blocks only until the kernel's pool
   is first initialised (early boot). 0 or a negative errno. */
int hash_key_init(struct hash_key *ret_key);

/* A fixed key from 16 bytes (k0 = bytes 0..7, k1 = bytes 8..15, each little
   endian, as in the reference implementation): for tests and replays. */
void hash_key_set(struct hash_key *ret_key, const uint8_t bytes[HASH_KEY_BYTES]);

/* SipHash-2-4 of p[0..len). */
uint64_t hash_bytes(const struct hash_key *k, const void *p, size_t len);

/* The same as hash_bytes() of v's 4 or 8 bytes in little-endian order, so a
   table may mix the helpers and hash_bytes() on encoded keys. */
uint64_t hash_u32(const struct hash_key *k, uint32_t v);
uint64_t hash_u64(const struct hash_key *k, uint64_t v);

#endif
