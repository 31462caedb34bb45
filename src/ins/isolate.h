/*
 * isolate: what the program under `moat-ins --isolate` may no longer do, so
 * that the isolation holds against the program itself, whatever user it
 * starts as. Applied in the forked child after unshare(CLONE_NEWNET), just
 * before exec.
 *
 * Two layers:
 * - capabilities that could leave the namespace, reach moat-ins or change a
 *   socket's mark (CAP_SYS_ADMIN, CAP_NET_ADMIN, CAP_NET_RAW, CAP_SYS_PTRACE,
 *   CAP_SYS_MODULE, CAP_BPF, CAP_PERFMON, CAP_SYS_RAWIO, CAP_DAC_READ_SEARCH,
 *   CAP_SYS_CHROOT, CAP_MAC_ADMIN) leave the bounding, ambient, inheritable,
 *   permitted and effective sets; the rest (CAP_SETUID to drop privileges,
 *   CAP_NET_BIND_SERVICE, CAP_CHOWN...) stay, so daemons that start as root
 *   and switch user keep working;
 * - no_new_privs and a seccomp filter: setns, unshare, clone/clone3 with a
 *   namespace flag, setsockopt(SOL_SOCKET, SO_MARK) and io_uring (whose
 *   socket commands bypass the filter) fail with EPERM (clone3 with ENOSYS,
 *   so the C library falls back to clone, which the filter can read);
 *   system calls of another architecture's ABI fail with EPERM.
 */
#ifndef MOAT_INS_ISOLATE_H
#define MOAT_INS_ISOLATE_H

#include <stddef.h>

/*
 * Drop the bounding set's share first (needs CAP_SETPCAP: call while still
 * root, before switching user), then isolate_seal() after the switch.
 */
int isolate_drop_bounding(char *err, size_t errlen);

/* The remaining sets, no_new_privs and the filter. Returns 0 or -errno with err set. */
int isolate_seal(char *err, size_t errlen);

#endif
