/* decoy: sorted decoy table with per-decoy identity and clocks. */
#include "chaff/decoy.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"

uint64_t
decoy_mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

uint64_t
decoy_rand(struct decoy *d)
{
	uint64_t x = d->rng;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	d->rng = x;
	return x;
}

int
decoy_table_init(struct decoy_table *t, size_t cap, uint64_t secret, uint64_t start_ns)
{
	memset(t, 0, sizeof(*t));
	if (cap == 0)
		cap = 1;
	t->v = calloc(cap, sizeof(*t->v));
	if (!t->v)
		return -ENOMEM;
	t->cap = cap;
	t->secret = secret;
	t->start_ns = start_ns;
	return 0;
}

void
decoy_table_free(struct decoy_table *t)
{
	if (!t)
		return;
	free(t->v);
	free(t->v6);
	free(t->v6groups);
	memset(t, 0, sizeof(*t));
}

static bool
excluded(uint32_t a, const struct decoy_prefix *ex, size_t nex)
{
	for (size_t i = 0; i < nex; i++) {
		uint32_t mask = ex[i].len ? ~0u << (32 - ex[i].len) : 0;

		if ((a & mask) == (ex[i].base & mask))
			return true;
	}
	return false;
}

void
decoy_mac_of(const struct decoy_table *t, uint32_t a, const uint8_t oui[3], uint8_t ret_mac[6])
{
	uint64_t h = decoy_mix(t->secret ^ a);

	memcpy(ret_mac, oui, 3);
	ret_mac[3] = (uint8_t)(h >> 8);
	ret_mac[4] = (uint8_t)(h >> 16);
	ret_mac[5] = (uint8_t)(h >> 24);
}

static void
decoy_init_one(struct decoy_table *t, struct decoy *d, uint32_t a, uint16_t group,
	       uint16_t persona, const uint8_t oui[3])
{
	uint64_t h = decoy_mix(t->secret ^ a);

	memset(d, 0, sizeof(*d));
	d->addr = a;
	decoy_mac_of(t, a, oui, d->mac);
	d->group = group;
	d->persona = persona;
	d->rng = decoy_mix(h) | 1;
	d->ipid_tcp = (uint16_t)decoy_rand(d);
	d->ipid_icmp = (uint16_t)decoy_rand(d);
	/* Up to ±60 ppm, like real crystals; uptime between 1 hour and 60 days. */
	d->skew_ppm_x = (uint16_t)(32768 + (int)(decoy_rand(d) % 30721) - 15360);
	d->ts_base = (uint32_t)(3600 + decoy_rand(d) % (60u * 86400));
	d->isn_last = (uint32_t)decoy_rand(d);
}

int
decoy_table_add(struct decoy_table *t, uint32_t base, uint8_t len,
		const struct decoy_prefix *ex, size_t nex,
		uint16_t group, uint16_t persona, const uint8_t oui[3])
{
	uint64_t count = 1ULL << (32 - len), first = 0, last;

	if (len > 32)
		return -EINVAL;
	last = count - 1;
	if (len < 31) {
		first = 1;
		last = count - 2;
	}
	for (uint64_t i = first; i <= last; i++) {
		uint32_t a = (uint32_t)(base + i);

		if (excluded(a, ex, nex))
			continue;
		if (t->n >= t->cap)
			return -ENOSPC;
		decoy_init_one(t, &t->v[t->n++], a, group, persona, oui);
	}
	return 0;
}

static int
cmp_decoy(const void *a, const void *b)
{
	uint32_t x = ((const struct decoy *)a)->addr, y = ((const struct decoy *)b)->addr;

	return x < y ? -1 : x > y;
}

int
decoy_table_seal(struct decoy_table *t, uint32_t *ret_dup)
{
	qsort(t->v, t->n, sizeof(*t->v), cmp_decoy);
	for (size_t i = 1; i < t->n; i++) {
		if (t->v[i].addr == t->v[i - 1].addr) {
			if (ret_dup)
				*ret_dup = t->v[i].addr;
			return -EEXIST;
		}
	}
	return 0;
}

int
decoy_table_insert(struct decoy_table *t, uint32_t addr, uint16_t group, uint16_t persona,
		   const uint8_t oui[3])
{
	size_t lo = 0, hi = t->n;

	if (t->n >= t->cap)
		return -ENOSPC;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (t->v[mid].addr == addr)
			return -EEXIST;
		if (t->v[mid].addr < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	memmove(&t->v[lo + 1], &t->v[lo], (t->n - lo) * sizeof(*t->v));
	decoy_init_one(t, &t->v[lo], addr, group, persona, oui);
	t->n++;
	return 0;
}

int
decoy_table_remove(struct decoy_table *t, uint32_t addr)
{
	struct decoy *d = decoy_find(t, addr);
	size_t i;

	if (!d)
		return -ENOENT;
	i = (size_t)(d - t->v);
	memmove(&t->v[i], &t->v[i + 1], (t->n - i - 1) * sizeof(*t->v));
	t->n--;
	return 0;
}

struct decoy *
decoy_find(const struct decoy_table *t, uint32_t addr)
{
	size_t lo = 0, hi = t->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (t->v[mid].addr == addr)
			return &t->v[mid];
		if (t->v[mid].addr < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

uint64_t
decoy_clock_ns(const struct decoy_table *t, const struct decoy *d, uint64_t now_ns)
{
	uint64_t el = now_ns > t->start_ns ? now_ns - t->start_ns : 0;
	int64_t skew = (int64_t)d->skew_ppm_x - 32768;	/* 1/256 ppm */

	return (uint64_t)((int64_t)el + (int64_t)((double)el * (double)skew / 256e6));
}

void
decoy_iid_eui64(const uint8_t mac[6], uint8_t ret_iid[8])
{
	ret_iid[0] = mac[0] ^ 0x02;	/* the universal/local bit, inverted */
	ret_iid[1] = mac[1];
	ret_iid[2] = mac[2];
	ret_iid[3] = 0xff;
	ret_iid[4] = 0xfe;
	ret_iid[5] = mac[3];
	ret_iid[6] = mac[4];
	ret_iid[7] = mac[5];
}

void
decoy_iid_stable(uint64_t secret, const uint8_t prefix[8], const uint8_t mac[6], uint32_t v4,
		 uint8_t ret_iid[8])
{
	uint8_t kb[HASH_KEY_BYTES], in[8 + 6 + 4 + 1];
	struct hash_key k;
	uint64_t h;

	/* RFC 7217: F(prefix, interface, network id, DAD counter, secret);
	 * the MAC stands for the interface, the IPv4 address for the host. */
	for (int i = 0; i < 8; i++) {
		kb[i] = (uint8_t)(decoy_mix(secret ^ 0x6970763673656564ULL) >> (8 * i));
		kb[8 + i] = (uint8_t)(decoy_mix(secret + 0x7217) >> (8 * i));
	}
	hash_key_set(&k, kb);
	memcpy(in, prefix, 8);
	memcpy(in + 8, mac, 6);
	for (int i = 0; i < 4; i++)
		in[14 + i] = (uint8_t)(v4 >> (24 - 8 * i));
	for (uint8_t dad = 0;; dad++) {
		in[18] = dad;
		h = hash_bytes(&k, in, sizeof(in));
		/* Reserved IIDs (RFC 5453): all zero, and the subnet anycast
		 * range fdff:ffff:ffff:ff80-ffff; another draw as RFC 7217's
		 * DAD counter does. */
		if (h != 0 && (h >> 7) != (0xfdffffffffffff80ULL >> 7))
			break;
	}
	for (int i = 0; i < 8; i++)
		ret_iid[i] = (uint8_t)(h >> (56 - 8 * i));
}

void
decoy_addr6(const struct decoy_table *t, const struct decoy *d, const uint8_t prefix[8],
	    enum decoy_iid iid, uint8_t ret_addr[16])
{
	memcpy(ret_addr, prefix, 8);
	if (iid == DECOY_IID_EUI64)
		decoy_iid_eui64(d->mac, ret_addr + 8);
	else
		decoy_iid_stable(t->secret, prefix, d->mac, d->addr, ret_addr + 8);
}

static int
cmp_decoy6(const void *a, const void *b)
{
	return memcmp(((const struct decoy6 *)a)->addr, ((const struct decoy6 *)b)->addr, 16);
}

int
decoy_table_build_v6(struct decoy_table *t, const struct decoy_v6group *groups,
		     size_t n_groups)
{
	static const uint8_t ll[8] = { 0xfe, 0x80 };
	struct decoy6 *v6, *old = t->v6;
	size_t n = 0, n_old = t->n6;

	if (groups != t->v6groups) {
		struct decoy_v6group *g = calloc(n_groups ? n_groups : 1, sizeof(*g));

		if (!g)
			return -ENOMEM;
		if (n_groups)
			memcpy(g, groups, n_groups * sizeof(*g));
		free(t->v6groups);
		t->v6groups = g;
		t->n_v6groups = n_groups;
		groups = g;
	}
	v6 = calloc(2 * (t->n ? t->n : 1), sizeof(*v6));
	if (!v6)
		return -ENOMEM;
	for (size_t i = 0; i < t->n; i++) {
		const struct decoy *d = &t->v[i];
		const struct decoy_v6group *g;

		if (d->group >= n_groups || groups[d->group].iid == DECOY_IID_NONE)
			continue;
		g = &groups[d->group];
		decoy_addr6(t, d, ll, (enum decoy_iid)g->iid, v6[n].addr);
		v6[n].v4 = d->addr;
		v6[n++].link_local = true;
		decoy_addr6(t, d, g->prefix, (enum decoy_iid)g->iid, v6[n].addr);
		v6[n++].v4 = d->addr;
	}
	qsort(v6, n, sizeof(*v6), cmp_decoy6);
	t->v6 = v6;
	t->n6 = n;
	/* An address another host took stays theirs. */
	for (size_t i = 0; i < n_old; i++) {
		struct decoy6 *e;

		if (old[i].released && (e = decoy_find6(t, old[i].addr)) != NULL)
			e->released = true;
	}
	free(old);
	return 0;
}

bool
decoy_addr6_of(const struct decoy_table *t, const struct decoy *d, bool link_local,
	       uint8_t ret_addr[16])
{
	static const uint8_t ll[8] = { 0xfe, 0x80 };
	const struct decoy_v6group *g;

	if (d->group >= t->n_v6groups || t->v6groups[d->group].iid == DECOY_IID_NONE)
		return false;
	g = &t->v6groups[d->group];
	decoy_addr6(t, d, link_local ? ll : g->prefix, (enum decoy_iid)g->iid, ret_addr);
	return true;
}

struct decoy6 *
decoy_find6(const struct decoy_table *t, const uint8_t addr[16])
{
	size_t lo = 0, hi = t->n6;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp(t->v6[mid].addr, addr, 16);

		if (c == 0)
			return &t->v6[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}
