/*
 * sandbox: privilege drop and system call filter (see sandbox.h).
 */
#include "common/sandbox.h"

#include <cap-ng.h>
#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <seccomp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

const char *const sandbox_base_syscalls[] = {
	/* memory (mmap and mprotect: see restricted[]) */
	"brk", "munmap", "mremap", "madvise",
	/* I/O on descriptors already open */
	"read", "write", "readv", "writev", "pread64", "pwrite64", "lseek", "close",
	"fstat", "newfstatat", "fcntl", "dup", "dup3", "pipe2",
	/* sockets already open */
	"recvfrom", "recvmsg", "recvmmsg", "sendto", "sendmsg", "sendmmsg", "shutdown",
	/* waiting */
	"epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait", "poll", "ppoll",
	"select", "pselect6", "eventfd2", "timerfd_create", "timerfd_settime",
	"timerfd_gettime", "nanosleep", "clock_nanosleep", "sched_yield",
	/* time, identity, randomness */
	"clock_gettime", "clock_getres", "gettimeofday", "getpid", "gettid", "getuid",
	"geteuid", "getgid", "getegid", "getrandom", "sysinfo",
	/* signals and threads (abort() needs tgkill) */
	"rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sigaltstack", "tgkill",
	"restart_syscall", "futex", "set_robust_list", "rseq",
	"exit", "exit_group",
	NULL,
};

/* Highest capability number libcap-ng or the kernel can know of. */
#define CAP_MAX 63u

struct ids {
	bool set;
	uid_t uid;
	gid_t gid;
};

/* Record "what: why" in the caller's buffer; returns r (a negative errno). */
static int __attribute__((format(printf, 3, 4)))
fail(const struct sandbox_opts *o, int r, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->errbuf == NULL || o->errbuf_len == 0)
		return r;
	va_start(ap, fmt);
	n = vsnprintf(o->errbuf, o->errbuf_len, fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < o->errbuf_len)
		snprintf(o->errbuf + n, o->errbuf_len - (size_t)n, ": %s", strerror(-r));
	return r;
}

/* getpwnam_r/getgrnam_r buffer; group entries list members, so be generous. */
#define NSS_BUF (64u << 10)

static int
lookup_ids(const struct sandbox_opts *o, struct ids *ret)
{
	struct passwd pw, *pwp = NULL;
	struct group gr, *grp = NULL;
	char *buf;
	int e, r = 0;

	if (o->user == NULL) {
		if (o->group != NULL)
			return fail(o, -EINVAL, "group '%s' without a user", o->group);
		return 0;
	}
	if ((buf = malloc(NSS_BUF)) == NULL)
		return fail(o, -ENOMEM, "user lookup");
	if ((e = getpwnam_r(o->user, &pw, buf, NSS_BUF, &pwp)) != 0 || pwp == NULL) {
		r = fail(o, e ? -e : -ENOENT, "no user '%s'", o->user);
		goto out;
	}
	*ret = (struct ids){ .set = true, .uid = pw.pw_uid, .gid = pw.pw_gid };
	if (o->group == NULL)
		goto out;
	if ((e = getgrnam_r(o->group, &gr, buf, NSS_BUF, &grp)) != 0 || grp == NULL) {
		r = fail(o, e ? -e : -ENOENT, "no group '%s'", o->group);
		goto out;
	}
	ret->gid = gr.gr_gid;
out:
	free(buf);
	return r;
}

static int
allow_names(const struct sandbox_opts *o, scmp_filter_ctx ctx, const char *const *names)
{
	int nr, r;

	for (size_t i = 0; names != NULL && names[i] != NULL; i++) {
		if ((nr = seccomp_syscall_resolve_name(names[i])) == __NR_SCMP_ERROR)
			return fail(o, -EINVAL, "unknown system call '%s'", names[i]);
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
		if (r < 0 && r != -EEXIST)
			return fail(o, r, "seccomp rule for '%s'", names[i]);
	}
	return 0;
}

static bool
names_include(const char *const *names, const char *name)
{
	for (size_t i = 0; names != NULL && names[i] != NULL; i++) {
		if (strcmp(names[i], name) == 0)
			return true;
	}
	return false;
}

/*
 * Base calls allowed only with some arguments: no new executable memory
 * (W^X: a confined daemon never needs it, an exploit does), and ioctl only
 * for the requests libc and libevent make on open descriptors. A caller who
 * names the call in sandbox_opts.syscalls gets it unrestricted.
 */
static const struct {
	const char *name;
	struct scmp_arg_cmp cmp;
} restricted[] = {
	{ "mmap", { .arg = 2, .op = SCMP_CMP_MASKED_EQ, .datum_a = PROT_EXEC, .datum_b = 0 } },
	{ "mprotect", { .arg = 2, .op = SCMP_CMP_MASKED_EQ, .datum_a = PROT_EXEC, .datum_b = 0 } },
	{ "ioctl", { .arg = 1, .op = SCMP_CMP_EQ, .datum_a = TCGETS, .datum_b = 0 } },
	{ "ioctl", { .arg = 1, .op = SCMP_CMP_EQ, .datum_a = FIONREAD, .datum_b = 0 } },
};

static int
allow_restricted(const struct sandbox_opts *o, scmp_filter_ctx ctx)
{
	int nr, r;

	for (size_t i = 0; i < sizeof(restricted) / sizeof(restricted[0]); i++) {
		if (names_include(o->syscalls, restricted[i].name))
			continue;
		if ((nr = seccomp_syscall_resolve_name(restricted[i].name)) == __NR_SCMP_ERROR)
			return fail(o, -EINVAL, "unknown system call '%s'", restricted[i].name);
		r = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, nr, 1, &restricted[i].cmp);
		if (r < 0 && r != -EEXIST)
			return fail(o, r, "seccomp rule for '%s'", restricted[i].name);
	}
	return 0;
}

/* Build, but do not load, the allow-list: every error here changes nothing. */
static int
build_filter(const struct sandbox_opts *o, scmp_filter_ctx *ret)
{
	uint32_t deny = o->deny == SANDBOX_DENY_EPERM ? SCMP_ACT_ERRNO(EPERM)
						      : SCMP_ACT_KILL_PROCESS;
	scmp_filter_ctx ctx;
	int r;

	if (!o->seccomp)
		return 0;
	if ((ctx = seccomp_init(deny)) == NULL)
		return fail(o, -ENOMEM, "seccomp_init");
	if ((r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1)) < 0) {
		fail(o, r, "seccomp thread sync");
		goto err;
	}
	if ((r = allow_names(o, ctx, sandbox_base_syscalls)) < 0 ||
	    (r = allow_names(o, ctx, o->syscalls)) < 0 || (r = allow_restricted(o, ctx)) < 0)
		goto err;
	*ret = ctx;
	return 0;
err:
	seccomp_release(ctx);
	return r;
}

static int
enter_chroot(const struct sandbox_opts *o)
{
	if (o->chroot_dir == NULL)
		return 0;
	if (chroot(o->chroot_dir) < 0)
		return fail(o, -errno, "chroot(%s)", o->chroot_dir);
	if (chdir("/") < 0)
		return fail(o, -errno, "chdir(/) in %s", o->chroot_dir);
	return 0;
}

/* Add every capability in mask to the given libcap-ng sets. */
static void
select_caps(uint64_t mask, capng_type_t sets)
{
	for (unsigned cap = 0; cap <= CAP_MAX; cap++) {
		if (mask & SANDBOX_CAP(cap))
			capng_update(CAPNG_ADD, sets, cap);
	}
}

/*
 * Shrink the bounding set to keep_caps while CAP_SETPCAP is still ours. A
 * process without it has nothing to shrink that no_new_privs does not
 * already make unreachable.
 */
static int
shrink_bounding_set(const struct sandbox_opts *o)
{
	if (capng_get_caps_process() < 0)
		return fail(o, -EPERM, "reading capabilities");
	if (!capng_have_capability(CAPNG_EFFECTIVE, CAP_SETPCAP))
		return 0;
	capng_clear(CAPNG_SELECT_BOUNDS);
	select_caps(o->keep_caps, CAPNG_BOUNDING_SET);
	if (capng_apply(CAPNG_SELECT_BOUNDS) < 0)
		return fail(o, -EPERM, "dropping the capability bounding set");
	return 0;
}

/* setgroups, setresgid, setresuid; PR_SET_KEEPCAPS carries keep_caps over. */
static int
change_ids(const struct sandbox_opts *o, const struct ids *ids)
{
	int r = 0;

	if (!ids->set)
		return 0;
	if (o->keep_caps != 0 && prctl(PR_SET_KEEPCAPS, 1L, 0L, 0L, 0L) < 0)
		return fail(o, -errno, "PR_SET_KEEPCAPS");
	if (setgroups(1, &ids->gid) < 0)
		r = fail(o, -errno, "setgroups(%u)", (unsigned)ids->gid);
	else if (setresgid(ids->gid, ids->gid, ids->gid) < 0)
		r = fail(o, -errno, "setresgid(%u)", (unsigned)ids->gid);
	else if (setresuid(ids->uid, ids->uid, ids->uid) < 0)
		r = fail(o, -errno, "setresuid(%u)", (unsigned)ids->uid);
	if (o->keep_caps != 0 && prctl(PR_SET_KEEPCAPS, 0L, 0L, 0L, 0L) < 0 && r == 0)
		r = fail(o, -errno, "clearing PR_SET_KEEPCAPS");
	return r;
}

/* Effective and permitted sets become exactly keep_caps. */
static int
set_caps(const struct sandbox_opts *o)
{
	capng_clear(CAPNG_SELECT_CAPS);
	select_caps(o->keep_caps, CAPNG_EFFECTIVE | CAPNG_PERMITTED);
	if (capng_apply(CAPNG_SELECT_CAPS) < 0)
		return fail(o, -EPERM, "keeping capabilities 0x%llx",
			    (unsigned long long)o->keep_caps);
	return 0;
}

/* Trust nothing: check the ids took, root cannot come back, no cap is left. */
static int
verify(const struct sandbox_opts *o, const struct ids *ids)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;

	if (ids->set) {
		if (getresuid(&ru, &eu, &su) < 0 || getresgid(&rg, &eg, &sg) < 0)
			return fail(o, -errno, "reading ids");
		if (ru != ids->uid || eu != ids->uid || su != ids->uid || rg != ids->gid ||
		    eg != ids->gid || sg != ids->gid)
			return fail(o, -EPERM, "ids did not change to %u:%u", (unsigned)ids->uid,
				    (unsigned)ids->gid);
		if (ids->uid != 0 && !(o->keep_caps & SANDBOX_CAP(CAP_SETUID)) && setuid(0) == 0)
			return fail(o, -EPERM, "uid 0 could be regained");
		if (ids->gid != 0 && !(o->keep_caps & SANDBOX_CAP(CAP_SETGID)) && setgid(0) == 0)
			return fail(o, -EPERM, "gid 0 could be regained");
	}
	if (capng_get_caps_process() < 0)
		return fail(o, -EPERM, "reading capabilities");
	for (unsigned cap = 0; cap <= CAP_MAX; cap++) {
		if (o->keep_caps & SANDBOX_CAP(cap))
			continue;
		if (capng_have_capability(CAPNG_EFFECTIVE, cap) ||
		    capng_have_capability(CAPNG_PERMITTED, cap))
			return fail(o, -EPERM, "capability %s still held",
				    capng_capability_to_name(cap));
	}
	return 0;
}

int
sandbox_enter(const struct sandbox_opts *o)
{
	scmp_filter_ctx filter = NULL;
	struct ids ids = { 0 };
	int r;

	if ((r = lookup_ids(o, &ids)) < 0 || (r = build_filter(o, &filter)) < 0)
		return r;
	if ((r = enter_chroot(o)) < 0 || (r = shrink_bounding_set(o)) < 0 ||
	    (r = change_ids(o, &ids)) < 0 || (r = set_caps(o)) < 0 || (r = verify(o, &ids)) < 0)
		goto out;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1L, 0L, 0L, 0L) < 0) {
		r = fail(o, -errno, "PR_SET_NO_NEW_PRIVS");
		goto out;
	}
	/* localtime() (syslog's timestamps) reads /etc/localtime on first use,
	 * which the filter would refuse: load the zone now. */
	tzset();
	if (filter != NULL && (r = seccomp_load(filter)) < 0)
		fail(o, r, "loading the seccomp filter");
out:
	if (filter != NULL)
		seccomp_release(filter);
	return r;
}

int
sandbox_cap_parse(const char *name, unsigned *ret_cap)
{
	char buf[32];
	size_t i;
	int cap;

	if (strncasecmp(name, "cap_", 4) == 0)
		name += 4;
	for (i = 0; name[i] != '\0' && i < sizeof(buf) - 1; i++)
		buf[i] = (char)tolower((unsigned char)name[i]);
	if (name[i] != '\0' || i == 0)
		return -EINVAL;
	buf[i] = '\0';
	if ((cap = capng_name_to_capability(buf)) < 0)
		return -EINVAL;
	*ret_cap = (unsigned)cap;
	return 0;
}
