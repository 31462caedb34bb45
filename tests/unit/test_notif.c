/*
 * Unit tests for ins/notif: a child installs the filter and sends its
 * listener; its socket(2) calls are served by notif on an event loop, as
 * moat-ins serves the command: brokered (the supervisor's socket, bound
 * where the child can see it), refused with the supervisor's errno, or
 * unbrokered (logged, continued in the child).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <linux/seccomp.h>
#include <sys/ioctl.h>
#include <linux/netlink.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/evloop.h"
#include "common/ipc.h"
#include "ins/notif.h"

struct sup {
	int calls;
	uint16_t port;		/* where the brokered socket was bound */
	pid_t netlink_pid;	/* who asked for a NETLINK_ROUTE socket */
};

/* STREAM: a socket bound to 127.0.0.1:ephemeral (the child checks the port); DGRAM: EACCES. */
static int
sup_socket(void *ctx, pid_t pid, int family, int type, int protocol, int *ret_fd)
{
	struct sup *s = ctx;
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sin);
	int fd;

	s->calls++;
	if (family == AF_NETLINK) {
		s->netlink_pid = pid;
		return NOTIF_CONTINUE;	/* the program's own, as for one that could hold NET_ADMIN */
	}
	if ((type & ~SOCK_NONBLOCK) != SOCK_STREAM)
		return -EACCES;
	fd = socket(family, type | SOCK_CLOEXEC, protocol);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) < 0) {
		close(fd);
		return -EIO;
	}
	s->port = ntohs(sin.sin_port);
	*ret_fd = fd;
	return 0;
}

/* The child: filter, listener to the parent, then three calls; results on out. */
static _Noreturn void
child(int sock, int out)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd = -1, res[5] = { 0 }, flags;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || notif_install(&fd) < 0)
		_exit(2);
	if (ipc_send(sock, "x", 1, &fd, 1) < 0)
		_exit(3);
	close(fd);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && getsockname(fd, (struct sockaddr *)&sin, &len) == 0)
		res[0] = ntohs(sin.sin_port);
	flags = fd >= 0 ? fcntl(fd, F_GETFD) : -1;
	res[1] = flags >= 0 && (flags & FD_CLOEXEC);
	res[2] = socket(AF_INET6, SOCK_DGRAM, 0) < 0 ? errno : 0;
	/* Not brokered: continued here (EPERM/EACCES without CAP_NET_RAW, or a socket). */
	res[3] = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP) >= 0 ? 0 : errno;
	(void)socket(AF_UNIX, SOCK_DGRAM, 0);	/* not stopped at all */
	(void)socket(AF_NETLINK, SOCK_RAW, NETLINK_GENERIC);	/* nor this */
	res[4] = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE) >= 0;	/* continued */
	if (write(out, res, sizeof(res)) != sizeof(res))
		_exit(4);
	_exit(0);
}

static void
test_served(void **state)
{
	struct evloop *loop;
	struct notif *n = NULL;
	struct sup s = { 0 };
	int sp[2], pp[2], fds[1] = { -1 }, res[5], status;
	size_t nfds = 0;
	char b;
	pid_t pid;

	assert_int_equal(evloop_new(&loop), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp), 0);
	assert_int_equal(pipe2(pp, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		child(sp[1], pp[1]);
	close(sp[1]);
	close(pp[1]);
	assert_int_equal(ipc_recv(sp[0], &b, 1, fds, 1, &nfds, 0), 1);
	assert_int_equal(nfds, 1);
	assert_int_equal(notif_open(loop, fds[0], sup_socket, &s, &n), 0);
	/* Serve until the child has written its results (bounded: 200 x 50 ms). */
	for (int i = 0; i < 200; i++) {
		struct pollfd p = { .fd = pp[0], .events = POLLIN };

		if (poll(&p, 1, 0) == 1)
			break;
		assert_true(evloop_run_once(loop, 50) >= 0);
	}
	assert_int_equal(read(pp[0], res, sizeof(res)), sizeof(res));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(s.calls, 3);		/* STREAM, DGRAM, NETLINK_ROUTE; RAW never reached us */
	assert_int_equal(s.netlink_pid, pid);		/* the caller, in our pid namespace */
	assert_int_equal(res[4], 1);			/* NOTIF_CONTINUE: made by the child itself */
	assert_int_equal(notif_stats(n)->own, 1);
	assert_int_equal(res[0], s.port);		/* the child holds our socket */
	assert_int_equal(res[1], 1);			/* SOCK_CLOEXEC honoured */
	assert_int_equal(res[2], EACCES);		/* our errno is the program's */
	assert_int_equal(notif_stats(n)->brokered, 1);
	assert_int_equal(notif_stats(n)->refused, 1);
	assert_int_equal(notif_stats(n)->unbrokered, 1);
	notif_free(n);
	evloop_free(loop);
	close(sp[0]);
	close(pp[0]);
}

static void
test_brokerable_and_names(void **state)
{
	char buf[64];

	assert_true(notif_brokerable(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
	assert_true(notif_brokerable(AF_INET6, SOCK_STREAM, IPPROTO_TCP));
	assert_true(notif_brokerable(AF_INET, SOCK_DGRAM, IPPROTO_UDP));
	assert_false(notif_brokerable(AF_INET, SOCK_DGRAM, IPPROTO_ICMP));	/* ping socket */
	assert_false(notif_brokerable(AF_INET, SOCK_STREAM, IPPROTO_SCTP));
	assert_false(notif_brokerable(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6));
	assert_false(notif_brokerable(AF_INET, SOCK_SEQPACKET, 0));
	assert_false(notif_brokerable(AF_UNIX, SOCK_STREAM, 0));
	assert_true(notif_brokerable(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
	assert_true(notif_brokerable(AF_NETLINK, SOCK_DGRAM, NETLINK_ROUTE));
	assert_false(notif_brokerable(AF_NETLINK, SOCK_RAW, NETLINK_GENERIC));
	notif_describe(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, 58, buf, sizeof(buf));
	assert_string_equal(buf, "socket(AF_INET6, SOCK_RAW, 58)");
	notif_describe(99, 77, 3, buf, sizeof(buf));
	assert_string_equal(buf, "socket(99, 77, 3)");
}

/* moat-ins's own ioctl filter: the listener's commands and FIONREAD pass, others kill. */
static void
test_confine_ioctl(void **state)
{
	int status, fds[2];
	pid_t pid;

	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int n = 0;
		uint64_t id = 1;

		if (notif_confine_ioctl() < 0)
			_exit(2);
		if (ioctl(fds[0], FIONREAD, &n) < 0)
			_exit(3);
		/* a listener command on a pipe: refused by the kernel, not by the filter */
		if (ioctl(fds[0], SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0 || errno != ENOTTY)
			_exit(4);
		(void)ioctl(fds[0], FIOCLEX);	/* not on the list: SIGSYS */
		_exit(5);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGSYS);
	close(fds[0]);
	close(fds[1]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_brokerable_and_names),
		cmocka_unit_test(test_served),
		cmocka_unit_test(test_confine_ioctl),
	};
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
