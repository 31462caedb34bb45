/*
 * srctab: per-source state for moat-ins — how many connections a source (an
 * address, or a prefix of addresses: see srctab_lookup) has held or live, how
 * often it was dropped for being slow, and whether it is denied (and until when).
 *
 * A fixed pool of entries sized once at start (a flood of new sources never
 * grows memory): when the pool is empty, srctab_get() returns NULL and the
 * caller falls back to global caps only. Buckets are keyed by a hash with a
 * random per-table seed, so an attacker choosing addresses cannot aim at one
 * chain. Times are milliseconds of the caller's monotonic clock.
 */
#ifndef MOAT_INS_SRCTAB_H
#define MOAT_INS_SRCTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct srctab_entry {
	struct srctab_entry *next;	/* bucket chain or free list */
	uint8_t family;			/* INS_AF_INET / INS_AF_INET6 */
	uint8_t len;			/* prefix length: 32 / 128 for one address */
	uint8_t addr[16];		/* host bits zero */
	uint32_t held;			/* connections held before handoff now */
	uint32_t drops;			/* slow connections dropped since last deny */
	uint64_t deny_until_ms;		/* denied while now < this */
	uint64_t last_ms;		/* last activity, for expiry */
	uint32_t live_gen;		/* observer round that counted live */
	uint32_t live;			/* connections seen alive in that round */
	uint32_t since_gen;		/* round after which `since` handoffs happened */
	uint32_t since;
};

/*
 * Connections this source has handed over and still open, as far as the
 * observer's last round (gen) and the handoffs after it tell.
 */
static inline uint32_t
srctab_open_conns(const struct srctab_entry *e, uint32_t gen)
{
	return (e->live_gen == gen ? e->live : 0) + (e->since_gen == gen ? e->since : 0);
}

/* The observer, in round gen, saw one live connection of this source. */
static inline void
srctab_count_live(struct srctab_entry *e, uint32_t gen)
{
	if (e->live_gen != gen) {
		e->live_gen = gen;
		e->live = 0;
	}
	e->live++;
}

/* A connection of this source was handed over after round gen. */
static inline void
srctab_count_handoff(struct srctab_entry *e, uint32_t gen)
{
	if (e->since_gen != gen) {
		e->since_gen = gen;
		e->since = 0;
	}
	e->since++;
}

struct srctab {
	struct srctab_entry *pool, *free_list;
	struct srctab_entry **buckets;
	size_t nbuckets;		/* power of two */
	size_t cap, used;
	uint64_t seed;
};

/* Allocate a table of cap entries. Returns 0 or -ENOMEM. */
int srctab_init(struct srctab *t, size_t cap, uint64_t seed);
void srctab_free(struct srctab *t);

/*
 * The entry for the single address addr (a /32 or /128), creating it if
 * create; NULL if absent or the pool is exhausted. An IPv4-mapped IPv6
 * address is the same key as its IPv4 form.
 */
struct srctab_entry *srctab_get(struct srctab *t, uint8_t family, const uint8_t addr[16],
				bool create, uint64_t now_ms);
/* The entry for addr's prefix of len bits (host bits ignored), as srctab_get. */
struct srctab_entry *srctab_get_prefix(struct srctab *t, uint8_t family, const uint8_t addr[16],
				       uint8_t len, bool create, uint64_t now_ms);

/*
 * Prefix aggregation: a source is counted at each of up to SRCTAB_PREFIXES
 * prefix lengths of its family (e.g. IPv4 /32 and /24, IPv6 /64 and /48), so
 * that addresses rotated within a prefix are one source. A srctab_set is the
 * entries of one address: one per level (created on demand), plus the
 * address's own /32 or /128 entry if one exists (an administrator's DENY of
 * one address, srctab_get), so that a deny at any level applies.
 */
#define SRCTAB_PREFIXES 2
#define SRCTAB_SET_MAX (SRCTAB_PREFIXES + 1)

struct srctab_prefixes {
	unsigned n4, n6;
	const uint8_t *len4, *len6;	/* finest first */
};

struct srctab_set {
	unsigned n;
	struct srctab_entry *e[SRCTAB_SET_MAX];	/* levels missing when the pool is empty */
};

void srctab_lookup(struct srctab *t, const struct srctab_prefixes *p, uint8_t family,
		   const uint8_t addr[16], bool create, uint64_t now_ms, struct srctab_set *ret);
/* Denied at any level. */
bool srctab_set_denied(const struct srctab_set *s, uint64_t now_ms);
/* srctab_note_drop at every level; true if one became denied. */
bool srctab_set_note_drop(struct srctab_set *s, uint32_t threshold, uint64_t deny_ms,
			  uint64_t now_ms);
/* held += delta at every level (never below 0). */
void srctab_set_held(struct srctab_set *s, int delta);
/* The most held at once at any level. */
uint32_t srctab_set_max_held(const struct srctab_set *s);

/* The most connections held or handed over and open (srctab_open_conns) at any level. */
uint32_t srctab_set_max_open(const struct srctab_set *s, uint32_t gen);
void srctab_set_count_live(struct srctab_set *s, uint32_t gen);
void srctab_set_count_handoff(struct srctab_set *s, uint32_t gen);

static inline bool
srctab_denied(const struct srctab_entry *e, uint64_t now_ms)
{
	return e && now_ms < e->deny_until_ms;
}

/* Count one slow drop; after `threshold` drops deny the source for deny_ms. Returns true if it became denied. */
bool srctab_note_drop(struct srctab_entry *e, uint32_t threshold, uint64_t deny_ms, uint64_t now_ms);

/* Return entries that hold nothing, are not denied and were idle for idle_ms to the pool. */
size_t srctab_sweep(struct srctab *t, uint64_t now_ms, uint64_t idle_ms);

#endif
