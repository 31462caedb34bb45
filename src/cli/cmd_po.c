/* moat po list|show|add|rm: protected objects (/api/v1/pos). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/client.h"
#include "cli/cliarg.h"
#include "cli/cmd.h"
#include "cli/outfmt.h"
#include "common/fileio.h"
#include "common/limits.h"
#include "common/log.h"

static const char cmd_po_text[] =
"NAME\n"
"    moat po - list, show, add and remove protected objects\n"
"\n"
"SYNOPSIS\n"
"    moat [--json] po list\n"
"    moat [--json] po show NAME\n"
"    moat po add NAME --prefix P [--prefix P ...] [--port N ...]\n"
"                [--driver D ...] [--threshold PROTO.METRIC=N ...]\n"
"                [--host-threshold PROTO.METRIC=N ...] [--replace]\n"
"    moat po add [NAME] --file PO.json [--replace]\n"
"    moat po rm NAME\n"
"\n"
"DESCRIPTION\n"
"    A protected object (PO) is a named set of IPv4/IPv6 prefixes, optional\n"
"    ports, per-protocol thresholds (for the PO's whole traffic and for each\n"
"    single destination host in it) and the order of mitigation drivers.\n"
"    list prints all POs sorted by name; show prints one. add creates a PO\n"
"    (POST /api/v1/pos); with --replace it creates or replaces it (PUT).\n"
"    rm deletes one. POs declared in the config file (source \"config\")\n"
"    cannot be changed or removed here. add and rm need the API token.\n"
"\n"
"OPTIONS\n"
"    --prefix P          a canonical prefix, e.g. 192.0.2.0/24, 2001:db8::/48\n"
"                        (host bits set are refused); repeatable\n"
"    --port N            a port 1..65535; repeatable\n"
"    --driver D          nft, xdp, bgp, ins or notify, in the order to try;\n"
"                        repeatable\n"
"    --threshold PROTO.METRIC=N\n"
"                        PROTO: tcp, udp, icmp, other; METRIC: pps, bps,\n"
"                        flows, syn_pps; N may end in k, M or G; repeatable\n"
"    --host-threshold PROTO.METRIC=N\n"
"                        the same limits for each destination host of the\n"
"                        PO (host_thresholds); repeatable\n"
"    --file F            read the PO as JSON (the API's PO object) from F\n"
"                        (a regular file; pipe anything else to \"-\"), or\n"
"                        stdin for \"-\"; NAME, if given, overrides its name\n"
"    --replace           create or replace (PUT) instead of create (POST)\n"
"    --json              print the server's JSON\n"
"\n"
"EXIT STATUS\n"
"    0 success; 1 refused (no such PO, exists, invalid, declared in the\n"
"    config); 2 usage; 3 moatd unreachable; 4 no or wrong token; 5 server\n"
"    error.\n"
"\n"
"EXAMPLES\n"
"    moat po add web --prefix 192.0.2.0/24 --prefix 2001:db8:1::/48 \\\n"
"        --port 80 --port 443 --driver nft --threshold tcp.syn_pps=20k\n"
"    moat po list\n"
"    moat --json po show web | jq .prefixes\n"
"    moat po rm web\n";

void
cmd_po_render_list(const json_t *reply)
{
	static const struct outfmt_col cols[] = {
		{ "NAME", "name", OUTFMT_STR },
		{ "PREFIXES", "prefixes", OUTFMT_LIST },
		{ "PORTS", "ports", OUTFMT_LIST },
		{ "DRIVERS", "drivers", OUTFMT_LIST },
		{ "SOURCE", "source", OUTFMT_STR },
	};

	outfmt_json_table(stdout, json_object_get(reply, "pos"), cols,
	    sizeof(cols) / sizeof(cols[0]), "no protected objects");
}

static int
cmd_po_list(struct cli *cli, int argc, char **argv)
{
	if (argc > 1)
		return cli_usage_error(&cmd_po, "list: unexpected argument '%s'", argv[1]);
	return client_show(cli, "/api/v1/pos", cmd_po_render_list);
}

/* label: "thresholds" or "host_thresholds", as in the JSON. */
static void
cmd_po_print_thresholds(const char *label, const json_t *th)
{
	static const char *const hdr[] = { "PROTO", "PPS", "BPS", "FLOWS", "SYN_PPS" };
	static const char *const protos[] = { "tcp", "udp", "icmp", "other" };
	static const char *const metrics[] = { "pps", "bps", "flows", "syn_pps" };
	struct outfmt_table *t;
	char val[4][32];
	size_t p, m;

	if (json_object_size(th) == 0 || (t = outfmt_table_new(5, hdr)) == NULL) {
		printf("%s: none\n", label);
		return;
	}
	for (m = 1; m < 5; m++)
		outfmt_table_align_right(t, m);
	for (p = 0; p < 4; p++) {
		const json_t *pt = json_object_get(th, protos[p]);
		const char *row[5] = { protos[p], val[0], val[1], val[2], val[3] };
		json_int_t v;

		if (pt == NULL)
			continue;
		for (m = 0; m < 4; m++) {
			v = json_integer_value(json_object_get(pt, metrics[m]));
			if (v > 0)
				outfmt_si(val[m], sizeof(val[m]), (uint64_t)v);
			else
				snprintf(val[m], sizeof(val[m]), "-");
		}
		outfmt_table_add(t, row);
	}
	printf("%s:\n", label);
	outfmt_table_print(t, stdout);
	outfmt_table_free(t);
}

void
cmd_po_render_one(const json_t *po)
{
	const json_t *v;
	const char *s;
	char buf[1024];
	size_t i;

	s = json_string_value(json_object_get(po, "name"));
	printf("name:       %s\n", s ? s : "-");
	s = json_string_value(json_object_get(po, "source"));
	printf("source:     %s\n", s ? s : "-");
	printf("prefixes:  ");
	json_array_foreach(json_object_get(po, "prefixes"), i, v)
		printf(" %s", json_string_value(v) ? json_string_value(v) : "?");
	printf("\n");
	outfmt_json_join(buf, sizeof(buf), json_object_get(po, "ports"), 64);
	printf("ports:      %s\n", buf);
	outfmt_json_join(buf, sizeof(buf), json_object_get(po, "drivers"), 16);
	printf("drivers:    %s\n", buf);
	outfmt_time(buf, sizeof(buf), json_number_value(json_object_get(po, "created_at")), false);
	printf("created:    %s UTC\n", buf);
	outfmt_time(buf, sizeof(buf), json_number_value(json_object_get(po, "updated_at")), false);
	printf("updated:    %s UTC\n", buf);
	cmd_po_print_thresholds("thresholds", json_object_get(po, "thresholds"));
	cmd_po_print_thresholds("host_thresholds", json_object_get(po, "host_thresholds"));
}

/* "/api/v1/pos/NAME" after checking NAME; CLI_EXIT_USAGE if it is bad. */
static int
cmd_po_path(char *buf, size_t len, const char *name)
{
	if (!cliarg_po_name_ok(name))
		return cli_usage_error(&cmd_po, "bad PO name '%s': expected [A-Za-z0-9_.-], "
		    "1 to %u characters", name, LIMIT_PO_NAME);
	snprintf(buf, len, "/api/v1/pos/%s", name);
	return CLI_EXIT_OK;
}

static int
cmd_po_show(struct cli *cli, int argc, char **argv)
{
	char path[128];
	int rc;

	if (argc != 2)
		return cli_usage_error(&cmd_po, "show: expected NAME");
	if ((rc = cmd_po_path(path, sizeof(path), argv[1])) != CLI_EXIT_OK)
		return rc;
	return client_show(cli, path, cmd_po_render_one);
}

/* Read all of standard input (a pipe, which fileio_read() refuses), at most
 * max bytes, into *ret/len; -EFBIG if longer. */
static int
cmd_po_slurp_stdin(FILE *f, size_t max, char **ret, size_t *ret_len)
{
	char *buf;
	size_t n;

	if ((buf = malloc(max + 1)) == NULL)
		return -ENOMEM;
	/* One byte past the cap tells an over-long file from one at the cap. */
	n = fread(buf, 1, max + 1, f);
	if (ferror(f) || n > max) {
		free(buf);
		return ferror(f) ? -EIO : -EFBIG;
	}
	*ret = buf;
	*ret_len = n;
	return 0;
}

/* Read a PO JSON object from path ("-" = stdin), at most LIMIT_CLI_PO_FILE
 * bytes (one REST body). Reports errors; returns an exit code. */
static int
cmd_po_load_file(const char *path, json_t **ret)
{
	json_error_t err;
	json_t *po;
	char *buf;
	size_t len;
	int r;

	if (strcmp(path, "-") == 0)
		r = cmd_po_slurp_stdin(stdin, LIMIT_CLI_PO_FILE, &buf, &len);
	else
		r = fileio_read(path, LIMIT_CLI_PO_FILE, 0, &buf, &len);
	if (r < 0) {
		log_errx("po add: cannot read %s: %s", path, r == -EFBIG ?
		    "larger than the API accepts" : r == -EINVAL ? "not a regular file" :
		    strerror(-r));
		return CLI_EXIT_REFUSED;
	}
	po = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &err);
	free(buf);
	if (po == NULL) {
		log_errx("po add: %s:%d:%d: %s", path, err.line, err.column, err.text);
		return CLI_EXIT_USAGE;
	}
	if (!json_is_object(po)) {
		log_errx("po add: %s: expected a JSON object (a PO)", path);
		json_decref(po);
		return CLI_EXIT_USAGE;
	}
	*ret = po;
	return CLI_EXIT_OK;
}

/* Append to po[key] (an array, created on first use). */
static int
cmd_po_append(json_t *po, const char *key, json_t *v)
{
	json_t *arr = json_object_get(po, key);

	if (v == NULL)
		return -EINVAL;
	if (arr == NULL) {
		if ((arr = json_array()) == NULL || json_object_set_new(po, key, arr) < 0) {
			json_decref(v);
			return -ENOMEM;
		}
	}
	return json_array_append_new(arr, v);
}

/* Append the value of option opt to po[key]. v is NULL when jansson
 * refused the text (not UTF-8) or memory ran out. */
static int
cmd_po_push(json_t *po, const char *key, const char *opt, const char *arg, json_t *v)
{
	if (v == NULL || cmd_po_append(po, key, v) < 0)
		return cli_usage_error(&cmd_po, "add: bad %s '%s': not UTF-8 text", opt, arg);
	return CLI_EXIT_OK;
}

enum { PO_OPT_PREFIX = 1, PO_OPT_PORT, PO_OPT_DRIVER, PO_OPT_THRESHOLD, PO_OPT_HOST_THRESHOLD,
	PO_OPT_FILE, PO_OPT_REPLACE };

/* Add PROTO.METRIC=N to the object `key` of po ("thresholds", "host_thresholds"). */
static int
cmd_po_add_threshold(json_t *po, const char *key, const char *opt, const char *arg)
{
	json_t *th;

	if ((th = json_object_get(po, key)) == NULL)
		json_object_set_new(po, key, th = json_object());
	if (cliarg_threshold(arg, th) < 0)
		return cli_usage_error(&cmd_po, "add: bad %s '%s': expected PROTO.METRIC=N "
		    "(tcp|udp|icmp|other . pps|bps|flows|syn_pps)", opt, arg);
	return CLI_EXIT_OK;
}

/* Apply one option of `po add` to po; CLI_EXIT_OK or a reported usage error. */
static int
cmd_po_apply_opt(json_t *po, int opt, const char *arg)
{
	uint16_t port;

	switch (opt) {
	case PO_OPT_PREFIX:
		return cmd_po_push(po, "prefixes", "--prefix", arg, json_string(arg));
	case PO_OPT_PORT:
		if (cliarg_port(arg, &port) < 0)
			return cli_usage_error(&cmd_po, "add: bad --port '%s': expected 1..65535", arg);
		return cmd_po_push(po, "ports", "--port", arg, json_integer(port));
	case PO_OPT_DRIVER:
		return cmd_po_push(po, "drivers", "--driver", arg, json_string(arg));
	case PO_OPT_THRESHOLD:
		return cmd_po_add_threshold(po, "thresholds", "--threshold", arg);
	case PO_OPT_HOST_THRESHOLD:
		return cmd_po_add_threshold(po, "host_thresholds", "--host-threshold", arg);
	}
	return CLI_EXIT_USAGE;
}

/* Set or check the name: NAME on the command line wins over the file's. */
static int
cmd_po_set_name(json_t *po, const char *name)
{
	if (name == NULL) {
		name = json_string_value(json_object_get(po, "name"));
		if (name == NULL)
			return cli_usage_error(&cmd_po, "add: expected NAME");
	}
	if (!cliarg_po_name_ok(name))
		return cli_usage_error(&cmd_po, "add: bad PO name '%s': expected "
		    "[A-Za-z0-9_.-], 1 to %u characters", name, LIMIT_PO_NAME);
	json_object_set_new(po, "name", json_string(name));
	return CLI_EXIT_OK;
}

/* Parse `add`'s argv into a PO; --replace is reported through *ret_replace. */
static int
cmd_po_parse_add(int argc, char **argv, json_t **ret_po, bool *ret_replace)
{
	static const struct option opts[] = {
		{ "prefix", required_argument, NULL, PO_OPT_PREFIX },
		{ "port", required_argument, NULL, PO_OPT_PORT },
		{ "driver", required_argument, NULL, PO_OPT_DRIVER },
		{ "threshold", required_argument, NULL, PO_OPT_THRESHOLD },
		{ "host-threshold", required_argument, NULL, PO_OPT_HOST_THRESHOLD },
		{ "file", required_argument, NULL, PO_OPT_FILE },
		{ "replace", no_argument, NULL, PO_OPT_REPLACE },
		{ NULL, 0, NULL, 0 },
	};
	json_t *po = json_object(), *from_file = NULL;
	bool replace = false;
	const char *file = NULL;
	int c, rc = CLI_EXIT_USAGE;

	cli_getopt_begin();
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == PO_OPT_FILE) {
			file = optarg;
		} else if (c == PO_OPT_REPLACE) {
			replace = true;
		} else if (c == '?' || c == ':') {
			rc = cli_bad_option(&cmd_po, argv);
			goto fail;
		} else if ((rc = cmd_po_apply_opt(po, c, optarg)) != CLI_EXIT_OK) {
			goto fail;
		}
	}
	if (argc - optind > 1) {
		rc = cli_usage_error(&cmd_po, "add: unexpected argument '%s'", argv[optind + 1]);
		goto fail;
	}
	if (file != NULL) {
		if (json_object_size(po) > 0) {
			rc = cli_usage_error(&cmd_po, "add: --file excludes the other PO options");
			goto fail;
		}
		if ((rc = cmd_po_load_file(file, &from_file)) != CLI_EXIT_OK)
			goto fail;
		json_decref(po);
		po = from_file;
	} else if (json_object_get(po, "prefixes") == NULL) {
		rc = cli_usage_error(&cmd_po, "add: expected at least one --prefix (or --file)");
		goto fail;
	}
	if ((rc = cmd_po_set_name(po, optind < argc ? argv[optind] : NULL)) != CLI_EXIT_OK)
		goto fail;
	*ret_po = po;
	*ret_replace = replace;
	return CLI_EXIT_OK;
fail:
	json_decref(po);
	return rc;
}

int
cmd_po_build(int argc, char **argv, json_t **ret_po)
{
	bool replace;

	return cmd_po_parse_add(argc, argv, ret_po, &replace);
}

static int
cmd_po_add(struct cli *cli, int argc, char **argv)
{
	struct client_reply r;
	const char *name;
	char path[128];
	bool replace;
	json_t *po;
	int rc;

	if ((rc = cmd_po_parse_add(argc, argv, &po, &replace)) != CLI_EXIT_OK)
		return rc;
	name = json_string_value(json_object_get(po, "name"));
	snprintf(path, sizeof(path), "/api/v1/pos/%s", name);
	if (replace)
		rc = client_put_json(cli, path, po, &r);
	else
		rc = client_post_json(cli, "/api/v1/pos", po, &r);
	if (rc == CLI_EXIT_OK) {
		if (cli->json)
			client_print_raw(&r);
		else
			printf("PO %s %s\n", name, r.status == 201 ? "added" : "replaced");
		client_reply_free(&r);
	}
	json_decref(po);
	return rc;
}

static int
cmd_po_rm(struct cli *cli, int argc, char **argv)
{
	struct client_reply r;
	char path[128];
	int rc;

	if (argc != 2)
		return cli_usage_error(&cmd_po, "rm: expected NAME");
	if ((rc = cmd_po_path(path, sizeof(path), argv[1])) != CLI_EXIT_OK)
		return rc;
	if ((rc = client_delete(cli, path, &r)) != CLI_EXIT_OK)
		return rc;
	if (!cli->json)
		printf("PO %s removed\n", argv[1]);
	client_reply_free(&r);
	return CLI_EXIT_OK;
}

/* The po subcommands, like the top-level table. */
static const struct {
	const char *name;
	int (*run)(struct cli *cli, int argc, char **argv);
} cmd_po_subs[] = {
	{ "list", cmd_po_list },
	{ "ls", cmd_po_list },
	{ "show", cmd_po_show },
	{ "add", cmd_po_add },
	{ "rm", cmd_po_rm },
	{ "remove", cmd_po_rm },
};

static int
cmd_po_run(struct cli *cli, int argc, char **argv)
{
	if (argc < 2)
		return cli_usage_error(&cmd_po, "expected list, show, add or rm");
	for (size_t i = 0; i < sizeof(cmd_po_subs) / sizeof(cmd_po_subs[0]); i++)
		if (strcmp(argv[1], cmd_po_subs[i].name) == 0)
			return cmd_po_subs[i].run(cli, argc - 1, argv + 1);
	return cli_usage_error(&cmd_po, "unknown subcommand '%s'", argv[1]);
}

const struct cli_cmd cmd_po = {
	.name = "po",
	.run = cmd_po_run,
	.summary = "list, show, add and remove protected objects",
	.help = cmd_po_text,
};
