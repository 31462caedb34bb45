/*
 * cursor: the bounds-checked reader every wire-format parser uses.
 *
 * A cursor is a view of [p, p + len) with a read offset. Every read returns
 * false, and consumes nothing, when the input is too short; lengths read from
 * the wire cut a sub-cursor with cur_sub(), so a lying length can never move a
 * read past the end of its enclosing structure. All multi-byte reads are
 * network byte order unless named _le. Nothing here allocates or logs.
 *
 * The functions are static inline because they sit on the per-record path of
 * every collector; they compile to a compare and a load.
 */
#ifndef MOAT_CURSOR_H
#define MOAT_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct cursor {
	const uint8_t *p;
	size_t len;
	size_t off;
};

static inline struct cursor
cur_init(const void *p, size_t len)
{
	return (struct cursor){ .p = (const uint8_t *)p, .len = len, .off = 0 };
}

static inline size_t
cur_left(const struct cursor *c)
{
	return c->len - c->off;
}

static inline bool
cur_empty(const struct cursor *c)
{
	return c->off >= c->len;
}

/* Pointer to the unread bytes; valid for cur_left() bytes. */
static inline const uint8_t *
cur_ptr(const struct cursor *c)
{
	return c->p + c->off;
}

static inline bool
cur_skip(struct cursor *c, size_t n)
{
	if (n > cur_left(c))
		return false;
	c->off += n;
	return true;
}

/* The next n bytes, consumed; NULL (nothing consumed) when fewer are left.
 * The fixed-width reads below are this plus their byte order. */
static inline const uint8_t *
cur_take(struct cursor *c, size_t n)
{
	const uint8_t *q;

	if (n > cur_left(c))
		return NULL;
	q = c->p + c->off;
	c->off += n;
	return q;
}

static inline bool
cur_u8(struct cursor *c, uint8_t *ret)
{
	if (cur_left(c) < 1)
		return false;
	*ret = c->p[c->off++];
	return true;
}

static inline bool
cur_be16(struct cursor *c, uint16_t *ret)
{
	const uint8_t *q = cur_take(c, 2);

	if (q == NULL)
		return false;
	*ret = (uint16_t)((unsigned)q[0] << 8 | q[1]);
	return true;
}

static inline bool
cur_be32(struct cursor *c, uint32_t *ret)
{
	const uint8_t *q = cur_take(c, 4);

	if (q == NULL)
		return false;
	*ret = (uint32_t)q[0] << 24 | (uint32_t)q[1] << 16 | (uint32_t)q[2] << 8 | q[3];
	return true;
}

static inline bool
cur_be64(struct cursor *c, uint64_t *ret)
{
	uint32_t hi, lo;
	size_t save = c->off;

	if (!cur_be32(c, &hi) || !cur_be32(c, &lo)) {
		c->off = save;
		return false;
	}
	*ret = (uint64_t)hi << 32 | lo;
	return true;
}

/* Little-endian: the byte order of SMB, NTLM and MySQL's wire formats. */
static inline bool
cur_le16(struct cursor *c, uint16_t *ret)
{
	const uint8_t *q = cur_take(c, 2);

	if (q == NULL)
		return false;
	*ret = (uint16_t)(q[0] | (unsigned)q[1] << 8);
	return true;
}

static inline bool
cur_le32(struct cursor *c, uint32_t *ret)
{
	const uint8_t *q = cur_take(c, 4);

	if (q == NULL)
		return false;
	*ret = (uint32_t)q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16 | (uint32_t)q[3] << 24;
	return true;
}

/*
 * Read an unsigned big-endian integer of 1..8 bytes (NetFlow v9/IPFIX fields
 * have declared widths). Fails for n == 0 or n > 8.
 */
static inline bool
cur_uint_n(struct cursor *c, size_t n, uint64_t *ret)
{
	uint64_t v = 0;

	if (n == 0 || n > 8 || cur_left(c) < n)
		return false;
	for (size_t i = 0; i < n; i++)
		v = v << 8 | c->p[c->off + i];
	c->off += n;
	*ret = v;
	return true;
}

/* Copy n bytes out. */
static inline bool
cur_bytes(struct cursor *c, void *dst, size_t n)
{
	if (n > cur_left(c))
		return false;
	memcpy(dst, c->p + c->off, n);
	c->off += n;
	return true;
}

/* Peek at the byte at offset `at` past the read position without consuming. */
static inline bool
cur_peek_u8(const struct cursor *c, size_t at, uint8_t *ret)
{
	if (at >= cur_left(c))
		return false;
	*ret = c->p[c->off + at];
	return true;
}

/*
 * Cut the next n bytes into *sub and consume them from c. This is how every
 * length field from the wire is honoured: the sub-cursor cannot read past n,
 * and n cannot exceed what c has left.
 */
static inline bool
cur_sub(struct cursor *c, size_t n, struct cursor *sub)
{
	if (n > cur_left(c))
		return false;
	*sub = cur_init(c->p + c->off, n);
	c->off += n;
	return true;
}

/* The rest of c as a sub-cursor (consumes it all). */
static inline struct cursor
cur_rest(struct cursor *c)
{
	struct cursor sub = cur_init(c->p + c->off, cur_left(c));

	c->off = c->len;
	return sub;
}

#endif
