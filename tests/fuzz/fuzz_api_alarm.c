/* libFuzzer target: the body of POST /api/v1/alarms (moat-chaff's reports,
 * but anyone holding the token can send one), as api/alarms.c checks it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/api/alarms.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *bad = api_alarms_check((const char *)data, size);

	/* The field named is one of the report's own names (it reaches the
	 * reply), never attacker text. */
	if (bad != NULL && strlen(bad) > 8)
		abort();
	return 0;
}
