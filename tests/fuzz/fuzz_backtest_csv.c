/* libFuzzer target: the backtest CSV reader (untrusted operator-supplied
 * files), fed in two chunks split at a newline, then the reports. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "engine/backtest/backtest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct backtest *bt;
	struct backtest_error err;
	struct dparams p;
	const uint8_t *nl;
	size_t first;
	FILE *devnull;

	dparams_default(&p);
	p.rate.warmup_s = 1;
	p.rate.learn_s = 2;
	if (backtest_new(&p, &bt) < 0)
		return 0;
	nl = size > 0 ? memchr(data, '\n', size / 2 + 1) : NULL;
	first = nl != NULL ? (size_t)(nl - data) + 1 : 0;
	if (backtest_csv(bt, (const char *)data, first, &err) == 0 &&
	    backtest_csv(bt, (const char *)data + first, size - first, &err) == 0)
		(void)backtest_csv_done(bt, &err);
	backtest_finish(bt);
	devnull = fopen("/dev/null", "we");
	if (devnull != NULL) {
		backtest_report_text(bt, devnull);
		backtest_report_json(bt, devnull);
		fclose(devnull);
	}
	backtest_free(bt);
	return 0;
}
