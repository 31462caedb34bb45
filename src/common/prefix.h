/*
 * prefix: IPv4 and IPv6 addresses and prefixes as values.
 *
 * A struct ipaddr holds either family in 16 bytes: IPv4 in a[0..3] in
 * network order with a[4..15] zero, IPv6 in all 16 bytes. A struct prefix is
 * an address and a length whose host bits (past len) are always zero: the
 * parser rejects text with host bits set instead of silently masking them,
 * because "192.0.2.1/24" in a configuration is more often a typo than a
 * request for 192.0.2.0/24. prefix_make() is the explicit way to mask.
 *
 * Nothing here allocates or logs; errors are negative errno values.
 */
#ifndef MOAT_PREFIX_H
#define MOAT_PREFIX_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct ipaddr {
	uint8_t af;		/* AF_INET or AF_INET6 */
	uint8_t a[16];		/* network order; IPv4 in a[0..3], rest zero */
};

struct prefix {
	struct ipaddr addr;	/* host bits are zero */
	uint8_t len;		/* 0..32 for AF_INET, 0..128 for AF_INET6 */
};

#define IPADDR_STRLEN 46	/* INET6_ADDRSTRLEN, with the NUL */
#define PREFIX_STRLEN 50	/* an address, "/128" and the NUL */

/*
 * Parse a literal address: dotted quad ("192.0.2.1", exactly four decimal
 * parts, no leading zeros) or any RFC 4291 IPv6 text form ("2001:db8::1",
 * "::ffff:192.0.2.1"; the latter stays AF_INET6). Scope suffixes, spaces
 * and anything else are -EINVAL. *ret is written only on success.
 */
int ipaddr_parse(const char *s, struct ipaddr *ret);

/*
 * Parse "ADDR/LEN" or a bare ADDR (a host prefix: /32 or /128). LEN is
 * decimal without sign, spaces or leading zeros, at most the family's width.
 * Host bits set past LEN are -EINVAL.
 */
int prefix_parse(const char *s, struct prefix *ret);

/*
 * Canonical text (inet_ntop: RFC 5952 for IPv6) into buf. Returns buf, or
 * NULL with errno ENOSPC when len is too small (IPADDR_STRLEN and
 * PREFIX_STRLEN always suffice) or EAFNOSUPPORT for an unknown family.
 */
const char *ipaddr_format(const struct ipaddr *a, char *buf, size_t len);
const char *prefix_format(const struct prefix *p, char *buf, size_t len);

/*
 * Build a prefix from an address and a length, clearing the host bits.
 * -EINVAL for an unknown family or a length past the family's width.
 */
int prefix_make(const struct ipaddr *a, unsigned len, struct prefix *ret);

/* True if p is well formed: known family, len in range, host bits zero. */
bool prefix_valid(const struct prefix *p);

/* Address width of a family in bits: 32, 128, or 0 if unknown. */
unsigned ipaddr_width(uint8_t af);

/* True if a is of p's family and its first p->len bits equal p's. */
bool prefix_contains(const struct prefix *p, const struct ipaddr *a);
bool prefix_equal(const struct prefix *a, const struct prefix *b);

/* Same family and same address (only a[0..3] count for AF_INET). */
bool ipaddr_equal(const struct ipaddr *a, const struct ipaddr *b);

/*
 * Hash for hash tables keyed by address; equal addresses hash equal. Give
 * each table a random seed so an attacker who picks source addresses cannot
 * aim for one bucket without knowing it; the mix is fast, not cryptographic.
 */
uint32_t ipaddr_hash(const struct ipaddr *a, uint32_t seed);

static inline struct ipaddr
ipaddr_v4(uint32_t host_order)
{
	struct ipaddr a = { .af = AF_INET };

	a.a[0] = (uint8_t)(host_order >> 24);
	a.a[1] = (uint8_t)(host_order >> 16);
	a.a[2] = (uint8_t)(host_order >> 8);
	a.a[3] = (uint8_t)host_order;
	return a;
}

/* The IPv4 address in host order; only meaningful for AF_INET. */
static inline uint32_t
ipaddr_v4_host(const struct ipaddr *a)
{
	return (uint32_t)a->a[0] << 24 | (uint32_t)a->a[1] << 16 |
	       (uint32_t)a->a[2] << 8 | a->a[3];
}

static inline struct ipaddr
ipaddr_v6(const uint8_t bytes[16])
{
	struct ipaddr a = { .af = AF_INET6 };

	for (int i = 0; i < 16; i++)
		a.a[i] = bytes[i];
	return a;
}

#endif
