/*
 * moat-backtest: the backtest path as a stand-alone program (moatd
 * --backtest does the same inside the daemon).
 *
 *   moat-backtest [--json] [--preset moat|defense4all] [--set KEY=VALUE ...] FILE|-
 *
 * Exit codes: 0 done, 1 the input is bad, 2 usage.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "engine/backtest.h"

static void
usage(FILE *out)
{
	fprintf(out, "usage: moat-backtest [--json] [--preset NAME] [--set KEY=VALUE ...] FILE|-\n"
	    "  CSV header: time,po,protocol,direction,bytes,packets[,port,flows,syns,frags]\n"
	    "  presets: moat (default), defense4all; keys e.g. rate.persist, rate.learn, quiet,\n"
	    "  limits.udp.pps\n");
}

static int
apply_set(struct dparams *p, char *kv)
{
	char *eq = strchr(kv, '=');
	int r;

	if (eq == NULL) {
		log_warnx("--set %s: expected KEY=VALUE", kv);
		return -EINVAL;
	}
	*eq = '\0';
	if ((r = dparams_set(p, kv, eq + 1)) < 0) {
		log_warnx("--set %s: %s", kv, r == -ENOENT ? "unknown parameter" : "bad value");
		return r;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "preset", required_argument, NULL, 'p' },
		{ "set", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct dparams params;
	struct backtest *bt;
	struct backtest_error err;
	const char *what;
	bool json = false;
	FILE *in;
	int c, r;

	log_init("moat-backtest", LOG_DEST_STDERR, LOG_LVL_INFO, false);
	dparams_default(&params);
	while ((c = getopt_long(argc, argv, "jp:s:h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'p':
			if (dparams_preset(optarg, &params) < 0) {
				log_warnx("unknown preset %s", optarg);
				return 2;
			}
			break;
		case 's':
			if (apply_set(&params, optarg) < 0)
				return 2;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 2;
	}
	if (dparams_check(&params, &what) < 0) {
		log_warnx("parameters: %s", what);
		return 2;
	}
	in = strcmp(argv[optind], "-") == 0 ? stdin : fopen(argv[optind], "re");
	if (in == NULL) {
		log_warn("%s", argv[optind]);
		return 1;
	}
	if (backtest_new(&params, &bt) < 0)
		fatalx("out of memory");
	r = backtest_csv_file(bt, in, &err);
	if (in != stdin)
		fclose(in);
	if (r < 0) {
		log_warnx("%s: %s", argv[optind], err.msg);
		backtest_free(bt);
		return 1;
	}
	backtest_finish(bt);
	r = json ? backtest_report_json(bt, stdout) : backtest_report_text(bt, stdout);
	backtest_free(bt);
	return r < 0 ? 1 : 0;
}
