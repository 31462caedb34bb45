/*
 * rofs: a Landlock domain that refuses file writes. See rofs.h.
 */
#include "ins/rofs.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Debian 12's headers stop at ABI 2; the numbers are the kernel's ABI. */
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)	/* ABI 3, Linux 6.2 */
#endif
#ifndef __NR_landlock_create_ruleset
#define __NR_landlock_create_ruleset 444
#define __NR_landlock_add_rule 445
#define __NR_landlock_restrict_self 446
#endif

/* The write rights of ABI 1; REFER (ABI 2) and TRUNCATE (ABI 3) are added when known. */
#define ROFS_WRITE_V1                                                                      \
	(LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_REMOVE_DIR |                   \
	 LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_MAKE_CHAR |                   \
	 LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG |                       \
	 LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO |                     \
	 LANDLOCK_ACCESS_FS_MAKE_BLOCK | LANDLOCK_ACCESS_FS_MAKE_SYM)

static int
rofs_fail(char *err, size_t errlen, int r, const char *what, const char *path)
{
	if (err && errlen)
		snprintf(err, errlen, "%s%s%s: %s", what, path ? " " : "", path ? path : "",
			 strerror(-r));
	return r;
}

/* The rule's rights as Landlock's, within what the ruleset handles. */
static uint64_t
rofs_rule_access(unsigned allow, uint64_t handled)
{
	uint64_t a = 0;

	if (allow & ROFS_REMOVE_FILE)
		a |= LANDLOCK_ACCESS_FS_REMOVE_FILE;
	if (allow & ROFS_REMOVE_DIR)
		a |= LANDLOCK_ACCESS_FS_REMOVE_DIR;
	return a & handled;
}

int
rofs_enter(const struct rofs_rule *rules, char *err, size_t errlen)
{
	struct landlock_ruleset_attr attr = { 0 };
	long abi = syscall(__NR_landlock_create_ruleset, NULL, 0,
			   LANDLOCK_CREATE_RULESET_VERSION);
	int fd = -1, r = 0;

	if (abi < 0) {
		/* ENOSYS: not built in; EOPNOTSUPP: built in but not enabled at boot. */
		r = errno == ENOSYS || errno == EOPNOTSUPP ? -EOPNOTSUPP : -errno;
		return rofs_fail(err, errlen, r, "Landlock", NULL);
	}
	attr.handled_access_fs = ROFS_WRITE_V1;
	if (abi >= 2)
		attr.handled_access_fs |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		attr.handled_access_fs |= LANDLOCK_ACCESS_FS_TRUNCATE;
	fd = (int)syscall(__NR_landlock_create_ruleset, &attr, sizeof(attr), 0);
	if (fd < 0)
		return rofs_fail(err, errlen, -errno, "landlock_create_ruleset", NULL);
	for (size_t i = 0; rules && rules[i].path; i++) {
		struct landlock_path_beneath_attr pb = {
			.allowed_access = rofs_rule_access(rules[i].allow, attr.handled_access_fs),
		};

		pb.parent_fd = open(rules[i].path, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (pb.parent_fd < 0) {
			r = rofs_fail(err, errlen, -errno, "open", rules[i].path);
			goto out;
		}
		if (pb.allowed_access &&
		    syscall(__NR_landlock_add_rule, fd, LANDLOCK_RULE_PATH_BENEATH, &pb, 0) < 0)
			r = rofs_fail(err, errlen, -errno, "landlock_add_rule", rules[i].path);
		close(pb.parent_fd);
		if (r < 0)
			goto out;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		r = rofs_fail(err, errlen, -errno, "PR_SET_NO_NEW_PRIVS", NULL);
		goto out;
	}
	if (syscall(__NR_landlock_restrict_self, fd, 0) < 0) {
		r = rofs_fail(err, errlen, -errno, "landlock_restrict_self", NULL);
		goto out;
	}
	r = (int)abi;
out:
	close(fd);
	return r;
}

int
rofs_verify(const char *dir)
{
	char name[64];
	int dfd, fd, e;

	snprintf(name, sizeof(name), ".moat-ins-rofs-probe-%ld", (long)getpid());
	dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	e = errno;
	if (fd >= 0) {
		close(fd);
		(void)unlinkat(dfd, name, 0);
	}
	close(dfd);
	if (fd >= 0)
		return -EPERM;
	return e == EACCES ? 0 : -e;
}
