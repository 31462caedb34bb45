/*
 * detect: the registry of detectors and the names of protocol classes and
 * directions shared by detectors, decisions and reports.
 */
#include "engine/detect/registry.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/cursor.h"

const struct detect_ops *const detect_registry[DETECT_NREGISTERED + 1] = {
	&detect_rate_ops,
	&detect_threshold_ops,
	NULL,
};

static const char *const detect_proto_names[PROTO__COUNT] = { "tcp", "udp", "icmp", "other" };
static const char *const detect_dir_names[DIR__COUNT] = { "in", "out" };

const struct detect_ops *
detect_find(const char *name)
{
	for (size_t i = 0; detect_registry[i] != NULL; i++)
		if (strcmp(detect_registry[i]->name, name) == 0)
			return detect_registry[i];
	return NULL;
}

const char *
detect_proto_name(unsigned proto)
{
	return proto < PROTO__COUNT ? detect_proto_names[proto] : "?";
}

int
detect_proto_parse(const char *s, uint8_t *ret)
{
	for (unsigned i = 0; i < PROTO__COUNT; i++)
		if (strcmp(s, detect_proto_names[i]) == 0) {
			*ret = (uint8_t)i;
			return 0;
		}
	return -EINVAL;
}

const char *
detect_dir_name(unsigned dir)
{
	return dir < DIR__COUNT ? detect_dir_names[dir] : "?";
}

int
detect_dir_parse(const char *s, uint8_t *ret)
{
	for (unsigned i = 0; i < DIR__COUNT; i++)
		if (strcmp(s, detect_dir_names[i]) == 0) {
			*ret = (uint8_t)i;
			return 0;
		}
	return -EINVAL;
}

static void
detect_buf_grow(struct detect_buf *b, size_t n)
{
	size_t cap = b->cap ? b->cap : 256;
	uint8_t *p;

	if (b->failed)
		return;
	if (n > SIZE_MAX / 2 - b->len) {
		b->failed = true;
		return;
	}
	while (cap < b->len + n)
		cap *= 2;
	if (cap == b->cap)
		return;
	p = realloc(b->p, cap);
	if (p == NULL) {
		b->failed = true;
		return;
	}
	b->p = p;
	b->cap = cap;
}

void
detect_buf_bytes(struct detect_buf *b, const void *p, size_t n)
{
	detect_buf_grow(b, n);
	if (b->failed || n == 0)
		return;
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

void
detect_buf_u8(struct detect_buf *b, uint8_t v)
{
	detect_buf_bytes(b, &v, 1);
}

void
detect_buf_u16(struct detect_buf *b, uint16_t v)
{
	uint8_t q[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	detect_buf_bytes(b, q, sizeof(q));
}

void
detect_buf_u32(struct detect_buf *b, uint32_t v)
{
	uint8_t q[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };

	detect_buf_bytes(b, q, sizeof(q));
}

void
detect_buf_u64(struct detect_buf *b, uint64_t v)
{
	detect_buf_u32(b, (uint32_t)(v >> 32));
	detect_buf_u32(b, (uint32_t)v);
}

void
detect_buf_f64(struct detect_buf *b, double v)
{
	uint64_t u;

	memcpy(&u, &v, sizeof(u));
	detect_buf_u64(b, u);
}

int
detect_buf_take(struct detect_buf *b, uint8_t **ret, size_t *ret_len)
{
	if (b->failed) {
		free(b->p);
		*b = (struct detect_buf){ 0 };
		return -ENOMEM;
	}
	*ret = b->p;
	*ret_len = b->len;
	*b = (struct detect_buf){ 0 };
	return 0;
}

bool
detect_cur_f64(struct cursor *c, double *ret)
{
	uint64_t u;
	double d;

	if (!cur_be64(c, &u))
		return false;
	memcpy(&d, &u, sizeof(d));
	if (!isfinite(d))
		return false;
	*ret = d;
	return true;
}
