/*
 * decoy: the table of decoy addresses and each decoy's small private state.
 *
 * The table is a sorted array of struct decoy (binary search by address),
 * built once from configured groups (prefixes or single addresses, minus
 * exclusions) and never resized afterwards, so a flood cannot grow it. Each
 * decoy keeps only what its personality needs to look like an independent
 * host: its MAC (the personality's OUI plus three bytes derived from the
 * address and a secret), its IP ID counters, and its own ISN/timestamp clock
 * (boot time, rate offset in ppm) — so decoys cannot be linked by a shared
 * counter or clock skew. sizeof(struct decoy) is 48 bytes.
 */
#ifndef MOAT_CHAFF_DECOY_H
#define MOAT_CHAFF_DECOY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct decoy {
	uint32_t addr;		/* host order */
	uint8_t mac[6];
	uint16_t group;		/* index of the configured group */
	uint16_t persona;	/* index into the loaded personalities */
	uint16_t ipid_tcp;
	uint16_t ipid_icmp;
	uint8_t isn_phase;	/* alternates the ISN rate above/below its mean */
	uint16_t skew_ppm_x;	/* clock rate offset: (skew_ppm_x - 32768) / 256 ppm */
	uint32_t isn_last;	/* the last ISN drawn */
	uint32_t ts_base;	/* timestamp value at table creation: its "uptime" */
	uint32_t ts_last;	/* last timestamp of a per-connection-offset stack */
	uint64_t ts_last_ns;
	uint64_t isn_last_ns;	/* when isn_last was drawn */
	uint64_t rng;		/* per-decoy random state (xorshift) */
};

/*
 * IPv6: a decoy of a group configured with a /64 holds two addresses, its
 * link-local fe80::IID and PREFIX::IID, as SLAAC would give it. The IID is
 * the modified EUI-64 of its MAC (older stacks and devices) or a stable,
 * opaque one (RFC 7217 style: a keyed hash of the prefix, the MAC and the
 * decoy's IPv4 identity under the table secret, so the same with the same
 * seed, and different per prefix as RFC 7217 gives it). Both sit in a
 * second sorted array (by address) pointing at the IPv4 decoy, which stays
 * the decoy's identity (its personality, clocks, connections).
 */
enum decoy_iid { DECOY_IID_NONE, DECOY_IID_EUI64, DECOY_IID_STABLE };

struct decoy6 {
	uint8_t addr[16];
	uint32_t v4;		/* the decoy (decoy_find) */
	bool released;		/* another host claimed it (DAD, NA): no longer answered */
	bool link_local;
};

/* Per group: the /64 (first 8 bytes) and the IID kind; iid NONE = no IPv6. */
struct decoy_v6group {
	uint8_t prefix[8];
	uint8_t iid;		/* enum decoy_iid */
};

struct decoy_table {
	struct decoy *v;
	size_t n, cap;
	uint64_t secret;
	uint64_t start_ns;
	struct decoy6 *v6;	/* sorted by addr */
	size_t n6;
	struct decoy_v6group *v6groups;	/* a copy of decoy_table_build_v6()'s */
	size_t n_v6groups;
};

/* An empty table for at most cap decoys; secret seeds MACs and clocks. */
int decoy_table_init(struct decoy_table *t, size_t cap, uint64_t secret, uint64_t start_ns);
void decoy_table_free(struct decoy_table *t);

/*
 * Add every address of base/len (IPv4, host order) that no exclusion
 * covers. Network and broadcast addresses of prefixes shorter than /31 are
 * skipped as real hosts would never hold them. -ENOSPC past the table's cap.
 */
struct decoy_prefix {
	uint32_t base;
	uint8_t len;
};
int decoy_table_add(struct decoy_table *t, uint32_t base, uint8_t len,
		    const struct decoy_prefix *ex, size_t nex,
		    uint16_t group, uint16_t persona, const uint8_t oui[3]);
/* Sort and check for duplicates (-EEXIST names the first via *ret_dup). */
int decoy_table_seal(struct decoy_table *t, uint32_t *ret_dup);

/* The MAC decoy address a gets (or would get) in t: oui and a keyed hash. */
void decoy_mac_of(const struct decoy_table *t, uint32_t a, const uint8_t oui[3],
		  uint8_t ret_mac[6]);

/* Insert one decoy into a sealed table, keeping it sorted (claimed
 * addresses); -ENOSPC past the cap, -EEXIST if present. Pointers to decoys
 * are invalid afterwards. */
int decoy_table_insert(struct decoy_table *t, uint32_t addr, uint16_t group, uint16_t persona,
		       const uint8_t oui[3]);

/* Remove one decoy (a claimed address whose owner came back); -ENOENT if
 * absent. Pointers to decoys are invalid afterwards. */
int decoy_table_remove(struct decoy_table *t, uint32_t addr);

struct decoy *decoy_find(const struct decoy_table *t, uint32_t addr);

/* The modified EUI-64 interface identifier of mac (RFC 4291 appendix A). */
void decoy_iid_eui64(const uint8_t mac[6], uint8_t ret_iid[8]);
/* A stable opaque interface identifier (RFC 7217 style) for one prefix. */
void decoy_iid_stable(uint64_t secret, const uint8_t prefix[8], const uint8_t mac[6], uint32_t v4,
		      uint8_t ret_iid[8]);
/* The address of decoy d in prefix (its first 8 bytes) under iid kind. */
void decoy_addr6(const struct decoy_table *t, const struct decoy *d, const uint8_t prefix[8],
		 enum decoy_iid iid, uint8_t ret_addr[16]);

/* Give every decoy of a group with IPv6 its link-local and prefix
 * addresses (groups[d->group]; groups past n_groups have none). Call after
 * decoy_table_seal() and after every insert/remove (claims), which leave
 * the IPv6 index stale. Released addresses stay released. */
int decoy_table_build_v6(struct decoy_table *t, const struct decoy_v6group *groups,
			 size_t n_groups);
/* Decoy d's address in its group's prefix (global) or fe80::/64; false
 * when its group has no IPv6. */
bool decoy_addr6_of(const struct decoy_table *t, const struct decoy *d, bool link_local,
		    uint8_t ret_addr[16]);
/* The IPv6 entry of addr (released ones included), or NULL. */
struct decoy6 *decoy_find6(const struct decoy_table *t, const uint8_t addr[16]);

/* A 64-bit random number from the decoy's own generator. */
uint64_t decoy_rand(struct decoy *d);
/* The decoy's own clock: ns since its table start, with its rate offset applied. */
uint64_t decoy_clock_ns(const struct decoy_table *t, const struct decoy *d, uint64_t now_ns);
/* A well-mixed hash (splitmix64). */
uint64_t decoy_mix(uint64_t x);

#endif
