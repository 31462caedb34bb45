/* moat connections: the connections moat-ins reports to moatd over IPFIX
 * (GET /api/v1/connections). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/client.h"
#include "cli/cmd.h"
#include "cli/outfmt.h"

static const char cmd_connections_text[] =
"NAME\n"
"    moat connections - list the connections moat-ins reports\n"
"\n"
"SYNOPSIS\n"
"    moat [--json] connections [--po NAME] [--state S] [--source ADDR] [--limit N]\n"
"\n"
"DESCRIPTION\n"
"    Lists the connections of applications run under moat-ins (`moat run`),\n"
"    from the IPFIX telemetry moat-ins sends to moatd: open ones first, then\n"
"    those that ended within the retention (connections.retention, 300 s by\n"
"    default). Each row shows the protected object of the local address, the\n"
"    state (open, closed, slow: shed by moat-ins for a slow verdict, dropped:\n"
"    refused before handoff), the client and local endpoints, bytes received\n"
"    from and acknowledged to the client, round-trip time, how long moat-ins\n"
"    held it before handoff, its last event and when it started. The last\n"
"    line gives how many matched and how many are open. Needs no token.\n"
"\n"
"OPTIONS\n"
"    --po NAME      connections to that protected object only\n"
"    --state S      open, closed, slow or dropped\n"
"    --source ADDR  connections from that client address only\n"
"    --limit N      at most N rows (default 1000, at most 10000)\n"
"    --json         print the server's JSON\n"
"\n"
"EXIT STATUS\n"
"    0 success, 1 refused (no such PO), 2 usage, 3 moatd unreachable,\n"
"    5 server error.\n"
"\n"
"EXAMPLES\n"
"    moat connections\n"
"    moat connections --po web --state slow\n";

/* Append "&key=value" (value checked to be URL-safe) to path. */
static int
cmd_connections_query(char *path, size_t cap, const char *key, const char *value)
{
	size_t len = strlen(path);
	int n;

	if (value[strspn(value, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.:_-")])
		return -1;
	n = snprintf(path + len, cap - len, "%c%s=%s", strchr(path, '?') ? '&' : '?', key, value);
	return n < 0 || (size_t)n >= cap - len ? -1 : 0;
}

static int
cmd_connections_run(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "po", required_argument, NULL, 'p' },
		{ "state", required_argument, NULL, 's' },
		{ "source", required_argument, NULL, 'a' },
		{ "limit", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	static const struct outfmt_col cols[] = {
		{ "PO", "po", OUTFMT_STR },
		{ "STATE", "state", OUTFMT_STR },
		{ "SOURCE", "source", OUTFMT_STR },
		{ "SPORT", "source_port", OUTFMT_INT },
		{ "LOCAL", "local", OUTFMT_STR },
		{ "LPORT", "local_port", OUTFMT_INT },
		{ "BYTES IN", "bytes_in", OUTFMT_SI },
		{ "BYTES OUT", "bytes_out", OUTFMT_SI },
		{ "HELD MS", "held_ms", OUTFMT_INT },
		{ "LAST EVENT", "last_event", OUTFMT_STR },
		{ "START (UTC)", "start", OUTFMT_TIME },
	};
	static const char *const keys[] = { "po", "state", "source", "limit" };
	char path[256] = "/api/v1/connections";
	struct client_reply r;
	int c, rc;

	cli_getopt_begin();
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		const char *const *key = c == 'p' ? &keys[0] : c == 's' ? &keys[1] :
		    c == 'a' ? &keys[2] : c == 'n' ? &keys[3] : NULL;

		if (key == NULL)
			return cli_bad_option(&cmd_connections, argv);
		if (cmd_connections_query(path, sizeof(path), *key, optarg) < 0)
			return cli_usage_error(&cmd_connections, "bad --%s '%s'", *key, optarg);
	}
	if (optind < argc)
		return cli_usage_error(&cmd_connections, "unexpected argument '%s'", argv[optind]);
	if ((rc = client_get(cli, path, &r)) != CLI_EXIT_OK)
		return rc;
	if (cli->json) {
		client_print_raw(&r);
	} else {
		outfmt_json_table(stdout, json_object_get(r.json, "connections"), cols,
		    sizeof(cols) / sizeof(cols[0]), "no connections");
		printf("%lld matched, %lld open\n",
		    (long long)json_integer_value(json_object_get(r.json, "total")),
		    (long long)json_integer_value(json_object_get(r.json, "open")));
	}
	client_reply_free(&r);
	return CLI_EXIT_OK;
}

const struct cli_cmd cmd_connections = {
	.name = "connections",
	.run = cmd_connections_run,
	.summary = "list the connections moat-ins reports (moat run)",
	.help = cmd_connections_text,
};
