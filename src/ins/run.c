/*
 * run: moat-ins around its broker. See run.h.
 */
#include "ins/run.h"

#include <errno.h>
#include <fcntl.h>
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

#include "common/evloop.h"
#include "common/fileio.h"
#include "common/ipc.h"
#include "common/log.h"
#include "common/sandbox.h"
#include "ins/insnft.h"
#include "ins/isolate.h"
#include "ins/notif.h"
#include "ins/rofs.h"
#include "proto/insproto.h"

/* "0x4d490000 (1296629760)": a mark in messages, as nft shows it and as YAML takes it. */
#define RUN_MARK_FMT "0x%08x (%u)"

static void run_reload_policy(struct run *m);


static void
run_on_signal(struct evloop *loop, int signo, void *arg)
{
	struct run *m = arg;
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
		run_reload_policy(m);	/* and, in run mode, the command reloads too */
	if (m->child > 0 && !m->child_done)
		kill(m->child, signo);	/* the command decides how to end */
	else if (signo != SIGHUP)
		broker_stop(b);
}

/* In the child: become the --user (groups, then gid, then uid), as runuser does. */
static void
run_child_become(const struct run_user *u)
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

/*
 * In the child: the seccomp notification filter (notif.h) and its listener
 * sent to moat-ins over sock, at once: from here on a socket(2) of ours waits
 * for moat-ins to serve it. A failure is sent as its errno alone (moat-ins
 * logs it, the command runs unbrokered for raw calls).
 */
static void
run_child_notif(int sock)
{
	int fd = -1, r;
	uint8_t e;

	if (sock < 0)
		return;
	r = notif_install(&fd);
	e = (uint8_t)(r < 0 ? (-r > 255 ? 255 : -r) : 0);
	(void)ipc_send(sock, &e, 1, &fd, r == 0 ? 1 : 0);
	if (fd >= 0)
		close(fd);
	close(sock);
}

/* In the child: isolate, set the environment, exec. Never returns. */
static _Noreturn void
run_exec_child(char **argv, const char *shim, const char *sock, bool isolate,
	       const struct run_user *user, const sigset_t *oldmask, int notif_sock)
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
	/* Without --isolate: while we hold CAP_SYS_ADMIN (no no_new_privs needed). */
	if (!isolate)
		run_child_notif(notif_sock);
	run_child_become(user);
	if (isolate && isolate_seal(err, sizeof(err)) < 0) {
		fprintf(stderr, "moat-ins: --isolate: %s\n", err);
		_exit(126);
	}
	/* With it: after the seal, which set no_new_privs. */
	if (isolate)
		run_child_notif(notif_sock);
	if (!shim) {
		val = NULL;
	} else if (pre && *pre) {
		if (asprintf(&val, "%s:%s", shim, pre) < 0)
			_exit(126);
	} else {
		val = (char *)(uintptr_t)shim;
	}
	if ((val && setenv("LD_PRELOAD", val, 1) < 0) || setenv(INS_ENV_SOCK, sock, 1) < 0)
		_exit(126);
	execvp(argv[0], argv);
	fprintf(stderr, "moat-ins: %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

/* The signals the loop takes (evloop_add_signal: one signalfd). */
static const int run_signals[] = { SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };

static void
run_signal_set(sigset_t *set)
{
	sigemptyset(set);
	for (size_t i = 0; i < sizeof(run_signals) / sizeof(run_signals[0]); i++)
		sigaddset(set, run_signals[i]);
}

/*
 * Block them before any thread exists (the resolver's threads inherit the
 * mask; otherwise SIGCHLD could go to one of them and never reach the loop).
 */
static void
run_block_signals(sigset_t *oldmask)
{
	sigset_t set;

	run_signal_set(&set);
	if (sigprocmask(SIG_BLOCK, &set, oldmask) < 0)
		fatal("sigprocmask");
}


static int
run_setup_signals(struct run *m)
{
	for (size_t i = 0; i < sizeof(run_signals) / sizeof(run_signals[0]); i++) {
		int r = evloop_add_signal(broker_loop(&m->b), run_signals[i], run_on_signal, m);

		if (r < 0)
			return r;
	}
	return 0;
}


static bool
run_policy_restricts(const struct policy *p)
{
	return p->nconnect > 0 || !p->allow_udp;
}

/*
 * Our mark for this network namespace's life (insnft_mark_claim), before
 * anything else is made: the policy's connect.mark, or the first free one of
 * the default range, written to pol->mark. A mark another live moat-ins
 * holds is never shared (its table would judge our sockets and ours its):
 * asked for explicitly, we refuse to start. Other failures are fatal only
 * when the policy restricts destinations or UDP; otherwise no mark is held
 * and run_setup_nft marks nothing.
 */
static void
run_claim_mark(struct run *m, struct policy *pol)
{
	bool must = run_policy_restricts(pol);
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
		fatalx("connect.mark " RUN_MARK_FMT " is held by moat-ins pid %ld in this network "
		       "namespace: give each moat-ins its own mark, or leave connect.mark out",
		       pol->mark, pol->mark, (long)holder);
	if (r == -EBUSY)
		fatalx("connect.mark " RUN_MARK_FMT " is held by a live moat-ins in this network "
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
 * handed out so that none escapes unmarked: table moat_run_<mark> for the
 * mark run_claim_mark holds, replacing a stale one (we hold its mark, so its
 * owner is dead). Required when the policy restricts destinations or UDP;
 * otherwise a failure (no CAP_NET_ADMIN) only costs the marking, and the
 * run goes on.
 */
static void
run_setup_nft(struct run *m)
{
	const struct policy *pol = &m->b.pol;
	char err[256] = "", table[INSNFT_TABLE_LEN];
	bool must = run_policy_restricts(pol);
	int r;

	if (pol->mark == 0 && !pol->mark_auto) {
		if (must)
			log_warnx("connect.mark is 0: destinations are checked by the shim only");
		return;
	}
	if (m->claim.fd < 0)
		return;		/* no mark: run_claim_mark said so */
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
	log_info("connect policy enforced by table inet %s (mark " RUN_MARK_FMT ")", table,
		 pol->mark, pol->mark);
}

/* Exit: our table first, then our mark (see insnft_mark_release). */
static void
run_teardown_nft(struct run *m)
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
run_reload_policy(struct run *m)
{
	char err[256] = "";
	struct policy pol;

	if (!m->reload) {
		log_info("SIGHUP: no policy to reload");
		return;
	}
	if (m->reload(m->reload_ctx, &pol) < 0) {
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
run_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		log_warn("raising RLIMIT_NOFILE to %llu", (unsigned long long)rl.rlim_max);
}


static void
run_setup_ipfix(struct broker *b, const struct run_opts *o)
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
run_warm_resolver(void)
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
 * Read-only file access (rofs.h), entered while still root and single
 * threaded, so that the probe below proves Landlock (not file modes) refuses.
 * What stays writable: removing the control socket (its directory) and, in
 * run mode, our private directory (its parent); removing our mark's lock
 * file. Without Landlock the broker goes on, saying so: its uid and the
 * seccomp filter still hold.
 */
static void
run_enter_rofs(const struct run *m, const struct run_opts *o, const char *ctl_dir,
	       char *desc, size_t desclen)
{
	struct rofs_rule rules[4] = { { 0 } };
	char sockdir[PATH_MAX], parent[PATH_MAX], err[256] = "";
	size_t n = 0;
	char *slash;
	int abi, r;

	if (ctl_dir) {
		snprintf(parent, sizeof(parent), "%s", ctl_dir);
		slash = strrchr(parent, '/');
		if (slash && slash != parent)
			*slash = '\0';
		else
			snprintf(parent, sizeof(parent), "/");
		rules[n++] = (struct rofs_rule){ .path = ctl_dir, .allow = ROFS_REMOVE_FILE };
		rules[n++] = (struct rofs_rule){ .path = parent, .allow = ROFS_REMOVE_DIR };
	} else if (o->sock) {
		snprintf(sockdir, sizeof(sockdir), "%s", o->sock);
		slash = strrchr(sockdir, '/');
		if (slash && slash != sockdir)
			*slash = '\0';
		else
			snprintf(sockdir, sizeof(sockdir), slash ? "/" : ".");
		rules[n++] = (struct rofs_rule){ .path = sockdir, .allow = ROFS_REMOVE_FILE };
	}
	if (m->claim.fd >= 0)
		rules[n++] = (struct rofs_rule){ .path = INSNFT_LOCK_DIR, .allow = ROFS_REMOVE_FILE };
	abi = rofs_enter(rules, err, sizeof(err));
	if (abi == -EOPNOTSUPP) {
		log_warnx("Landlock is not available in this kernel: file access is NOT read-only "
			  "(the broker user, capabilities and seccomp filter still apply)");
		snprintf(desc, desclen, "file access not restricted (no Landlock)");
		return;
	}
	if (abi < 0)
		fatalx("confinement: read-only file access: %s", err);
	r = rofs_verify("/tmp");
	if (r == -EPERM)
		fatalx("confinement: Landlock domain entered but a file could still be made in /tmp");
	if (r < 0)
		log_warnx("read-only file access not checked: probing /tmp: %s", strerror(-r));
	snprintf(desc, desclen, "file access read-only (Landlock ABI %d)", abi);
}

/*
 * The user moat-ins becomes (run_opts.broker_user): NULL when it stays as it
 * is (already unprivileged, "root", or the default user missing, which is
 * said). A user named explicitly must exist.
 */
static const char *
run_broker_user(const struct run_opts *o, uid_t *ret_uid, gid_t *ret_gid)
{
	const char *name = o->broker_user ? o->broker_user : RUN_BROKER_USER;
	struct passwd pw, *p = NULL;
	char buf[4096];

	if (geteuid() != 0)
		return NULL;	/* started unprivileged: nothing to switch */
	if (strcmp(name, "root") == 0) {
		log_warnx("--broker-user root: the broker keeps uid 0 after set-up");
		return NULL;
	}
	if (getpwnam_r(name, &pw, buf, sizeof(buf), &p) != 0 || !p) {
		if (o->broker_user)
			fatalx("--broker-user %s: no such user", name);
		log_warnx("user %s does not exist (scripts/deps creates it; or --broker-user): "
			  "the broker keeps uid 0 after set-up", name);
		return NULL;
	}
	if (p->pw_uid == 0)
		return NULL;
	*ret_uid = p->pw_uid;
	*ret_gid = p->pw_gid;
	return name;
}

/*
 * Whether uid:gid (with gid as its only group, as sandbox_enter leaves it)
 * can open path for reading: asked in a child that becomes that user, so the
 * answer is the kernel's own.
 */
static bool
run_user_can_read(const char *path, uid_t uid, gid_t gid)
{
	int status = 0;
	pid_t pid = fork();

	if (pid < 0)
		return false;
	if (pid == 0) {
		int fd;

		if (setgroups(1, &gid) < 0 || setresgid(gid, gid, gid) < 0 ||
		    setresuid(uid, uid, uid) < 0)
			_exit(2);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		_exit(fd >= 0 ? 0 : 1);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/*
 * Once the command is started and every socket of our own is open:
 * read-only file access (run_enter_rofs), then sandbox_enter: the broker
 * user (run_broker_user), keeping only CAP_NET_ADMIN (SOCK_DESTROY, nftables
 * reloads, marks), CAP_NET_BIND_SERVICE (binding low ports for the
 * application) and CAP_KILL (passing signals on to a command that runs as
 * root or another user) through the switch, the bounding set shrunk to those,
 * no_new_privs and the seccomp allow-list. Unless --no-sandbox. Then start the
 * resolver threads, which inherit exactly that.
 *
 * Not kept, because nothing needs it: CAP_SYS_PTRACE. The seccomp listener
 * is a descriptor the command sent us; serving socket(2) reads only the
 * call's integer arguments (no /proc/PID/mem) and installs the descriptor
 * with SECCOMP_IOCTL_NOTIF_ADDFD, which needs no ptrace access; the client's
 * /proc/PID/status and comm are world-readable. CAP_DAC_READ_SEARCH only when
 * the broker user cannot read the policy file (run_user_can_read). Not kept:
 * CAP_DAC_OVERRIDE; so, in run mode, the private directory becomes the
 * broker user's, for the broker to remove it at exit.
 */
static void
run_confine_and_start(struct run *m, const struct run_opts *o, bool notif, const char *ctl_dir)
{
	/* broker_sandbox_syscalls, and ioctl for the seccomp listener when there is one
	   (narrowed to its commands by notif_confine_ioctl). */
	const char *list[64];
	char err[256] = "", files[96] = "";
	size_t n = 0;
	uid_t uid = 0;
	gid_t gid = 0;
	const char *user;
	bool reader = false;
	struct sandbox_opts so = {
		.keep_caps = geteuid() == 0 ? SANDBOX_CAP(CAP_NET_ADMIN) |
					       SANDBOX_CAP(CAP_NET_BIND_SERVICE) |
					       SANDBOX_CAP(CAP_KILL) : 0,
		.seccomp = true,
		.syscalls = list,
		.errbuf = err,
		.errbuf_len = sizeof(err),
	};
	int r;

	while (broker_sandbox_syscalls[n] && n < sizeof(list) / sizeof(list[0]) - 2) {
		list[n] = broker_sandbox_syscalls[n];
		n++;
	}
	if (notif)
		list[n++] = "ioctl";
	list[n] = NULL;
	if (o->no_sandbox) {
		log_warnx("--no-sandbox: running without confinement (uid %u, every capability, "
			  "files writable)", (unsigned)geteuid());
	} else {
		run_warm_resolver();
		r = notif ? notif_confine_ioctl() : 0;
		if (r < 0)
			fatalx("confinement: ioctl filter for the seccomp listener: %s", strerror(-r));
		user = run_broker_user(o, &uid, &gid);
		if (user && ctl_dir && chown(ctl_dir, uid, gid) < 0)
			fatal("chown %s to %s", ctl_dir, user);
		run_enter_rofs(m, o, ctl_dir, files, sizeof(files));
		so.user = user;
		/* SIGHUP re-reads the policy as the broker user: if it cannot, say so by
		   name and keep the one capability that lets it. */
		if (user && o->policy && !run_user_can_read(o->policy, uid, gid)) {
			log_warnx("policy %s is not readable by user %s: keeping CAP_DAC_READ_SEARCH "
				  "to re-read it on SIGHUP (make it and its directories readable to %s "
				  "to drop it)", o->policy, user, user);
			so.keep_caps |= SANDBOX_CAP(CAP_DAC_READ_SEARCH);
			reader = true;
		}
		if (sandbox_enter(&so) < 0)
			fatalx("confinement: %s", err);
		log_info("confined: uid %u gid %u%s%s%s, capabilities %s%s, no_new_privs, "
			 "seccomp, %s", (unsigned)getuid(), (unsigned)getgid(), user ? " (" : "",
			 user ? user : "", user ? ")" : "",
			 so.keep_caps ? "net_admin net_bind_service kill" : "none",
			 reader ? " dac_read_search" : "", files);
	}
	r = broker_start_threads(&m->b);
	if (r < 0)
		log_warnx("resolver threads: %s (resolving inline)", strerror(-r));
}

/*
 * Whether thread pid can never hold CAP_NET_ADMIN (broker_status_may_net_admin
 * on its /proc status); anything unclear is "no".
 */
static bool
run_pid_netlink_ok(pid_t pid)
{
	char path[64], *status = NULL;
	bool may = true;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	if (fileio_read(path, LIMIT_INS_PROC_STATUS, 0, &status, &n) < 0 ||
	    broker_status_may_net_admin(status, &may) < 0)
		may = true;
	free(status);
	return !may;
}

/* A socket(2) the notification filter stopped: the broker's SOCKET, for a raw caller. */
static int
run_notif_socket(void *ctx, pid_t pid, int family, int type, int protocol, int *ret_fd)
{
	struct run *m = ctx;
	int base = type & ~SOCK_NONBLOCK;
	int r;

	if (family == AF_NETLINK) {
		r = policy_check_socket(&m->b.pol, INS_AF_NETLINK_ROUTE,
					base == SOCK_RAW ? INS_SOCK_RAW : INS_SOCK_DGRAM);
		if (r < 0 || !run_pid_netlink_ok(pid))
			return NOTIF_CONTINUE;	/* its own namespace's, as the shim falls back */
		return broker_netlink_route_socket(type, ret_fd);
	}
	r = policy_check_socket(&m->b.pol, family == AF_INET ? INS_AF_INET : INS_AF_INET6,
				base == SOCK_STREAM ? INS_SOCK_STREAM : INS_SOCK_DGRAM);
	if (r < 0)
		return r;
	return broker_inet_socket(&m->b, family, type, protocol, ret_fd);
}

/*
 * The child's seccomp listener (run_child_notif), served on our loop; or a
 * warning by name of what goes unbrokered without it.
 */
static void
run_setup_notif(struct run *m, int sock)
{
	int fds[1] = { -1 };
	size_t nfds = 0;
	uint8_t e = 0;
	ssize_t n = ipc_recv(sock, &e, 1, fds, 1, &nfds, 0);
	int r;

	close(sock);
	if (n == 1 && nfds == 1) {
		r = notif_open(broker_loop(&m->b), fds[0], run_notif_socket, m, &m->notif);
		if (r == 0) {
			log_info("socket(2) calls past the shim (Go, static binaries) are brokered "
				 "through seccomp notification; connect policy and marks hold for "
				 "them, but their listeners are the kernel's (not held, shed, capped "
				 "or denied per source, no IPFIX); each is named when it listens");
			return;
		}
		e = (uint8_t)(-r > 255 ? 255 : -r);
	} else if (nfds == 1) {
		close(fds[0]);
	}
	log_warnx("seccomp notification unavailable (%s): socket(2) calls that bypass the shim "
		  "(Go, static binaries) are not brokered", n == 1 && e ? strerror(e)
		  : "the command did not send its listener");
}

static void
run_log_notif_stats(const struct run *m)
{
	const struct notif_stats *st;

	if (!m->notif)
		return;
	st = notif_stats(m->notif);
	log_info("seccomp notification: brokered %llu refused %llu unbrokered %llu own %llu "
		 "gone %llu listeners %llu", (unsigned long long)st->brokered,
		 (unsigned long long)st->refused, (unsigned long long)st->unbrokered,
		 (unsigned long long)st->own, (unsigned long long)st->gone,
		 (unsigned long long)st->listeners);
}

/* Run mode: a private socket directory, the command as child, serve until it exits. */
static int
run_command(struct run *m, const struct run_opts *o, const struct policy *pol)
{
	char dir[] = "/tmp/moat-ins.XXXXXX", path[PATH_MAX];
	sigset_t oldmask;
	int r, code, sp[2];

	if (o->sock)
		snprintf(path, sizeof(path), "%s", o->sock);
	else if (!mkdtemp(dir))
		fatal("mkdtemp");
	else
		snprintf(path, sizeof(path), "%s/ctl", dir);
	run_block_signals(&oldmask);
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
	run_setup_ipfix(&m->b, o);
	run_setup_nft(m);
	if (run_setup_signals(m) < 0)
		fatal("signals");
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
		fatal("socketpair");
	m->child = fork();
	if (m->child < 0)
		fatal("fork");
	if (m->child == 0) {
		close(sp[0]);
		run_exec_child(o->cmd, o->shim, path, o->isolate, &o->user, &oldmask, sp[1]);
	}
	close(sp[1]);
	run_setup_notif(m, sp[0]);
	run_confine_and_start(m, o, m->notif != NULL, o->sock ? NULL : dir);
	r = broker_run(&m->b);
	if (r < 0)
		log_warnx("loop: %s", strerror(-r));
	broker_log_stats(&m->b);
	run_log_notif_stats(m);
	notif_free(m->notif);	/* before the loop it is on */
	m->notif = NULL;
	broker_free(&m->b);
	run_teardown_nft(m);
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
run_serve(struct run *m, const struct run_opts *o, const struct policy *pol)
{
	sigset_t oldmask;
	int r;

	run_block_signals(&oldmask);
	r = broker_init(&m->b, o->sock, pol);
	if (r < 0)
		fatalx("control socket %s: %s", o->sock, strerror(-r));
	run_setup_ipfix(&m->b, o);
	run_setup_nft(m);
	if (run_setup_signals(m) < 0)
		fatal("signals");
	run_confine_and_start(m, o, false, NULL);
	log_info("serving on %s (hold %s)", o->sock, policy_hold_name(pol->hold));
	r = broker_run(&m->b);
	broker_log_stats(&m->b);
	broker_free(&m->b);
	run_teardown_nft(m);
	return r < 0 ? 1 : 0;
}

int
run_main(const struct run_opts *o, struct policy *pol)
{
	struct run *m = calloc(1, sizeof(*m));
	int code;

	if (!m)
		fatalx("out of memory");
	m->claim.fd = -1;
	m->reload = o->reload;
	m->reload_ctx = o->reload_ctx;
	signal(SIGPIPE, SIG_IGN);
	run_raise_nofile();
	run_claim_mark(m, pol);
	code = o->cmd ? run_command(m, o, pol) : run_serve(m, o, pol);
	free(m);
	return code;
}
