/*
 * inshttp: header-completeness scanner. See inshttp.h.
 */
#include "ins/inshttp.h"

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
