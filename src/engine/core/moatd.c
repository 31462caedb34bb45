/*
 * moatd: the engine daemon's thin main — options, configuration, token,
 * then the loop. Exit status: 0 clean stop or valid config (-n); 1 run-time
 * failure (including a health-tracker restart request); 2 configuration or
 * usage error.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "engine/backtest/backtest.h"
#include "engine/collect/module.h"
#include "engine/core/settings.h"
#include "engine/core/engine.h"
#include "engine/core/loop.h"
#include "engine/core/token.h"
#include "engine/mitigate/module.h"
#include "engine/priv/sep.h"

#define MOATD_EXIT_CONFIG 2

struct moatd_args {
	const char *conf_path;
	const char *state_dir;
	const char *user;
	bool check;
	bool debug;
};

static void
moatd_usage(FILE *f)
{
	fprintf(f,
	    "usage: moatd [-c FILE] [--state DIR] [-u USER] [-n|--check] [-d|--debug] [--version]\n"

	    "  -c, --config FILE  configuration (default " SETTINGS_DEFAULT_PATH ", else built-in defaults)\n"
	    "  -s, --state DIR    state directory: store, api.token, api.url (default: config\n"
	    "                     state_dir, else " SETTINGS_DEFAULT_STATE_DIR ")\n"
	    "  -u, --user USER    privilege separation: the engine (collectors, parsers,\n"
	    "                     detection, API, store) runs as USER with no capability;\n"
	    "                     a small privileged part runs the mitigation drivers\n"
	    "  -n, --check        validate the configuration and exit (0 valid, 2 invalid)\n"
	    "  -d, --debug        debug logging to stderr\n"
	    "  -V, --version      print the version and exit\n");
}

/* Returns -1 to continue, else an exit status. */
static int
moatd_parse_args(int argc, char **argv, struct moatd_args *a)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "state", required_argument, NULL, 's' },
		{ "user", required_argument, NULL, 'u' },
		{ "check", no_argument, NULL, 'n' },
		{ "debug", no_argument, NULL, 'd' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "c:s:u:ndVh", opts, NULL)) != -1) {
		switch (c) {
		case 'c': a->conf_path = optarg; break;
		case 's': a->state_dir = optarg; break;
		case 'u': a->user = optarg; break;
		case 'n': a->check = true; break;
		case 'd': a->debug = true; break;
		case 'V': printf("moatd %s\n", ENGINE_VERSION); return 0;
		case 'h': moatd_usage(stdout); return 0;
		default: moatd_usage(stderr); return MOATD_EXIT_CONFIG;
		}
	}
	if (optind != argc) {
		moatd_usage(stderr);
		return MOATD_EXIT_CONFIG;
	}
	return -1;
}

static int
moatd_token(struct engine *e, char token[TOKEN_HEX_LEN + 1])
{
	bool fixed = false;
	int r = token_load_or_create(engine_state_dir(e), token, &fixed);

	if (r == -EPERM)
		log_errx("%s/%s: not a regular file owned by us, or writable by group/others: "
		    "refusing to use it (remove it to get a new token)", engine_state_dir(e), TOKEN_FILE);
	else if (r < 0)
		log_errx("%s/%s: %s", engine_state_dir(e), TOKEN_FILE, strerror(-r));
	else if (fixed)
		log_warnx("%s/%s was readable by group/others: mode fixed to 0600; consider "
		    "removing it to rotate the token", engine_state_dir(e), TOKEN_FILE);
	return r;
}

/* The loop's ready hook: the engine's listeners are open; drop privileges. */
static int
moatd_drop(void *arg)
{
	const char *user = ((const struct moatd_args *)arg)->user;
	char why[256] = "";
	int r = privsep_drop(user, why, sizeof(why));

	if (r < 0)
		log_errx("privsep: cannot become %s: %s", user, why);
	else
		log_info("privsep: the engine runs as %s, without capabilities", user);
	return r < 0;
}

/*
 * With --user, split: returns 1 in the engine (its channel in *ret_fd),
 * 0 in the privileged part once moatd is done (its exit code in *ret_code),
 * or a negative errno.
 */
static int
moatd_split(const struct moatd_args *a, const struct settings *conf, int *ret_fd,
    int *ret_code)
{
	size_t ntable;
	const struct mit_driver_ops *const *table = mitigation_driver_table(&ntable);
	struct privsep_opts po = {
		.user = a->user,
		.conf_path = a->conf_path,
		.state_dir = a->state_dir ? a->state_dir :
		    conf->state_dir ? conf->state_dir : SETTINGS_DEFAULT_STATE_DIR,
		.table = table,
		.ntable = ntable,
	};

	return privsep_split(&po, ret_fd, ret_code);
}

/* collect.clock: packet runs the engine on a manual clock from the first
 * packet's second; otherwise the real clock. */
static int
moatd_clock(const struct settings *conf, struct engine_opts *eo)
{
	char err[512] = "";
	int r = collector_packet_clock_start(conf, &eo->start_ns, err, sizeof(err));

	if (r < 0) {
		log_errx("collect: packet time: %s", err);
		return r;
	}
	eo->manual_clock = r == 1;
	return 0;
}

int
main(int argc, char **argv)
{
	struct moatd_args a = { 0 };
	struct engine_opts eo = { 0 };
	struct cfg_error err = { "" };
	char token[TOKEN_HEX_LEN + 1];
	struct engine *e = NULL;
	struct settings *conf = NULL;
	int code, priv_fd = -1;

	log_init("moatd", LOG_DEST_STDERR, LOG_LVL_INFO, false);
	if (argc > 1 && strcmp(argv[1], "--backtest") == 0)
		return backtest_cli(argc - 1, argv + 1);
	code = moatd_parse_args(argc, argv, &a);
	if (code >= 0)
		return code;
	if (settings_load(a.conf_path, (int64_t)time(NULL), &conf, &err) < 0) {
		log_errx("%s", err.msg);
		return MOATD_EXIT_CONFIG;
	}
	if (a.check) {
		log_info("%s: configuration OK (%zu POs)", conf->source, conf->npos);
		settings_free(conf);
		return 0;
	}
	if (a.debug)
		log_init("moatd", LOG_DEST_STDERR, LOG_LVL_DEBUG, conf->log.json);
	else
		log_init("moatd", conf->log.target, conf->log.level, conf->log.json);
	eo.state_dir = a.state_dir;
	eo.conf_path = a.conf_path;
	if (moatd_clock(conf, &eo) < 0) {
		settings_free(conf);
		return 1;
	}
	if (a.user != NULL) {
		int r = moatd_split(&a, conf, &priv_fd, &code);

		if (r <= 0) {
			settings_free(conf);
			return r < 0 ? 1 : code;	/* the privileged part is done */
		}
	}
	eo.privsep = a.user != NULL;
	eo.priv_fd = priv_fd;
	if (engine_new(&eo, conf, &e) < 0)
		return 1;
	if (moatd_token(e, token) < 0) {
		engine_free(e);
		return 1;
	}
	code = loop_run(e, &(struct loop_opts){ .conf_path = a.conf_path, .debug = a.debug,
	    .token = token, .ready = a.user ? moatd_drop : NULL, .ready_arg = &a });
	engine_request_stop(e, code);
	engine_free(e);
	explicit_bzero(token, sizeof(token));
	log_info("stopped (exit %d)", code);
	return code;
}
