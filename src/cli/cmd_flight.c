/* moat flight: the flight record (GET /api/v1/flight). */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/client.h"
#include "cli/cliarg.h"
#include "cli/cmd.h"
#include "cli/outfmt.h"
#include "common/limits.h"

static const char cmd_flight_text[] =
"NAME\n"
"    moat flight - show the flight record\n"
"\n"
"SYNOPSIS\n"
"    moat [--json] flight [--since T] [--until T] [--category C[,C...]]\n"
"                         [--limit N] [--detail]\n"
"\n"
"DESCRIPTION\n"
"    Prints moatd's flight record, newest first: every configuration\n"
"    change, start and stop, store and health event, and later detections,\n"
"    attacks and mitigations. Times are UTC. Needs no token.\n"
"\n"
"OPTIONS\n"
"    --since T           entries at or after T\n"
"    --until T           entries at or before T\n"
"                        T is Unix seconds (1700000000), \"now\", or a\n"
"                        duration ago: 30s, 15m, 1h, 2d, 1w\n"
"    --category C,...    only these categories: config, lifecycle, store,\n"
"                        health, traffic, learning, detection, attack,\n"
"                        mitigation, exporter, decoy, ins\n"
"    --limit N           at most N entries (default 100, max 10000)\n"
"    --detail            add each entry's details (compact JSON)\n"
"    --json              print the server's JSON\n"
"\n"
"EXIT STATUS\n"
"    0 success, 1 refused, 2 usage, 3 moatd unreachable, 5 server error.\n"
"\n"
"EXAMPLES\n"
"    moat flight --since 1h\n"
"    moat flight --category config,lifecycle --limit 20 --detail\n"
"    moat --json flight --since 2d --until 1d\n";

struct cmd_flight_query {
	bool detail;
	const char *category;
	int64_t since, until;
	bool has_since, has_until;
	uint64_t limit;
};

static int
cmd_flight_parse(int argc, char **argv, struct cmd_flight_query *q)
{
	enum { OPT_SINCE = 1, OPT_UNTIL, OPT_CATEGORY, OPT_LIMIT, OPT_DETAIL };
	static const struct option opts[] = {
		{ "since", required_argument, NULL, OPT_SINCE },
		{ "until", required_argument, NULL, OPT_UNTIL },
		{ "category", required_argument, NULL, OPT_CATEGORY },
		{ "limit", required_argument, NULL, OPT_LIMIT },
		{ "detail", no_argument, NULL, OPT_DETAIL },
		{ NULL, 0, NULL, 0 },
	};
	int64_t now = (int64_t)time(NULL);
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case OPT_SINCE:
		case OPT_UNTIL:
			if (cliarg_time(optarg, now, c == OPT_SINCE ? &q->since : &q->until) < 0)
				return cli_usage_error(&cmd_flight, "bad --%s '%s': expected Unix "
				    "seconds, \"now\" or a duration such as 30m, 2h, 1d",
				    c == OPT_SINCE ? "since" : "until", optarg);
			/* "--until now" is no upper bound: whole seconds would cut off
			 * entries made earlier within the current second. */
			*(c == OPT_SINCE ? &q->has_since : &q->has_until) =
			    c == OPT_SINCE || strcmp(optarg, "now") != 0;
			break;
		case OPT_CATEGORY:
			if (!cliarg_categories_ok(optarg))
				return cli_usage_error(&cmd_flight, "bad --category '%s': expected "
				    "names separated by commas", optarg);
			q->category = optarg;
			break;
		case OPT_LIMIT:
			if (cliarg_uint(optarg, 1, LIMIT_FLIGHT_QUERY, false, &q->limit) < 0)
				return cli_usage_error(&cmd_flight, "bad --limit '%s': expected "
				    "1..%u", optarg, LIMIT_FLIGHT_QUERY);
			break;
		case OPT_DETAIL:
			q->detail = true;
			break;
		default:
			return cli_bad_option(&cmd_flight, argv);
		}
	}
	if (optind < argc)
		return cli_usage_error(&cmd_flight, "unexpected argument '%s'", argv[optind]);
	return CLI_EXIT_OK;
}

/* The query path; every value in it is checked above, nothing to escape. */
static void
cmd_flight_path(char *buf, size_t len, const struct cmd_flight_query *q)
{
	size_t off = (size_t)snprintf(buf, len, "/api/v1/flight?limit=%" PRIu64, q->limit);

	if (q->category != NULL && off < len)
		off += (size_t)snprintf(buf + off, len - off, "&category=%s", q->category);
	if (q->has_since && off < len)
		off += (size_t)snprintf(buf + off, len - off, "&since=%" PRId64, q->since);
	if (q->has_until && off < len)
		snprintf(buf + off, len - off, "&until=%" PRId64, q->until);
}

void
cmd_flight_render(const json_t *reply, bool detail)
{
	static const struct outfmt_col cols[] = {
		{ "TIME (UTC)", "time", OUTFMT_TIME_MS },
		{ "CATEGORY", "category", OUTFMT_STR },
		{ "EVENT", "event", OUTFMT_STR },
		{ "MESSAGE", "message", OUTFMT_STR },
		{ "DETAIL", "detail", OUTFMT_JSON },
	};
	size_t ncols = sizeof(cols) / sizeof(cols[0]) - (detail ? 0 : 1);

	outfmt_json_table(stdout, json_object_get(reply, "entries"), cols, ncols, "no entries");
}

static int
cmd_flight_run(struct cli *cli, int argc, char **argv)
{
	struct cmd_flight_query q = { .limit = 100 };
	struct client_reply r;
	char path[512];
	int rc;

	if ((rc = cmd_flight_parse(argc, argv, &q)) != CLI_EXIT_OK)
		return rc;
	cmd_flight_path(path, sizeof(path), &q);
	if ((rc = client_get(cli, path, &r)) != CLI_EXIT_OK)
		return rc;
	if (cli->json)
		client_print_raw(&r);
	else
		cmd_flight_render(r.json, q.detail);
	client_reply_free(&r);
	return CLI_EXIT_OK;
}

const struct cli_cmd cmd_flight = {
	.name = "flight",
	.run = cmd_flight_run,
	.summary = "show the flight record (config changes, events)",
	.help = cmd_flight_text,
};
