/* moat traffic PO: a PO's traffic per direction and protocol, refreshed every
 * second like top (GET /api/v1/pos/{name}/traffic). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/client.h"
#include "cli/cmd.h"
#include "cli/outfmt.h"
#include "common/strnum.h"

static const char cmd_traffic_text[] =
"NAME\n"
"    moat traffic - show a protected object's traffic\n"
"\n"
"SYNOPSIS\n"
"    moat [--json] traffic PO [--once] [--count N] [--window 1s|10s|60s]\n"
"\n"
"DESCRIPTION\n"
"    Shows, per direction (in = to the PO, out = from it) and protocol, the\n"
"    rates over the last second (or the 10 s / 60 s moving averages) in\n"
"    bits, packets, flows, SYNs and fragments per second, and the totals\n"
"    since moatd started; then the same for each configured port of the PO\n"
"    (TCP and UDP; in = to that destination port, out = from that source\n"
"    port); then the busiest destination hosts of the last second over all\n"
"    protocols and per protocol. Counts are scaled by the exporters'\n"
"    sampling rates. Redraws\n"
"    every second until interrupted, unless --once or --count. Needs no\n"
"    token.\n"
"\n"
"OPTIONS\n"
"    --once        print once and exit (also implied by --json)\n"
"    --count N     print N times, a second apart\n"
"    --window W    1s (default), 10s or 60s\n"
"\n"
"EXIT STATUS\n"
"    0 success, 1 no such PO, 2 usage, 3 moatd unreachable, 5 server error.\n"
"\n"
"EXAMPLES\n"
"    moat traffic web --once\n"
"    moat traffic web --window 10s\n";

static const char *const dirs[] = { "in", "out" };
static const char *const protos[] = { "tcp", "udp", "icmp", "other" };

/* One row {port, dir, proto, bps, pps, ...} of the table `traffic` (a
 * {dir: {proto: stat}} object) to rows, rates rounded; port 0 = all. */
static void
traffic_row(json_t *rows, const json_t *traffic, int port, size_t d, size_t p,
    const char *window)
{
	const json_t *stat = json_object_get(json_object_get(traffic, dirs[d]), protos[p]);
	const json_t *rate = json_object_get(json_object_get(stat, "rate"), window);
	const json_t *tot = json_object_get(stat, "total");
	char portbuf[8];

	if (port != 0 && stat == NULL)
		return;		/* ports have TCP and UDP only */
	snprintf(portbuf, sizeof(portbuf), "%d", port);
	json_array_append_new(rows, json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:O?, s:O?}",
	    "port", port ? portbuf : "any", "dir", dirs[d], "proto", protos[p],
	    "bps", (json_int_t)json_number_value(json_object_get(rate, "bps")),
	    "pps", (json_int_t)json_number_value(json_object_get(rate, "pps")),
	    "fps", (json_int_t)json_number_value(json_object_get(rate, "fps")),
	    "syn_pps", (json_int_t)json_number_value(json_object_get(rate, "syn_pps")),
	    "frag_pps", (json_int_t)json_number_value(json_object_get(rate, "frag_pps")),
	    "bytes", json_object_get(tot, "bytes"), "packets", json_object_get(tot, "packets")));
}

/* Rows for the whole PO, from the reply. */
static json_t *
traffic_rows(const json_t *reply, const char *window)
{
	json_t *rows = json_array();

	for (size_t d = 0; rows && d < 2; d++)
		for (size_t p = 0; p < 4; p++)
			traffic_row(rows, json_object_get(reply, "traffic"), 0, d, p, window);
	return rows;
}

/* Rows for each configured port. */
static json_t *
port_rows(const json_t *reply, const char *window)
{
	const json_t *ports = json_object_get(reply, "ports");
	json_t *rows = json_array();

	for (size_t i = 0; rows && i < json_array_size(ports); i++) {
		const json_t *e = json_array_get(ports, i);
		int port = (int)json_integer_value(json_object_get(e, "port"));

		for (size_t d = 0; port > 0 && d < 2; d++)
			for (size_t p = 0; p < 2; p++)
				traffic_row(rows, e, port, d, p, window);
	}
	return rows;
}

/* The per-protocol top hosts as rows {proto, address, bytes, ...}. */
static json_t *
host_rows_by_proto(const json_t *reply)
{
	const json_t *by = json_object_get(reply, "top_hosts_by_protocol");
	json_t *rows = json_array();

	for (size_t p = 0; rows && p < 4; p++) {
		const json_t *list = json_object_get(by, protos[p]);

		for (size_t i = 0; i < json_array_size(list); i++) {
			json_t *row = json_deep_copy(json_array_get(list, i));

			if (row == NULL || json_object_set_new(row, "proto", json_string(protos[p])) < 0) {
				json_decref(row);
				continue;
			}
			json_array_append_new(rows, row);
		}
	}
	return rows;
}

/* The human rendering; any JSON shape is accepted. */
static void
cmd_traffic_render(const json_t *reply, const char *window)
{
	/* The port table's columns; the protocol table is the same less PORT. */
	static const struct outfmt_col pcols[] = {
		{ "PORT", "port", OUTFMT_STR },
		{ "DIR", "dir", OUTFMT_STR },
		{ "PROTO", "proto", OUTFMT_STR },
		{ "BPS", "bps", OUTFMT_SI },
		{ "PPS", "pps", OUTFMT_SI },
		{ "FLOWS/S", "fps", OUTFMT_SI },
		{ "SYN/S", "syn_pps", OUTFMT_SI },
		{ "FRAG/S", "frag_pps", OUTFMT_SI },
		{ "BYTES", "bytes", OUTFMT_SI },
		{ "PACKETS", "packets", OUTFMT_SI },
	};
	const size_t npcols = sizeof(pcols) / sizeof(pcols[0]);
	static const struct outfmt_col hcols[] = {
		{ "TOP HOST", "address", OUTFMT_STR },
		{ "BYTES", "bytes", OUTFMT_SI },
		{ "PACKETS", "packets", OUTFMT_SI },
	};
	static const struct outfmt_col hpcols[] = {
		{ "PROTO", "proto", OUTFMT_STR },
		{ "TOP HOST", "address", OUTFMT_STR },
		{ "BYTES", "bytes", OUTFMT_SI },
		{ "PACKETS", "packets", OUTFMT_SI },
		{ "SYNS", "syns", OUTFMT_SI },
	};
	json_t *rows;

	printf("PO %s, rates over %s\n", json_string_value(json_object_get(reply, "name")) ?
	    json_string_value(json_object_get(reply, "name")) : "?", window);
	if (!json_is_true(json_object_get(reply, "collecting"))) {
		printf("moatd is not collecting traffic (no collect: section in its configuration)\n");
		return;
	}
	rows = traffic_rows(reply, window);
	outfmt_json_table(stdout, rows, pcols + 1, npcols - 1, NULL);
	json_decref(rows);
	rows = port_rows(reply, window);
	if (json_array_size(rows) > 0) {
		printf("\n");
		outfmt_json_table(stdout, rows, pcols, npcols, NULL);
	}
	json_decref(rows);
	printf("\n");
	outfmt_json_table(stdout, json_object_get(reply, "top_hosts"), hcols,
	    sizeof(hcols) / sizeof(hcols[0]), "no traffic to any host of the PO in the last second");
	rows = host_rows_by_proto(reply);
	if (json_array_size(rows) > 0) {
		printf("\n");
		outfmt_json_table(stdout, rows, hpcols, sizeof(hpcols) / sizeof(hpcols[0]), NULL);
	}
	json_decref(rows);
}

static int
cmd_traffic_run(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "once", no_argument, NULL, 'o' },
		{ "count", required_argument, NULL, 'c' },
		{ "window", required_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 },
	};
	const char *window = "1s";
	int64_t count = 0;	/* 0: until interrupted */
	char path[256];
	int c, rc = CLI_EXIT_OK;

	cli_getopt_begin();
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'o')
			count = 1;
		else if (c == 'c' && strnum_i64(optarg, 1, 1000000, &count) == 0)
			;
		else if (c == 'c')
			return cli_usage_error(&cmd_traffic, "bad --count '%s': expected 1..1000000",
			    optarg);
		else if (c == 'w' && (!strcmp(optarg, "1s") || !strcmp(optarg, "10s") ||
		    !strcmp(optarg, "60s")))
			window = optarg;
		else if (c == 'w')
			return cli_usage_error(&cmd_traffic, "bad --window '%s': expected 1s, 10s or 60s",
			    optarg);
		else
			return cli_bad_option(&cmd_traffic, argv);
	}
	if (optind != argc - 1)
		return cli_usage_error(&cmd_traffic, "expected one PO name");
	if (strlen(argv[optind]) > 64 || strchr(argv[optind], '/') || strchr(argv[optind], '?'))
		return cli_usage_error(&cmd_traffic, "bad PO name '%s'", argv[optind]);
	snprintf(path, sizeof(path), "/api/v1/pos/%s/traffic", argv[optind]);
	if (cli->json)
		count = 1;
	for (int64_t i = 0; count == 0 || i < count; i++) {
		struct client_reply r;

		if (i > 0)
			sleep(1);
		if ((rc = client_get(cli, path, &r)) != CLI_EXIT_OK)
			return rc;
		if (cli->json) {
			client_print_raw(&r);
		} else {
			if (count != 1 && isatty(STDOUT_FILENO))
				printf("\033[H\033[2J");	/* redraw like top */
			cmd_traffic_render(r.json, window);
		}
		client_reply_free(&r);
		fflush(stdout);
	}
	return rc;
}

const struct cli_cmd cmd_traffic = {
	.name = "traffic",
	.run = cmd_traffic_run,
	.summary = "show a protected object's traffic (refreshing)",
	.help = cmd_traffic_text,
};
