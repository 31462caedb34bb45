/*
 * Fuzz the header-completeness scanner moat-ins runs on peeked bytes from
 * untrusted clients: never out of bounds, and a COMPLETE answer's length
 * always lies within the input.
 */
#include <stdint.h>
#include <stddef.h>

#include "ins/inshttp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t n = 0;

	if (inshttp_scan(data, size, &n) == INSHTTP_COMPLETE && (n == 0 || n > size))
		__builtin_trap();
	return 0;
}
