/*
 * moat-ins: the socket broker daemon, and its run mode.
 *
 *   moat-ins [OPTIONS] --socket PATH          serve shims connecting to PATH
 *   moat-ins [OPTIONS] [--isolate] -- CMD...  run CMD under the shim, serving it
 *
 * In run mode the broker creates a private control socket, starts CMD with
 * LD_PRELOAD=libmoat-shim.so and MOAT_INS_SOCK set — with --isolate in a new
 * network namespace that has only a loopback interface, left down, so any
 * socket not obtained through the broker has no network at all — serves it
 * until CMD exits, and exits with CMD's status. `moat run` execs this.
 *
 * This file parses the options; the daemon itself (marks, nftables,
 * signals, the command, confinement, the loop) is run.h, in moat-ins's
 * library where the unit tests reach it.
 */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cfg.h"
#include "common/log.h"
#include "common/strnum.h"
#include "ins/policy.h"
#include "ins/run.h"

struct ins_opts {
	const char *sock;
	const char *user;	/* --user USER[:GROUP]: the command runs as USER */
	const char *ipfix;
	const char *policy;
	const char *broker_user;	/* --broker-user: whom moat-ins becomes after set-up */
	bool isolate;
	bool verbose;
	bool check;
	bool no_sandbox;
};

/* The command line, kept to re-read the policy and overrides on SIGHUP. */
struct ins_args {
	int argc;
	char **argv;
};

static void
ins_usage(FILE *f)
{
	fprintf(f,
		"usage: moat-ins [-v] [--policy FILE] [--hold none|data|http] [--hold-timeout MS]\n"
		"                [--max-held-per-source N] [--max-conns-per-source N]\n"
		"                [--min-rate BYTES_PER_S] [--ipfix ADDR:PORT] [--no-sandbox]\n"
		"                [--user USER[:GROUP]] [--broker-user USER|root]\n"
		"                --socket PATH\n"
		"       moat-ins [options] [--isolate] [--socket PATH] -- CMD [ARGS...]\n"
		"       moat-ins --check --policy FILE\n");
}

/* The shim: $MOAT_SHIM, next to this program (a build tree), ../lib/moat, then
 * where meson installs it (MOAT_SHIM_DIR). */
static int
ins_find_shim(char *buf, size_t len)
{
	const char *env = getenv("MOAT_SHIM");
	char self[PATH_MAX];
	ssize_t n;
	char *slash;

	if (env) {
		snprintf(buf, len, "%s", env);
		return 0;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0)
		return -errno;
	self[n] = '\0';
	slash = strrchr(self, '/');
	if (!slash)
		return -ENOENT;
	*slash = '\0';
	if ((size_t)snprintf(buf, len, "%s/libmoat-shim.so", self) >= len)
		return -ENAMETOOLONG;
	if (access(buf, R_OK) == 0)
		return 0;
	if ((size_t)snprintf(buf, len, "%s/../lib/moat/libmoat-shim.so", self) >= len)
		return -ENAMETOOLONG;
	if (access(buf, R_OK) == 0)
		return 0;
	/* Installed: meson's libdir (lib/x86_64-linux-gnu on Debian). */
	if ((size_t)snprintf(buf, len, "%s/libmoat-shim.so", MOAT_SHIM_DIR) >= len)
		return -ENAMETOOLONG;
	return access(buf, R_OK) == 0 ? 0 : -ENOENT;
}

/* "USER[:GROUP]" (names or numbers) into *u; exits on an unknown name. */
static void
ins_resolve_user(const char *spec, struct run_user *u)
{
	char buf[4096], user[64], *colon;
	struct passwd pw, *p = NULL;
	uint64_t v;

	snprintf(user, sizeof(user), "%s", spec);
	colon = strchr(user, ':');
	if (colon)
		*colon++ = '\0';
	if (getpwnam_r(user, &pw, buf, sizeof(buf), &p) != 0 || !p) {
		if (strnum_u64(user, 0, UINT32_MAX - 1, &v) < 0 ||
		    getpwuid_r((uid_t)v, &pw, buf, sizeof(buf), &p) != 0 || !p)
			fatalx("--user %s: no such user", spec);
	}
	u->set = true;
	u->uid = p->pw_uid;
	u->gid = p->pw_gid;
	snprintf(u->name, sizeof(u->name), "%s", p->pw_name);
	snprintf(u->home, sizeof(u->home), "%s", p->pw_dir);
	if (colon && *colon) {
		struct group gr, *g = NULL;

		if (getgrnam_r(colon, &gr, buf, sizeof(buf), &g) == 0 && g)
			u->gid = g->gr_gid;
		else if (strnum_u64(colon, 0, UINT32_MAX - 1, &v) == 0)
			u->gid = (gid_t)v;
		else
			fatalx("--user %s: no such group", spec);
	}
}







static int
ins_parse(int argc, char **argv, struct ins_opts *o, struct policy *pol)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "user", required_argument, NULL, 'u' },
		{ "broker-user", required_argument, NULL, 'B' },
		{ "policy", required_argument, NULL, 'p' },
		{ "isolate", no_argument, NULL, 'i' },
		{ "hold", required_argument, NULL, 'H' },
		{ "hold-timeout", required_argument, NULL, 'T' },
		{ "max-held-per-source", required_argument, NULL, 'M' },
		{ "max-conns-per-source", required_argument, NULL, 'C' },
		{ "min-rate", required_argument, NULL, 'R' },
		{ "ipfix", required_argument, NULL, 'X' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "check", no_argument, NULL, 'n' },
		{ "no-sandbox", no_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cfg_error err;
	uint64_t v;
	int c;

	/* The policy file first, so command-line options override it. */
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "--check") == 0 || strcmp(argv[i], "-n") == 0)
			o->check = true;	/* so a bad policy exits 1 in check mode */
	for (int i = 1; i + 1 < argc && strcmp(argv[i], "--") != 0; i++) {
		if (strcmp(argv[i], "--policy") == 0 || strcmp(argv[i], "-p") == 0) {
			if (policy_load(argv[i + 1], pol, &err) < 0) {
				fprintf(stderr, "moat-ins: %s\n", err.msg);
				return -EINVAL;
			}
		}
	}
	while ((c = getopt_long(argc, argv, "+s:p:ivnh", longopts, NULL)) != -1) {
		switch (c) {
		case 'n': o->check = true; break;
		case 'S': o->no_sandbox = true; break;
		case 's': o->sock = optarg; break;
		case 'u': o->user = optarg; break;
		case 'B': o->broker_user = optarg; break;
		case 'p': o->policy = optarg; break;
		case 'i': o->isolate = true; break;
		case 'v': o->verbose = true; break;
		case 'H':
			if (policy_hold_parse(optarg, &pol->hold) < 0)
				goto bad;
			break;
		case 'T':
			if (strnum_u64(optarg, 10, 600000, &v) < 0)
				goto bad;
			pol->hold_timeout_ms = (uint32_t)v;
			break;
		case 'M':
			if (strnum_u64(optarg, 1, LIMIT_INS_HELD, &v) < 0)
				goto bad;
			pol->max_held_per_source = (uint32_t)v;
			break;
		case 'X':
			o->ipfix = optarg;
			break;
		case 'C':
			if (strnum_u64(optarg, 0, 1u << 24, &v) < 0)
				goto bad;
			pol->max_conns_per_source = (uint32_t)v;
			break;
		case 'R':
			if (strnum_u64(optarg, 0, 1u << 30, &v) < 0)
				goto bad;
			pol->min_rate = (uint32_t)v;
			break;
		case 'h':
			ins_usage(stdout);
			exit(0);
		default:
			ins_usage(stderr);
			return -EINVAL;
		}
	}
	return optind;
bad:
	fprintf(stderr, "moat-ins: bad value for option %s: %s\n", argv[optind - 1], optarg);
	return -EINVAL;
}













/*
 * SIGHUP (run_reload_fn): the policy file and the command-line overrides
 * again, from the defaults, as at start.
 */
static int
ins_reload(void *ctx, struct policy *ret)
{
	const struct ins_args *a = ctx;
	struct ins_opts o = { 0 };

	policy_default(ret);
	optind = 0;	/* getopt starts over */
	return ins_parse(a->argc, a->argv, &o, ret) < 0 ? -EINVAL : 0;
}

int
main(int argc, char **argv)
{
	static struct ins_args args;
	struct ins_opts o = { 0 };
	struct run_opts ro = { 0 };
	char shim[PATH_MAX];
	struct policy pol;
	int optind_;

	policy_default(&pol);
	optind_ = ins_parse(argc, argv, &o, &pol);
	if (optind_ < 0)
		return o.check ? 1 : 2;
	if (o.check) {
		/* -n/--check: the policy (and options) parsed; say what they amount to. */
		char mark[48];

		if (pol.mark_auto)
			snprintf(mark, sizeof(mark), "first free from 0x%08x", POLICY_MARK_BASE);
		else
			snprintf(mark, sizeof(mark), "%u", pol.mark);
		printf("policy ok: hold %s (%u ms, %u per source), bind ports %u-%u, %u connect "
		       "prefixes, udp %s, mark %s, min rate %u B/s, deny after %u drops for %u s\n",
		       policy_hold_name(pol.hold), pol.hold_timeout_ms, pol.max_held_per_source,
		       pol.bind_port_min, pol.bind_port_max, pol.nconnect,
		       pol.allow_udp ? "yes" : "no", mark, pol.min_rate, pol.deny_after_drops,
		       pol.deny_seconds);
		return 0;
	}
	log_init("moat-ins", LOG_DEST_STDERR, o.verbose ? LOG_LVL_DEBUG : LOG_LVL_INFO, false);
	if (optind_ >= argc && !o.sock) {
		ins_usage(stderr);
		return 2;
	}
	args = (struct ins_args){ .argc = argc, .argv = argv };
	ro = (struct run_opts){
		.sock = o.sock, .ipfix = o.ipfix, .isolate = o.isolate,
		.no_sandbox = o.no_sandbox, .reload = ins_reload, .reload_ctx = &args,
		.broker_user = o.broker_user, .policy = o.policy,
	};
	if (optind_ < argc) {
		ro.cmd = argv + optind_;
		if (o.user)
			ins_resolve_user(o.user, &ro.user);
		if (ins_find_shim(shim, sizeof(shim)) < 0)
			fatalx("libmoat-shim.so not found next to moat-ins nor in " MOAT_SHIM_DIR " (set MOAT_SHIM)");
		ro.shim = shim;
	}
	return run_main(&ro, &pol);
}
