/*
 * notif: socket(2) calls of programs that bypass the shim (Go, static
 * binaries, raw system calls), brokered through a seccomp user-notification
 * filter, as bypass4netns does.
 *
 * The command's child installs the filter before exec (notif_install): every
 * socket(AF_INET or AF_INET6, ...) of the program and its descendants stops
 * in the kernel and is reported on a listener descriptor, which the child
 * sends to moat-ins. moat-ins watches that descriptor on its loop
 * (notif_open) and, for each call, makes the socket in its own namespace
 * with its mark and policy (the caller's notif_socket_fn: the broker's SOCKET
 * request) and injects it into the program as the call's result
 * (SECCOMP_IOCTL_NOTIF_ADDFD with SECCOMP_ADDFD_FLAG_SEND: atomic, the
 * program sees a plain socket(2) returning a descriptor). Everything after
 * that — bind, listen, accept, connect, I/O — is the kernel's on that socket;
 * the connect policy holds through the socket's mark (insnft.h).
 *
 * NETLINK_ROUTE sockets are stopped too, so that interface enumeration past
 * the shim (glibc's getifaddrs and if_nameindex, Go's net.Interfaces, ip(8)
 * without the shim) sees our namespace, under the same rule as the shim's
 * (broker.h: never for a program that could hold CAP_NET_ADMIN; that one
 * gets its own namespace's socket, as without moat-ins).
 *
 * What the filter cannot broker is said in the log by program name and pid,
 * never silently: raw sockets, protocols other than TCP/UDP, unknown type
 * flags. Those calls go on in the program's own namespace (under --isolate:
 * nothing reachable). socket(2)'s arguments are registers copied into the
 * notification, so there is no pointer to re-read and no TOCTOU on them; a
 * notification whose caller died or was interrupted is dropped (the kernel
 * refuses ADDFD/SEND for it, and the descriptor is closed).
 *
 * Programs using the shim are unaffected: the shim asks the broker over its
 * control socket and never calls socket(2) for AF_INET/AF_INET6 itself; calls
 * glibc makes past the shim (its internal resolver's UDP sockets) are
 * brokered here, consistently.
 */
#ifndef MOAT_INS_NOTIF_H
#define MOAT_INS_NOTIF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct evloop;
struct notif;

/*
 * In the child, before exec: install the filter and return its listener in
 * *ret_fd (close-on-exec). Needs no_new_privs or CAP_SYS_ADMIN; another
 * filter with a listener above us (a container's supervisor) makes it EBUSY.
 * Async-signal-safe (raw system calls only). 0 or a negative errno.
 */
int notif_install(int *ret_fd);

/*
 * In moat-ins, before its sandbox (common/sandbox.h), which must allow ioctl
 * whole for the listener: a filter of our own, stacked (the stricter answer
 * wins), that lets ioctl through only for the listener's four commands and
 * the sandbox's own two (TCGETS, FIONREAD); any other ioctl kills the process,
 * as the sandbox does. Sets no_new_privs; every thread (TSYNC). 0 or a
 * negative errno.
 */
int notif_confine_ioctl(void);

/* A notif_socket_fn's answer: not ours to make; the call goes on in the program's namespace. */
#define NOTIF_CONTINUE 1

/*
 * Make a socket for the program (thread pid, in our pid namespace) in our
 * namespace: family AF_INET or AF_INET6 with type SOCK_STREAM or SOCK_DGRAM
 * and protocol 0 or the type's own (TCP, UDP); or AF_NETLINK, SOCK_RAW or
 * SOCK_DGRAM, NETLINK_ROUTE (interfaces as our namespace has them: the
 * caller decides whether this program may have one). type may carry
 * SOCK_NONBLOCK. 0 and *ret_fd (ours, close-on-exec), a negative errno the
 * program's socket(2) returns, or NOTIF_CONTINUE. The program's /proc entry
 * read here belongs to the caller if the socket reaches it: a caller that
 * died cannot receive it (ADDFD fails), so a reused pid never gets it.
 */
typedef int (*notif_socket_fn)(void *ctx, pid_t pid, int family, int type, int protocol,
			       int *ret_fd);

struct notif_stats {
	uint64_t brokered;	/* sockets injected */
	uint64_t refused;	/* the callback's errno returned to the program */
	uint64_t unbrokered;	/* logged by name and let through to the program's namespace */
	uint64_t own;		/* NOTIF_CONTINUE: the program's own, by design (netlink for a
				   program that could hold CAP_NET_ADMIN) */
	uint64_t gone;		/* caller died or was interrupted before the reply */
	uint64_t listeners;	/* brokered TCP sockets seen listening, each named in the log */
};

/*
 * Serve listener fd on loop; fd is taken over (closed by notif_free, or here
 * on failure). The callback
 * runs on the loop's thread. 0 or a negative errno.
 */
int notif_open(struct evloop *loop, int fd, notif_socket_fn fn, void *ctx, struct notif **ret);
void notif_free(struct notif *n);
const struct notif_stats *notif_stats(const struct notif *n);

/*
 * Whether socket(family, type, protocol) is one we broker (true), or one to
 * log and let through (false). type may carry SOCK_NONBLOCK/SOCK_CLOEXEC.
 */
bool notif_brokerable(int family, int type, int protocol);

/* "socket(AF_INET6, SOCK_RAW, 58)": the call, for the log. */
void notif_describe(int family, int type, int protocol, char *buf, size_t len);

#endif
