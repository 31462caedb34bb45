/*
 * isolate: capabilities and a seccomp filter for the --isolate program. See isolate.h.
 */
#include "ins/isolate.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
#define ISOLATE_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define ISOLATE_ARCH AUDIT_ARCH_AARCH64
#else
#error "isolate: unsupported architecture"
#endif

/* The capabilities that could take the program out of its box. */
static const unsigned isolate_caps[] = {
	CAP_SYS_ADMIN,		/* setns, mount, unshare */
	CAP_NET_ADMIN,		/* SO_MARK, interfaces, nftables */
	CAP_NET_RAW,		/* SO_MARK on newer kernels, raw sockets */
	CAP_SYS_PTRACE,		/* moat-ins's memory and descriptors */
	CAP_SYS_MODULE,
	CAP_BPF,
	CAP_PERFMON,
	CAP_SYS_RAWIO,
	CAP_DAC_READ_SEARCH,	/* open_by_handle_at out of the mount namespace */
	CAP_SYS_CHROOT,
	CAP_MAC_ADMIN,
};

static int
isolate_fail(char *err, size_t errlen, const char *what)
{
	int e = errno;

	snprintf(err, errlen, "%s: %s", what, strerror(e));
	return -e;
}

int
isolate_drop_bounding(char *err, size_t errlen)
{
	for (size_t i = 0; i < sizeof(isolate_caps) / sizeof(isolate_caps[0]); i++) {
		if (prctl(PR_CAPBSET_DROP, isolate_caps[i], 0, 0, 0) < 0 && errno != EINVAL &&
		    errno != EPERM)
			return isolate_fail(err, errlen, "PR_CAPBSET_DROP");
	}
	return 0;
}

/* Remove isolate_caps from the effective, permitted, inheritable and ambient sets. */
static int
isolate_drop_caps(char *err, size_t errlen)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data) < 0)
		return isolate_fail(err, errlen, "capget");
	for (size_t i = 0; i < sizeof(isolate_caps) / sizeof(isolate_caps[0]); i++) {
		unsigned c = isolate_caps[i];
		uint32_t bit = UINT32_C(1) << (c % 32);

		data[c / 32].effective &= ~bit;
		data[c / 32].permitted &= ~bit;
		data[c / 32].inheritable &= ~bit;
	}
	if (syscall(SYS_capset, &hdr, data) < 0)
		return isolate_fail(err, errlen, "capset");
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return isolate_fail(err, errlen, "PR_CAP_AMBIENT_CLEAR_ALL");
	return 0;
}

#define ISO_LD_NR BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr))
#define ISO_LD_ARG_LO(i) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, \
				  offsetof(struct seccomp_data, args) + 8 * (i))
#define ISO_RET(v) BPF_STMT(BPF_RET | BPF_K, (v))
#define ISO_EPERM ISO_RET(SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA))
#define ISO_ENOSYS ISO_RET(SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA))
#define ISO_ALLOW ISO_RET(SECCOMP_RET_ALLOW)

/* Namespace flags of clone(2), in its first argument's low word. */
#define ISO_CLONE_NS (CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWUSER | CLONE_NEWPID | \
		      CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWCGROUP)

static int
isolate_filter(char *err, size_t errlen)
{
	struct sock_filter f[] = {
		/* [0] another ABI (x32, i386 on x86_64): refuse */
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ISOLATE_ARCH, 1, 0),
		ISO_EPERM,
		ISO_LD_NR,
#if defined(__x86_64__)
		BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000u, 0, 1),	/* x32 */
		ISO_EPERM,
#endif
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_setns, 0, 1),
		ISO_EPERM,
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_unshare, 0, 1),
		ISO_EPERM,
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_io_uring_setup, 0, 1),
		ISO_EPERM,
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone3, 0, 1),
		ISO_ENOSYS,
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone, 0, 3),
		ISO_LD_ARG_LO(0),
		BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, ISO_CLONE_NS, 0, 6),
		ISO_EPERM,
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_setsockopt, 0, 4),
		ISO_LD_ARG_LO(1),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SOL_SOCKET, 0, 2),
		ISO_LD_ARG_LO(2),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SO_MARK, 1, 0),
		ISO_ALLOW,
		ISO_EPERM,
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return isolate_fail(err, errlen, "PR_SET_NO_NEW_PRIVS");
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
		return isolate_fail(err, errlen, "seccomp");
	return 0;
}

int
isolate_seal(char *err, size_t errlen)
{
	int r = isolate_drop_caps(err, errlen);

	return r < 0 ? r : isolate_filter(err, errlen);
}
