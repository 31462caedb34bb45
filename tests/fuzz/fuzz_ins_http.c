/*
 * Fuzz the header-completeness scanner moat-ins runs on peeked bytes from
 * untrusted clients: never out of bounds, and a COMPLETE answer's length
 * always lies within the input; the Content-Length reader stays in bounds
 * and within its cap.
 */
#include <stdint.h>
#include <stddef.h>

#include "ins/inshttp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t n = 0;
	uint64_t clen = 0;

	if (inshttp_scan(data, size, &n) == INSHTTP_COMPLETE && (n == 0 || n > size))
		__builtin_trap();
	/* The Content-Length reader over the whole input, as over a header block. */
	if (inshttp_content_length(data, size, &clen) == 0 && clen > INSHTTP_CLEN_MAX)
		__builtin_trap();
	return 0;
}
