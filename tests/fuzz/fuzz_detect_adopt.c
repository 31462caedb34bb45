/* libFuzzer target: a cluster take-over's reading of another instance's
 * saved learned state (untrusted: from the shared store). The first byte
 * picks the parser: even, the rate detector's adopt op on a state blob
 * (an adoption refused leaves the adopter as it was; one accepted hands
 * back a rest that loads, and the adopter saves and keeps working); odd,
 * the PO names map (detection_adopt_map()). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/detect/module.h"
#include "engine/detect/registry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct dparams fuzz_params;

static const struct dparams *
params(void *ctx, uint32_t po_id)
{
	(void)ctx;
	(void)po_id;
	return &fuzz_params;
}

static void
emit(void *ctx, const struct detection *d)
{
	(void)ctx;
	(void)d;
}

/* Names starting with 'p' are this engine's, as id (length). */
static bool
keep(void *ctx, const char *po, uint32_t *ret_po_id)
{
	(void)ctx;
	*ret_po_id = (uint32_t)strlen(po);
	return po[0] == 'p';
}

static void
fuzz_rate(const uint8_t *data, size_t size)
{
	static const uint32_t map[8] = { DETECT_PO_GONE, 11, DETECT_PO_GONE, 2, DETECT_PO_GONE,
		DETECT_PO_GONE, DETECT_PO_GONE, 3 };
	struct detect_env env = { .params = params, .emit = emit };
	struct reading r = { .time_ns = UINT64_C(1700000000000000000), .interval_ns = 1000000000,
		.po_id = 3, .packets = 100, .bytes = 10000 };
	void *st, *st2;
	uint8_t *rest, *blob;
	size_t rest_len, len;
	int n;

	if (detect_rate_ops.new(&env, &st) < 0)
		return;
	if (detect_rate_ops.new(&env, &st2) < 0) {
		detect_rate_ops.free(st);
		return;
	}
	for (int i = 0; i < 3; i++) {
		detect_rate_ops.feed(st, &r);
		r.time_ns += 1000000000;
		r.po_id = 11 - r.po_id;
	}
	n = detect_rate_ops.adopt(st, data, size, map, 8, &rest, &rest_len);
	if (n > 0) {
		if (detect_rate_ops.load(st2, rest, rest_len) != 0)
			abort();	/* a rest written back must load */
		free(rest);
	} else if (rest != NULL) {
		abort();
	}
	if (detect_rate_ops.save(st, &blob, &len) == 0)
		free(blob);
	for (int i = 0; i < 3; i++) {
		r.packets *= 10;
		detect_rate_ops.feed(st, &r);
		r.time_ns += 1000000000;
	}
	detect_rate_ops.free(st);
	detect_rate_ops.free(st2);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t *map, n;

	if (size < 1)
		return 0;
	dparams_default(&fuzz_params);
	if (data[0] & 1) {
		if (detection_adopt_map(data + 1, size - 1, keep, NULL, &map, &n) == 0)
			free(map);
	} else {
		fuzz_rate(data + 1, size - 1);
	}
	return 0;
}
