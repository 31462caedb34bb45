/* moat help [COMMAND]: the command list, or one command's manual. */
#include <stdio.h>

#include "cli/cmd.h"

static const char cmd_help_text[] =
"NAME\n"
"    moat help - show the manual of a command\n"
"\n"
"SYNOPSIS\n"
"    moat help [COMMAND]\n"
"    moat COMMAND --help\n"
"\n"
"DESCRIPTION\n"
"    Without COMMAND, lists the commands and the global options. With\n"
"    COMMAND, prints its manual page: what it does, its options, its exit\n"
"    status and examples.\n"
"\n"
"EXIT STATUS\n"
"    0 on success, 2 if COMMAND is unknown.\n"
"\n"
"EXAMPLES\n"
"    moat help po\n"
"    moat flight --help\n";

static int
cmd_help_run(struct cli *cli, int argc, char **argv)
{
	const struct cli_cmd *cmd;

	if (argc < 2) {
		cli_print_usage(cli, stdout);
		return CLI_EXIT_OK;
	}
	if (argc > 2)
		return cli_usage_error(&cmd_help, "expected one COMMAND");
	if ((cmd = cli_find(cli, argv[1])) == NULL)
		return cli_usage_error(&cmd_help, "unknown command '%s'", argv[1]);
	fputs(cmd->help, stdout);
	return CLI_EXIT_OK;
}

const struct cli_cmd cmd_help = {
	.name = "help",
	.run = cmd_help_run,
	.summary = "show the manual of a command",
	.help = cmd_help_text,
};
