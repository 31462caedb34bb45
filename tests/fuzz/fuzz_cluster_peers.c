/* libFuzzer target: another engine's saved state as the REST API of the
 * deployment reads it from the shared store (engine/cluster/peers.c): the
 * decision blob and the mitigation table. Nothing may read out of bounds;
 * what is listed carries the instance and, for a mitigation, a positive id
 * and a PO name. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/cluster/peers.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *out = json_array(), *o;
	size_t i;
	int n;

	if (out == NULL)
		return 0;
	(void)clpeers_decode_attacks(data, size, "x", out);
	json_array_clear(out);
	n = clpeers_decode_mitigations(data, size, "x", out);
	if (n >= 0 && (size_t)n != json_array_size(out))
		abort();
	json_array_foreach(out, i, o) {
		if (json_integer_value(json_object_get(o, "id")) <= 0 ||
		    !json_is_string(json_object_get(json_object_get(o, "request"), "po")) ||
		    strcmp(json_string_value(json_object_get(o, "instance")), "x") != 0)
			abort();
	}
	json_decref(out);
	return 0;
}
