/*
 * wbuf: the bounds-checked writer every wire-format encoder uses; the mirror
 * of cursor.h.
 *
 * A wbuf is a view of a caller-owned buffer [p, p + cap) with a write offset
 * and a sticky overflow flag. A write that does not fit writes nothing and
 * sets the flag; once set, every later write fails too, so an encoder can
 * write a whole message unchecked and test wb_ok() once at the end, and a
 * message that did not fit never has a hole in the middle. All multi-byte
 * writes are network byte order unless named _le. Nothing here allocates or
 * logs.
 *
 * Lengths that are only known once their contents are written (IPFIX set
 * lengths, TLV lengths) are reserved with wb_reserve() and filled in with the
 * wb_patch_*() stores, which accept the NULL a failed reservation returns.
 *
 * Static inline because encoders sit on per-record paths, like the cursor.
 */
#ifndef MOAT_WBUF_H
#define MOAT_WBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct wbuf {
	uint8_t *p;
	size_t cap;
	size_t len;
	bool overflow;
};

static inline struct wbuf
wb_init(void *p, size_t cap)
{
	return (struct wbuf){ .p = (uint8_t *)p, .cap = cap, .len = 0, .overflow = false };
}

/* Bytes written so far (the encoded length when wb_ok()). */
static inline size_t
wb_len(const struct wbuf *w)
{
	return w->len;
}

/* Room left; 0 once a write has overflowed. */
static inline size_t
wb_left(const struct wbuf *w)
{
	return w->overflow ? 0 : w->cap - w->len;
}

/* False once any write did not fit. */
static inline bool
wb_ok(const struct wbuf *w)
{
	return !w->overflow;
}

/*
 * Claim n bytes at the write position and return a pointer to them for the
 * caller to fill (now or later); their contents are left as they were. NULL,
 * with the overflow flag set, when they do not fit. n == 0 returns the
 * current position without claiming anything.
 */
static inline uint8_t *
wb_reserve(struct wbuf *w, size_t n)
{
	uint8_t *q;

	if (w->overflow || n > w->cap - w->len) {
		w->overflow = true;
		return NULL;
	}
	q = w->p + w->len;
	w->len += n;
	return q;
}

static inline bool
wb_bytes(struct wbuf *w, const void *src, size_t n)
{
	uint8_t *q = wb_reserve(w, n);

	if (q == NULL)
		return false;
	if (n > 0)
		memcpy(q, src, n);
	return true;
}

/* n zero bytes (padding, reserved fields). */
static inline bool
wb_zero(struct wbuf *w, size_t n)
{
	uint8_t *q = wb_reserve(w, n);

	if (q == NULL)
		return false;
	if (n > 0)
		memset(q, 0, n);
	return true;
}

/* --- stores into reserved space; a NULL q (failed reservation) is a no-op --- */

static inline void
wb_patch_u8(uint8_t *q, uint8_t v)
{
	if (q != NULL)
		q[0] = v;
}

static inline void
wb_patch_u16(uint8_t *q, uint16_t v)
{
	if (q == NULL)
		return;
	q[0] = (uint8_t)(v >> 8);
	q[1] = (uint8_t)v;
}

static inline void
wb_patch_u32(uint8_t *q, uint32_t v)
{
	if (q == NULL)
		return;
	q[0] = (uint8_t)(v >> 24);
	q[1] = (uint8_t)(v >> 16);
	q[2] = (uint8_t)(v >> 8);
	q[3] = (uint8_t)v;
}

static inline void
wb_patch_u64(uint8_t *q, uint64_t v)
{
	if (q == NULL)
		return;
	wb_patch_u32(q, (uint32_t)(v >> 32));
	wb_patch_u32(q + 4, (uint32_t)v);
}

static inline void
wb_patch_u16_le(uint8_t *q, uint16_t v)
{
	if (q == NULL)
		return;
	q[0] = (uint8_t)v;
	q[1] = (uint8_t)(v >> 8);
}

static inline void
wb_patch_u32_le(uint8_t *q, uint32_t v)
{
	if (q == NULL)
		return;
	q[0] = (uint8_t)v;
	q[1] = (uint8_t)(v >> 8);
	q[2] = (uint8_t)(v >> 16);
	q[3] = (uint8_t)(v >> 24);
}

static inline void
wb_patch_u64_le(uint8_t *q, uint64_t v)
{
	if (q == NULL)
		return;
	wb_patch_u32_le(q, (uint32_t)v);
	wb_patch_u32_le(q + 4, (uint32_t)(v >> 32));
}

/* --- integers at the write position --- */

static inline bool
wb_u8(struct wbuf *w, uint8_t v)
{
	uint8_t *q = wb_reserve(w, 1);

	wb_patch_u8(q, v);
	return q != NULL;
}

static inline bool
wb_u16(struct wbuf *w, uint16_t v)
{
	uint8_t *q = wb_reserve(w, 2);

	wb_patch_u16(q, v);
	return q != NULL;
}

static inline bool
wb_u32(struct wbuf *w, uint32_t v)
{
	uint8_t *q = wb_reserve(w, 4);

	wb_patch_u32(q, v);
	return q != NULL;
}

static inline bool
wb_u64(struct wbuf *w, uint64_t v)
{
	uint8_t *q = wb_reserve(w, 8);

	wb_patch_u64(q, v);
	return q != NULL;
}

static inline bool
wb_u16_le(struct wbuf *w, uint16_t v)
{
	uint8_t *q = wb_reserve(w, 2);

	wb_patch_u16_le(q, v);
	return q != NULL;
}

static inline bool
wb_u32_le(struct wbuf *w, uint32_t v)
{
	uint8_t *q = wb_reserve(w, 4);

	wb_patch_u32_le(q, v);
	return q != NULL;
}

static inline bool
wb_u64_le(struct wbuf *w, uint64_t v)
{
	uint8_t *q = wb_reserve(w, 8);

	wb_patch_u64_le(q, v);
	return q != NULL;
}

/*
 * An unsigned big-endian integer of 1..8 bytes (the declared field widths of
 * NetFlow v9/IPFIX; the mirror of cur_uint_n). The low n bytes of v are
 * written; n == 0 or n > 8 fails and sets the overflow flag.
 */
static inline bool
wb_uint_n(struct wbuf *w, uint64_t v, size_t n)
{
	uint8_t *q;

	if (n == 0 || n > 8) {
		w->overflow = true;
		return false;
	}
	q = wb_reserve(w, n);
	if (q == NULL)
		return false;
	for (size_t i = 0; i < n; i++)
		q[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
	return true;
}

#endif
