/*
 * Fuzz the broker's request parser: any bytes, with or without a descriptor,
 * must decode or be rejected without reading out of bounds; whatever decodes
 * must re-encode to the same bytes.
 */
#include <stdint.h>
#include <stddef.h>
#include <string.h>

#include "proto/insproto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ins_msg m;
	uint8_t out[INS_MSG_MAX];

	for (size_t nfds = 0; nfds <= 1; nfds++) {
		if (insproto_decode(data, size, nfds, &m) == 0) {
			int n = insproto_encode(&m, out, sizeof(out));

			if (n < 0 || (size_t)n != size || memcmp(out, data, size) != 0)
				__builtin_trap();
		}
	}
	return 0;
}
