/*
 * Fuzz the CLI's human rendering of moatd's replies: whatever JSON (or not)
 * the server sends, `moat status`, `po list`, `po show` and `flight` print
 * something and never crash, read out of bounds or leak.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cli/cmd.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	/* The renderings print to stdout; nobody needs to see them. */
	if (freopen("/dev/null", "w", stdout) == NULL)
		return -1;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *j = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);

	cmd_status_render(j, "http://127.0.0.1:8080");
	cmd_po_render_list(j);
	cmd_po_render_one(j);
	cmd_flight_render(j, true);
	/* The same value where each renderer looks for its list. */
	if (json_is_array(j)) {
		json_t *wrap = json_pack("{s:O, s:O}", "pos", j, "entries", j);

		cmd_po_render_list(wrap);
		cmd_flight_render(wrap, false);
		json_decref(wrap);
	}
	json_decref(j);
	return 0;
}
