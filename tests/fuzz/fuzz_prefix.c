/*
 * Fuzz target for common/prefix and common/lpm.
 *
 * Input starting with byte 0xff drives an lpm differentially: the rest is a
 * program of inserts, deletes, builds and lookups (read through the cursor),
 * each result checked against a linear scan. Any other input is text for
 * prefix_parse() and ipaddr_parse(); whatever they accept must be well
 * formed and survive a format/parse round trip unchanged.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/cursor.h"
#include "common/lpm.h"

#define TEXT_MAX	256
#define NAIVE_MAX	64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_text(const uint8_t *data, size_t size)
{
	char s[TEXT_MAX + 1], buf[PREFIX_STRLEN];
	struct prefix p, q;
	struct ipaddr a, b;

	if (size > TEXT_MAX)
		size = TEXT_MAX;
	memcpy(s, data, size);
	s[size] = '\0';
	if (prefix_parse(s, &p) == 0) {
		if (!prefix_valid(&p) || prefix_format(&p, buf, sizeof(buf)) == NULL ||
		    prefix_parse(buf, &q) != 0 || !prefix_equal(&p, &q))
			abort();
	}
	if (ipaddr_parse(s, &a) == 0) {
		if (ipaddr_format(&a, buf, sizeof(buf)) == NULL || ipaddr_parse(buf, &b) != 0 ||
		    !ipaddr_equal(&a, &b))
			abort();
	}
}

struct naive {
	struct prefix p[NAIVE_MAX];
	uint32_t v[NAIVE_MAX];
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

static size_t
naive_find(const struct naive *nv, const struct prefix *p)
{
	size_t i;

	for (i = 0; i < nv->n; i++)
		if (prefix_equal(&nv->p[i], p))
			break;
	return i;
}

/* An address: family bit, then 4 or 16 bytes. */
static bool
read_addr(struct cursor *c, uint8_t sel, struct ipaddr *ret)
{
	struct ipaddr a = { .af = sel & 1 ? AF_INET6 : AF_INET };

	if (!cur_bytes(c, a.a, a.af == AF_INET ? 4 : 16))
		return false;
	*ret = a;
	return true;
}

static void
fuzz_lpm(struct cursor *c)
{
	struct lpm *l = lpm_new();
	struct naive nv = { 0 };
	uint8_t op, lenb;
	struct ipaddr a;
	struct prefix p;
	size_t i;

	if (l == NULL)
		return;
	while (cur_u8(c, &op)) {
		switch (op >> 1 & 3) {
		case 0:	/* insert (or replace) */
		case 1:	/* delete */
			if (!cur_u8(c, &lenb) || !read_addr(c, op, &a))
				goto out;
			if (prefix_make(&a, lenb % (ipaddr_width(a.af) + 1), &p) != 0)
				abort();
			i = naive_find(&nv, &p);
			if ((op >> 1 & 3) == 1) {
				if (lpm_delete(l, &p) != (i < nv.n ? 0 : -ENOENT))
					abort();
				if (i < nv.n)
					nv.p[i] = nv.p[--nv.n], nv.v[i] = nv.v[nv.n];
			} else if (i < nv.n || nv.n < NAIVE_MAX) {
				if (lpm_insert(l, &p, op >> 3) != 0)
					abort();
				nv.p[i] = p;
				nv.v[i] = op >> 3;
				nv.n += i == nv.n;
			}
			break;
		case 2:
			if (lpm_build(l) != 0 || !lpm_is_built(l))
				abort();
			break;
		default:
			if (!read_addr(c, op, &a))
				goto out;
			if (lpm_lookup(l, &a) != naive_lookup(&nv, &a))
				abort();
			break;
		}
		if (lpm_count(l) != nv.n)
			abort();
	}
out:
	lpm_free(l);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cursor c = cur_init(data, size);
	uint8_t mode;

	if (cur_peek_u8(&c, 0, &mode) && mode == 0xff) {
		cur_skip(&c, 1);
		fuzz_lpm(&c);
	} else {
		fuzz_text(data, size);
	}
	return 0;
}
