/*
 * sketch: bounded-memory heavy hitters (weighted Space-Saving, Metwally et
 * al. 2005) for an attack's top targets, sources and source ports.
 *
 * A sketch of capacity k keeps at most k keys. Adding an unknown key while
 * full evicts the key with the smallest count and gives the newcomer that
 * count plus its own weight (recording the inherited part as `err`). So a
 * flood from millions of spoofed random sources never grows memory, and any
 * key whose true weight exceeds total/k is guaranteed to be present, with
 * count - err <= true weight <= count. Lookups go through a hash index keyed
 * with a per-sketch random seed so an attacker cannot aim collisions.
 * Keys are opaque bytes (an address, an address + port, a port), at most
 * SKETCH_KEY_MAX bytes. Not thread-safe; one owner.
 */
#ifndef MOAT_ENGINE_SKETCH_H
#define MOAT_ENGINE_SKETCH_H

#include <stddef.h>
#include <stdint.h>

#define SKETCH_KEY_MAX 18	/* a 16-byte address and a 2-byte port */

struct sketch;

struct sketch_item {
	uint8_t key[SKETCH_KEY_MAX];
	uint8_t key_len;
	uint64_t count;		/* an upper bound of the key's true weight */
	uint64_t err;		/* how much of count may have been inherited */
};

/* A sketch keeping k keys, 1 <= k <= LIMIT_SKETCH_K; -EINVAL otherwise,
 * -ENOMEM. Free with sketch_free(). */
int sketch_new(unsigned k, struct sketch **ret);
/* Accepts NULL. */
void sketch_free(struct sketch *s);
/* Forget every key and the total. */
void sketch_reset(struct sketch *s);
/* Count weight w for key (len 1..SKETCH_KEY_MAX; longer keys are cut). A
 * zero-length key or zero weight is ignored. */
void sketch_add(struct sketch *s, const void *key, size_t len, uint64_t w);
/* Sum of all weights added since creation or the last reset. */
uint64_t sketch_total(const struct sketch *s);
/* Number of keys held (<= k). */
unsigned sketch_size(const struct sketch *s);
/* Copy up to max items, largest count first; returns how many. */
unsigned sketch_top(const struct sketch *s, struct sketch_item *out, unsigned max);

#endif
