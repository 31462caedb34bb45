/* moat: the command line for moatd. Everything lives in cli.c and cmd_*.c. */
#include "cli/cli.h"
#include "cli/cmd.h"

int
main(int argc, char **argv)
{
	return cli_main(&cmd_table, argc, argv);
}
