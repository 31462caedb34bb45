/* libFuzzer target: the body of POST /api/v1/mitigations, as
 * api/mitigations.c checks it. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "engine/api/mitigations.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t attack = 0;
	int r = api_mitigations_check((const char *)data, size, &attack);

	if (r != 0 && r != -EINVAL)
		abort();
	if (r == 0 && attack == 0)
		abort();	/* attack ids are positive */
	return 0;
}
