/*
 * cli: the `moat` command line — global options, the table of subcommands,
 * dispatch, help and exit codes (WireGuard's `wg` shape).
 *
 * A command is a `const struct cli_cmd` defined in its own cmd_<verb>.c and
 * listed once in cmd.h and in the table in cli.c. Its run() gets argv with
 * argv[0] = the verb; `--json` and `--help`/`-h` have already been taken out
 * of argv by the dispatcher, so commands parse only their own options.
 * run() returns an exit code (enum cli_exit) and has already reported any
 * error on stderr, once, with context.
 */
#ifndef MOAT_CLI_H
#define MOAT_CLI_H

#include <stdbool.h>
#include <stdio.h>

/* Exit codes scripts can trust (docs/api_spec: CLI). */
enum cli_exit {
	CLI_EXIT_OK = 0,
	CLI_EXIT_REFUSED = 1,	  /* server refused (4xx but 401), no such object, local I/O */
	CLI_EXIT_USAGE = 2,	  /* bad command line */
	CLI_EXIT_UNREACHABLE = 3, /* moatd did not answer */
	CLI_EXIT_AUTH = 4,	  /* 401, or no token readable */
	CLI_EXIT_SERVER = 5,	  /* 5xx */
};

/* Per-invocation context: global options, resolved lazily by client.c. */
struct cli_cmds;

struct cli {
	const struct cli_cmds *cmds; /* the command table cli_main was given */
	const char *state_opt; /* --state DIR, or NULL */
	const char *api_opt;   /* --api URL, or NULL */
	bool json;	       /* --json: print the server's JSON as received */
	char *api_url;	       /* resolved by client.c on first use; owned */
	char *token;	       /* read by client.c for the first mutating call; owned */
};

/* Free what the context owns (not the struct itself). */
void cli_release(struct cli *cli);

struct cli_cmd {
	const char *name;
	int (*run)(struct cli *cli, int argc, char **argv);
	const char *summary; /* one line for `moat --help` */
	const char *help;    /* man-style page for `moat help VERB` */
};

/* The commands `moat` knows, in the order `moat --help` lists them. The
 * table is handed to cli_main by its caller (cmd_table.c builds moat's), so
 * the dispatcher does not depend on the commands that depend on it. */
struct cli_cmds {
	const struct cli_cmd *const *cmd;
	size_t n;
};

/* The whole program: parse global options, dispatch, return the exit code. */
int cli_main(const struct cli_cmds *cmds, int argc, char **argv);

/* The command named name, or NULL. */
const struct cli_cmd *cli_find(const struct cli *cli, const char *name);
/* Number of commands and the i-th one (for help listings and tests). */
size_t cli_ncmds(const struct cli *cli);
const struct cli_cmd *cli_cmd_at(const struct cli *cli, size_t i);

/* Print `moat --help` (the command list) to f. */
void cli_print_usage(const struct cli *cli, FILE *f);
/* Report a usage error for cmd on stderr ("moat VERB: msg" and a hint to see
 * `moat help VERB`); returns CLI_EXIT_USAGE so callers can `return` it. */
int cli_usage_error(const struct cli_cmd *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Take --json and --help/-h out of argv[1..] (up to a "--"); sets cli->json
 * and *ret_help. Returns the new argc. Exposed for tests. */
int cli_strip_common(struct cli *cli, int argc, char **argv, bool *ret_help);
/* Prepare getopt_long() for a fresh parse of a command's argv (resets optind,
 * silences getopt's own messages). Call before each command's option loop. */
void cli_getopt_begin(void);
/* Report the option getopt_long() just rejected ('?' or ':') as a usage error
 * of cmd; returns CLI_EXIT_USAGE. */
int cli_bad_option(const struct cli_cmd *cmd, char **argv);

#endif
