/*
 * moat-chaff: the decoy network daemon.
 *
 *   moat-chaff -c FILE [-n] [-d]
 *
 * Loads the configuration and the personalities, opens the AF_PACKET socket,
 * drops privileges (sandbox_enter), announces every decoy with a gratuitous
 * ARP within the liveness budget, then answers frames until SIGTERM/SIGINT,
 * reporting alarms as it goes. -n checks the configuration (including that
 * every personality exists in nmap-os-db) and exits. The daemon itself is
 * chaff/run.c; this file only parses arguments.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

#include "chaff/run.h"
#include "common/log.h"

static void
usage(FILE *f)
{
	fprintf(f, "usage: moat-chaff -c FILE [-n] [-d]\n"
		   "  -c, --config FILE  configuration (YAML)\n"
		   "  -n, --check        check the configuration and exit\n"
		   "  -d, --debug        debug logging\n"
		   "  -h, --help         this text\n");
}

int
main(int argc, char **argv)
{
	struct chaff_run *ch;
	const char *path = NULL;
	bool check = false;
	int c, r;
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 'n' },
		{ "debug", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};

	log_init("moat-chaff", LOG_DEST_STDERR, LOG_LVL_INFO, false);
	while ((c = getopt_long(argc, argv, "c:ndh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': path = optarg; break;
		case 'n': check = true; break;
		case 'd': log_set_level(LOG_LVL_DEBUG); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!path) {
		usage(stderr);
		return 2;
	}
	if (chaff_run_load(path, &ch) < 0)
		return 1;
	if (check) {
		r = chaff_run_check(ch, path);
		chaff_run_free(ch);
		return r < 0 ? 1 : 0;
	}
	r = chaff_run_start(ch, -1, 0);
	if (r == 0)
		r = chaff_run_loop(ch);
	chaff_run_free(ch);
	return r < 0 ? 1 : 0;
}
