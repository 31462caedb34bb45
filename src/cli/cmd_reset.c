/* moat reset --yes: factory reset (POST /api/v1/reset). */
#include <getopt.h>
#include <stdio.h>

#include "cli/client.h"
#include "cli/cmd.h"

static const char cmd_reset_text[] =
"NAME\n"
"    moat reset - factory reset: remove all runtime state\n"
"\n"
"SYNOPSIS\n"
"    moat [--json] reset --yes\n"
"\n"
"DESCRIPTION\n"
"    Removes all runtime state from moatd: POs added through the API, the\n"
"    flight record and everything learned. POs declared in the config file\n"
"    are applied again; the API token is kept. There is no undo: take a\n"
"    'moat backup' first. Needs the API token.\n"
"\n"
"OPTIONS\n"
"    --yes     required: confirms the reset\n"
"\n"
"EXIT STATUS\n"
"    0 reset; 1 refused; 2 usage (no --yes); 3 moatd unreachable; 4 no or\n"
"    wrong token; 5 server error.\n"
"\n"
"EXAMPLES\n"
"    moat backup before-reset.db && moat reset --yes\n";

static int
cmd_reset_run(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "yes", no_argument, NULL, 'y' },
		{ NULL, 0, NULL, 0 },
	};
	struct client_reply r;
	json_t *body;
	bool yes = false;
	int c, rc;

	while ((c = getopt_long(argc, argv, "y", opts, NULL)) != -1) {
		if (c != 'y')
			return cli_bad_option(&cmd_reset, argv);
		yes = true;
	}
	if (optind < argc)
		return cli_usage_error(&cmd_reset, "unexpected argument '%s'", argv[optind]);
	if (!yes)
		return cli_usage_error(&cmd_reset, "refusing to reset without --yes");
	if ((body = json_pack("{s:b}", "confirm", 1)) == NULL)
		return CLI_EXIT_REFUSED;
	rc = client_post_json(cli, "/api/v1/reset", body, &r);
	json_decref(body);
	if (rc != CLI_EXIT_OK)
		return rc;
	if (cli->json)
		client_print_raw(&r);
	else
		printf("moatd reset to factory state\n");
	client_reply_free(&r);
	return CLI_EXIT_OK;
}

const struct cli_cmd cmd_reset = {
	.name = "reset",
	.run = cmd_reset_run,
	.summary = "factory reset: remove all runtime state",
	.help = cmd_reset_text,
};
