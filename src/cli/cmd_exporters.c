/* moat exporters: flow exporters and capture/replay inputs with their
 * health (GET /api/v1/exporters). */
#include <getopt.h>
#include <stdio.h>

#include "cli/client.h"
#include "cli/cmd.h"
#include "cli/outfmt.h"

static const char cmd_exporters_text[] =
"NAME\n"
"    moat exporters - list flow exporters and capture inputs\n"
"\n"
"SYNOPSIS\n"
"    moat [--json] exporters\n"
"\n"
"DESCRIPTION\n"
"    Lists every NetFlow v5/v9, IPFIX and sFlow exporter moatd has heard\n"
"    from (address, source id or observation domain, protocol, sampling\n"
"    rate applied, templates cached, last seen) with its health counters:\n"
"    datagrams, records, sequence gaps (records or datagrams lost on the\n"
"    way), template misses (data before its template) and parse errors.\n"
"    Then the pcap replays and capture interfaces with their packet counts\n"
"    and kernel drops. SAMPLING is the rate applied; for sFlow, RATE SEEN is\n"
"    the rate the agent's samples carry. Last, the flow exports refused, by\n"
"    reason, with the last sender refused: not_allowed (not on the input's\n"
"    exporters: allow-list), sender_cap (one address holding too many source\n"
"    ids), table_full, hash_probe, tcp_sender_cap and tcp_deadline (IPFIX/TCP\n"
"    connections over the per-address cap or silent past the deadline).\n"
"    Needs no token.\n"
"\n"
"EXIT STATUS\n"
"    0 success, 2 usage, 3 moatd unreachable, 5 server error.\n"
"\n"
"EXAMPLES\n"
"    moat exporters\n"
"    moat --json exporters\n";

/* "refused: not_allowed 1024 (last 203.0.113.9)" lines for reasons seen. */
static void
print_refused(json_t *ref)
{
	const char *reason;
	json_t *v;

	json_object_foreach(ref, reason, v) {
		json_int_t n = json_integer_value(json_object_get(v, "count"));
		const char *last = json_string_value(json_object_get(v, "last_source"));

		if (json_is_object(v) && n > 0)
			printf("refused %s: %lld (last from %s)\n", reason, (long long)n,
			    last ? last : "?");
	}
}

static int
cmd_exporters_run(struct cli *cli, int argc, char **argv)
{
	static const struct outfmt_col cols[] = {
		{ "EXPORTER", "address", OUTFMT_STR },
		{ "DOMAIN", "domain", OUTFMT_INT },
		{ "PROTOCOL", "protocol", OUTFMT_STR },
		{ "SAMPLING", "sampling", OUTFMT_INT },
		{ "RATE SEEN", "sampling_seen", OUTFMT_INT },
		{ "TEMPLATES", "templates", OUTFMT_INT },
		{ "LAST SEEN (UTC)", "last_seen", OUTFMT_TIME },
		{ "DATAGRAMS", "datagrams", OUTFMT_SI },
		{ "RECORDS", "records", OUTFMT_SI },
		{ "SEQ GAPS", "sequence_gaps", OUTFMT_INT },
		{ "TMPL MISS", "template_misses", OUTFMT_INT },
		{ "ERRORS", "parse_errors", OUTFMT_INT },
	};
	static const struct outfmt_col icols[] = {
		{ "INPUT", "kind", OUTFMT_STR },
		{ "NAME", "name", OUTFMT_STR },
		{ "DONE", "done", OUTFMT_STR },
		{ "CLOCK", "clock", OUTFMT_STR },
		{ "LAST PACKET (UTC)", "last_packet", OUTFMT_TIME },
		{ "PACKETS", "packets", OUTFMT_SI },
		{ "IP", "decoded", OUTFMT_SI },
		{ "NOT IP", "not_ip", OUTFMT_SI },
		{ "MALFORMED", "malformed", OUTFMT_SI },
		{ "KERNEL DROPS", "kernel_drops", OUTFMT_SI },
	};
	struct client_reply r;
	int c, rc;

	cli_getopt_begin();
	while ((c = getopt_long(argc, argv, "", (const struct option[]){ { NULL, 0, NULL, 0 } },
	    NULL)) != -1)
		return cli_bad_option(&cmd_exporters, argv);
	if (optind < argc)
		return cli_usage_error(&cmd_exporters, "unexpected argument '%s'", argv[optind]);
	if ((rc = client_get(cli, "/api/v1/exporters", &r)) != CLI_EXIT_OK)
		return rc;
	if (cli->json) {
		client_print_raw(&r);
	} else if (!json_is_true(json_object_get(r.json, "collecting"))) {
		printf("moatd is not collecting traffic (no collect: section in its configuration)\n");
	} else {
		outfmt_json_table(stdout, json_object_get(r.json, "exporters"), cols,
		    sizeof(cols) / sizeof(cols[0]), "no exporters heard from");
		if (json_array_size(json_object_get(r.json, "inputs")) > 0) {
			printf("\n");
			outfmt_json_table(stdout, json_object_get(r.json, "inputs"), icols,
			    sizeof(icols) / sizeof(icols[0]), NULL);
		}
		print_refused(json_object_get(r.json, "refused"));
	}
	client_reply_free(&r);
	return CLI_EXIT_OK;
}

const struct cli_cmd cmd_exporters = {
	.name = "exporters",
	.run = cmd_exporters_run,
	.summary = "list flow exporters and capture inputs with their health",
	.help = cmd_exporters_text,
};
