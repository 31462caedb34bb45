/*
 * moat-backtest: the backtest path as a stand-alone program for the
 * standalone detection build; moatd --backtest runs the same backtest_cli().
 *
 *   moat-backtest [--json] [--preset moat|defense4all] [--set KEY=VALUE ...] FILE|-
 */
#include "common/log.h"
#include "engine/backtest.h"

int
main(int argc, char **argv)
{
	log_init("moat-backtest", LOG_DEST_STDERR, LOG_LVL_INFO, false);
	return backtest_cli(argc, argv);
}
