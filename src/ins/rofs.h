/*
 * rofs: read-only file access for moat-ins once it is set up, with Landlock.
 *
 * Why Landlock and not a private mount namespace remounted read-only: the
 * broker must stay in the mount namespace it was started in (the shim's
 * control socket path, /proc of its clients, /run/moat-ins, the policy file
 * it re-reads on SIGHUP all name that namespace's files), a mount namespace
 * needs CAP_SYS_ADMIN to set up and every bind mount to be undone on exit,
 * and a read-only remount leaves writable any file system the operator
 * mounts later. A Landlock domain is one unprivileged call, confines this
 * process and every thread it starts after, survives nothing but the
 * process, and denies what it handles on every file system, present or
 * future.
 *
 * The domain handles every write right the running kernel knows (write,
 * truncate, make any kind of node, remove, rename or link across
 * directories) and no read right: the broker still reads what it must
 * (NSS files for the resolver, /proc/PID/status of its clients, the policy
 * on SIGHUP). Each rule in rules[] lets one directory keep some removals
 * (the control socket's directory, its parent for the private directory of
 * run mode). Descriptors opened before the call are not affected; none is
 * written as a file after set-up (the log goes to an inherited stderr).
 *
 * Landlock scopes (signals, abstract sockets) and network rights are left
 * unhandled: the broker signals its command, which lives outside the domain,
 * and binds and connects for its clients.
 */
#ifndef MOAT_INS_ROFS_H
#define MOAT_INS_ROFS_H

#include <stddef.h>

/* What a rule keeps: removing files (a socket) beneath the path, or directories. */
#define ROFS_REMOVE_FILE 0x1u
#define ROFS_REMOVE_DIR 0x2u

struct rofs_rule {
	const char *path;	/* a directory; NULL ends the list */
	unsigned allow;		/* ROFS_* */
};

/*
 * Enter the domain: writes everywhere refused except rules[] (may be NULL).
 * Sets no_new_privs (Landlock's condition without CAP_SYS_ADMIN). Call
 * before starting threads: only the caller and its future threads are
 * confined. Returns the kernel's Landlock ABI version (>= 1) on success;
 * -EOPNOTSUPP when the kernel has no Landlock (not built, or not enabled at
 * boot: the caller decides whether to go on); another negative errno with
 * err set when a step failed (nothing is enforced then).
 */
int rofs_enter(const struct rofs_rule *rules, char *err, size_t errlen);

/*
 * Check that the domain holds: creating a file in dir must fail with EACCES.
 * Returns 0, or -EPERM when the file could be made (it is removed again).
 */
int rofs_verify(const char *dir);

#endif
