/* libFuzzer target: the saved state blobs read back from the store (rate
 * detector and decision point). A loaded blob must either be refused or
 * produce a state that saves and keeps working. The first byte picks the
 * loader. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "engine/detect/decision.h"
#include "engine/detect/registry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct dparams fuzz_params;

static const struct dparams *
params(void *ctx, uint32_t po_id)
{
	return &fuzz_params;
}

static void
emit(void *ctx, const struct detection *d)
{
	decision_detect(ctx, d);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct decision_hooks hooks = { .params = params };
	struct decision *dp;
	struct detect_env env = { .params = params, .emit = emit };
	void *st;
	uint8_t *blob;
	size_t len;
	struct reading r = { .time_ns = UINT64_C(1700000000000000000), .interval_ns = 1000000000,
		.po_id = 1, .packets = 100, .bytes = 10000 };

	if (size < 1)
		return 0;
	dparams_default(&fuzz_params);
	if (decision_new(&hooks, &dp) < 0)
		return 0;
	env.ctx = dp;
	if (detect_rate_ops.new(&env, &st) < 0) {
		decision_free(dp);
		return 0;
	}
	if (data[0] & 1) {
		if (decision_load(dp, data + 1, size - 1) == 0 && decision_save(dp, &blob, &len) == 0)
			free(blob);
	} else {
		if (detect_rate_ops.load(st, data + 1, size - 1) == 0 &&
		    detect_rate_ops.save(st, &blob, &len) == 0)
			free(blob);
	}
	for (int i = 0; i < 3; i++) {
		detect_rate_ops.feed(st, &r);
		decision_feed(dp, &r);
		decision_tick(dp, r.time_ns);
		r.time_ns += 1000000000;
		r.packets *= 10;
	}
	detect_rate_ops.free(st);
	decision_free(dp);
	return 0;
}
