/* osdb: nmap-os-db fingerprint lookup and expression picking. */
#include "chaff/osdb.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/limits.h"

static const char *const test_names[OSDB_NTESTS] = {
	[OSDB_SEQ] = "SEQ", [OSDB_OPS] = "OPS", [OSDB_WIN] = "WIN", [OSDB_ECN] = "ECN",
	[OSDB_T1] = "T1", [OSDB_T2] = "T2", [OSDB_T3] = "T3", [OSDB_T4] = "T4",
	[OSDB_T5] = "T5", [OSDB_T6] = "T6", [OSDB_T7] = "T7",
	[OSDB_U1] = "U1", [OSDB_IE] = "IE",
};

/* One line of the text: [p, p + len), without the newline. */
struct span {
	const char *p;
	size_t len;
};

static bool
next_line(const char *text, size_t len, size_t *pos, struct span *ret)
{
	const char *nl;

	if (*pos >= len)
		return false;
	ret->p = text + *pos;
	nl = memchr(ret->p, '\n', len - *pos);
	ret->len = nl ? (size_t)(nl - ret->p) : len - *pos;
	*pos += ret->len + (nl ? 1 : 0);
	return true;
}

static bool
span_starts(const struct span *s, const char *prefix)
{
	size_t n = strlen(prefix);

	return s->len >= n && memcmp(s->p, prefix, n) == 0;
}

static int
test_index(const char *name, size_t len)
{
	for (int i = 0; i < OSDB_NTESTS; i++)
		if (strlen(test_names[i]) == len && memcmp(test_names[i], name, len) == 0)
			return i;
	return -1;
}

/* Parse "KEY=VAL%KEY=VAL..." (the text between the parentheses). */
static int
parse_attrs(const char *p, size_t len, struct osdb_line *line)
{
	size_t i = 0;

	line->present = true;
	line->nattr = 0;
	while (i < len) {
		size_t ks = i, vs, ve;
		struct osdb_attr *a;

		while (i < len && p[i] != '=' && p[i] != '%')
			i++;
		if (i >= len || p[i] != '=' || i - ks == 0 || i - ks >= OSDB_KEY_MAX)
			return -EINVAL;
		vs = ++i;
		while (i < len && p[i] != '%')
			i++;
		ve = i++;
		if (ve - vs >= OSDB_VAL_MAX || line->nattr >= OSDB_ATTRS)
			return -EINVAL;
		a = &line->attr[line->nattr++];
		memcpy(a->key, p + ks, vs - 1 - ks);
		a->key[vs - 1 - ks] = '\0';
		memcpy(a->val, p + vs, ve - vs);
		a->val[ve - vs] = '\0';
	}
	return 0;
}

static int
parse_test_line(const struct span *s, struct osdb_fp *fp)
{
	const char *open = memchr(s->p, '(', s->len);
	int t;

	if (!open || s->len < 2 || s->p[s->len - 1] != ')')
		return -EINVAL;
	t = test_index(s->p, (size_t)(open - s->p));
	if (t < 0)
		return 0;	/* a test nmap added later: ignore, as nmap's matcher would */
	return parse_attrs(open + 1, s->len - (size_t)(open - s->p) - 2, &fp->test[t]);
}

/* Copy the trimmed field [start, end) of s into dst (cut to fit). */
static void
class_field(const struct span *s, size_t start, size_t end, char *dst, size_t cap)
{
	while (start < end && s->p[start] == ' ')
		start++;
	while (end > start && s->p[end - 1] == ' ')
		end--;
	if (end - start >= cap)
		end = start + cap - 1;
	memcpy(dst, s->p + start, end - start);
	dst[end - start] = '\0';
}

/* The first Class line's four fields; later Class lines are alternatives. */
static void
parse_class(const struct span *s, struct osdb_fp *fp)
{
	char *dst[4] = { fp->vendor, fp->osfamily, fp->osgen, fp->devtype };
	const size_t cap[4] = { sizeof(fp->vendor), sizeof(fp->osfamily), sizeof(fp->osgen),
				sizeof(fp->devtype) };
	size_t start = strlen("Class "), end;

	if (fp->vendor[0] != '\0')
		return;
	for (int i = 0; i < 4 && start <= s->len; i++) {
		end = start;
		while (end < s->len && s->p[end] != '|')
			end++;
		class_field(s, start, end, dst[i], cap[i]);
		start = end + 1;
	}
}

static int
parse_body(const char *text, size_t len, size_t pos, struct osdb_fp *fp)
{
	struct span s;
	int r;

	while (next_line(text, len, &pos, &s)) {
		if (s.len > 0 && s.p[s.len - 1] == '\r')
			s.len--;
		if (s.len == 0 || span_starts(&s, "Fingerprint "))
			break;
		if (s.len > LIMIT_CHAFF_OSDB_LINE)
			return -EINVAL;
		if (s.p[0] == '#' || span_starts(&s, "CPE "))
			continue;
		if (span_starts(&s, "Class ")) {
			parse_class(&s, fp);
			continue;
		}
		r = parse_test_line(&s, fp);
		if (r < 0)
			return r;
	}
	return 0;
}

int
osdb_find(const char *text, size_t len, const char *name, unsigned nth,
	  struct osdb_fp *ret)
{
	size_t pos = 0, nlen = strlen(name);
	struct osdb_fp *fp;
	struct span s;
	int r;

	if (nlen == 0 || nlen >= OSDB_NAME_MAX)
		return -EINVAL;
	while (next_line(text, len, &pos, &s)) {
		if (s.len > 0 && s.p[s.len - 1] == '\r')
			s.len--;
		if (!span_starts(&s, "Fingerprint ") || s.len != 12 + nlen ||
		    memcmp(s.p + 12, name, nlen) != 0)
			continue;
		if (nth-- > 0)
			continue;
		fp = calloc(1, sizeof(*fp));
		if (!fp)
			return -ENOMEM;
		memcpy(fp->name, name, nlen + 1);
		r = parse_body(text, len, pos, fp);
		if (r == 0)
			*ret = *fp;
		free(fp);
		return r;
	}
	return -ENOENT;
}

const char *
osdb_get(const struct osdb_fp *fp, enum osdb_test t, const char *key)
{
	const struct osdb_line *l;

	if ((unsigned)t >= OSDB_NTESTS)
		return NULL;
	l = &fp->test[t];
	if (!l->present)
		return NULL;
	for (unsigned i = 0; i < l->nattr; i++)
		if (strcmp(l->attr[i].key, key) == 0)
			return l->attr[i].val;
	return NULL;
}

static int
parse_hex(const char *s, size_t len, uint64_t *ret)
{
	uint64_t v = 0;

	if (len == 0 || len > 16)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		unsigned d;

		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (c >= 'A' && c <= 'F')
			d = (unsigned)(c - 'A' + 10);
		else if (c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else
			return -EINVAL;
		v = v << 4 | d;
	}
	*ret = v;
	return 0;
}

int
osdb_pick(const char *expr, bool mid, uint64_t *ret)
{
	size_t len = strcspn(expr, "|");
	const char *dash;
	uint64_t lo, hi;

	if (len == 0)
		return -EINVAL;
	if (expr[0] == '<' || expr[0] == '>') {
		if (parse_hex(expr + 1, len - 1, &lo) < 0)
			return -EINVAL;
		if (expr[0] == '<' && lo == 0)
			return -EINVAL;
		*ret = expr[0] == '<' ? lo - 1 : lo + 1;
		return 0;
	}
	dash = memchr(expr, '-', len);
	if (!dash)
		return parse_hex(expr, len, ret);
	if (parse_hex(expr, (size_t)(dash - expr), &lo) < 0 ||
	    parse_hex(dash + 1, len - (size_t)(dash - expr) - 1, &hi) < 0 || hi < lo)
		return -EINVAL;
	*ret = mid ? lo + (hi - lo) / 2 : lo;
	return 0;
}

void
osdb_pick_str(const char *expr, char *buf, size_t len)
{
	size_t n = strcspn(expr, "|");

	if (len == 0)
		return;
	if (n >= len)
		n = len - 1;
	memcpy(buf, expr, n);
	buf[n] = '\0';
}
