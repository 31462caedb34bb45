/* Unit tests for common/ipc: messages, descriptor passing, truncation and overflow. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/ipc.h"

static int sv[2];

static int
setup(void **state)
{
	return socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv);
}

static int
teardown(void **state)
{
	close(sv[0]);
	close(sv[1]);
	return 0;
}

static void
test_plain_message(void **state)
{
	char buf[16];
	size_t nfds = 99;
	int fds[1];

	assert_int_equal(ipc_send(sv[0], "hello", 5, NULL, 0), 0);
	assert_int_equal(ipc_recv(sv[1], buf, sizeof(buf), fds, 1, &nfds, 0), 5);
	assert_int_equal(nfds, 0);
	assert_memory_equal(buf, "hello", 5);
}

static void
test_fd_passing(void **state)
{
	int p[2], fds[2] = { -1, -1 };
	size_t nfds = 0;
	char buf[4], c = 0;

	assert_int_equal(pipe(p), 0);
	assert_int_equal(ipc_send(sv[0], "x", 1, &p[1], 1), 0);
	assert_int_equal(ipc_recv(sv[1], buf, sizeof(buf), fds, 2, &nfds, 0), 1);
	assert_int_equal(nfds, 1);
	assert_true(fcntl(fds[0], F_GETFD) & FD_CLOEXEC);
	assert_int_equal(write(fds[0], "z", 1), 1);
	assert_int_equal(read(p[0], &c, 1), 1);
	assert_int_equal(c, 'z');
	close(fds[0]);
	close(p[0]);
	close(p[1]);
}

static int
count_open_fds(void)
{
	int n = 0;

	for (int fd = 0; fd < 256; fd++)
		if (fcntl(fd, F_GETFD) >= 0)
			n++;
	return n;
}

static void
test_surplus_fds_closed(void **state)
{
	int p[2], fds[1] = { -1 };
	int send[3];
	size_t nfds = 0;
	char buf[4];
	int before;

	assert_int_equal(pipe(p), 0);
	send[0] = p[0];
	send[1] = p[1];
	send[2] = p[0];
	before = count_open_fds();
	assert_int_equal(ipc_send(sv[0], "x", 1, send, 3), 0);
	assert_int_equal(ipc_recv(sv[1], buf, sizeof(buf), fds, 1, &nfds, 0), -EMSGSIZE);
	assert_int_equal(count_open_fds(), before);	/* nothing leaked */
	close(p[0]);
	close(p[1]);
}

static void
test_truncated_message(void **state)
{
	char big[64] = { 0 }, small[8];
	int fds[1];
	size_t nfds;

	assert_int_equal(ipc_send(sv[0], big, sizeof(big), NULL, 0), 0);
	assert_int_equal(ipc_recv(sv[1], small, sizeof(small), fds, 1, &nfds, 0), -EMSGSIZE);
}

static void
test_nonblocking_empty(void **state)
{
	char buf[4];
	int fds[1];
	size_t nfds;

	assert_int_equal(ipc_recv(sv[1], buf, sizeof(buf), fds, 1, &nfds, MSG_DONTWAIT), -EAGAIN);
	assert_int_equal(ipc_send(sv[0], "x", 1, fds, IPC_MAX_FDS + 1), -EINVAL);
}

static void
test_peer_closed(void **state)
{
	char buf[4];
	int fds[1], a[2];
	size_t nfds;
	struct ucred cred;

	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, a), 0);
	assert_int_equal(ipc_peercred(a[0], &cred), 0);
	assert_int_equal(cred.pid, getpid());
	close(a[1]);
	assert_int_equal(ipc_recv(a[0], buf, sizeof(buf), fds, 1, &nfds, 0), 0);
	close(a[0]);
}

static void
test_listen_connect(void **state)
{
	char dir[] = "/tmp/test_ipc.XXXXXX", path[128];
	struct stat st;
	int l, c;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/s", dir);
	l = ipc_listen_unix(path, 0600, 4);
	assert_true(l >= 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	c = ipc_connect_unix(path);
	assert_true(c >= 0);
	assert_true(fcntl(c, F_GETFD) & FD_CLOEXEC);
	close(c);
	close(l);
	/* a stale socket file is replaced */
	l = ipc_listen_unix(path, 0600, 4);
	assert_true(l >= 0);
	close(l);
	unlink(path);
	rmdir(dir);
	assert_true(ipc_connect_unix(path) < 0);
	memset(path, 'x', sizeof(path) - 1);
	path[sizeof(path) - 1] = 0;
	assert_int_equal(ipc_listen_unix(path, 0600, 1), -ENAMETOOLONG);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_plain_message, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fd_passing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_surplus_fds_closed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated_message, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nonblocking_empty, setup, teardown),
		cmocka_unit_test(test_peer_closed),
		cmocka_unit_test(test_listen_connect),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
