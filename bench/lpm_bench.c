/*
 * lpm_bench: longest-prefix match with 1k, 100k and 1M prefixes, IPv4 and
 * IPv6, against a plain one-bit-per-level binary trie built from the same
 * prefixes in the same run.
 *
 * Prefix mixes follow real tables: IPv4 mostly /16-/24 (half of them /24)
 * plus some /32; IPv6 mostly /32-/48 under a pool of allocated /32s, plus
 * /56, /64 and /128. Lookup keys are random addresses, half drawn from
 * inside inserted prefixes, half from the whole unicast space. Every lpm
 * answer (single and batched) is checked against the binary trie; a
 * mismatch fails the run.
 *
 * Output per table: build time (lpm_insert_many + lpm_build) and memory,
 * single lookups/s (lpm_lookup4/6), batched lookups/s (lpm_lookup4/6_batch),
 * the binary trie's lookups/s and the speed-up over it. Then the ratio of
 * the per-lookup cost at 1M to that at 1k (goal < 2), the speed-up over the
 * binary trie at 1M (goal >= 4), and one verdict line per goal. Times are
 * this thread's CPU time, medians over chunks of lookups (see time_kind).
 *
 * Usage: bench_lpm [SCALE]   SCALE in (0, 1] shrinks the tables (quick runs).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/lpm.h"
#include "common/strnum.h"

#define NKEYS		(1u << 20)	/* lpm lookups per pass */
#define NREF_KEYS	(1u << 18)	/* binary-trie lookups (it is slow) */
#define PASSES		2		/* over all keys, for the median */

static uint64_t rng_state = 0x243f6a8885a308d3ULL;

/* splitmix64: fast, and good enough to scatter addresses. */
static uint64_t
rng(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}


/* --- the reference: one bit per level, no compression --- */

struct bnode {
	uint32_t child[2];
	uint32_t value;		/* value + 1; 0 = none */
};

struct btrie {
	struct bnode *v;
	size_t n, cap;
};

static uint32_t
bt_node(struct btrie *t)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 1024;
		struct bnode *v = realloc(t->v, cap * sizeof(*v));

		if (v == NULL) {
			fprintf(stderr, "bench_lpm: out of memory\n");
			exit(1);
		}
		t->v = v;
		t->cap = cap;
	}
	t->v[t->n] = (struct bnode){ { 0, 0 }, 0 };
	return (uint32_t)t->n++;
}

static void
bt_insert(struct btrie *t, const struct prefix *p, uint32_t value)
{
	uint32_t i = 0;

	if (t->n == 0)
		bt_node(t);
	for (unsigned b = 0; b < p->len; b++) {
		unsigned bit = p->addr.a[b / 8] >> (7 - b % 8) & 1;

		if (t->v[i].child[bit] == 0) {
			uint32_t c = bt_node(t);

			t->v[i].child[bit] = c;
		}
		i = t->v[i].child[bit];
	}
	t->v[i].value = value + 1;
}

static uint32_t
bt_lookup(const struct btrie *t, const uint8_t *a, unsigned width)
{
	uint32_t best = 0, i = 0;

	if (t->n == 0)
		return LPM_NONE;
	for (unsigned b = 0;; b++) {
		if (t->v[i].value != 0)
			best = t->v[i].value;
		if (b == width)
			break;
		i = t->v[i].child[a[b / 8] >> (7 - b % 8) & 1];
		if (i == 0)
			break;
	}
	return best - 1;
}

/* --- workloads --- */

static unsigned
pick_len(uint8_t af)
{
	unsigned r = (unsigned)(rng() % 100);

	if (af == AF_INET) {
		/* /16 5%, /17-/19 10%, /20-/22 20%, /23 10%, /24 45%, /32 10% */
		if (r < 5)
			return 16;
		if (r < 15)
			return 17 + r % 3;
		if (r < 35)
			return 20 + r % 3;
		if (r < 45)
			return 23;
		if (r < 90)
			return 24;
		return 32;
	}
	/* /32 15%, /36 5%, /40 10%, /44 10%, /48 40%, /56 5%, /64 10%, /128 5% */
	if (r < 15)
		return 32;
	if (r < 20)
		return 36;
	if (r < 30)
		return 40;
	if (r < 40)
		return 44;
	if (r < 80)
		return 48;
	if (r < 85)
		return 56;
	if (r < 95)
		return 64;
	return 128;
}

static struct ipaddr
random_unicast(uint8_t af)
{
	struct ipaddr a = { .af = af };
	uint64_t r = rng(), s = rng();

	if (af == AF_INET)	/* 1.0.0.0 - 223.255.255.255 */
		return ipaddr_v4(0x01000000u + (uint32_t)(r % 0xdf000000u));
	memcpy(a.a, &r, 8);
	memcpy(a.a + 8, &s, 8);
	a.a[0] = (uint8_t)(0x20 | (a.a[0] & 0x1f));	/* 2000::/3 */
	return a;
}

/* IPv6 prefixes nest under allocated /32s, as RIR allocations do. */
static struct prefix *
make_prefixes(uint8_t af, size_t n)
{
	struct prefix *ps = calloc(n, sizeof(*ps));
	size_t npool = n / 16 + 16;
	struct ipaddr *pool = calloc(npool, sizeof(*pool));

	if (ps == NULL || pool == NULL) {
		fprintf(stderr, "bench_lpm: out of memory\n");
		exit(1);
	}
	for (size_t i = 0; i < npool; i++)
		pool[i] = random_unicast(af);
	for (size_t i = 0; i < n; i++) {
		struct ipaddr a = random_unicast(af);

		if (af == AF_INET6)
			memcpy(a.a, pool[rng() % npool].a, 4);
		prefix_make(&a, pick_len(af), &ps[i]);
	}
	free(pool);
	return ps;
}

/* Half the keys inside inserted prefixes (random host bits), half anywhere. */
static struct ipaddr *
make_keys(const struct prefix *ps, size_t n, uint8_t af, size_t nkeys)
{
	struct ipaddr *keys = calloc(nkeys, sizeof(*keys));

	if (keys == NULL) {
		fprintf(stderr, "bench_lpm: out of memory\n");
		exit(1);
	}
	for (size_t i = 0; i < nkeys; i++) {
		struct ipaddr r = random_unicast(af);

		if (i & 1) {
			keys[i] = r;
			continue;
		}
		const struct prefix *p = &ps[rng() % n];

		keys[i] = p->addr;
		for (unsigned b = p->len; b < ipaddr_width(af); b++)
			keys[i].a[b / 8] |= r.a[b / 8] & (0x80u >> (b % 8));
	}
	return keys;
}

struct result {
	double lookups_s, ns_per_lookup, batch_lookups_s, ns_per_batch_lookup;
	double ref_lookups_s, build_s, ref_build_s;
	size_t count, memory, ref_memory;
};

/*
 * Timing. The machine is shared, so times are this thread's CPU time (other
 * processes' slices do not count) and a figure is the median over chunks of
 * CHUNK lookups (a chunk that a neighbour's burst slowed does not move it).
 */
#define CHUNK		(1u << 14)

enum kind { K_SINGLE, K_BATCH, K_REF };

struct keyset {
	const struct ipaddr *keys;	/* NKEYS */
	uint32_t *v4;			/* the same keys for the IPv4 batch call */
	uint8_t (*v6)[16];		/* ... and the IPv6 one */
	uint32_t *out;			/* batch results */
	uint8_t af;
};

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static uint64_t
run_chunk(enum kind k, const struct lpm *l, const struct btrie *bt, const struct keyset *ks,
	  size_t lo, size_t n)
{
	uint64_t s = 0;

	switch (k) {
	case K_SINGLE:
		if (ks->af == AF_INET)
			for (size_t i = lo; i < lo + n; i++)
				s += lpm_lookup4(l, ks->v4[i]);
		else
			for (size_t i = lo; i < lo + n; i++)
				s += lpm_lookup6(l, ks->v6[i]);
		break;
	case K_BATCH:
		if (ks->af == AF_INET)
			lpm_lookup4_batch(l, ks->v4 + lo, n, ks->out + lo);
		else
			lpm_lookup6_batch(l, (const uint8_t (*)[16])(ks->v6 + lo), n, ks->out + lo);
		for (size_t i = lo; i < lo + n; i++)
			s += ks->out[i];
		break;
	case K_REF:
		for (size_t i = lo; i < lo + n; i++)
			s += bt_lookup(bt, ks->keys[i].a, ipaddr_width(ks->af));
		break;
	}
	return s;
}

/* Median ns per lookup over the chunks of nkeys keys, `passes` times over. */
static double
time_kind(enum kind k, const struct lpm *l, const struct btrie *bt, const struct keyset *ks,
	  size_t nkeys, int passes, uint64_t *sum)
{
	size_t nchunks = nkeys / CHUNK, m = 0;
	double *ns = calloc(nchunks * (size_t)passes, sizeof(*ns)), med;

	if (ns == NULL) {
		fprintf(stderr, "bench_lpm: out of memory\n");
		exit(1);
	}
	for (int pass = 0; pass < passes; pass++) {
		for (size_t c = 0; c < nchunks; c++) {
			uint64_t t0 = clock_now_ns(CLOCK_THREAD_CPUTIME_ID);

			*sum += run_chunk(k, l, bt, ks, c * CHUNK, CHUNK);
			ns[m++] = (double)(clock_now_ns(CLOCK_THREAD_CPUTIME_ID) - t0) / CHUNK;
		}
	}
	qsort(ns, m, sizeof(*ns), cmp_double);
	med = ns[m / 2];
	free(ns);
	return med;
}

static struct keyset
keyset_new(const struct ipaddr *keys, uint8_t af)
{
	struct keyset ks = { .keys = keys, .af = af };

	ks.v4 = calloc(NKEYS, sizeof(*ks.v4));
	ks.v6 = calloc(NKEYS, sizeof(*ks.v6));
	ks.out = calloc(NKEYS, sizeof(*ks.out));
	if (ks.v4 == NULL || ks.v6 == NULL || ks.out == NULL) {
		fprintf(stderr, "bench_lpm: out of memory\n");
		exit(1);
	}
	for (size_t i = 0; i < NKEYS; i++) {
		ks.v4[i] = ipaddr_v4_host(&keys[i]);
		memcpy(ks.v6[i], keys[i].a, 16);
	}
	return ks;
}

static void
keyset_free(struct keyset *ks)
{
	free(ks->v4);
	free(ks->v6);
	free(ks->out);
}

/* Every answer must agree with the reference; returns the mismatches. */
static size_t
verify(const struct lpm *l, const struct btrie *t, const struct ipaddr *keys, uint8_t af)
{
	size_t bad = 0;

	for (size_t i = 0; i < NREF_KEYS; i++) {
		uint32_t want = bt_lookup(t, keys[i].a, ipaddr_width(af));

		if (lpm_lookup(l, &keys[i]) != want) {
			char buf[IPADDR_STRLEN];

			if (bad++ < 5)
				fprintf(stderr, "bench_lpm: MISMATCH %s: lpm %u, reference %u\n",
					ipaddr_format(&keys[i], buf, sizeof(buf)),
					lpm_lookup(l, &keys[i]), want);
		}
	}
	return bad;
}

static int
run_one(uint8_t af, size_t n, struct result *res, uint64_t *sum)
{
	struct prefix *ps = make_prefixes(af, n);
	struct ipaddr *keys = make_keys(ps, n, af, NKEYS);
	struct btrie bt = { 0 };
	struct lpm *l = lpm_new();
	uint64_t t0;
	struct keyset ks;
	uint32_t *values;
	size_t bad, bad_batch;
	int r;

	if (l == NULL) {
		fprintf(stderr, "bench_lpm: lpm_new: %s\n", strerror(errno));
		return -1;
	}
	values = calloc(n, sizeof(*values));
	if (values == NULL) {
		fprintf(stderr, "bench_lpm: out of memory\n");
		exit(1);
	}
	for (size_t i = 0; i < n; i++)
		values[i] = (uint32_t)i;
	t0 = clock_now_ns(CLOCK_THREAD_CPUTIME_ID);
	r = lpm_insert_many(l, ps, values, n);
	if (r < 0) {
		fprintf(stderr, "bench_lpm: lpm_insert_many: %s\n", strerror(-r));
		return -1;
	}
	r = lpm_build(l);
	if (r < 0) {
		fprintf(stderr, "bench_lpm: lpm_build: %s\n", strerror(-r));
		return -1;
	}
	res->build_s = (double)(clock_now_ns(CLOCK_THREAD_CPUTIME_ID) - t0) / 1e9;
	res->count = lpm_count(l);
	res->memory = lpm_memory(l);

	t0 = clock_now_ns(CLOCK_THREAD_CPUTIME_ID);
	for (size_t i = 0; i < n; i++)
		bt_insert(&bt, &ps[i], (uint32_t)i);
	res->ref_build_s = (double)(clock_now_ns(CLOCK_THREAD_CPUTIME_ID) - t0) / 1e9;
	res->ref_memory = bt.cap * sizeof(*bt.v);

	bad = verify(l, &bt, keys, af);
	ks = keyset_new(keys, af);
	res->ns_per_lookup = time_kind(K_SINGLE, l, &bt, &ks, NKEYS, PASSES, sum);
	res->lookups_s = 1e9 / res->ns_per_lookup;
	res->ns_per_batch_lookup = time_kind(K_BATCH, l, &bt, &ks, NKEYS, PASSES, sum);
	res->batch_lookups_s = 1e9 / res->ns_per_batch_lookup;
	bad_batch = 0;
	for (size_t i = 0; i < NREF_KEYS; i++)	/* out[] holds the last batch results */
		bad_batch += ks.out[i] != lpm_lookup(l, &keys[i]);
	if (bad_batch != 0)
		fprintf(stderr, "bench_lpm: %zu batched lookups disagree\n", bad_batch);
	bad += bad_batch;
	res->ref_lookups_s = 1e9 / time_kind(K_REF, l, &bt, &ks, NREF_KEYS, 1, sum);
	keyset_free(&ks);
	free(values);

	free(bt.v);
	lpm_free(l);
	free(keys);
	free(ps);
	return bad == 0 ? 0 : -1;
}

static const char *
verdict(bool ok)
{
	return ok ? "PASS" : "FAIL";
}

int
main(int argc, char **argv)
{
	static const size_t sizes[] = { 1000, 100000, 1000000 };
	static const uint8_t afs[] = { AF_INET, AF_INET6 };
	struct result res[2][3];
	double scale = 1.0;
	uint64_t sum = 0;
	int failed = 0;

	if (argc > 1 && strnum_double(argv[1], 0.001, 1.0, &scale) < 0) {
		fprintf(stderr, "usage: bench_lpm [SCALE in (0,1]]\n");
		return 2;
	}
	printf("%-5s %9s %8s %8s %8s %11s %7s %11s %7s %10s %8s\n", "fam", "prefixes", "build_s",
	       "mem_MiB", "B/pfx", "lookups/s", "ns", "batch/s", "ns", "bintrie/s", "speedup");
	for (int f = 0; f < 2; f++) {
		for (int s = 0; s < 3; s++) {
			struct result *r = &res[f][s];
			size_t n = (size_t)((double)sizes[s] * scale);

			if (n < 10)
				n = 10;
			if (run_one(afs[f], n, r, &sum) < 0)
				failed = 1;
			printf("%-5s %9zu %8.3f %8.1f %8.1f %11.0f %7.1f %11.0f %7.1f %10.0f %7.1fx\n",
			       f == 0 ? "ipv4" : "ipv6", r->count, r->build_s,
			       (double)r->memory / (1 << 20), (double)r->memory / (double)r->count,
			       r->lookups_s, r->ns_per_lookup, r->batch_lookups_s,
			       r->ns_per_batch_lookup, r->ref_lookups_s,
			       r->lookups_s / r->ref_lookups_s);
			printf("%-5s %9s reference binary trie: build %.3f s, %.1f MiB\n", "", "",
			       r->ref_build_s, (double)r->ref_memory / (1 << 20));
			fflush(stdout);
		}
	}
	printf("(checksum %" PRIu64 ")\n", sum);
	for (int f = 0; f < 2; f++) {
		const char *name = f == 0 ? "ipv4" : "ipv6";
		double growth = res[f][2].ns_per_lookup / res[f][0].ns_per_lookup;
		double speedup = res[f][2].lookups_s / res[f][2].ref_lookups_s;

		double bgrowth = res[f][2].ns_per_batch_lookup / res[f][0].ns_per_batch_lookup;

		printf("verdict %s cost 1M/1k = %.2f (goal < 2): %s\n", name, growth,
		       verdict(growth < 2.0));
		printf("verdict %s batched cost 1M/1k = %.2f (goal < 2): %s\n", name, bgrowth,
		       verdict(bgrowth < 2.0));
		printf("verdict %s speed-up over binary trie at 1M = %.1fx (goal >= 4): %s\n", name,
		       speedup, verdict(speedup >= 4.0));
	}
	if (failed)
		printf("verdict correctness: FAIL (lpm disagreed with the reference)\n");
	else
		printf("verdict correctness: PASS (every sampled lookup agreed with the reference)\n");
	return failed;
}
