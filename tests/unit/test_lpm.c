/*
 * Unit tests for common/lpm: every answer is checked against a naive linear
 * scan over the same prefixes, before and after lpm_build(), through inserts,
 * replacements and deletes, for IPv4 and IPv6 with nested prefixes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/limits.h"
#include "common/lpm.h"

static uint64_t rng_state;

static uint64_t
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* The reference: a list of (prefix, value), searched linearly. */
struct naive {
	struct prefix p[4096];
	uint32_t v[4096];
	size_t n;
};

static uint32_t
naive_lookup(const struct naive *nv, const struct ipaddr *a)
{
	int best_len = -1;
	uint32_t best = LPM_NONE;

	for (size_t i = 0; i < nv->n; i++) {
		if (nv->p[i].len > best_len && prefix_contains(&nv->p[i], a)) {
			best_len = nv->p[i].len;
			best = nv->v[i];
		}
	}
	return best;
}

static ssize_t
naive_find(const struct naive *nv, const struct prefix *p)
{
	for (size_t i = 0; i < nv->n; i++)
		if (prefix_equal(&nv->p[i], p))
			return (ssize_t)i;
	return -1;
}

static void
naive_insert(struct naive *nv, const struct prefix *p, uint32_t v)
{
	ssize_t i = naive_find(nv, p);

	if (i < 0) {
		assert_true(nv->n < sizeof(nv->p) / sizeof(nv->p[0]));
		i = (ssize_t)nv->n++;
		nv->p[i] = *p;
	}
	nv->v[i] = v;
}

static void
naive_delete(struct naive *nv, size_t i)
{
	nv->p[i] = nv->p[nv->n - 1];
	nv->v[i] = nv->v[nv->n - 1];
	nv->n--;
}

/*
 * Random addresses cluster under a few bases so that prefixes nest and
 * share first-level entries; lengths favour both short and host prefixes.
 */
static struct ipaddr
random_addr(uint8_t af)
{
	static const uint32_t bases4[] = { 0xc0000200u, 0xc6336400u, 0xcb007100u, 0x0a000000u };
	struct ipaddr a = { .af = af };
	uint64_t r = rng();

	if (af == AF_INET) {
		uint32_t base = bases4[r % 4], bits = (uint32_t)(r >> 8);

		switch ((r >> 40) % 3) {
		case 0: return ipaddr_v4(base ^ (bits & 0xffu));
		case 1: return ipaddr_v4(base ^ (bits & 0xfffffu));
		default: return ipaddr_v4(bits);
		}
	}
	a.a[0] = 0x20;
	a.a[1] = 0x01;
	a.a[2] = 0x0d;
	a.a[3] = 0xb8;
	for (int i = 4; i < 16; i++)
		a.a[i] = (uint8_t)rng();
	switch (r % 4) {
	case 0: memset(a.a + 6, 0, 9); break;	/* cluster deep */
	case 1: memset(a.a + 4, 0, 4); break;
	case 2: a.a[0] = (uint8_t)(r >> 8); a.a[1] = (uint8_t)(r >> 16); break;
	default: break;
	}
	return a;
}

static unsigned
random_len(uint8_t af)
{
	unsigned w = ipaddr_width(af);
	uint64_t r = rng();

	switch (r % 8) {
	case 0: return w;
	case 1: return (unsigned)(r >> 8) % 9;			/* short */
	case 2: return (unsigned)(r >> 8) % (w + 1);
	default: return w == 32 ? 16 + (unsigned)(r >> 8) % 13 : 24 + (unsigned)(r >> 8) % 41;
	}
}

static struct prefix
random_prefix(uint8_t af)
{
	struct ipaddr a = random_addr(af);
	struct prefix p;

	assert_int_equal(prefix_make(&a, random_len(af), &p), 0);
	return p;
}

/* An address inside, at the edge of, just past, or away from a known prefix. */
static struct ipaddr
probe_addr(const struct naive *nv, uint8_t af)
{
	struct ipaddr a;
	unsigned w = ipaddr_width(af);
	uint64_t r = rng();
	size_t i;

	if (nv->n == 0 || r % 4 == 0)
		return random_addr(af);
	i = (size_t)(r >> 8) % nv->n;
	if (nv->p[i].addr.af != af)
		return random_addr(af);
	a = nv->p[i].addr;
	switch ((r >> 40) % 3) {
	case 0:	/* random host bits */
		for (unsigned b = nv->p[i].len; b < w; b++)
			if (rng() & 1)
				a.a[b / 8] ^= (uint8_t)(0x80u >> (b % 8));
		break;
	case 1:	/* the last address of the prefix */
		for (unsigned b = nv->p[i].len; b < w; b++)
			a.a[b / 8] |= (uint8_t)(0x80u >> (b % 8));
		break;
	default: /* one past the last address (wraps at the top) */
		for (unsigned b = nv->p[i].len; b < w; b++)
			a.a[b / 8] |= (uint8_t)(0x80u >> (b % 8));
		for (int k = (int)w / 8 - 1; k >= 0 && ++a.a[k] == 0; k--)
			;
		break;
	}
	return a;
}

#define MAX_PROBES 4000

/* Single and batched lookups of every family agree with the naive scan. */
static void
check_against_naive(const struct lpm *l, const struct naive *nv, int probes)
{
	static struct ipaddr addrs[MAX_PROBES];
	static uint32_t want[MAX_PROBES], got[MAX_PROBES], v4[MAX_PROBES], v4want[MAX_PROBES];
	static uint8_t v6[MAX_PROBES][16];
	static uint32_t v6want[MAX_PROBES];
	size_t n4 = 0, n6 = 0;

	assert_true(probes <= MAX_PROBES);
	for (int i = 0; i < probes; i++) {
		uint8_t af = i & 1 ? AF_INET6 : AF_INET;
		struct ipaddr a = probe_addr(nv, af);
		uint32_t r = lpm_lookup(l, &a);

		addrs[i] = a;
		want[i] = naive_lookup(nv, &a);
		if (want[i] != r) {
			char buf[IPADDR_STRLEN];

			fail_msg("%s: lpm %u, naive %u (built %d)", ipaddr_format(&a, buf, sizeof(buf)),
				 r, want[i], lpm_is_built(l));
		}
		if (af == AF_INET) {
			assert_int_equal(lpm_lookup4(l, ipaddr_v4_host(&a)), want[i]);
			v4[n4] = ipaddr_v4_host(&a);
			v4want[n4++] = want[i];
		} else {
			assert_int_equal(lpm_lookup6(l, a.a), want[i]);
			memcpy(v6[n6], a.a, 16);
			v6want[n6++] = want[i];
		}
	}
	/* An odd count leaves a partial batch at the end. */
	lpm_lookup_batch(l, addrs, (size_t)probes, got);
	for (int i = 0; i < probes; i++)
		assert_int_equal(got[i], want[i]);
	lpm_lookup4_batch(l, v4, n4, got);
	for (size_t i = 0; i < n4; i++)
		assert_int_equal(got[i], v4want[i]);
	lpm_lookup6_batch(l, (const uint8_t (*)[16])v6, n6, got);
	for (size_t i = 0; i < n6; i++)
		assert_int_equal(got[i], v6want[i]);
	assert_int_equal(lpm_count(l), nv->n);
}

static void
test_empty(void **state)
{
	struct lpm *l = lpm_new();
	struct ipaddr a = ipaddr_v4(0xc0000201u);
	uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8 };

	assert_non_null(l);
	assert_int_equal(lpm_lookup(l, &a), LPM_NONE);
	assert_int_equal(lpm_lookup6(l, v6), LPM_NONE);
	assert_int_equal(lpm_build(l), 0);
	assert_true(lpm_is_built(l));
	assert_int_equal(lpm_lookup4(l, 0), LPM_NONE);
	assert_int_equal(lpm_count(l), 0);
	assert_true(lpm_memory(l) > 0);
	a.af = 99;
	assert_int_equal(lpm_lookup(l, &a), LPM_NONE);
	lpm_free(l);
	lpm_free(NULL);
}

static struct prefix
P(const char *s)
{
	struct prefix p;

	assert_int_equal(prefix_parse(s, &p), 0);
	return p;
}

static uint32_t
L(const struct lpm *l, const char *s)
{
	struct ipaddr a;

	assert_int_equal(ipaddr_parse(s, &a), 0);
	return lpm_lookup(l, &a);
}

/* A pointer to a parsed prefix, for calls that take one. */
#define PP(s) (&(struct prefix[1]){ P(s) }[0])

/* The same expectations hold before and after lpm_build(). */
static void
check_nested(struct lpm *l)
{
	assert_int_equal(L(l, "192.0.2.1"), 32);
	assert_int_equal(L(l, "192.0.2.2"), 24);
	assert_int_equal(L(l, "192.0.3.1"), 0);
	assert_int_equal(L(l, "192.0.2.255"), 25);
	assert_int_equal(L(l, "198.51.100.1"), 0);
	assert_int_equal(L(l, "2001:db8::1"), 128);
	assert_int_equal(L(l, "2001:db8::2"), 48);
	assert_int_equal(L(l, "2001:db8:0:1::"), 48);
	assert_int_equal(L(l, "2001:db8:1::"), 32);
	assert_int_equal(L(l, "2001:db9::"), 1000);
	assert_int_equal(L(l, "::1"), LPM_NONE);
}

static void
test_nested_and_delete(void **state)
{
	struct lpm *l = lpm_new();
	uint32_t v;

	assert_int_equal(lpm_insert(l, &(struct prefix){ .addr = ipaddr_v4(0) }, 0), 0);
	assert_int_equal(lpm_insert(l, PP("192.0.2.0/24"), 24), 0);
	assert_int_equal(lpm_insert(l, PP("192.0.2.128/25"), 25), 0);
	assert_int_equal(lpm_insert(l, PP("192.0.2.1"), 32), 0);
	assert_int_equal(lpm_insert(l, PP("2000::/3"), 1000), 0);
	assert_int_equal(lpm_insert(l, PP("2001:db8::/32"), 32), 0);
	assert_int_equal(lpm_insert(l, PP("2001:db8::/48"), 48), 0);
	assert_int_equal(lpm_insert(l, PP("2001:db8::1/128"), 128), 0);
	assert_int_equal(lpm_count(l), 8);
	assert_false(lpm_is_built(l));
	check_nested(l);
	assert_int_equal(lpm_build(l), 0);
	assert_true(lpm_is_built(l));
	check_nested(l);

	/* Replace keeps the count. */
	assert_int_equal(lpm_insert(l, PP("192.0.2.0/24"), 240), 0);
	assert_int_equal(lpm_count(l), 8);
	assert_int_equal(L(l, "192.0.2.2"), 240);
	assert_int_equal(lpm_get(l, PP("192.0.2.0/24"), &v), 0);
	assert_int_equal(v, 240);
	assert_int_equal(lpm_build(l), 0);
	assert_int_equal(L(l, "192.0.2.2"), 240);

	/* Delete re-exposes the covering prefix, before and after a build. */
	assert_int_equal(lpm_delete(l, PP("192.0.2.1/32")), 0);
	assert_int_equal(L(l, "192.0.2.1"), 240);
	assert_int_equal(lpm_delete(l, PP("2001:db8::/48")), 0);
	assert_int_equal(L(l, "2001:db8::2"), 32);
	assert_int_equal(L(l, "2001:db8::1"), 128);
	assert_int_equal(lpm_build(l), 0);
	assert_int_equal(L(l, "192.0.2.1"), 240);
	assert_int_equal(L(l, "2001:db8::2"), 32);
	assert_int_equal(L(l, "2001:db8::1"), 128);
	assert_int_equal(lpm_delete(l, PP("0.0.0.0/0")), 0);
	assert_int_equal(lpm_build(l), 0);
	assert_int_equal(L(l, "198.51.100.1"), LPM_NONE);
	assert_int_equal(L(l, "192.0.2.200"), 25);

	/* Exactness: not inserted, or inserted under another length. */
	assert_int_equal(lpm_delete(l, PP("192.0.2.1/32")), -ENOENT);
	assert_int_equal(lpm_delete(l, PP("192.0.2.0/23")), -ENOENT);
	assert_int_equal(lpm_delete(l, PP("2001:db8::/47")), -ENOENT);
	assert_int_equal(lpm_get(l, PP("2001:db8::/47"), &v), -ENOENT);
	assert_int_equal(lpm_count(l), 5);
	lpm_free(l);
}

static void
test_rejects(void **state)
{
	struct lpm *l = lpm_new();
	struct prefix p = P("192.0.2.0/24");

	assert_int_equal(lpm_insert(l, &p, LPM_NONE), -EINVAL);
	p.len = 20;	/* host bits set */
	assert_int_equal(lpm_insert(l, &p, 1), -EINVAL);
	assert_int_equal(lpm_delete(l, &p), -EINVAL);
	p.len = 33;
	assert_int_equal(lpm_insert(l, &p, 1), -EINVAL);
	p = P("2001:db8::/32");
	p.addr.af = 0;
	assert_int_equal(lpm_insert(l, &p, 1), -EINVAL);
	assert_int_equal(lpm_count(l), 0);
	assert_int_equal(lpm_delete(l, PP("2001:db8::/32")), -ENOENT);
	lpm_free(l);
}

static void
test_extremes(void **state)
{
	struct lpm *l = lpm_new();
	uint8_t all1[16], all0[16] = { 0 };

	memset(all1, 0xff, sizeof(all1));
	assert_int_equal(lpm_insert(l, PP("::/0"), 7), 0);
	assert_int_equal(lpm_insert(l, PP("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128"), 8), 0);
	assert_int_equal(lpm_insert(l, PP("::/128"), 9), 0);
	assert_int_equal(lpm_insert(l, PP("255.255.255.255/32"), 10), 0);
	assert_int_equal(lpm_insert(l, PP("0.0.0.0/32"), 11), 0);
	assert_int_equal(lpm_insert(l, PP("128.0.0.0/1"), 12), 0);
	for (int built = 0; built < 2; built++) {
		assert_int_equal(lpm_lookup6(l, all1), 8);
		assert_int_equal(lpm_lookup6(l, all0), 9);
		all1[15] = 0xfe;
		assert_int_equal(lpm_lookup6(l, all1), 7);
		all1[15] = 0xff;
		assert_int_equal(lpm_lookup4(l, 0xffffffffu), 10);
		assert_int_equal(lpm_lookup4(l, 0xfffffffeu), 12);
		assert_int_equal(lpm_lookup4(l, 0), 11);
		assert_int_equal(lpm_lookup4(l, 1), LPM_NONE);
		assert_int_equal(lpm_lookup4(l, 0x80000000u), 12);
		assert_int_equal(lpm_build(l), 0);
	}
	lpm_free(l);
}

/*
 * Random sets, checked before and after each build, through several rounds of
 * small changes (the incremental path) and one large one (the full rebuild).
 */
static void
run_random(uint64_t seed, int nprefixes, int rounds)
{
	struct naive *nv = calloc(1, sizeof(*nv));
	struct lpm *l = lpm_new();

	rng_state = seed;
	assert_non_null(nv);
	for (int i = 0; i < nprefixes; i++) {
		struct prefix p = random_prefix(i & 1 ? AF_INET6 : AF_INET);
		uint32_t v = (uint32_t)rng() % 1000;

		assert_int_equal(lpm_insert(l, &p, v), 0);
		naive_insert(nv, &p, v);
	}
	check_against_naive(l, nv, 1999);
	assert_int_equal(lpm_build(l), 0);
	check_against_naive(l, nv, 4000);
	for (int round = 0; round < rounds; round++) {
		int changes = round == rounds / 2 ? nprefixes / 2 : 1 + (int)(rng() % 8);

		for (int c = 0; c < changes; c++) {
			uint64_t r = rng();

			if (r % 3 == 0 && nv->n > 0) {
				size_t i = (size_t)(r >> 8) % nv->n;

				assert_int_equal(lpm_delete(l, &nv->p[i]), 0);
				assert_int_equal(lpm_delete(l, &nv->p[i]), -ENOENT);
				naive_delete(nv, i);
			} else if (r % 3 == 1 && nv->n > 0) {
				size_t i = (size_t)(r >> 8) % nv->n;
				uint32_t v = (uint32_t)rng() % 1000;

				assert_int_equal(lpm_insert(l, &nv->p[i], v), 0);
				nv->v[i] = v;
			} else {
				struct prefix p = random_prefix(r & 8 ? AF_INET6 : AF_INET);

				assert_int_equal(lpm_insert(l, &p, (uint32_t)r % 1000), 0);
				naive_insert(nv, &p, (uint32_t)r % 1000);
			}
		}
		check_against_naive(l, nv, 301);
		assert_int_equal(lpm_build(l), 0);
		assert_true(lpm_is_built(l));
		check_against_naive(l, nv, 600);
	}
	/* Delete everything: the table ends empty. */
	while (nv->n > 0) {
		assert_int_equal(lpm_delete(l, &nv->p[nv->n - 1]), 0);
		nv->n--;
	}
	check_against_naive(l, nv, 200);
	assert_int_equal(lpm_build(l), 0);
	check_against_naive(l, nv, 200);
	lpm_free(l);
	free(nv);
}

static void
test_random_small(void **state)
{
	for (uint64_t seed = 1; seed <= 20; seed++)
		run_random(seed * 0x9e3779b97f4a7c15ULL, 40, 10);
}

static void
test_random_large(void **state)
{
	run_random(0x1234567887654321ULL, 1500, 30);
}

/* Many overlapping short prefixes: a /0 to /8 stack over every entry. */
static void
test_short_prefix_stack(void **state)
{
	struct naive *nv = calloc(1, sizeof(*nv));
	struct lpm *l = lpm_new();

	rng_state = 42;
	for (unsigned len = 0; len <= 20; len++) {
		struct ipaddr a = random_addr(len & 1 ? AF_INET6 : AF_INET);
		struct prefix p;

		assert_int_equal(prefix_make(&a, len, &p), 0);
		assert_int_equal(lpm_insert(l, &p, len), 0);
		naive_insert(nv, &p, len);
	}
	assert_int_equal(lpm_build(l), 0);
	check_against_naive(l, nv, 3000);
	lpm_free(l);
	free(nv);
}

/* lpm_insert_many() equals one lpm_insert() per prefix, later duplicates winning. */
static void
test_insert_many(void **state)
{
	enum { N = 3000 };
	static struct prefix ps[N];
	static uint32_t vs[N];
	struct naive *nv = calloc(1, sizeof(*nv));
	struct lpm *l = lpm_new();
	struct prefix bad;

	rng_state = 7;
	for (int i = 0; i < N; i++) {
		ps[i] = i >= 100 && rng() % 4 == 0 ? ps[rng() % 100] : random_prefix(i & 1 ? AF_INET6 : AF_INET);
		vs[i] = (uint32_t)i;
		naive_insert(nv, &ps[i], vs[i]);
	}
	assert_int_equal(lpm_insert_many(l, ps, vs, N), 0);
	check_against_naive(l, nv, 1000);
	assert_int_equal(lpm_build(l), 0);
	check_against_naive(l, nv, 3000);

	/* One malformed prefix or value: nothing is inserted. */
	bad = ps[5];
	ps[5].len = 200;
	assert_int_equal(lpm_insert_many(l, ps, vs, N), -EINVAL);
	ps[5] = bad;
	vs[7] = LPM_NONE;
	assert_int_equal(lpm_insert_many(l, ps, vs, N), -EINVAL);
	assert_int_equal(lpm_insert_many(l, ps, vs, 0), 0);
	check_against_naive(l, nv, 1000);
	lpm_free(l);
	free(nv);
}

/*
 * Batched lookups take the interleaved path only on tables past the CPU
 * caches: build one that large and check every batched answer against the
 * single lookup (itself checked against the naive scan above), built and
 * with stale entries.
 */
static void
test_batch_large_table(void **state)
{
	enum { N = 120000, PROBES = 20000 };
	struct prefix *ps = calloc(N, sizeof(*ps));
	uint32_t *vs = calloc(N, sizeof(*vs)), *got = calloc(PROBES, sizeof(*got));
	struct ipaddr *addrs = calloc(PROBES, sizeof(*addrs));
	uint32_t *v4 = calloc(PROBES, sizeof(*v4));
	uint8_t (*v6)[16] = calloc(PROBES, sizeof(*v6));
	struct lpm *l = lpm_new();

	assert_non_null(ps);
	assert_non_null(v6);
	rng_state = 99;
	for (int i = 0; i < N; i++) {
		struct ipaddr a = random_addr(i & 1 ? AF_INET6 : AF_INET);
		unsigned w = ipaddr_width(a.af);

		assert_int_equal(prefix_make(&a, w - (unsigned)(rng() % 12), &ps[i]), 0);
		vs[i] = (uint32_t)i;
	}
	assert_int_equal(lpm_insert_many(l, ps, vs, N), 0);
	assert_int_equal(lpm_build(l), 0);
	assert_true(lpm_memory(l) > (16u << 20));
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < PROBES; i++) {
			const struct prefix *p = &ps[rng() % N];

			addrs[i] = i % 3 == 0 ? random_addr(p->addr.af) : p->addr;
			addrs[i].a[ipaddr_width(p->addr.af) / 8 - 1] ^= (uint8_t)(rng() & 3);
			v4[i] = ipaddr_v4_host(&addrs[i]);
			memcpy(v6[i], addrs[i].a, 16);
		}
		lpm_lookup_batch(l, addrs, PROBES, got);
		for (int i = 0; i < PROBES; i++)
			assert_int_equal(got[i], lpm_lookup(l, &addrs[i]));
		lpm_lookup4_batch(l, v4, PROBES, got);
		for (int i = 0; i < PROBES; i++)
			assert_int_equal(got[i], lpm_lookup4(l, v4[i]));
		lpm_lookup6_batch(l, (const uint8_t (*)[16])v6, PROBES, got);
		for (int i = 0; i < PROBES; i++)
			assert_int_equal(got[i], lpm_lookup6(l, v6[i]));
		if (round == 0) {
			/* Second round: some entries stale. */
			for (int i = 0; i < 50; i++) {
				uint32_t v;
				int present = lpm_get(l, &ps[i], &v) == 0;

				assert_int_equal(lpm_delete(l, &ps[i]), present ? 0 : -ENOENT);
			}
			assert_false(lpm_is_built(l));
		} else if (round == 1) {
			/* Third round: rebuilt incrementally. */
			assert_int_equal(lpm_build(l), 0);
			assert_true(lpm_is_built(l));
		}
	}
	lpm_free(l);
	free(ps);
	free(vs);
	free(got);
	free(addrs);
	free(v4);
	free(v6);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_nested_and_delete),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_extremes),
		cmocka_unit_test(test_random_small),
		cmocka_unit_test(test_random_large),
		cmocka_unit_test(test_short_prefix_stack),
		cmocka_unit_test(test_insert_many),
		cmocka_unit_test(test_batch_large_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
