/* libFuzzer target: moatd's configuration schema (settings.c on top of the
 * YAML reader) fed arbitrary bytes — sections, durations, listen addresses
 * and PO declarations with their error-position mapping. */
#include <stddef.h>
#include <stdint.h>

#include "engine/core/settings.h"
#include "engine/core/modules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cfg_error err;
	struct settings *s = NULL;

	if (settings_load_buffer("fuzz.yaml", (const char *)data, size, engine_modules, 0, &s, &err) == 0)
		settings_free(s);
	return 0;
}
