/* moat backup FILE: save moatd's whole state (POST /api/v1/backup). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/client.h"
#include "cli/cmd.h"
#include "common/fileio.h"
#include "common/log.h"

static const char cmd_backup_text[] =
"NAME\n"
"    moat backup - save moatd's whole state to a file\n"
"\n"
"SYNOPSIS\n"
"    moat backup FILE\n"
"\n"
"DESCRIPTION\n"
"    Asks moatd for a backup (POST /api/v1/backup): a self-contained SQLite\n"
"    database made with SQLite's online backup API, marked as a moat backup\n"
"    with its format and schema version. It is written to FILE atomically\n"
"    (a temporary file in the same directory, synced, then renamed) with\n"
"    mode 0600; FILE \"-\" writes to standard output. Restore it with\n"
"    'moat restore FILE'. Needs the API token.\n"
"\n"
"EXIT STATUS\n"
"    0 written; 1 refused or FILE cannot be written; 2 usage; 3 moatd\n"
"    unreachable; 4 no or wrong token; 5 server error.\n"
"\n"
"EXAMPLES\n"
"    moat backup /var/backups/moat-$(date +%F).db\n";

static int
cmd_backup_write_all(int fd, const char *p, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
cmd_backup_run(struct cli *cli, int argc, char **argv)
{
	struct client_body none = { .bulk = true };
	struct client_reply r;
	int rc, e;

	if (argc != 2)
		return cli_usage_error(&cmd_backup, "expected FILE");
	if ((rc = client_call(cli, "POST", "/api/v1/backup", &none, &r)) != CLI_EXIT_OK)
		return rc;
	if (r.json != NULL || r.len == 0) {
		log_errx("backup: moatd answered %ld without a backup", r.status);
		client_reply_free(&r);
		return CLI_EXIT_SERVER;
	}
	if (strcmp(argv[1], "-") == 0) {
		e = cmd_backup_write_all(STDOUT_FILENO, r.body, r.len);
	} else {
		e = fileio_write_atomic(argv[1], r.body, r.len, 0600);
		if (e == 0)
			fprintf(stderr, "backup written to %s (%zu bytes)\n", argv[1], r.len);
	}
	if (e < 0) {
		log_errx("backup: cannot write %s: %s", argv[1], strerror(-e));
		rc = CLI_EXIT_REFUSED;
	}
	client_reply_free(&r);
	return rc;
}

const struct cli_cmd cmd_backup = {
	.name = "backup",
	.run = cmd_backup_run,
	.summary = "save moatd's whole state to a file",
	.help = cmd_backup_text,
};
