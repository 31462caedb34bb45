/* cmd_table: the commands of `moat`, in the order `moat --help` lists them. */
#include "cli/cmd.h"

static const struct cli_cmd *const cmd_list[] = {
	&cmd_status,
	&cmd_po,
	&cmd_flight,
	&cmd_traffic,
	&cmd_exporters,
	&cmd_attacks,
	&cmd_attack,
	&cmd_connections,
	&cmd_backup,
	&cmd_restore,
	&cmd_reset,
	&cmd_mitigations,
	&cmd_mitigate,
	&cmd_unmitigate,
	&cmd_run,
	&cmd_help,
};

const struct cli_cmds cmd_table = { cmd_list, sizeof(cmd_list) / sizeof(cmd_list[0]) };
