/*
 * lpm: longest-prefix match for IPv4 and IPv6 in one object, mapping each
 * inserted prefix to a uint32_t value (the engine stores a PO index).
 *
 * Two structures per family. The control plane is a path-compressed binary
 * trie of exactly the inserted prefixes: insert and delete change only it,
 * so delete is exact and a covering prefix shows through again. The lookup
 * structure is derived from it: a direct-indexed first level (18 bits for
 * IPv4, 16 for IPv6) whose entries hold either the answer or a poptrie
 * (Asai & Ohara, SIGCOMM 2015: 6-bit strides, child and leaf arrays
 * compressed by popcount over 64-bit bitmaps) whose nodes also skip the
 * bits where the prefixes below take a single path. A lookup reads one
 * first-level entry, at most 3 (IPv4) or 19 (IPv6) nodes, and at most one
 * leaf, whatever the number of prefixes; with 1M prefixes of real-world
 * lengths the average is about 1 node and 0.8 leaves (IPv4) or 2 nodes
 * (IPv6). Memory: a fixed 2 MiB (IPv4) and 0.5 MiB (IPv6) first level once
 * the family has a prefix, plus about 90 (IPv4) to 115 (IPv6) bytes per
 * prefix at 1M prefixes, both structures included (bench/lpm_bench.c
 * measures all of this).
 *
 * Insert and delete mark the first-level entries they touch stale; lookups
 * of addresses under a stale entry walk the control-plane trie instead, so
 * results are exact at all times. lpm_build() re-derives the stale entries
 * (and compacts when rebuilds have left too much garbage). Call it after a
 * batch of changes, before publishing the table to readers: inserting N
 * prefixes and then building once costs O(N); building after each insert
 * costs a subtree rebuild each time.
 *
 * Threads: lookups only read and may run on any number of threads at once.
 * Insert, delete and build must not run concurrently with anything else on
 * the same lpm; the engine builds a new lpm and swaps the pointer.
 */
#ifndef MOAT_LPM_H
#define MOAT_LPM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/prefix.h"

#define LPM_NONE UINT32_MAX

struct lpm;

/* An empty table; NULL with errno ENOMEM. Free with lpm_free(). */
struct lpm *lpm_new(void);
/* Free l and everything it holds; accepts NULL. */
void lpm_free(struct lpm *l);

/*
 * Map p to value, replacing the value of an identical prefix. -EINVAL for a
 * malformed prefix (see prefix_valid()) or value == LPM_NONE; -ENOSPC past
 * LIMIT_LPM_PREFIXES; -ENOMEM. On error the table is unchanged.
 */
int lpm_insert(struct lpm *l, const struct prefix *p, uint32_t value);
/*
 * Insert n prefixes, values[i] for ps[i], as n lpm_insert() calls would (a
 * later duplicate replaces an earlier one), but in address order: several
 * times faster for large tables, whose inserts are otherwise cache misses.
 * -EINVAL if any prefix or value is malformed (nothing inserted); on
 * -ENOMEM or -ENOSPC part of the prefixes may have been inserted.
 */
int lpm_insert_many(struct lpm *l, const struct prefix *ps, const uint32_t *values, size_t n);
/* Remove exactly p; -ENOENT if p was not inserted, -EINVAL if malformed. */
int lpm_delete(struct lpm *l, const struct prefix *p);
/* Value inserted for exactly p (no longest match); -ENOENT if none. */
int lpm_get(const struct lpm *l, const struct prefix *p, uint32_t *ret_value);

/*
 * Re-derive the lookup structure where inserts and deletes left it stale.
 * Cheap when nothing changed. -ENOMEM leaves the remaining entries stale
 * (lookups stay exact, only slower) and may be retried.
 */
int lpm_build(struct lpm *l);
/* True if lookups take the fast path everywhere (nothing stale). */
bool lpm_is_built(const struct lpm *l);

/* The value of the longest inserted prefix covering a; LPM_NONE if none. */
uint32_t lpm_lookup(const struct lpm *l, const struct ipaddr *a);
uint32_t lpm_lookup4(const struct lpm *l, uint32_t addr_host_order);
uint32_t lpm_lookup6(const struct lpm *l, const uint8_t a[16]);

/*
 * ret[i] = the lookup of addrs[i], for i < n. Same answers as the single
 * lookups; faster on tables larger than the CPU caches because the lookups
 * of a batch overlap their memory accesses (prefetch). For collectors that
 * hold a batch of records or packets anyway.
 */
void lpm_lookup_batch(const struct lpm *l, const struct ipaddr *addrs, size_t n, uint32_t *ret);
void lpm_lookup4_batch(const struct lpm *l, const uint32_t *addrs_host_order, size_t n,
		       uint32_t *ret);
void lpm_lookup6_batch(const struct lpm *l, const uint8_t (*addrs)[16], size_t n, uint32_t *ret);

/* Number of prefixes inserted (both families). */
size_t lpm_count(const struct lpm *l);
/* Bytes allocated by l, both structures included. */
size_t lpm_memory(const struct lpm *l);

#endif
