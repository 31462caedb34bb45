/* moat: the command line for moatd. Everything lives in cli.c and cmd_*.c. */
#include "cli/cli.h"

int
main(int argc, char **argv)
{
	return cli_main(argc, argv);
}
