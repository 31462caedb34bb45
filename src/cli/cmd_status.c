/* moat status: moatd's health (GET /api/v1/health). */
#include <stdio.h>
#include <string.h>

#include "cli/client.h"
#include "cli/cmd.h"
#include "cli/outfmt.h"

static const char cmd_status_text[] =
"NAME\n"
"    moat status - show whether moatd is up and healthy\n"
"\n"
"SYNOPSIS\n"
"    moat [--json] status\n"
"\n"
"DESCRIPTION\n"
"    Asks moatd for its health (GET /api/v1/health) and prints its status\n"
"    (ok, degraded or failing), version, uptime, number of protected\n"
"    objects, store, state dir and the API address used, then any open\n"
"    health issues with their significance. A moatd in a cluster role\n"
"    (collect or engine, docs/scale.md) also shows its role, instance,\n"
"    NATS connection and (GET /api/v1/cluster) the shards it owns, the\n"
"    live engines and its lag (engine), or what it published, buffers and\n"
"    dropped (collect); --json adds it as \"cluster\". Then a table of\n"
"    every live instance of the deployment (each publishes its status\n"
"    every second through NATS): instance, role, the shards it owns, its\n"
"    lag, its counters (an engine's messages consumed, gaps and lost; a\n"
"    collector's published and dropped) and version. Needs no token.\n"
"\n"
"OPTIONS\n"
"    --json    print the server's JSON\n"
"\n"
"EXIT STATUS\n"
"    0 moatd answered (whatever its status), 3 moatd unreachable, 5 server\n"
"    error.\n"
"\n"
"EXAMPLES\n"
"    moat status\n"
"    moat --state /tmp/moat status --json\n";

static void
cmd_status_issues(const json_t *issues)
{
	static const char *const hdr[] = { "MODULE", "SIGNIFICANCE", "MESSAGE" };
	struct outfmt_table *t;
	const json_t *it;
	char sig[32];
	size_t i;

	if (json_array_size(issues) == 0) {
		printf("issues:     none\n");
		return;
	}
	printf("issues:\n");
	if ((t = outfmt_table_new(3, hdr)) == NULL)
		return;
	outfmt_table_align_right(t, 1);
	json_array_foreach(issues, i, it) {
		const char *row[3];

		snprintf(sig, sizeof(sig), "%.2f", json_number_value(json_object_get(it, "significance")));
		row[0] = json_string_value(json_object_get(it, "module"));
		row[1] = sig;
		row[2] = json_string_value(json_object_get(it, "message"));
		outfmt_table_add(t, row);
	}
	outfmt_table_print(t, stdout);
	outfmt_table_free(t);
}

void
cmd_status_render(const json_t *h, const char *api_url)
{
	const char *s;
	char up[32], started[32];

	outfmt_duration(up, sizeof(up), json_integer_value(json_object_get(h, "uptime_s")));
	outfmt_time(started, sizeof(started),
	    json_number_value(json_object_get(h, "started_at")), false);
	s = json_string_value(json_object_get(h, "status"));
	printf("status:     %s\n", s ? s : "unknown");
	s = json_string_value(json_object_get(h, "version"));
	printf("version:    %s\n", s ? s : "-");
	printf("uptime:     %s (since %s UTC)\n", up, started);
	printf("pos:        %lld\n", (long long)json_integer_value(json_object_get(h, "pos")));
	s = json_string_value(json_object_get(h, "store"));
	printf("store:      %s\n", s ? s : "-");
	s = json_string_value(json_object_get(h, "state_dir"));
	printf("state dir:  %s\n", s ? s : "-");
	printf("api:        %s\n", api_url ? api_url : "-");
	cmd_status_issues(json_object_get(h, "issues"));
}

static long long
cmd_status_int(const json_t *o, const char *key)
{
	return (long long)json_integer_value(json_object_get(o, key));
}

/* "0,1,5" (at most len bytes), "-" when none. */
static void
cmd_status_shards(const json_t *owned, char *buf, size_t len)
{
	const json_t *it;
	size_t i, at = 0;

	snprintf(buf, len, "-");
	json_array_foreach(owned, i, it) {
		int n = snprintf(buf + at, len - at, "%s%lld", i ? "," : "",
		    (long long)json_integer_value(it));

		if (n < 0 || (size_t)n >= len - at)
			break;
		at += (size_t)n;
	}
}

/* Every live instance of the deployment (the cluster's "instances"). */
static void
cmd_status_instances(const json_t *list)
{
	static const char *const hdr[] = { "INSTANCE", "ROLE", "SHARDS", "LAG_MS", "COUNTERS",
		"VERSION" };
	struct outfmt_table *t;
	const json_t *o;
	size_t i;

	if (json_array_size(list) == 0 || (t = outfmt_table_new(6, hdr)) == NULL)
		return;
	outfmt_table_align_right(t, 3);
	json_array_foreach(list, i, o) {
		const char *role = json_string_value(json_object_get(o, "role"));
		const char *ver = json_string_value(json_object_get(o, "version"));
		const char *row[6];
		char shards[256], lag[32], counters[160];
		bool engine = role != NULL && strcmp(role, "engine") == 0;

		cmd_status_shards(json_object_get(o, "owned"), shards, sizeof(shards));
		if (engine) {
			snprintf(lag, sizeof(lag), "%lld", cmd_status_int(o, "lag_ms"));
			snprintf(counters, sizeof(counters), "%lld consumed, %lld gap(s), %lld lost",
			    cmd_status_int(o, "received"), cmd_status_int(o, "gaps"),
			    cmd_status_int(o, "lost"));
		} else {
			snprintf(lag, sizeof(lag), "-");
			snprintf(counters, sizeof(counters), "%lld published, %lld dropped",
			    cmd_status_int(o, "published"), cmd_status_int(o, "dropped"));
		}
		row[0] = json_string_value(json_object_get(o, "instance"));
		row[0] = row[0] != NULL ? row[0] : "-";
		row[1] = role != NULL ? role : "-";
		row[2] = shards;
		row[3] = lag;
		row[4] = counters;
		row[5] = ver != NULL ? ver : "-";
		outfmt_table_add(t, row);
	}
	printf("instances:\n");
	outfmt_table_print(t, stdout);
	outfmt_table_free(t);
}

/* The cluster role's lines (GET /api/v1/cluster); nothing in role all. */
static void
cmd_status_cluster(const json_t *c)
{
	const char *role = json_string_value(json_object_get(c, "role"));
	const char *err = json_string_value(json_object_get(c, "last_error"));
	const json_t *owned = json_object_get(c, "owned"), *it;
	size_t i;
	const char *inst = json_string_value(json_object_get(c, "instance"));

	if (role == NULL || strcmp(role, "all") == 0)
		return;
	printf("role:       %s (instance %s, NATS %s)\n", role, inst != NULL ? inst : "-",
	    json_is_true(json_object_get(c, "connected")) ? "connected" : "not connected");
	if (strcmp(role, "engine") == 0) {
		printf("shards:     %zu of %lld owned:", json_array_size(owned),
		    cmd_status_int(c, "shards"));
		json_array_foreach(owned, i, it)
			printf(" %lld", (long long)json_integer_value(it));
		printf("; %lld live engine(s)\n", cmd_status_int(c, "live_engines"));
		printf("lag:        %lld ms; %lld messages, %lld readings; %lld gap(s), %lld lost, "
		    "%lld dropped\n", cmd_status_int(c, "lag_ms"), cmd_status_int(c, "received"),
		    cmd_status_int(c, "readings"), cmd_status_int(c, "gaps"), cmd_status_int(c, "lost"),
		    cmd_status_int(c, "dropped_in"));
		printf("adopted:    %lld attack(s), %lld mitigation(s)\n",
		    cmd_status_int(c, "adopted_attacks"), cmd_status_int(c, "adopted_mitigations"));
	} else {
		printf("published:  %lld messages; buffered %lld of %lld; dropped %lld\n",
		    cmd_status_int(c, "published"), cmd_status_int(c, "buffered"),
		    cmd_status_int(c, "buffer_max"), cmd_status_int(c, "dropped"));
	}
	if (err != NULL && err[0] != '\0')
		printf("nats error: %s\n", err);
	cmd_status_instances(json_object_get(c, "instances"));
}

static int
cmd_status_run(struct cli *cli, int argc, char **argv)
{
	struct client_reply r, c = { 0 };
	json_t *cluster = NULL;
	int rc;

	if (argc > 1)
		return cli_usage_error(&cmd_status, "unexpected argument '%s'", argv[1]);
	if ((rc = client_get(cli, "/api/v1/health", &r)) != CLI_EXIT_OK)
		return rc;
	/* The cluster role, when moatd has one (role all: nothing more). */
	if (client_get(cli, "/api/v1/cluster", &c) == CLI_EXIT_OK && c.json != NULL) {
		const char *role = json_string_value(json_object_get(c.json, "role"));

		if (role != NULL && strcmp(role, "all") != 0)
			cluster = c.json;
	}
	if (cli->json && cluster != NULL && r.json != NULL) {
		json_object_set(r.json, "cluster", cluster);
		json_dumpf(r.json, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
	} else if (cli->json) {
		client_print_raw(&r);
	} else {
		cmd_status_render(r.json, client_api_url(cli));
		if (cluster != NULL)
			cmd_status_cluster(cluster);
	}
	client_reply_free(&c);
	client_reply_free(&r);
	return CLI_EXIT_OK;
}

const struct cli_cmd cmd_status = {
	.name = "status",
	.run = cmd_status_run,
	.summary = "show whether moatd is up and healthy",
	.help = cmd_status_text,
};
