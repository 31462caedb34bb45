/*
 * Unit tests for moat-ins's seccomp allow-list (broker_sandbox_syscalls):
 * in a forked child confined exactly as moat-ins confines itself, what the
 * broker does still works and what it never does (exec, ptrace) kills it; the
 * NETLINK_ROUTE socket it makes for a program refuses changes.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <linux/capability.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <arpa/inet.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/sandbox.h"
#include "ins/broker.h"

#define CHECK(cond)                                                                     \
	do {                                                                            \
		if (!(cond)) {                                                          \
			dprintf(2, "child check failed: %s (line %d, errno %d)\n", #cond, \
				__LINE__, errno);                                       \
			_exit(__LINE__ % 250 + 1);                                      \
		}                                                                       \
	} while (0)

static void
confine(void)
{
	struct sandbox_opts o = { .seccomp = true, .syscalls = broker_sandbox_syscalls };

	CHECK(sandbox_enter(&o) == 0);
}

static int
run_child(void (*fn)(void))
{
	pid_t pid;
	int status;

	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		fn();
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

/* A socket for an application, a doorbell pair, an option, a listener. */
static void
child_broker_work(void)
{
	int fd, pair[2], one = 1;

	confine();
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(fd >= 0);
	CHECK(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0);
	CHECK(listen(fd, 16) == 0);
	CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) == 0);
	close(pair[0]);
	close(pair[1]);
	close(fd);
}

static void
test_broker_work_allowed(void **state)
{
	int status = run_child(child_broker_work);

	(void)state;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("child failed: status 0x%x", status);
}

/*
 * RTM_NEWADDR 203.0.113.99/32 on lo (index 1), sent without a destination
 * address (so the kernel checks the opener's credentials too); the kernel's
 * answer as a negative errno, or 0.
 */
static int
netlink_add_addr(int fd)
{
	struct {
		struct nlmsghdr nh;
		struct ifaddrmsg ifa;
		struct rtattr rta;
		struct in_addr a;
	} req = {
		.nh = { .nlmsg_len = sizeof(req), .nlmsg_type = RTM_NEWADDR,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
			.nlmsg_seq = 1 },
		.ifa = { .ifa_family = AF_INET, .ifa_prefixlen = 32, .ifa_index = 1 },
		.rta = { .rta_len = RTA_LENGTH(sizeof(struct in_addr)), .rta_type = IFA_LOCAL },
	};
	char buf[4096];
	ssize_t n;

	inet_pton(AF_INET, "203.0.113.99", &req.a);
	if (send(fd, &req, sizeof(req), 0) != (ssize_t)sizeof(req))
		return -errno;
	n = recv(fd, buf, sizeof(buf), 0);
	if (n < (ssize_t)(NLMSG_HDRLEN + sizeof(int)))
		return -EPROTO;
	if (((struct nlmsghdr *)buf)->nlmsg_type != NLMSG_ERROR)
		return -EPROTO;
	return ((struct nlmsgerr *)NLMSG_DATA(buf))->error;
}

static bool
net_admin_effective(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];

	return syscall(SYS_capget, &hdr, data) == 0 &&
	       (data[CAP_NET_ADMIN / 32].effective & (1u << (CAP_NET_ADMIN % 32)));
}

/*
 * In a network namespace of its own, confined as moat-ins (CAP_NET_ADMIN
 * kept): the program's NETLINK_ROUTE socket refuses a change sent by this
 * very process, which holds CAP_NET_ADMIN, and the capability is back after.
 * A socket opened with the capability (the control) accepts it.
 */
static void
child_netlink_socket(void)
{
	struct sandbox_opts o = { .seccomp = true, .syscalls = broker_sandbox_syscalls,
				  .keep_caps = SANDBOX_CAP(CAP_NET_ADMIN) };
	int fd, plain;

	if (unshare(CLONE_NEWNET) < 0)
		_exit(77);
	CHECK(sandbox_enter(&o) == 0);
	CHECK(net_admin_effective());
	CHECK(broker_netlink_route_socket(SOCK_RAW, &fd) == 0);
	CHECK(net_admin_effective());
	CHECK(netlink_add_addr(fd) == -EPERM);
	plain = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	CHECK(plain >= 0);
	CHECK(netlink_add_addr(plain) == 0);
	close(plain);
	close(fd);
}

static void
test_netlink_socket_read_only(void **state)
{
	int status = run_child(child_netlink_socket);

	(void)state;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 77)
		skip();	/* not root: no network namespace of our own */
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("child failed: status 0x%x", status);
}

static void
child_exec(void)
{
	char *const argv[] = { "/bin/true", NULL };

	confine();
	execve(argv[0], argv, NULL);
	_exit(99);	/* not reached */
}

static void
child_ptrace(void)
{
	confine();
	ptrace(PTRACE_TRACEME, 0, NULL, NULL);
	_exit(99);
}

static void
test_forbidden_calls_kill(void **state)
{
	int status;

	(void)state;
	status = run_child(child_exec);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGSYS);
	status = run_child(child_ptrace);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGSYS);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_broker_work_allowed),
		cmocka_unit_test(test_forbidden_calls_kill),
		cmocka_unit_test(test_netlink_socket_read_only),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
