/* moat restore FILE: replace moatd's state with a backup (POST /api/v1/restore). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/client.h"
#include "cli/cmd.h"
#include "common/fileio.h"
#include "common/limits.h"
#include "common/log.h"

static const char cmd_restore_text[] =
"NAME\n"
"    moat restore - replace moatd's state with a backup\n"
"\n"
"SYNOPSIS\n"
"    moat [--json] restore FILE\n"
"\n"
"DESCRIPTION\n"
"    Sends FILE, made by 'moat backup', to moatd (POST /api/v1/restore),\n"
"    which checks that it is a moat backup of a supported schema, replaces\n"
"    the whole runtime state with it and re-applies it. POs declared in the\n"
"    config file still come from the config file. A file that is not a moat\n"
"    backup is refused and nothing changes. Needs the API token.\n"
"\n"
"EXIT STATUS\n"
"    0 restored; 1 refused (not a moat backup) or FILE unreadable; 2 usage;\n"
"    3 moatd unreachable; 4 no or wrong token; 5 server error.\n"
"\n"
"EXAMPLES\n"
"    moat restore /var/backups/moat-2026-11-21.db\n";

static int
cmd_restore_run(struct cli *cli, int argc, char **argv)
{
	struct client_reply r;
	struct client_body body = { 0 };
	char *data = NULL;
	size_t len = 0;
	int rc, e;

	if (argc != 2)
		return cli_usage_error(&cmd_restore, "expected FILE");
	if ((e = fileio_read(argv[1], LIMIT_API_RESTORE_BODY, 0, &data, &len)) < 0) {
		log_errx("restore: cannot read %s: %s", argv[1],
		    e == -EINVAL ? "not a regular file" :
		    e == -EFBIG ? "larger than moatd accepts" : strerror(-e));
		return CLI_EXIT_REFUSED;
	}
	body.bytes = data;
	body.len = len;
	body.bulk = true;
	rc = client_call(cli, "POST", "/api/v1/restore", &body, &r);
	free(data);
	if (rc != CLI_EXIT_OK)
		return rc;
	if (cli->json)
		client_print_raw(&r);
	else
		printf("restored from %s: %lld POs\n", argv[1],
		    (long long)json_integer_value(json_object_get(r.json, "pos")));
	client_reply_free(&r);
	return CLI_EXIT_OK;
}

const struct cli_cmd cmd_restore = {
	.name = "restore",
	.run = cmd_restore_run,
	.summary = "replace moatd's state with a backup",
	.help = cmd_restore_text,
};
