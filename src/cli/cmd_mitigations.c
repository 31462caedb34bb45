/*
 * moat mitigations | mitigate ATTACK --driver D | unmitigate ID:
 * the MitigationMgr over /api/v1/mitigations.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli/client.h"
#include "cli/cliarg.h"
#include "cli/cmd.h"
#include "cli/outfmt.h"

static const char cmd_mitigations_text[] =
"NAME\n"
"    moat mitigations - list mitigations and what became of them\n"
"\n"
"SYNOPSIS\n"
"    moat [--json] mitigations [--deployment | --instance-only]\n"
"\n"
"DESCRIPTION\n"
"    Every mitigation moatd started, newest first: the attack it answers,\n"
"    its status (mitigating, probing, no-resources, not-mitigated, ended), the\n"
"    driver holding it, and the packets and bytes its rule has dropped\n"
"    (nft and xdp count them). Needs no token.\n"
"\n"
"OPTIONS\n"
"    --deployment\n"
"                on an engine of a cluster (the default there): the other\n"
"                live engines' live mitigations too (from their state in\n"
"                the shared store); an INSTANCE column says who holds each\n"
"                (docs/scale.md)\n"
"    --instance-only\n"
"                on an engine of a cluster: this engine's own mitigations\n"
"\n"
"EXIT STATUS\n"
"    0 success, 3 moatd unreachable, 5 server error.\n"
"\n"
"EXAMPLES\n"
"    moat mitigations\n"
"    moat --json mitigations\n"
"    moat mitigations --instance-only\n";

static const char cmd_mitigate_text[] =
"NAME\n"
"    moat mitigate - mitigate an attack with a chosen driver\n"
"\n"
"SYNOPSIS\n"
"    moat [--json] mitigate ATTACK --driver nft|xdp|bgp|notify\n"
"\n"
"DESCRIPTION\n"
"    Starts a mitigation of attack ATTACK (see `moat attacks`) with one\n"
"    driver, whatever the PO's own order. Fails if the attack already has a\n"
"    live mitigation, or (an engine of a cluster) if the attack's PO belongs\n"
"    to another engine: the error names it. Needs the API token.\n"
"\n"
"EXIT STATUS\n"
"    0 started (see its status), 1 refused (no such attack, unknown driver,\n"
"    already mitigated, another engine's PO), 2 usage, 3 moatd unreachable,\n"
"    4 no token.\n"
"\n"
"EXAMPLES\n"
"    moat mitigate 3 --driver nft\n";

static const char cmd_unmitigate_text[] =
"NAME\n"
"    moat unmitigate - end a mitigation\n"
"\n"
"SYNOPSIS\n"
"    moat unmitigate ID\n"
"\n"
"DESCRIPTION\n"
"    Ends mitigation ID (see `moat mitigations`): withdraws exactly the rule\n"
"    or announcement it installed. Another engine's mitigation (an engine\n"
"    of a cluster) is refused, naming the engine to ask. Needs the API token.\n"
"\n"
"EXIT STATUS\n"
"    0 ended, 1 refused (no such mitigation, already ended, another\n"
"    engine's), 2 usage,\n"
"    3 moatd unreachable, 4 no token.\n"
"\n"
"EXAMPLES\n"
"    moat unmitigate 1795320614932480\n";

/* A string member of o, or "" when absent or not a string. */
static const char *
cmd_mitigations_str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "";
}

/* The list; when entries carry "instance" (an engine of a cluster) an
 * INSTANCE column comes first. */
static void
cmd_mitigations_render(const json_t *reply)
{
	static const struct outfmt_col cols[] = {
		{ "INSTANCE", "instance", OUTFMT_STR },
		{ "ID", "id", OUTFMT_STR },
		{ "ATTACK", "request.attack_id", OUTFMT_INT },
		{ "PO", "request.po", OUTFMT_STR },
		{ "TYPE", "request.attack_type", OUTFMT_STR },
		{ "STATUS", "status", OUTFMT_STR },
		{ "DRIVER", "driver", OUTFMT_STR },
		{ "STARTED (UTC)", "started", OUTFMT_TIME },
		{ "PACKETS", "packets", OUTFMT_SI },
		{ "TARGETS", "request.targets", OUTFMT_LIST },
		{ "REASON", "reason", OUTFMT_STR },
	};
	const json_t *list = json_object_get(reply, "mitigations"), *o;
	size_t i, skip = 1;

	json_array_foreach(list, i, o) {
		if (json_is_string(json_object_get(o, "instance"))) {
			skip = 0;
			break;
		}
	}
	outfmt_json_table(stdout, list, cols + skip, sizeof(cols) / sizeof(cols[0]) - skip,
	    "no mitigations");
}

static int
cmd_mitigations_run(struct cli *cli, int argc, char **argv)
{
	const char *path = "/api/v1/mitigations";

	if (argc == 2 && strcmp(argv[1], "--deployment") == 0)
		path = "/api/v1/mitigations?scope=deployment";
	else if (argc == 2 && strcmp(argv[1], "--instance-only") == 0)
		path = "/api/v1/mitigations?scope=instance";
	else if (argc > 1)
		return cli_usage_error(&cmd_mitigations, "unexpected argument '%s'", argv[1]);
	return client_show(cli, path, cmd_mitigations_render);
}

static int
cmd_mitigate_run(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "driver", required_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 },
	};
	const char *driver = NULL;
	struct client_reply r;
	uint64_t attack;
	json_t *body;
	int c, rc;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'd')
			return cli_bad_option(&cmd_mitigate, argv);
		driver = optarg;
	}
	if (optind + 1 != argc || driver == NULL)
		return cli_usage_error(&cmd_mitigate, "expected ATTACK and --driver NAME");
	if (cliarg_uint(argv[optind], 1, UINT32_MAX, false, &attack) < 0)
		return cli_usage_error(&cmd_mitigate, "bad ATTACK '%s': expected an attack id",
		    argv[optind]);
	if ((body = json_pack("{s:I,s:s}", "attack", (json_int_t)attack, "driver", driver)) == NULL)
		return CLI_EXIT_REFUSED;
	rc = client_post_json(cli, "/api/v1/mitigations", body, &r);
	json_decref(body);
	if (rc != CLI_EXIT_OK)
		return rc;
	if (cli->json)
		client_print_raw(&r);
	else
		printf("mitigation %" PRIu64 ": %s%s%s\n",
		    (uint64_t)json_integer_value(json_object_get(r.json, "id")),
		    cmd_mitigations_str(r.json, "status"),
		    json_string_length(json_object_get(r.json, "reason")) ? " - " : "",
		    cmd_mitigations_str(r.json, "reason"));
	client_reply_free(&r);
	return CLI_EXIT_OK;
}

static int
cmd_unmitigate_run(struct cli *cli, int argc, char **argv)
{
	struct client_reply r;
	char path[64];
	uint64_t id;
	int rc;

	if (argc != 2)
		return cli_usage_error(&cmd_unmitigate, "expected one mitigation ID");
	if (cliarg_uint(argv[1], 1, UINT64_MAX, false, &id) < 0)
		return cli_usage_error(&cmd_unmitigate, "bad ID '%s': expected a mitigation id", argv[1]);
	snprintf(path, sizeof(path), "/api/v1/mitigations/%" PRIu64, id);
	if ((rc = client_delete(cli, path, &r)) != CLI_EXIT_OK)
		return rc;
	if (!cli->json)
		printf("mitigation %" PRIu64 " ended\n", id);
	client_reply_free(&r);
	return CLI_EXIT_OK;
}

const struct cli_cmd cmd_mitigations = {
	.name = "mitigations",
	.run = cmd_mitigations_run,
	.summary = "list mitigations (status, driver, dropped packets)",
	.help = cmd_mitigations_text,
};

const struct cli_cmd cmd_mitigate = {
	.name = "mitigate",
	.run = cmd_mitigate_run,
	.summary = "mitigate an attack with a chosen driver",
	.help = cmd_mitigate_text,
};

const struct cli_cmd cmd_unmitigate = {
	.name = "unmitigate",
	.run = cmd_unmitigate_run,
	.summary = "end a mitigation, withdrawing exactly what it installed",
	.help = cmd_unmitigate_text,
};
