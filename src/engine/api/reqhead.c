/*
 * reqhead: a strict reader of HTTP/1.x request heads (see reqhead.h).
 */
#include "engine/api/reqhead.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

#include "common/cursor.h"
#include "engine/api/route.h"

size_t
reqhead_end(const char *buf, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++) {
		if (buf[i] != '\n')
			continue;
		if (buf[i + 1] == '\n')
			return i + 2;
		if (buf[i + 1] == '\r' && i + 2 < len && buf[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

/* The next line of c without its "\r\n" or "\n"; false at the end. */
static bool
reqhead_line(struct cursor *c, struct reqhead_str *ret)
{
	const char *start = (const char *)cur_ptr(c);
	size_t n = 0;
	uint8_t b;

	while (cur_peek_u8(c, n, &b) && b != '\n')
		n++;
	if (!cur_skip(c, n) || !cur_skip(c, 1))
		return false;
	if (n > 0 && start[n - 1] == '\r')
		n--;
	*ret = (struct reqhead_str){ start, n };
	return true;
}

static bool
reqhead_eq(struct reqhead_str s, const char *lit)
{
	size_t n = strlen(lit);

	return s.len == n && strncasecmp(s.p, lit, n) == 0;
}

static unsigned
reqhead_method(struct reqhead_str m)
{
	static const struct { const char *name; unsigned method; } methods[] = {
		{ "GET", API_GET }, { "POST", API_POST }, { "PUT", API_PUT },
		{ "DELETE", API_DELETE },
	};

	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (m.len == strlen(methods[i].name) &&
		    memcmp(m.p, methods[i].name, m.len) == 0)
			return methods[i].method;
	return API_OTHER;
}

/* "METHOD SP TARGET SP HTTP/1.x" */
static int
reqhead_request_line(struct reqhead_str l, struct reqhead *h)
{
	const char *sp1 = memchr(l.p, ' ', l.len), *sp2;
	struct reqhead_str m, target, ver;

	if (!sp1)
		return -EINVAL;
	sp2 = memchr(sp1 + 1, ' ', l.len - (size_t)(sp1 + 1 - l.p));
	if (!sp2)
		return -EINVAL;
	m = (struct reqhead_str){ l.p, (size_t)(sp1 - l.p) };
	target = (struct reqhead_str){ sp1 + 1, (size_t)(sp2 - sp1 - 1) };
	ver = (struct reqhead_str){ sp2 + 1, l.len - (size_t)(sp2 + 1 - l.p) };
	if (m.len == 0 || target.len == 0 || target.p[0] != '/')
		return -EINVAL;
	for (size_t i = 0; i < target.len; i++)
		if ((unsigned char)target.p[i] <= ' ' || target.p[i] == 0x7f)
			return -EINVAL;
	if (ver.len != 8 || memcmp(ver.p, "HTTP/", 5) != 0 || ver.p[6] != '.' ||
	    ver.p[5] < '0' || ver.p[5] > '9' || ver.p[7] < '0' || ver.p[7] > '9')
		return -EINVAL;
	if (ver.p[5] != '1' || (ver.p[7] != '0' && ver.p[7] != '1'))
		return -ENOTSUP;
	h->method = reqhead_method(m);
	h->path = target;
	for (size_t i = 0; i < target.len; i++)
		if (target.p[i] == '?' || target.p[i] == '#') {
			h->path.len = i;
			break;
		}
	return 0;
}

/* Plain decimal digits only, no sign, no spaces inside, at most 19 digits. */
static int
reqhead_length(struct reqhead_str v, uint64_t *ret)
{
	uint64_t n = 0;

	if (v.len == 0 || v.len > 19)
		return -EINVAL;
	for (size_t i = 0; i < v.len; i++) {
		if (v.p[i] < '0' || v.p[i] > '9')
			return -EINVAL;
		n = n * 10 + (uint64_t)(v.p[i] - '0');
	}
	*ret = n;
	return 0;
}

static struct reqhead_str
reqhead_trim(struct reqhead_str s)
{
	while (s.len > 0 && (s.p[0] == ' ' || s.p[0] == '\t')) {
		s.p++;
		s.len--;
	}
	while (s.len > 0 && (s.p[s.len - 1] == ' ' || s.p[s.len - 1] == '\t'))
		s.len--;
	return s;
}

static int
reqhead_field(struct reqhead_str l, struct reqhead *h)
{
	const char *colon = memchr(l.p, ':', l.len);
	struct reqhead_str name, value;

	if (!colon || colon == l.p)
		return -EINVAL;
	name = (struct reqhead_str){ l.p, (size_t)(colon - l.p) };
	value = reqhead_trim((struct reqhead_str){ colon + 1, l.len - name.len - 1 });
	for (size_t i = 0; i < name.len; i++)
		if ((unsigned char)name.p[i] <= ' ' || name.p[i] == 0x7f)
			return -EINVAL;
	for (size_t i = 0; i < value.len; i++)
		if (((unsigned char)value.p[i] < ' ' && value.p[i] != '\t') || value.p[i] == 0x7f)
			return -EINVAL;
	if (reqhead_eq(name, "Host")) {
		if (h->has_host)
			return -EINVAL;
		h->has_host = true;
		h->host = value;
	} else if (reqhead_eq(name, "Authorization")) {
		if (h->authorization.p)
			return -EINVAL;
		h->authorization = value;
	} else if (reqhead_eq(name, "Content-Length")) {
		if (h->has_length || reqhead_length(value, &h->content_length) < 0)
			return -EINVAL;
		h->has_length = true;
	} else if (reqhead_eq(name, "Transfer-Encoding")) {
		h->chunked_or_other_te = true;
	}
	return 0;
}

int
reqhead_parse(const char *buf, size_t len, struct reqhead *ret)
{
	struct cursor c = cur_init(buf, len);
	struct reqhead h = { 0 };
	struct reqhead_str l;
	int r;

	if (!reqhead_line(&c, &l))
		return -EINVAL;
	if ((r = reqhead_request_line(l, &h)) < 0)
		return r;
	for (;;) {
		if (!reqhead_line(&c, &l))
			return -EINVAL;	/* no empty line */
		if (l.len == 0)
			break;
		if (l.p[0] == ' ' || l.p[0] == '\t')
			return -EINVAL;	/* obsolete line folding */
		if ((r = reqhead_field(l, &h)) < 0)
			return r;
	}
	if (!cur_empty(&c))
		return -EINVAL;
	*ret = h;
	return 0;
}
