/*
 * ipc: SOCK_SEQPACKET messages with SCM_RIGHTS descriptors. See ipc.h.
 */
#include "common/ipc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* Control buffer large enough for IPC_MAX_FDS descriptors, properly aligned. */
union ipc_cmsg {
	char buf[CMSG_SPACE(sizeof(int) * IPC_MAX_FDS)];
	struct cmsghdr align;
};

int
ipc_send(int fd, const void *buf, size_t len, const int *fds, size_t nfds)
{
	union ipc_cmsg cm;
	struct iovec iov = { .iov_base = (void *)(uintptr_t)buf, .iov_len = len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (nfds > IPC_MAX_FDS)
		return -EINVAL;
	if (nfds > 0) {
		struct cmsghdr *c;

		memset(&cm, 0, sizeof(cm));
		msg.msg_control = cm.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	do
		n = sendmsg(fd, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if ((size_t)n != len)
		return -EMSGSIZE;	/* cannot happen on SEQPACKET; refuse rather than guess */
	return 0;
}

void
ipc_close_fds(int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		fds[i] = -1;
	}
}

/* Move the SCM_RIGHTS descriptors of msg into fds; close what does not fit. */
static size_t
ipc_collect_fds(struct msghdr *msg, int *fds, size_t maxfds, bool *ret_overflow)
{
	size_t got = 0;

	*ret_overflow = false;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
		size_t n;
		int tmp[IPC_MAX_FDS];

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		if (c->cmsg_len < CMSG_LEN(0))
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		if (n > IPC_MAX_FDS)
			n = IPC_MAX_FDS;	/* the control buffer cannot hold more */
		memcpy(tmp, CMSG_DATA(c), n * sizeof(int));
		for (size_t i = 0; i < n; i++) {
			if (got < maxfds) {
				fds[got++] = tmp[i];
			} else {
				close(tmp[i]);
				*ret_overflow = true;
			}
		}
	}
	return got;
}

ssize_t
ipc_recv(int fd, void *buf, size_t cap, int *fds, size_t maxfds, size_t *ret_nfds, int flags)
{
	union ipc_cmsg cm;
	struct iovec iov = { .iov_base = buf, .iov_len = cap };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cm.buf, .msg_controllen = sizeof(cm.buf),
	};
	bool overflow;
	size_t got;
	ssize_t n;

	if (maxfds > IPC_MAX_FDS)
		maxfds = IPC_MAX_FDS;
	do
		n = recvmsg(fd, &msg, flags | MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	got = ipc_collect_fds(&msg, fds, maxfds, &overflow);
	if (overflow || (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
		ipc_close_fds(fds, got);
		return -EMSGSIZE;
	}
	if (ret_nfds)
		*ret_nfds = got;
	else
		ipc_close_fds(fds, got);
	return n;
}

int
ipc_peercred(int fd, struct ucred *ret_cred)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return -errno;
	if (len != sizeof(cred))
		return -EPROTO;
	*ret_cred = cred;
	return 0;
}

static int
ipc_fill_addr(const char *path, struct sockaddr_un *sun)
{
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof(sun->sun_path))
		return -ENAMETOOLONG;
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path, path, len + 1);
	return 0;
}

int
ipc_listen_unix(const char *path, unsigned mode, int backlog)
{
	struct sockaddr_un sun;
	int fd, r;

	r = ipc_fill_addr(path, &sun);
	if (r < 0)
		return r;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (unlink(path) < 0 && errno != ENOENT)
		goto fail;
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		goto fail;
	if (chmod(path, (mode_t)mode) < 0)
		goto fail;
	if (listen(fd, backlog) < 0)
		goto fail;
	return fd;
fail:
	r = -errno;
	close(fd);
	return r;
}

int
ipc_connect_unix(const char *path)
{
	struct sockaddr_un sun;
	int fd, r;

	r = ipc_fill_addr(path, &sun);
	if (r < 0)
		return r;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}
