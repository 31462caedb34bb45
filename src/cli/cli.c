#include "cli/cli.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli/httpc.h"
#include "common/log.h"

#ifndef MOAT_VERSION
#define MOAT_VERSION "unknown"
#endif

size_t
cli_ncmds(const struct cli *cli)
{
	return cli->cmds->n;
}

const struct cli_cmd *
cli_cmd_at(const struct cli *cli, size_t i)
{
	return i < cli->cmds->n ? cli->cmds->cmd[i] : NULL;
}

const struct cli_cmd *
cli_find(const struct cli *cli, const char *name)
{
	for (size_t i = 0; i < cli->cmds->n; i++)
		if (strcmp(cli->cmds->cmd[i]->name, name) == 0)
			return cli->cmds->cmd[i];
	return NULL;
}

void
cli_print_usage(const struct cli *cli, FILE *f)
{
	fprintf(f,
	    "usage: moat [--state DIR] [--api URL] [--json] COMMAND [ARGS...]\n"
	    "\n"
	    "The command line for moatd, over its REST API.\n"
	    "\n"
	    "Commands:\n");
	for (size_t i = 0; i < cli->cmds->n; i++)
		fprintf(f, "  %-12s %s\n", cli->cmds->cmd[i]->name, cli->cmds->cmd[i]->summary);
	fprintf(f,
	    "\n"
	    "Global options:\n"
	    "  --state DIR  moatd's state dir (default: $MOAT_STATE, else /var/lib/moat)\n"
	    "  --api URL    moatd's API (default: $MOAT_API, else DIR/api.url,\n"
	    "               else http://127.0.0.1:8080)\n"
	    "  --json       print the server's JSON instead of tables\n"
	    "  --version    print the version and exit\n"
	    "\n"
	    "Exit status: 0 ok, 1 refused or not found, 2 usage, 3 moatd unreachable,\n"
	    "4 authentication failed, 5 server error.\n"
	    "See 'moat help COMMAND' for the manual of a command.\n");
}

int
cli_usage_error(const struct cli_cmd *cmd, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (cmd != NULL) {
		log_errx("%s: %s", cmd->name, msg);
		fprintf(stderr, "See 'moat help %s'.\n", cmd->name);
	} else {
		log_errx("%s", msg);
		fprintf(stderr, "See 'moat --help'.\n");
	}
	return CLI_EXIT_USAGE;
}

void
cli_getopt_begin(void)
{
	optind = 0;	/* GNU: 0 re-initialises getopt's internal state */
	opterr = 0;
}

int
cli_bad_option(const struct cli_cmd *cmd, char **argv)
{
	const char *arg = argv[optind - 1];

	/* getopt_long() leaves optopt 0 for an unknown long option and sets it
	 * to the option's value when a known one lacks its argument. */
	if (strncmp(arg, "--", 2) == 0)
		return optopt != 0 ? cli_usage_error(cmd, "option %s needs an argument", arg)
				   : cli_usage_error(cmd, "unknown option %s", arg);
	return cli_usage_error(cmd, "unknown option -%c, or it needs an argument", optopt);
}

int
cli_strip_common(struct cli *cli, int argc, char **argv, bool *ret_help)
{
	bool help = false;
	int in, out;

	for (in = out = 1; in < argc; in++) {
		if (strcmp(argv[in], "--") == 0) {
			while (in < argc)
				argv[out++] = argv[in++];
			break;
		}
		if (strcmp(argv[in], "--json") == 0)
			cli->json = true;
		else if (strcmp(argv[in], "--help") == 0 || strcmp(argv[in], "-h") == 0)
			help = true;
		else
			argv[out++] = argv[in];
	}
	argv[out] = NULL;
	*ret_help = help;
	return out;
}

void
cli_release(struct cli *cli)
{
	free(cli->api_url);
	free(cli->token);
	cli->api_url = NULL;
	cli->token = NULL;
}

/* Parse the global options. Returns CLI_CONTINUE with *ret_first set to the
 * index of the command word, or the exit code when the program should stop
 * (--help, --version, usage errors). */
#define CLI_CONTINUE (-1)
static int
cli_parse_global(struct cli *cli, int argc, char **argv, int *ret_first)
{
	enum { OPT_STATE = 1, OPT_API, OPT_JSON, OPT_VERSION };
	static const struct option opts[] = {
		{ "state", required_argument, NULL, OPT_STATE },
		{ "api", required_argument, NULL, OPT_API },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	cli_getopt_begin();
	/* '+': stop at the command word; its options are its own. */
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_STATE:
			cli->state_opt = optarg;
			break;
		case OPT_API:
			cli->api_opt = optarg;
			break;
		case OPT_JSON:
			cli->json = true;
			break;
		case OPT_VERSION:
			printf("moat %s\n", MOAT_VERSION);
			return CLI_EXIT_OK;
		case 'h':
			cli_print_usage(cli, stdout);
			return CLI_EXIT_OK;
		default:
			return cli_bad_option(NULL, argv);
		}
	}
	if (optind >= argc) {
		cli_print_usage(cli, stderr);
		return CLI_EXIT_USAGE;
	}
	*ret_first = optind;
	return CLI_CONTINUE;
}

/* Run one command with argv[0] = its verb. */
static int
cli_dispatch(struct cli *cli, int argc, char **argv)
{
	const struct cli_cmd *cmd = cli_find(cli, argv[0]);
	bool help;

	if (cmd == NULL)
		return cli_usage_error(NULL, "unknown command '%s'", argv[0]);
	argc = cli_strip_common(cli, argc, argv, &help);
	if (help) {
		fputs(cmd->help, stdout);
		return CLI_EXIT_OK;
	}
	cli_getopt_begin();
	return cmd->run(cli, argc, argv);
}

int
cli_main(const struct cli_cmds *cmds, int argc, char **argv)
{
	struct cli cli = { .cmds = cmds };
	int first = 0, r;

	log_init("moat", LOG_DEST_STDERR, LOG_LVL_INFO, false);
	if ((r = cli_parse_global(&cli, argc, argv, &first)) != CLI_CONTINUE)
		return r;
	if (httpc_global_init() < 0) {
		log_errx("cannot initialise libcurl");
		return CLI_EXIT_SERVER;
	}
	r = cli_dispatch(&cli, argc - first, argv + first);
	cli_release(&cli);
	httpc_global_cleanup();
	fflush(stdout);
	return r;
}
