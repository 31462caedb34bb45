/*
 * cmd: the commands of `moat`, one per cmd_<verb>.c. Adding a command is
 * adding its file, a line here, a row in cmd_table.c and the file in
 * meson.build (docs/cli.md walks through it).
 */
#ifndef MOAT_CMD_H
#define MOAT_CMD_H

#include <jansson.h>

#include "cli/cli.h"

/* Every command below, in `moat --help` order (cmd_table.c). */
extern const struct cli_cmds cmd_table;

extern const struct cli_cmd cmd_status;
extern const struct cli_cmd cmd_po;
extern const struct cli_cmd cmd_flight;
extern const struct cli_cmd cmd_traffic;
extern const struct cli_cmd cmd_exporters;
extern const struct cli_cmd cmd_attacks;
extern const struct cli_cmd cmd_attack;
extern const struct cli_cmd cmd_connections;
extern const struct cli_cmd cmd_mitigations;
extern const struct cli_cmd cmd_mitigate;
extern const struct cli_cmd cmd_unmitigate;
extern const struct cli_cmd cmd_backup;
extern const struct cli_cmd cmd_restore;
extern const struct cli_cmd cmd_reset;
extern const struct cli_cmd cmd_run;
extern const struct cli_cmd cmd_help;

/*
 * cmd_po.c: build the PO JSON for `moat po add` from its argv (argv[0] =
 * "add"). Returns 0 with *ret_po (caller decrefs) or CLI_EXIT_USAGE after
 * reporting. Exposed for tests.
 */
int cmd_po_build(int argc, char **argv, json_t **ret_po);

/*
 * The human renderings of server replies, exposed for the fuzzer
 * (tests/fuzz/fuzz_cli_render.c). Each accepts any JSON value, of any shape,
 * or NULL, and prints to stdout.
 */
void cmd_status_render(const json_t *health, const char *api_url);
void cmd_po_render_list(const json_t *reply);
void cmd_po_render_one(const json_t *po);
void cmd_flight_render(const json_t *reply, bool detail);

#endif
