/*
 * Fuzz moat-ins's sock_diag reply parser: netlink headers, inet_diag_msg and
 * attributes with arbitrary lengths must never be read out of bounds.
 */
#include <stddef.h>
#include <stdint.h>

#include "ins/diag.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
sink(void *arg, const struct diag_sock *s)
{
	*(uint64_t *)arg += s->bytes_received + s->local.port;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t acc = 0;
	size_t count = 0;
	struct diag_sock s;

	(void)diag_parse_batch(data, size, 1000, &count, sink, &acc);
	(void)diag_parse_msg(data, size, &s);
	return 0;
}
