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
"    end, type, peak rates and reason. No server is contacted; --url and\n"
"    --token are ignored. See docs/detection.md (Backtest).\n"
"\n"
"OPTIONS\n"
"    --json          the report as JSON\n"
"    --preset NAME   the parameters' base: moat (default) or defense4all\n"
"    --set KEY=VALUE a detection parameter (rate.learn=1h, quiet=45s,\n"
"                    limits.udp.pps=1000, ...), repeatable\n"
"    --pcap          FILE is a capture; --po names the protected objects\n"
"\n"
"ENVIRONMENT\n"
"    MOATD           path of the moatd program (default: next to moat, then\n"
"                    ../engine/ in a build tree, then $PATH).\n"
"\n"
"EXIT STATUS\n"
"    0 done, 1 a bad input file (the line is named), 2 usage; 126/127 when\n"
"    moatd cannot be started.\n"
"\n"
"EXAMPLES\n"
"    moat backtest --set rate.enter_ratio=1.3 week.csv\n"
"    moat backtest --pcap --po web=192.0.2.0/24@53,80 --set limits.udp.pps=1000 day.pcap\n";

/* moatd: $MOATD, next to this program, ../engine/ (build tree), else $PATH. */
static void
cmd_backtest_find_moatd(char *buf, size_t len)
{
	const char *env = getenv("MOATD");
	char self[PATH_MAX];
	ssize_t n;
	char *slash;

	if (env && *env) {
		snprintf(buf, len, "%s", env);
		return;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			if ((size_t)snprintf(buf, len, "%s/moatd", self) < len && access(buf, X_OK) == 0)
				return;
			if ((size_t)snprintf(buf, len, "%s/../engine/moatd", self) < len &&
			    access(buf, X_OK) == 0)
				return;
		}
	}
	snprintf(buf, len, "moatd");
}

static int
cmd_backtest_run(struct cli *cli, int argc, char **argv)
{
	char moatd[PATH_MAX];
	char **av;

	if (argc < 2)
		return cli_usage_error(&cmd_backtest, "missing FILE (or - for standard input)");
	/* moatd --backtest parses and checks the options itself; argv[0] is
	 * "backtest", replaced by the program and "--backtest". */
	av = calloc((size_t)argc + 2, sizeof(*av));
	if (!av) {
		fprintf(stderr, "moat backtest: out of memory\n");
		return CLI_EXIT_REFUSED;
	}
	cmd_backtest_find_moatd(moatd, sizeof(moatd));
	av[0] = moatd;
	av[1] = (char *)"--backtest";
	for (int i = 1; i < argc; i++)
		av[i + 1] = argv[i];
	av[argc + 1] = NULL;
	fflush(NULL);
	execvp(av[0], av);
	fprintf(stderr, "moat backtest: cannot start %s: %s\n", av[0], strerror(errno));
	free(av);
	return errno == ENOENT ? 127 : 126;
}

const struct cli_cmd cmd_backtest = {
	.name = "backtest",
	.run = cmd_backtest_run,
	.summary = "replay recorded traffic through the detection, offline (moatd --backtest)",
	.help = cmd_backtest_text,
};
