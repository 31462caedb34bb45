/* libFuzzer target: the REST connection filter's reader of request heads
 * (api/reqhead.c), on attacker-chosen bytes before any handler runs. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/api/reqhead.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A view must lie inside the buffer it was cut from. */
static void
check(const struct reqhead_str *s, const char *buf, size_t len)
{
	if (s->len > 0 && (s->p < buf || s->p + s->len > buf + len))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size ? size : 1);
	struct reqhead h;
	size_t end;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	end = reqhead_end(buf, size);
	if (end > size)
		abort();
	if (reqhead_parse(buf, end ? end : size, &h) == 0) {
		check(&h.path, buf, size);
		check(&h.host, buf, size);
		check(&h.authorization, buf, size);
		if (h.path.len == 0 || h.path.p[0] != '/')
			abort();
	}
	free(buf);
	return 0;
}
