/*
 * Unit tests for moat-ins's seccomp allow-list (broker_sandbox_syscalls):
 * in a forked child confined exactly as moat-ins confines itself, what the
 * broker does still works and what it never does (exec, ptrace) kills it.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
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
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
