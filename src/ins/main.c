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
 */
#include <errno.h>
#include <getopt.h>
#include <linux/capability.h>
#include <limits.h>
#include <netdb.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cfg.h"
#include "common/evloop.h"
#include "common/log.h"
#include "common/sandbox.h"
#include "common/strnum.h"
#include "ins/broker.h"
#include "ins/insnft.h"
#include "ins/isolate.h"
#include "proto/insproto.h"

struct ins_opts {
	const char *sock;
	const char *user;	/* --user USER[:GROUP]: the command runs as USER */
	const char *ipfix;
	const char *policy;
	bool isolate;
	bool verbose;
	bool check;
	bool no_sandbox;
};

struct ins_main {
	struct broker b;
	struct insnft *nft;	/* the kernel's copy of the connect policy, or NULL */
	struct insnft_claim claim;	/* our mark in this network namespace (fd -1: none) */
	int argc;		/* kept to re-read the policy and overrides on SIGHUP */
	char **argv;
	pid_t child;		/* run mode: the command, or 0 */
	int child_status;
	bool child_done;
};

static void
ins_usage(FILE *f)
{
	fprintf(f,
		"usage: moat-ins [-v] [--policy FILE] [--hold none|data|http] [--hold-timeout MS]\n"
		"                [--max-held-per-source N] [--max-conns-per-source N]\n"
		"                [--min-rate BYTES_PER_S] [--ipfix ADDR:PORT] [--no-sandbox]\n"
		"                [--user USER[:GROUP]]\n"
		"                --socket PATH\n"
		"       moat-ins [options] [--isolate] [--socket PATH] -- CMD [ARGS...]\n"
		"       moat-ins --check --policy FILE\n");
}

static void ins_reload_policy(struct ins_main *m);

static void
ins_on_signal(struct evloop *loop, int signo, void *arg)
{
	struct ins_main *m = arg;
	struct broker *b = &m->b;

	if (signo == SIGCHLD) {
		int status;
		pid_t p;

		while ((p = waitpid(-1, &status, WNOHANG)) > 0) {
			if (p == m->child) {
				m->child_status = status;
				m->child_done = true;
				broker_stop(b);
			}
		}
		return;
	}
	if (signo == SIGHUP)
		ins_reload_policy(m);	/* and, in run mode, the command reloads too */
	if (m->child > 0 && !m->child_done)
		kill(m->child, signo);	/* the command decides how to end */
	else if (signo != SIGHUP)
		broker_stop(b);
}

/* The shim next to this program, or $MOAT_SHIM. */
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
	return access(buf, R_OK) == 0 ? 0 : -ENOENT;
}

/* The user the command runs as (--user), resolved before the fork. */
struct ins_user {
	bool set;
	uid_t uid;
	gid_t gid;
	char name[64];
	char home[256];
};

/* "USER[:GROUP]" (names or numbers) into *u; exits on an unknown name. */
static void
ins_resolve_user(const char *spec, struct ins_user *u)
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

/* In the child: become the --user (groups, then gid, then uid), as runuser does. */
static void
ins_child_become(const struct ins_user *u)
{
	if (!u->set)
		return;
	if (initgroups(u->name, u->gid) < 0 || setresgid(u->gid, u->gid, u->gid) < 0 ||
	    setresuid(u->uid, u->uid, u->uid) < 0) {
		fprintf(stderr, "moat-ins: --user %s: %s\n", u->name, strerror(errno));
		_exit(126);
	}
	if (setenv("USER", u->name, 1) < 0 || setenv("LOGNAME", u->name, 1) < 0 ||
	    setenv("HOME", u->home, 1) < 0)
		_exit(126);
}

/* In the child: isolate, set the environment, exec. Never returns. */
static _Noreturn void
ins_exec_child(char **argv, const char *shim, const char *sock, bool isolate,
	       const struct ins_user *user, const sigset_t *oldmask)
{
	const char *pre = getenv("LD_PRELOAD");
	char *val;
	char err[256];

	sigprocmask(SIG_SETMASK, oldmask, NULL);
	if (isolate && unshare(CLONE_NEWNET) < 0) {
		fprintf(stderr, "moat-ins: unshare(CLONE_NEWNET): %s\n", strerror(errno));
		_exit(126);
	}
	/* The isolation must hold against the program: see isolate.h. */
	if (isolate && isolate_drop_bounding(err, sizeof(err)) < 0) {
		fprintf(stderr, "moat-ins: --isolate: %s\n", err);
		_exit(126);
	}
	ins_child_become(user);
	if (isolate && isolate_seal(err, sizeof(err)) < 0) {
		fprintf(stderr, "moat-ins: --isolate: %s\n", err);
		_exit(126);
	}
	if (pre && *pre) {
		if (asprintf(&val, "%s:%s", shim, pre) < 0)
			_exit(126);
	} else {
		val = (char *)(uintptr_t)shim;
	}
	if (setenv("LD_PRELOAD", val, 1) < 0 || setenv(INS_ENV_SOCK, sock, 1) < 0)
		_exit(126);
	execvp(argv[0], argv);
	fprintf(stderr, "moat-ins: %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

/* The signals the loop takes (evloop_add_signal: one signalfd). */
static const int ins_signals[] = { SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };

static void
ins_signal_set(sigset_t *set)
{
	sigemptyset(set);
	for (size_t i = 0; i < sizeof(ins_signals) / sizeof(ins_signals[0]); i++)
		sigaddset(set, ins_signals[i]);
}

/*
 * Block them before any thread exists (the resolver's threads inherit the
 * mask; otherwise SIGCHLD could go to one of them and never reach the loop).
 */
static void
ins_block_signals(sigset_t *oldmask)
{
	sigset_t set;

	ins_signal_set(&set);
	if (sigprocmask(SIG_BLOCK, &set, oldmask) < 0)
		fatal("sigprocmask");
}

static int
ins_setup_signals(struct ins_main *m)
{
	for (size_t i = 0; i < sizeof(ins_signals) / sizeof(ins_signals[0]); i++) {
		int r = evloop_add_signal(broker_loop(&m->b), ins_signals[i], ins_on_signal, m);

		if (r < 0)
			return r;
	}
	return 0;
}

static int
ins_parse(int argc, char **argv, struct ins_opts *o, struct policy *pol)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "user", required_argument, NULL, 'u' },
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

static bool
ins_policy_restricts(const struct policy *p)
{
	return p->nconnect > 0 || !p->allow_udp;
}

/* "0x4d490000 (1296629760)": a mark in messages, as nft shows it and as YAML takes it. */
#define INS_MARK_FMT "0x%08x (%u)"

/*
 * Our mark for this network namespace's life (insnft_mark_claim), before
 * anything else is made: the policy's connect.mark, or the first free one of
 * the default range, written to pol->mark. A mark another live moat-ins
 * holds is never shared (its table would judge our sockets and ours its):
 * asked for explicitly, we refuse to start. Other failures are fatal only
 * when the policy restricts destinations or UDP; otherwise no mark is held
 * and ins_setup_nft marks nothing.
 */
static void
ins_claim_mark(struct ins_main *m, struct policy *pol)
{
	bool must = ins_policy_restricts(pol);
	pid_t holder = 0;
	uint64_t netns;
	int r;

	if (pol->mark == 0 && !pol->mark_auto)
		return;		/* connect.mark: 0, kernel enforcement off */
	r = insnft_netns(&netns);
	if (r == 0)
		r = insnft_mark_claim(INSNFT_LOCK_DIR, netns, pol->mark, pol->mark_auto,
				      &m->claim, &holder);
	if (r == -EBUSY && holder > 0)
		fatalx("connect.mark " INS_MARK_FMT " is held by moat-ins pid %ld in this network "
		       "namespace: give each moat-ins its own mark, or leave connect.mark out",
		       pol->mark, pol->mark, (long)holder);
	if (r == -EBUSY)
		fatalx("connect.mark " INS_MARK_FMT " is held by a live moat-ins in this network "
		       "namespace: give each moat-ins its own mark, or leave connect.mark out",
		       pol->mark, pol->mark);
	if (r == 0) {
		pol->mark = m->claim.mark;
		return;
	}
	if (r == -EADDRINUSE)
		log_warnx("all %u default marks from 0x%08x are held in this network namespace: "
			  "set connect.mark", POLICY_MARK_COUNT, POLICY_MARK_BASE);
	else
		log_warnx("mark lock under %s: %s", INSNFT_LOCK_DIR, strerror(-r));
	if (must)
		fatalx("no mark for the connect policy: refusing to run it unenforced");
	log_warnx("sockets are not marked: destinations are checked by the shim only");
}

/*
 * The connect policy in the kernel (insnft.h), before the first socket is
 * handed out so that none escapes unmarked: table moat_ins_<mark> for the
 * mark ins_claim_mark holds, replacing a stale one (we hold its mark, so its
 * owner is dead). Required when the policy restricts destinations or UDP;
 * otherwise a failure (no CAP_NET_ADMIN) only costs the marking, and the
 * run goes on.
 */
static void
ins_setup_nft(struct ins_main *m)
{
	const struct policy *pol = &m->b.pol;
	char err[256] = "", table[INSNFT_TABLE_LEN];
	bool must = ins_policy_restricts(pol);
	int r;

	if (pol->mark == 0 && !pol->mark_auto) {
		if (must)
			log_warnx("connect.mark is 0: destinations are checked by the shim only");
		return;
	}
	if (m->claim.fd < 0)
		return;		/* no mark: ins_claim_mark said so */
	insnft_table_name(pol->mark, table);
	r = insnft_open(&m->nft, pol, err, sizeof(err));
	if (r < 0 && must)
		fatalx("nftables table inet %s (needs CAP_NET_ADMIN): %s", table,
		       *err ? err : strerror(-r));
	if (r < 0) {
		log_warnx("nftables table inet %s not installed (%s): sockets are not marked",
			  table, *err ? err : strerror(-r));
		insnft_mark_release(&m->claim);
		return;
	}
	m->b.sock_mark = pol->mark;
	log_info("connect policy enforced by table inet %s (mark " INS_MARK_FMT ")", table,
		 pol->mark, pol->mark);
}

/* Exit: our table first, then our mark (see insnft_mark_release). */
static void
ins_teardown_nft(struct ins_main *m)
{
	insnft_close(m->nft);
	m->nft = NULL;
	insnft_mark_release(&m->claim);
}

/*
 * SIGHUP: the policy file and the command-line overrides again, from the
 * defaults, as at start. The kernel rules change first, in one transaction;
 * if that fails the old policy stays whole. The mark cannot change (sockets
 * already handed out carry the old one, and it is the one we hold).
 */
static void
ins_reload_policy(struct ins_main *m)
{
	struct ins_opts o = { 0 };
	char err[256] = "";
	struct policy pol;

	policy_default(&pol);
	optind = 0;	/* getopt starts over */
	if (ins_parse(m->argc, m->argv, &o, &pol) < 0) {
		log_warnx("policy reload failed: keeping the current policy");
		return;
	}
	if (!pol.mark_auto && pol.mark != m->b.pol.mark)
		log_warnx("connect.mark cannot change at run time: keeping %u", m->b.pol.mark);
	pol.mark = m->b.pol.mark;
	pol.mark_auto = m->b.pol.mark_auto;
	if (m->nft && insnft_update(m->nft, &pol, err, sizeof(err)) < 0) {
		log_warnx("policy reload: nftables: %s: keeping the current policy", err);
		return;
	}
	m->b.pol = pol;
	log_info("policy reloaded: %u connect prefixes, udp %s, hold %s", pol.nconnect,
		 pol.allow_udp ? "yes" : "no", policy_hold_name(pol.hold));
}

/*
 * Up to 16,384 slow connections held or handed over at once, plus the
 * application's: raise the soft descriptor limit to the hard one (the hard
 * one is the operator's; the application inherits the raised soft limit).
 */
static void
ins_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		log_warn("raising RLIMIT_NOFILE to %llu", (unsigned long long)rl.rlim_max);
}

static void
ins_setup_ipfix(struct broker *b, const struct ins_opts *o)
{
	int r;

	if (!o->ipfix)
		return;
	r = broker_set_ipfix(b, o->ipfix);
	if (r < 0)
		fatalx("--ipfix %s: %s", o->ipfix, strerror(-r));
}

/*
 * Load what name resolution will load (NSS modules, their configuration)
 * while that is still allowed: the filter refuses new executable mappings.
 */
static void
ins_warm_resolver(void)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	struct addrinfo *res = NULL;

	char buf[1024];
	struct passwd pw, *u = NULL;

	if (getaddrinfo("localhost", "80", &hints, &res) == 0)
		freeaddrinfo(res);
	(void)getpwuid_r(0, &pw, buf, sizeof(buf), &u);	/* refusals are logged by user name */
}

/*
 * Once the command is started and every socket of our own is open: keep only
 * CAP_NET_ADMIN (SOCK_DESTROY, nftables reloads), CAP_NET_BIND_SERVICE
 * (binding low ports for the application) and CAP_KILL (passing signals on to
 * a command that runs as another user: --user, or one that dropped
 * privileges itself), shrink the bounding set, set
 * no_new_privs and load the seccomp allow-list (unless --no-sandbox). Then
 * start the resolver threads, which inherit exactly that.
 */
static void
ins_confine_and_start(struct broker *b, const struct ins_opts *o)
{
	char err[256] = "";
	struct sandbox_opts so = {
		.keep_caps = geteuid() == 0 ? SANDBOX_CAP(CAP_NET_ADMIN) |
					       SANDBOX_CAP(CAP_NET_BIND_SERVICE) |
					       SANDBOX_CAP(CAP_KILL) : 0,
		.seccomp = true,
		.syscalls = broker_sandbox_syscalls,
		.errbuf = err,
		.errbuf_len = sizeof(err),
	};
	int r;

	if (o->no_sandbox) {
		log_warnx("--no-sandbox: running without confinement");
	} else {
		ins_warm_resolver();
		if (sandbox_enter(&so) < 0)
			fatalx("confinement: %s", err);
	}
	r = broker_start_threads(b);
	if (r < 0)
		log_warnx("resolver threads: %s (resolving inline)", strerror(-r));
}

/* Run mode: a private socket directory, the command as child, serve until it exits. */
static int
ins_run_command(struct ins_main *m, const struct ins_opts *o, const struct policy *pol,
		char **cmd)
{
	char dir[] = "/tmp/moat-ins.XXXXXX", path[PATH_MAX], shim[PATH_MAX];
	struct ins_user user = { 0 };
	sigset_t oldmask;
	int r, code;

	if (o->user)
		ins_resolve_user(o->user, &user);
	if (ins_find_shim(shim, sizeof(shim)) < 0)
		fatalx("libmoat-shim.so not found next to moat-ins (set MOAT_SHIM)");
	if (o->sock)
		snprintf(path, sizeof(path), "%s", o->sock);
	else if (!mkdtemp(dir))
		fatal("mkdtemp");
	else
		snprintf(path, sizeof(path), "%s/ctl", dir);
	ins_block_signals(&oldmask);
	r = broker_init(&m->b, path, pol);
	if (r < 0)
		fatalx("control socket %s: %s", path, strerror(-r));
	/*
	 * The program's own users (workers that setuid, --user) reach the socket:
	 * the directory is searchable, not listable, and the broker authorises
	 * each client by SO_PEERCRED (broker_client_allowed).
	 */
	m->b.any_client = true;
	if (!o->sock && chmod(dir, 0711) < 0)
		fatal("chmod %s", dir);
	ins_setup_ipfix(&m->b, o);
	ins_setup_nft(m);
	if (ins_setup_signals(m) < 0)
		fatal("signals");
	m->child = fork();
	if (m->child < 0)
		fatal("fork");
	if (m->child == 0)
		ins_exec_child(cmd, shim, path, o->isolate, &user, &oldmask);
	ins_confine_and_start(&m->b, o);
	r = broker_run(&m->b);
	if (r < 0)
		log_warnx("loop: %s", strerror(-r));
	broker_log_stats(&m->b);
	broker_free(&m->b);
	ins_teardown_nft(m);
	if (!o->sock)
		rmdir(dir);
	if (!m->child_done) {
		kill(m->child, SIGTERM);
		waitpid(m->child, &m->child_status, 0);
	}
	code = WIFEXITED(m->child_status) ? WEXITSTATUS(m->child_status)
					   : 128 + WTERMSIG(m->child_status);
	return code;
}

static int
ins_serve(struct ins_main *m, const struct ins_opts *o, const struct policy *pol)
{
	sigset_t oldmask;
	int r;

	ins_block_signals(&oldmask);
	r = broker_init(&m->b, o->sock, pol);
	if (r < 0)
		fatalx("control socket %s: %s", o->sock, strerror(-r));
	ins_setup_ipfix(&m->b, o);
	ins_setup_nft(m);
	if (ins_setup_signals(m) < 0)
		fatal("signals");
	ins_confine_and_start(&m->b, o);
	log_info("serving on %s (hold %s)", o->sock, policy_hold_name(pol->hold));
	r = broker_run(&m->b);
	broker_log_stats(&m->b);
	broker_free(&m->b);
	ins_teardown_nft(m);
	return r < 0 ? 1 : 0;
}

int
main(int argc, char **argv)
{
	static struct ins_main m;
	struct ins_opts o = { 0 };
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
	signal(SIGPIPE, SIG_IGN);
	ins_raise_nofile();
	m.argc = argc;
	m.argv = argv;
	m.claim.fd = -1;
	ins_claim_mark(&m, &pol);
	if (optind_ < argc)
		return ins_run_command(&m, &o, &pol, argv + optind_);
	if (!o.sock) {
		ins_usage(stderr);
		return 2;
	}
	return ins_serve(&m, &o, &pol);
}
