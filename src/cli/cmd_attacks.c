/* moat attacks / moat attack ID: the attacks of moatd's decision point
 * (GET /api/v1/attacks, GET /api/v1/attacks/{id}). */
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli/client.h"
#include "cli/cliarg.h"
#include "cli/cmd.h"
#include "cli/outfmt.h"

static const char cmd_attacks_text[] =
"NAME\n"
"    moat attacks - list attacks\n"
"\n"
"SYNOPSIS\n"
"    moat [--json] attacks [--state live|ended|all] [--deployment | --instance-only]\n"
"\n"
"DESCRIPTION\n"
"    Lists the attacks moatd's decision point knows, newest first: suspected,\n"
"    declared and ending ones, and the last ended ones. Each row shows the\n"
"    protected object, protocol, type (syn-flood, udp-flood, icmp-flood,\n"
"    amplification/PORT, tcp-other, fragments, ...), state, when it started\n"
"    and ended, and its peak rates. `moat attack ID` shows one in full.\n"
"    Needs no token.\n"
"\n"
"OPTIONS\n"
"    --state S   live (suspected, declared, ending), ended, or all (default)\n"
"    --deployment\n"
"                on an engine of a cluster (the default there): the other\n"
"                live engines' live attacks too (from their state in the\n"
"                shared store); an INSTANCE column says who owns each\n"
"                (docs/scale.md)\n"
"    --instance-only\n"
"                on an engine of a cluster: this engine's own attacks only\n"
"    --json      print the server's JSON\n"
"\n"
"EXIT STATUS\n"
"    0 success, 1 refused, 2 usage, 3 moatd unreachable, 5 server error.\n"
"\n"
"EXAMPLES\n"
"    moat attacks\n"
"    moat attacks --state live\n"
"    moat attacks --state live --instance-only\n";

static const char cmd_attack_text[] =
"NAME\n"
"    moat attack - show one attack\n"
"\n"
"SYNOPSIS\n"
"    moat [--json] attack ID\n"
"\n"
"DESCRIPTION\n"
"    Shows attack ID: its traffic, type, state and times, why it was\n"
"    declared, peak and current rates against the baseline, the detectors\n"
"    that joined it, and its top targets, sources and source ports. On an\n"
"    engine of a cluster, another engine's live attack is found too (as it\n"
"    last saved it), and the instance owning it is shown.\n"
"\n"
"EXIT STATUS\n"
"    0 success, 1 no such attack, 2 usage, 3 moatd unreachable, 5 server error.\n"
"\n"
"EXAMPLES\n"
"    moat attack 3\n";

/* Whether entries carry "instance" (an engine of a cluster): then an
 * INSTANCE column comes first. */
static bool
cmd_attacks_have_instance(const json_t *list)
{
	const json_t *o;
	size_t i;

	json_array_foreach(list, i, o) {
		if (json_is_string(json_object_get(o, "instance")))
			return true;
	}
	return false;
}

static int
cmd_attacks_run(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "state", required_argument, NULL, 's' },
		{ "deployment", no_argument, NULL, 'd' },
		{ "instance-only", no_argument, NULL, 'i' },
		{ NULL, 0, NULL, 0 },
	};
	const char *scope = "";
	const json_t *list;
	/* The INSTANCE column first, shown when the entries carry one (an
	 * engine of a cluster): cols + 1 without it. */
	static const struct outfmt_col cols[] = {
		{ "INSTANCE", "instance", OUTFMT_STR },
		{ "ID", "id", OUTFMT_INT },
		{ "PO", "po", OUTFMT_STR },
		{ "PROTO", "protocol", OUTFMT_STR },
		{ "PORT", "port", OUTFMT_INT },
		{ "TYPE", "type", OUTFMT_STR },
		{ "STATE", "state", OUTFMT_STR },
		{ "START (UTC)", "start", OUTFMT_TIME },
		{ "END (UTC)", "end", OUTFMT_TIME },
		{ "PEAK PPS", "peak_pps", OUTFMT_SI },
		{ "PEAK BPS", "peak_bps", OUTFMT_SI },
		{ "WHY", "reason", OUTFMT_STR },
	};
	const char *state = "all";
	struct client_reply r;
	char path[128];
	int c, rc;

	cli_getopt_begin();
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'd' || c == 'i') {
			scope = c == 'd' ? "&scope=deployment" : "&scope=instance";
			continue;
		}
		if (c != 's')
			return cli_bad_option(&cmd_attacks, argv);
		if (strcmp(optarg, "live") != 0 && strcmp(optarg, "ended") != 0 &&
		    strcmp(optarg, "all") != 0)
			return cli_usage_error(&cmd_attacks, "bad --state '%s': expected live, ended "
			    "or all", optarg);
		state = optarg;
	}
	if (optind < argc)
		return cli_usage_error(&cmd_attacks, "unexpected argument '%s'", argv[optind]);
	snprintf(path, sizeof(path), "/api/v1/attacks?state=%s%s", state, scope);
	if ((rc = client_get(cli, path, &r)) != CLI_EXIT_OK)
		return rc;
	list = json_object_get(r.json, "attacks");
	if (cli->json) {
		client_print_raw(&r);
	} else {
		size_t skip = cmd_attacks_have_instance(list) ? 0 : 1;

		outfmt_json_table(stdout, list, cols + skip, sizeof(cols) / sizeof(cols[0]) - skip,
		    "no attacks");
	}
	client_reply_free(&r);
	return CLI_EXIT_OK;
}

static void
cmd_attack_top(const json_t *a, const char *field, const char *title, const char *key)
{
	static const char *const headers[] = { NULL, NULL, "SHARE" };
	const char *hdr[3] = { key, "WEIGHT", headers[2] };
	struct outfmt_table *t;
	const json_t *list = json_object_get(a, field), *it;
	size_t i;

	if (!json_is_array(list) || json_array_size(list) == 0)
		return;
	printf("\n%s:\n", title);
	t = outfmt_table_new(3, hdr);
	if (t == NULL)
		return;
	outfmt_table_align_right(t, 1);
	outfmt_table_align_right(t, 2);
	json_array_foreach(list, i, it) {
		char v[64], w[32], share[16];
		const json_t *k = json_object_get(it, strcmp(key, "PORT") == 0 ? "port" : "address");
		const char *cells[3] = { v, w, share };

		outfmt_json_value(v, sizeof(v), k, OUTFMT_STR);
		outfmt_json_value(w, sizeof(w), strcmp(key, "PORT") == 0 ?
		    json_object_get(it, "weight") : json_object_get(it, "packets"), OUTFMT_SI);
		snprintf(share, sizeof(share), "%.0f%%", 100 * json_number_value(json_object_get(it, "share")));
		outfmt_table_add(t, cells);
	}
	outfmt_table_print(t, stdout);
	outfmt_table_free(t);
}

static void
cmd_attack_render(const json_t *a)
{
	static const struct {
		const char *label, *path;
		enum outfmt_kind kind;
	} rows[] = {
		{ "id", "id", OUTFMT_INT },
		{ "po", "po", OUTFMT_STR },
		{ "traffic", "protocol", OUTFMT_STR },
		{ "direction", "direction", OUTFMT_STR },
		{ "port", "port", OUTFMT_INT },
		{ "type", "type", OUTFMT_STR },
		{ "state", "state", OUTFMT_STR },
		{ "confidence", "confidence", OUTFMT_INT },
		{ "started", "start", OUTFMT_TIME },
		{ "declared", "declared", OUTFMT_TIME },
		{ "ended", "end", OUTFMT_TIME },
		{ "peak pps", "peak_pps", OUTFMT_SI },
		{ "peak bps", "peak_bps", OUTFMT_SI },
		{ "current pps", "current_pps", OUTFMT_SI },
		{ "baseline pps", "baseline_pps", OUTFMT_SI },
		{ "baseline bps", "baseline_bps", OUTFMT_SI },
		{ "why", "reason", OUTFMT_STR },
	};
	const json_t *dets = json_object_get(a, "detectors"), *d;
	size_t i;

	if (json_is_string(json_object_get(a, "instance")))
		printf("%-13s %s\n", "instance", json_string_value(json_object_get(a, "instance")));
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char v[256];

		outfmt_json_value(v, sizeof(v), outfmt_json_path(a, rows[i].path), rows[i].kind);
		printf("%-13s %s\n", rows[i].label, v);
	}
	json_array_foreach(dets, i, d) {
		char name[32], conf[16], count[32], expiry[32];

		outfmt_json_value(name, sizeof(name), json_object_get(d, "name"), OUTFMT_STR);
		outfmt_json_value(conf, sizeof(conf), json_object_get(d, "confidence"), OUTFMT_INT);
		outfmt_json_value(count, sizeof(count), json_object_get(d, "count"), OUTFMT_INT);
		outfmt_json_value(expiry, sizeof(expiry), json_object_get(d, "expiry"), OUTFMT_TIME);
		printf("%-13s %s: %s detections, confidence %s, expires %s\n", i ? "" : "detectors", name,
		    count, conf, expiry);
	}
	cmd_attack_top(a, "top_targets", "top targets", "ADDRESS");
	cmd_attack_top(a, "top_sources", "top sources", "ADDRESS");
	cmd_attack_top(a, "top_source_ports", "top source ports", "PORT");
}

static int
cmd_attack_run(struct cli *cli, int argc, char **argv)
{
	struct client_reply r;
	uint64_t id;
	char path[64];
	int rc;

	if (argc != 2 || cliarg_uint(argv[1], 1, UINT64_MAX, false, &id) < 0)
		return cli_usage_error(&cmd_attack, "expected one attack ID (a positive integer)");
	snprintf(path, sizeof(path), "/api/v1/attacks/%" PRIu64, id);
	if ((rc = client_get(cli, path, &r)) != CLI_EXIT_OK)
		return rc;
	if (cli->json)
		client_print_raw(&r);
	else
		cmd_attack_render(r.json);
	client_reply_free(&r);
	return CLI_EXIT_OK;
}

const struct cli_cmd cmd_attacks = {
	.name = "attacks",
	.run = cmd_attacks_run,
	.summary = "list attacks (suspected, declared, ending, ended)",
	.help = cmd_attacks_text,
};

const struct cli_cmd cmd_attack = {
	.name = "attack",
	.run = cmd_attack_run,
	.summary = "show one attack: why, rates, detectors, top targets and sources",
	.help = cmd_attack_text,
};
