/*
 * Unit tests for ins/run: the daemon main.c hands over to. The command's
 * exit status comes back through the loop's SIGCHLD; a signal to moat-ins is
 * passed on to the command; a serving moat-ins answers a client, reloads
 * its policy through the caller's callback on SIGHUP and stops on SIGTERM.
 * No mark and no nftables (connect.mark 0), no confinement (--no-sandbox),
 * no namespace: nothing outside this process and its children changes.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/ipc.h"
#include "common/log.h"
#include "ins/run.h"
#include "proto/insproto.h"

static void
sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* The default policy without a mark (no nftables) or observer. */
static void
test_policy(struct policy *pol)
{
	policy_default(pol);
	pol->mark = 0;
	pol->mark_auto = false;
	pol->observe_ms = 0;
}

static int
run_cmd(const char *script)
{
	char *cmd[] = { "/bin/sh", "-c", (char *)(uintptr_t)script, NULL };
	struct run_opts o = { .cmd = cmd, .no_sandbox = true };
	struct policy pol;
	sigset_t mask;
	int code;

	/* run_main leaves its signals blocked (one run per process); the next
	   test's command must not inherit that */
	assert_int_equal(sigprocmask(SIG_SETMASK, NULL, &mask), 0);
	test_policy(&pol);
	code = run_main(&o, &pol);
	assert_int_equal(sigprocmask(SIG_SETMASK, &mask, NULL), 0);
	return code;
}

/* The command sees its control socket and its exit status is ours. */
static void
test_command_status(void **state)
{
	(void)state;
	assert_int_equal(run_cmd("[ -S \"$MOAT_INS_SOCK\" ] && exit 7; exit 1"), 7);
}

/* SIGTERM to moat-ins reaches the command, which dies of it: 128 + 15. */
static void
test_signal_passed_on(void **state)
{
	(void)state;
	assert_int_equal(run_cmd("kill -TERM $PPID; exec sleep 5"), 128 + SIGTERM);
}

/* A command that cannot be executed: 127, as a shell says. */
static void
test_command_not_found(void **state)
{
	char *cmd[] = { "/nonexistent/moat-test-cmd", NULL };
	struct run_opts o = { .cmd = cmd, .no_sandbox = true };
	struct policy pol;

	(void)state;
	test_policy(&pol);
	assert_int_equal(run_main(&o, &pol), 127);
}

/* SIGHUP's policy: UDP refused from now on. */
static int
reload_no_udp(void *ctx, struct policy *ret)
{
	(void)ctx;
	test_policy(ret);
	ret->allow_udp = false;
	return 0;
}

/* An INS_SOCKET request for UDP: the reply's status (0 or a positive errno). */
static int
ask_udp(int cli)
{
	struct ins_msg req = { .type = INS_SOCKET, .id = 1, .family = INS_AF_INET,
			       .socktype = INS_SOCK_DGRAM }, rep = { 0 };
	uint8_t buf[INS_MSG_MAX];
	int fds[1] = { -1 };
	size_t nfds = 0;
	int len = insproto_encode(&req, buf, sizeof(buf));
	ssize_t n;

	assert_true(len > 0);
	assert_int_equal(ipc_send(cli, buf, (size_t)len, NULL, 0), 0);
	n = ipc_recv(cli, buf, sizeof(buf), fds, 1, &nfds, 0);
	assert_true(n > 0);
	assert_int_equal(insproto_decode(buf, (size_t)n, nfds, &rep), 0);
	if (nfds)
		close(fds[0]);
	return rep.status;
}

static void
test_serve_reload_stop(void **state)
{
	char dir[] = "/tmp/test_run.XXXXXX", path[64];
	int cli = -1, status = 0, st = 0;
	pid_t pid;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/ctl", dir);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct run_opts o = { .sock = path, .no_sandbox = true, .reload = reload_no_udp };
		struct policy pol;

		test_policy(&pol);
		_exit(run_main(&o, &pol));
	}
	for (int i = 0; i < 250 && cli < 0; i++) {
		cli = ipc_connect_unix(path);
		if (cli < 0)
			sleep_ms(20);
	}
	assert_true(cli >= 0);
	assert_int_equal(ask_udp(cli), 0);
	assert_int_equal(kill(pid, SIGHUP), 0);
	for (int i = 0; i < 100 && (st = ask_udp(cli)) == 0; i++)
		sleep_ms(20);
	assert_int_equal(st, EACCES);
	assert_int_equal(kill(pid, SIGTERM), 0);
	for (int i = 0; i < 200 && waitpid(pid, &status, WNOHANG) == 0; i++)
		sleep_ms(20);
	if (waitpid(pid, &status, WNOHANG) == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	close(cli);
	rmdir(dir);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_serve_reload_stop),
		cmocka_unit_test(test_command_status),
		cmocka_unit_test(test_signal_passed_on),
		cmocka_unit_test(test_command_not_found),
	};

	log_init("test_run", LOG_DEST_STDERR, LOG_LVL_ERR, false);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
