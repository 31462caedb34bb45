/*
 * moat run [--isolate] [--user USER[:GROUP]] [--policy FILE] [--hold MODE]
 *          [--ipfix ADDR:PORT] [--no-sandbox] -- CMD [ARGS...]
 *
 * Runs CMD under the isolated network stack. The work is moat-ins's: this
 * command finds the moat-ins program and execs its run mode, so the CLI
 * links none of moat-ins's code (programs never depend on each other) and
 * CMD's exit status is moat run's exit status.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cmd.h"
#include "cli/progpath.h"

static const char cmd_run_text[] =
"NAME\n"
"    moat run - run a program under the isolated network stack (moat-ins)\n"
"\n"
"SYNOPSIS\n"
"    moat run [--isolate] [--user USER[:GROUP]] [--policy FILE]\n"
"             [--hold none|data|http]\n"
"             [--ipfix ADDR:PORT] [--no-sandbox] -- CMD [ARGS...]\n"
"\n"
"DESCRIPTION\n"
"    Starts a private moat-ins broker and runs CMD with libmoat-shim.so\n"
"    preloaded. CMD's AF_INET/AF_INET6 sockets are created by moat-ins in\n"
"    this network namespace and passed to CMD as real kernel descriptors;\n"
"    its listeners are owned by moat-ins, which can hold each connection\n"
"    until its first bytes or complete HTTP headers arrive, drop slow\n"
"    clients and deny their sources. Name resolution is done by moat-ins.\n"
"    moat run waits for CMD and exits with its status; signals sent to\n"
"    moat run are passed on to CMD. A daemon that forks into the\n"
"    background must be run in the foreground (e.g. nginx 'daemon off;').\n"
"\n"
"OPTIONS\n"
"    --isolate       run CMD in a new network namespace whose only\n"
"                    interface is a loopback left down: anything that\n"
"                    bypasses the shim (static binaries, raw syscalls) has\n"
"                    no network at all. Needs root (CAP_SYS_ADMIN).\n"
"    --user USER[:GROUP]\n"
"                    run CMD as USER (and GROUP, else USER's group, with\n"
"                    USER's supplementary groups); its sockets are brokered\n"
"                    like root's (ports below 1024 need the policy's\n"
"                    bind.privileged_users).\n"
"    --policy FILE   YAML policy (bind ports, connect allow-list, hold mode,\n"
"                    per-source caps, shedding); see docs/ins.md.\n"
"    --hold MODE     none (default), data (first bytes) or http (headers).\n"
"    --ipfix ADDR:PORT\n"
"                    send per-connection telemetry as IPFIX to moatd's\n"
"                    collector (e.g. 127.0.0.1:4739, [::1]:4739), where\n"
"                    'moat connections' lists it and slow clients become\n"
"                    slow-connection attacks.\n"
"    --no-sandbox    run moat-ins without its seccomp filter and privilege\n"
"                    drop (debugging only).\n"
"\n"
"ENVIRONMENT\n"
"    MOAT_INS        path of the moat-ins program (default: next to moat,\n"
"                    then ../ins/ in a build tree, then $PATH).\n"
"    MOAT_SHIM       path of libmoat-shim.so (default: next to moat-ins).\n"
"\n"
"EXIT STATUS\n"
"    CMD's exit status (128+N if it died of signal N); 2 usage; 126/127 when\n"
"    CMD or moat-ins cannot be started.\n"
"\n"
"EXAMPLES\n"
"    moat run --isolate --hold http -- nginx -g 'daemon off;'\n"
"    moat run --isolate -- curl -s http://www.example.test/\n";

/* moat-ins: installed beside moat (bindir); ../ins/ in a build tree. */
static const char *const cmd_run_rel[] = { "moat-ins", "../ins/moat-ins" };
static const struct progpath cmd_run_ins = {
	.name = "moat-ins", .env = "MOAT_INS", .rel = cmd_run_rel,
	.nrel = sizeof(cmd_run_rel) / sizeof(cmd_run_rel[0]),
};

static int
cmd_run_run(struct cli *cli, int argc, char **argv)
{
	enum { OPT_ISOLATE = 256, OPT_POLICY, OPT_HOLD, OPT_IPFIX, OPT_NO_SANDBOX, OPT_USER };
	static const struct option opts[] = {
		{ "isolate", no_argument, NULL, OPT_ISOLATE },
		{ "policy", required_argument, NULL, OPT_POLICY },
		{ "hold", required_argument, NULL, OPT_HOLD },
		{ "ipfix", required_argument, NULL, OPT_IPFIX },
		{ "no-sandbox", no_argument, NULL, OPT_NO_SANDBOX },
		{ "user", required_argument, NULL, OPT_USER },
		{ NULL, 0, NULL, 0 },
	};
	char ins[PATH_MAX];
	char **av;
	size_t n = 0;
	int c;

	/* Room for moat-ins, the options and "--", then CMD and its arguments. */
	av = calloc((size_t)argc + 13, sizeof(*av));
	if (!av) {
		fprintf(stderr, "moat run: out of memory\n");
		return CLI_EXIT_REFUSED;
	}
	progpath_find(&cmd_run_ins, ins, sizeof(ins));
	av[n++] = ins;
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (c) {
		case OPT_ISOLATE:
			av[n++] = (char *)"--isolate";
			break;
		case OPT_POLICY:
			av[n++] = (char *)"--policy";
			av[n++] = optarg;
			break;
		case OPT_HOLD:
			if (strcmp(optarg, "none") && strcmp(optarg, "data") && strcmp(optarg, "http")) {
				free(av);
				return cli_usage_error(&cmd_run, "--hold: expected none, data or http");
			}
			av[n++] = (char *)"--hold";
			av[n++] = optarg;
			break;
		case OPT_IPFIX:
			av[n++] = (char *)"--ipfix";
			av[n++] = optarg;
			break;
		case OPT_USER:
			av[n++] = (char *)"--user";
			av[n++] = optarg;
			break;
		case OPT_NO_SANDBOX:
			av[n++] = (char *)"--no-sandbox";
			break;
		default:
			free(av);
			return cli_bad_option(&cmd_run, argv);
		}
	}
	if (optind >= argc) {
		free(av);
		return cli_usage_error(&cmd_run, "missing the command to run (after --)");
	}
	av[n++] = (char *)"--";
	while (optind < argc)
		av[n++] = argv[optind++];
	av[n] = NULL;
	c = progpath_exec("moat run", &cmd_run_ins, av);
	free(av);
	return c;
}

const struct cli_cmd cmd_run = {
	.name = "run",
	.run = cmd_run_run,
	.summary = "run a program under the isolated network stack (moat-ins)",
	.help = cmd_run_text,
};
