#include "common/prefix.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/strnum.h"

unsigned
ipaddr_width(uint8_t af)
{
	switch (af) {
	case AF_INET:
		return 32;
	case AF_INET6:
		return 128;
	default:
		return 0;
	}
}

/* Number of bytes of a[] that carry the address of family af. */
static size_t
addr_bytes(uint8_t af)
{
	return ipaddr_width(af) / 8;
}

int
ipaddr_parse(const char *s, struct ipaddr *ret)
{
	struct ipaddr a = { 0 };

	if (s == NULL || *s == '\0')
		return -EINVAL;
	/* inet_pton rejects spaces, scopes, short dotted forms and leading zeros. */
	if (strchr(s, ':') != NULL) {
		if (inet_pton(AF_INET6, s, a.a) != 1)
			return -EINVAL;
		a.af = AF_INET6;
	} else {
		if (inet_pton(AF_INET, s, a.a) != 1)
			return -EINVAL;
		a.af = AF_INET;
	}
	*ret = a;
	return 0;
}

/* Decimal prefix length: digits only, no leading zero, at most max. */
static int
parse_len(const char *s, unsigned max, unsigned *ret)
{
	uint64_t v;
	size_t n = strlen(s);
	int r;

	if (n == 0 || n > 3 || (n > 1 && s[0] == '0'))
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
	r = strnum_u64(s, 0, max, &v);
	if (r < 0)
		return -EINVAL;
	*ret = (unsigned)v;
	return 0;
}

/* True if every bit of a past the first len bits is zero. */
static bool
host_bits_zero(const struct ipaddr *a, unsigned len)
{
	size_t nbytes = addr_bytes(a->af);

	for (size_t i = len / 8; i < nbytes; i++) {
		unsigned keep = len > i * 8 ? len - (unsigned)i * 8 : 0;
		uint8_t mask = keep >= 8 ? 0 : (uint8_t)(0xffu >> keep);

		if (a->a[i] & mask)
			return false;
	}
	return true;
}

int
prefix_parse(const char *s, struct prefix *ret)
{
	char addr[IPADDR_STRLEN];
	const char *slash;
	struct prefix p = { 0 };
	unsigned len;
	size_t alen;
	int r;

	if (s == NULL)
		return -EINVAL;
	slash = strchr(s, '/');
	alen = slash != NULL ? (size_t)(slash - s) : strlen(s);
	if (alen == 0 || alen >= sizeof(addr))
		return -EINVAL;
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	r = ipaddr_parse(addr, &p.addr);
	if (r < 0)
		return r;
	len = ipaddr_width(p.addr.af);
	if (slash != NULL && parse_len(slash + 1, len, &len) < 0)
		return -EINVAL;
	if (!host_bits_zero(&p.addr, len))
		return -EINVAL;
	p.len = (uint8_t)len;
	*ret = p;
	return 0;
}

const char *
ipaddr_format(const struct ipaddr *a, char *buf, size_t len)
{
	if (ipaddr_width(a->af) == 0) {
		errno = EAFNOSUPPORT;
		return NULL;
	}
	if (len > (size_t)UINT32_MAX)
		len = UINT32_MAX;
	/* inet_ntop sets ENOSPC itself when buf is too small. */
	return inet_ntop(a->af, a->a, buf, (socklen_t)len);
}

const char *
prefix_format(const struct prefix *p, char *buf, size_t len)
{
	char addr[IPADDR_STRLEN];
	int n;

	if (ipaddr_format(&p->addr, addr, sizeof(addr)) == NULL)
		return NULL;
	n = snprintf(buf, len, "%s/%u", addr, (unsigned)p->len);
	if (n < 0 || (size_t)n >= len) {
		errno = ENOSPC;
		return NULL;
	}
	return buf;
}

int
prefix_make(const struct ipaddr *a, unsigned len, struct prefix *ret)
{
	unsigned width = ipaddr_width(a->af);
	struct prefix p = { .addr = { .af = a->af } };

	if (width == 0 || len > width)
		return -EINVAL;
	memcpy(p.addr.a, a->a, len / 8);
	if (len % 8)
		p.addr.a[len / 8] = (uint8_t)(a->a[len / 8] & (0xff00u >> (len % 8)));
	p.len = (uint8_t)len;
	*ret = p;
	return 0;
}

bool
prefix_valid(const struct prefix *p)
{
	unsigned width = ipaddr_width(p->addr.af);

	if (width == 0 || p->len > width)
		return false;
	for (size_t i = width / 8; i < sizeof(p->addr.a); i++)
		if (p->addr.a[i] != 0)
			return false;
	return host_bits_zero(&p->addr, p->len);
}

bool
prefix_contains(const struct prefix *p, const struct ipaddr *a)
{
	unsigned full = p->len / 8, rest = p->len % 8;

	if (p->addr.af != a->af || p->len > ipaddr_width(a->af))
		return false;
	if (memcmp(p->addr.a, a->a, full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((p->addr.a[full] ^ a->a[full]) & (0xff00u >> rest)) == 0;
}

bool
prefix_equal(const struct prefix *a, const struct prefix *b)
{
	return a->len == b->len && ipaddr_equal(&a->addr, &b->addr);
}

bool
ipaddr_equal(const struct ipaddr *a, const struct ipaddr *b)
{
	return a->af == b->af && memcmp(a->a, b->a, addr_bytes(a->af)) == 0;
}

/* The 64-bit finaliser of MurmurHash3: every input bit affects every output bit. */
static uint64_t
mix64(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

static uint64_t
load_be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

uint32_t
ipaddr_hash(const struct ipaddr *a, uint32_t seed)
{
	uint64_t h = mix64((uint64_t)seed << 8 | a->af);

	if (a->af == AF_INET6) {
		h = mix64(h ^ load_be64(a->a));
		h = mix64(h ^ load_be64(a->a + 8));
	} else {
		h = mix64(h ^ ipaddr_v4_host(a));
	}
	return (uint32_t)(h ^ h >> 32);
}
