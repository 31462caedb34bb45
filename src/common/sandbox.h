/*
 * sandbox: confine a daemon after it has opened its privileged resources
 * (raw sockets, low ports, key files), in one call, in the order that makes
 * each step stick:
 *
 *   1. look up the user and group and build the seccomp filter, so that a
 *      bad name or an unknown system call fails before anything changes;
 *   2. chroot(chroot_dir) and chdir("/");
 *   3. shrink the capability bounding set to keep_caps (when allowed to);
 *   4. setgroups({gid}), setresgid(gid), setresuid(uid), keeping exactly
 *      keep_caps (libcap-ng), then verify that uid/gid 0 cannot be regained
 *      and that no other capability is left;
 *   5. prctl(PR_SET_NO_NEW_PRIVS), always;
 *   6. load the seccomp allow-list on every thread: sandbox_base_syscalls
 *      plus the caller's names; anything else gets `deny`.
 *
 * Call it once, before starting threads: ids and the seccomp filter apply
 * to every thread, but capabilities are per thread and only the caller's
 * are dropped. It returns 0 or a negative errno, with "what failed: why"
 * written to errbuf when one is given; it never logs (the daemon logs once
 * and exits). After a failure past step 1 the process is half-confined and
 * must exit.
 *
 * Things to do before the call, because the sandbox will refuse them after:
 * open files and sockets, resolve names, and open the syslog connection
 * (log_init uses LOG_NDELAY; note that glibc's syslog() reconnects with
 * socket() if the log daemon restarts, so a KILL filter for a syslog user
 * should name "socket" and "connect"). The time zone is loaded here.
 */
#ifndef MOAT_SANDBOX_H
#define MOAT_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What a system call outside the allow-list gets. */
enum sandbox_deny {
	SANDBOX_DENY_KILL,	/* the whole process dies with SIGSYS (default) */
	SANDBOX_DENY_EPERM,	/* the call fails with EPERM: for tests and bring-up */
};

/* A capability (CAP_NET_RAW, ...) as a bit of sandbox_opts.keep_caps. */
#define SANDBOX_CAP(cap) (UINT64_C(1) << (cap))

struct sandbox_opts {
	const char *chroot_dir;		/* NULL: no chroot */
	const char *user;		/* NULL: keep uid and groups */
	const char *group;		/* NULL: the user's primary group */
	uint64_t keep_caps;		/* SANDBOX_CAP() bits to keep; 0: none */
	bool seccomp;			/* install the system call allow-list */
	const char *const *syscalls;	/* NULL-terminated names allowed besides the base */
	enum sandbox_deny deny;
	char *errbuf;			/* optional: receives what failed */
	size_t errbuf_len;
};

/*
 * What any moat daemon needs once its descriptors are open: memory, I/O on
 * open descriptors, sending and receiving on open sockets, polling, time,
 * signals, threads' futexes, exit. No open, socket, connect, bind, accept,
 * exec, fork or ptrace: a daemon that needs those names them in
 * sandbox_opts.syscalls. Besides this list the filter allows mmap and
 * mprotect without PROT_EXEC, and ioctl for TCGETS and FIONREAD only
 * (stdio's isatty, libevent's read sizing); naming one of those three in
 * sandbox_opts.syscalls lifts its restriction. NULL-terminated.
 */
extern const char *const sandbox_base_syscalls[];

int sandbox_enter(const struct sandbox_opts *o);

/*
 * A capability by name, "net_raw" or "CAP_NET_RAW" (any case), for
 * configuration files. Returns 0 and *ret_cap, or -EINVAL.
 */
int sandbox_cap_parse(const char *name, unsigned *ret_cap);

#endif
