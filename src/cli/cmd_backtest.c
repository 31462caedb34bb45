/*
 * moat backtest [--json] [--preset NAME] [--set KEY=VALUE ...]
 *               [--pcap --po NAME=PREFIX[,PREFIX...][@PORT,...] ...] FILE|-
 *
 * Replays recorded traffic through moatd's detection, locally and offline.
 * The work is moatd's (`moatd --backtest`): this command finds the moatd
 * program and execs it, so the CLI links none of the engine's code and
 * moatd's exit status is this command's.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cmd.h"
#include "cli/progpath.h"

#ifndef MOAT_SBINDIR
#define MOAT_SBINDIR "/usr/local/sbin"
#endif

static const char cmd_backtest_text[] =
"NAME\n"
"    moat backtest - replay recorded traffic through the detection, offline\n"
"\n"
"SYNOPSIS\n"
"    moat backtest [--json] [--preset moat|defense4all] [--set KEY=VALUE ...]\n"
"                  FILE|-\n"
"    moat backtest --pcap --po NAME=PREFIX[,PREFIX...][@PORT,...] [--po ...]\n"
"                  [options] FILE\n"
"\n"
"DESCRIPTION\n"
"    Runs moatd's backtest (moatd --backtest) on this machine: a CSV\n"
"    counter series (time,po,protocol,direction,bytes,packets and optional\n"
"    port,flows,syns,frags columns) or, with --pcap, a pcap or pcapng file\n"
"    counted by the collectors' own decoder on packet time, goes through\n"
"    the same detectors and decision point as moatd, and the attacks that\n"
"    would have been declared are reported with their start, declaration,\n"
"    end, type, peak rates and reason. No server is contacted; --api and\n"
"    --state are ignored. See docs/detection.md (Backtest).\n"
"\n"
"OPTIONS\n"
"    --json          the report as JSON\n"
"    --preset NAME   the parameters' base: moat (default) or defense4all\n"
"    --set KEY=VALUE a detection parameter (rate.learn=1h, quiet=45s,\n"
"                    limits.udp.pps=1000, ...), repeatable\n"
"    --pcap          FILE is a capture; --po names the protected objects\n"
"\n"
"ENVIRONMENT\n"
"    MOATD           path of the moatd program. Default: next to moat, then\n"
"                    ../sbin/ (installed: moat in bin/, moatd in sbin/), then\n"
"                    ../engine/ (a build tree), then the configured sbindir\n"
"                    (" MOAT_SBINDIR "), then $PATH.\n"
"\n"
"EXIT STATUS\n"
"    0 done, 1 a bad input file (the line is named), 2 usage; 126/127 when\n"
"    moatd cannot be started (127: not found).\n"
"\n"
"EXAMPLES\n"
"    moat backtest --set rate.enter_ratio=1.3 week.csv\n"
"    moat backtest --json --set rate.learn=1h week.csv\n"
"    moat backtest --pcap --po web=192.0.2.0/24@53,80 --set limits.udp.pps=1000 day.pcap\n";

static const char *const cmd_backtest_rel[] = { "moatd", "../sbin/moatd", "../engine/moatd" };
static const struct progpath cmd_backtest_moatd = {
	.name = "moatd", .env = "MOATD", .rel = cmd_backtest_rel,
	.nrel = sizeof(cmd_backtest_rel) / sizeof(cmd_backtest_rel[0]), .installed = MOAT_SBINDIR,
};

static int
cmd_backtest_run(struct cli *cli, int argc, char **argv)
{
	char moatd[PATH_MAX];
	char **av;
	size_t n = 0;
	int r;

	if (argc < 2)
		return cli_usage_error(&cmd_backtest, "missing FILE (or - for standard input)");
	/* moatd --backtest parses and checks the options itself. The dispatcher
	 * took --json out of argv (cli->json), so it is passed back; argv[0]
	 * ("backtest") is replaced by the program and "--backtest". */
	av = calloc((size_t)argc + 3, sizeof(*av));
	if (!av) {
		fprintf(stderr, "moat backtest: out of memory\n");
		return CLI_EXIT_REFUSED;
	}
	progpath_find(&cmd_backtest_moatd, moatd, sizeof(moatd));
	av[n++] = moatd;
	av[n++] = (char *)"--backtest";
	if (cli->json)
		av[n++] = (char *)"--json";
	for (int i = 1; i < argc; i++)
		av[n++] = argv[i];
	av[n] = NULL;
	r = progpath_exec("moat backtest", &cmd_backtest_moatd, av);
	free(av);
	return r;
}

const struct cli_cmd cmd_backtest = {
	.name = "backtest",
	.run = cmd_backtest_run,
	.summary = "replay recorded traffic through the detection, offline (moatd --backtest)",
	.help = cmd_backtest_text,
};
