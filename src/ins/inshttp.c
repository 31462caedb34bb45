/*
 * inshttp: header-completeness scanner. See inshttp.h.
 */
#include "ins/inshttp.h"

#include <errno.h>
#include <stdbool.h>

#include "common/cursor.h"

static bool
inshttp_tchar(uint8_t c)
{
	/* Methods in practice: upper-case letters, '-' and '_' (RFC 9110 tokens, narrowed). */
	return (c >= 'A' && c <= 'Z') || c == '-' || c == '_';
}

/* The method token and its space; INCOMPLETE if the input stops inside it. */
static enum inshttp_state
inshttp_method(struct cursor *c)
{
	uint8_t ch;

	for (size_t n = 0;; n++) {
		if (!cur_u8(c, &ch))
			return INSHTTP_INCOMPLETE;
		if (ch == ' ')
			return n > 0 ? INSHTTP_COMPLETE : INSHTTP_INVALID;
		if (!inshttp_tchar(ch) || n >= INSHTTP_METHOD_MAX)
			return INSHTTP_INVALID;
	}
}

/*
 * Find the end of the header block: a line feed followed by an empty line
 * (optionally "\r"). The request line itself cannot be empty, so the first
 * LF cannot end the block on its own.
 */
static enum inshttp_state
inshttp_find_end(struct cursor *c, size_t *ret_len)
{
	uint8_t ch, next;

	while (cur_u8(c, &ch)) {
		if (ch == '\0')
			return INSHTTP_INVALID;	/* never in a request line or header */
		if (ch != '\n')
			continue;
		if (!cur_peek_u8(c, 0, &next))
			return INSHTTP_INCOMPLETE;
		if (next == '\n') {
			*ret_len = c->off + 1;
			return INSHTTP_COMPLETE;
		}
		if (next == '\r') {
			uint8_t lf;

			if (!cur_peek_u8(c, 1, &lf))
				return INSHTTP_INCOMPLETE;
			if (lf == '\n') {
				*ret_len = c->off + 2;
				return INSHTTP_COMPLETE;
			}
		}
	}
	return INSHTTP_INCOMPLETE;
}

enum inshttp_state
inshttp_scan(const uint8_t *buf, size_t len, size_t *ret_len)
{
	struct cursor c = cur_init(buf, len);
	enum inshttp_state st;
	size_t n = 0;

	st = inshttp_method(&c);
	if (st != INSHTTP_COMPLETE)
		return st;
	st = inshttp_find_end(&c, &n);
	if (st == INSHTTP_COMPLETE)
		*ret_len = n;
	return st;
}

/* Does the line at c start with name (lower case) followed by ':'? Consumes it if so. */
static bool
inshttp_field(struct cursor *c, const char *name)
{
	size_t i = 0;
	uint8_t ch;

	for (; name[i]; i++) {
		if (!cur_peek_u8(c, i, &ch))
			return false;
		if (ch >= 'A' && ch <= 'Z')
			ch = (uint8_t)(ch - 'A' + 'a');
		if (ch != (uint8_t)name[i])
			return false;
	}
	if (!cur_peek_u8(c, i, &ch) || ch != ':')
		return false;
	return cur_skip(c, i + 1);
}

/* Skip to just after the next LF (or the end). */
static void
inshttp_next_line(struct cursor *c)
{
	uint8_t ch;

	while (cur_u8(c, &ch) && ch != '\n')
		;
}

/* OWS DIGITS OWS CR? LF: the value, or -EINVAL. */
static int
inshttp_number(struct cursor *c, uint64_t *ret)
{
	uint64_t v = 0;
	size_t digits = 0;
	uint8_t ch;

	while (cur_peek_u8(c, 0, &ch) && (ch == ' ' || ch == '\t'))
		cur_skip(c, 1);
	while (cur_peek_u8(c, 0, &ch) && ch >= '0' && ch <= '9') {
		if (v > INSHTTP_CLEN_MAX)
			return -EINVAL;
		v = v * 10 + (uint64_t)(ch - '0');
		digits++;
		cur_skip(c, 1);
	}
	while (cur_peek_u8(c, 0, &ch) && (ch == ' ' || ch == '\t' || ch == '\r'))
		cur_skip(c, 1);
	if (!digits || v > INSHTTP_CLEN_MAX || !cur_u8(c, &ch) || ch != '\n')
		return -EINVAL;
	*ret = v;
	return 0;
}

int
inshttp_content_length(const uint8_t *buf, size_t len, uint64_t *ret)
{
	struct cursor c = cur_init(buf, len);
	uint64_t v = 0;
	bool found = false;

	inshttp_next_line(&c);	/* the request line */
	while (cur_left(&c) > 0) {
		if (inshttp_field(&c, "transfer-encoding"))
			return -ENOENT;
		if (inshttp_field(&c, "content-length")) {
			if (found || inshttp_number(&c, &v) < 0)
				return -ENOENT;
			found = true;
			continue;
		}
		inshttp_next_line(&c);
	}
	if (!found)
		return -ENOENT;
	*ret = v;
	return 0;
}
