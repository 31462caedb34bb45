/*
 * ipc: message framing and descriptor passing over Unix sockets.
 *
 * Every moat control channel is an AF_UNIX SOCK_SEQPACKET socket: the kernel
 * keeps message boundaries, so one sendmsg() is one message and framing is
 * just "one message per call". These helpers add the two things every user
 * needs and gets wrong: SCM_RIGHTS descriptor passing (received descriptors
 * are always CLOEXEC, surplus or truncated ones are closed, never leaked) and
 * detection of truncated messages. Nothing here knows any message format;
 * callers check types, versions and sizes (see src/proto/insproto.h).
 *
 * Library code: returns a negative errno and never logs.
 */
#ifndef MOAT_IPC_H
#define MOAT_IPC_H

#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

/* Most descriptors one message may carry. */
#define IPC_MAX_FDS 4

/*
 * Send one message of len bytes with nfds descriptors (0..IPC_MAX_FDS)
 * attached. Never raises SIGPIPE. Returns 0, -EAGAIN when a non-blocking
 * socket is full, -EMSGSIZE for a message the socket cannot carry in one
 * piece, or another negative errno. The caller keeps its descriptors.
 */
int ipc_send(int fd, const void *buf, size_t len, const int *fds, size_t nfds);

/*
 * Receive one message into buf (cap bytes) and up to maxfds descriptors
 * (at most IPC_MAX_FDS) into fds; *ret_nfds gets how many arrived. flags are
 * recvmsg() flags (e.g. MSG_DONTWAIT). Returns the message length (0 means
 * the peer closed), or -EMSGSIZE when the message or its descriptors did not
 * fit (every descriptor that did arrive is closed), or another negative errno.
 * Received descriptors carry FD_CLOEXEC.
 */
ssize_t ipc_recv(int fd, void *buf, size_t cap, int *fds, size_t maxfds, size_t *ret_nfds,
		 int flags);

/* Close every descriptor in fds[0..n) that is >= 0 and set it to -1. */
void ipc_close_fds(int *fds, size_t n);

/* The peer's credentials (SO_PEERCRED): pid, uid, gid at connect time. */
int ipc_peercred(int fd, struct ucred *ret_cred);

/*
 * Create a listening SOCK_SEQPACKET socket at path (CLOEXEC, NONBLOCK),
 * replacing a stale socket file. mode is applied to the file (e.g. 0600).
 * Returns the descriptor or a negative errno.
 */
int ipc_listen_unix(const char *path, unsigned mode, int backlog);

/* Connect a blocking, CLOEXEC SOCK_SEQPACKET socket to path. */
int ipc_connect_unix(const char *path);

#endif
