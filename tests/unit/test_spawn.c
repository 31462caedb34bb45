/* Unit tests for common/spawn: argv without a shell, capture and its cap,
 * stdin, exec errors as errno, timeouts killing the whole group, descriptor
 * and signal hygiene in the child, and the pidfd path for event loops. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/clock.h"
#include "common/evloop.h"
#include "common/spawn.h"

#define ARGV(...) ((char *const[]){ __VA_ARGS__, NULL })

static void
test_echo_by_name(void **state)
{
	struct spawn_opts o = {
		.path = "echo", .argv = ARGV("echo", "hello", "a b"), .out = SPAWN_OUT_CAPTURE,
	};
	struct spawn_result r;

	assert_int_equal(spawn_run(&o, &r), 0);
	assert_true(WIFEXITED(r.status));
	assert_int_equal(WEXITSTATUS(r.status), 0);
	assert_string_equal(r.out, "hello a b\n");	/* "a b" stayed one argument */
	assert_int_equal(r.out_len, 10);
	assert_false(r.out_truncated);
	assert_null(r.err);
	spawn_result_fini(&r);
	spawn_result_fini(&r);
}

static void
test_stdout_stderr_and_status(void **state)
{
	struct spawn_opts o = {
		.path = "/bin/sh", .argv = ARGV("sh", "-c", "echo out; echo err >&2; exit 3"),
		.out = SPAWN_OUT_CAPTURE, .err = SPAWN_OUT_CAPTURE,
	};
	struct spawn_result r;

	assert_int_equal(spawn_run(&o, &r), 0);
	assert_int_equal(spawn_exit_code(r.status), 3);
	assert_string_equal(r.out, "out\n");
	assert_string_equal(r.err, "err\n");
	spawn_result_fini(&r);

	o.err = SPAWN_OUT_MERGE;
	assert_int_equal(spawn_run(&o, &r), 0);
	assert_string_equal(r.out, "out\nerr\n");
	assert_null(r.err);
	spawn_result_fini(&r);

	o.out = SPAWN_OUT_NULL;
	o.err = SPAWN_OUT_NULL;
	assert_int_equal(spawn_run(&o, &r), 0);
	assert_null(r.out);
	assert_int_equal(spawn_exit_code(r.status), 3);
	spawn_result_fini(&r);
}

static void
test_stdin(void **state)
{
	struct spawn_opts o = {
		.path = "cat", .argv = ARGV("cat"), .out = SPAWN_OUT_CAPTURE,
		.stdin_data = "{\"rule_id\":1}\n", .stdin_len = 14,
	};
	struct spawn_result r;

	assert_int_equal(spawn_run(&o, &r), 0);
	assert_string_equal(r.out, "{\"rule_id\":1}\n");
	spawn_result_fini(&r);

	/* Without data: /dev/null, so cat ends at once. */
	o.stdin_data = NULL;
	o.stdin_len = 0;
	assert_int_equal(spawn_run(&o, &r), 0);
	assert_int_equal(r.out_len, 0);
	assert_string_equal(r.out, "");
	spawn_result_fini(&r);

	o.stdin_data = "x";
	o.stdin_len = SPAWN_STDIN_MAX + 1;
	assert_int_equal(spawn_run(&o, &r), -EMSGSIZE);
}

static void
test_exec_errors_are_errno(void **state)
{
	char path[] = "/tmp/moat-spawn-XXXXXX";
	struct spawn_opts o = { .argv = ARGV("x") };
	struct spawn_result r;
	int fd;

	o.path = "/nonexistent/program";
	assert_int_equal(spawn_run(&o, &r), -ENOENT);
	o.path = "moat-no-such-program";
	assert_int_equal(spawn_run(&o, &r), -ENOENT);
	o.path = "";
	assert_int_equal(spawn_run(&o, &r), -ENOENT);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(chmod(path, 0644), 0);
	o.path = path;
	assert_int_equal(spawn_run(&o, &r), -EACCES);
	unlink(path);
	o.path = "/bin/true";
	o.argv = NULL;
	assert_int_equal(spawn_run(&o, &r), -EINVAL);
	o.argv = ARGV("true");
	o.out = SPAWN_OUT_MERGE;
	assert_int_equal(spawn_run(&o, &r), -EINVAL);
}

static bool
pid_gone(pid_t pid)
{
	char p[64], buf[256];

	/* Gone, or a zombie waiting for init: either way, not running. */
	for (int i = 0; i < 200; i++) {
		FILE *f;
		char *c;
		bool zombie;

		snprintf(p, sizeof(p), "/proc/%d/stat", (int)pid);
		if ((f = fopen(p, "re")) == NULL)
			return true;
		c = fgets(buf, sizeof(buf), f);
		fclose(f);
		zombie = c && (c = strrchr(buf, ')')) && c[1] == ' ' && c[2] == 'Z';
		if (zombie)
			return true;
		usleep(10000);
	}
	return false;
}

static void
test_timeout_kills_the_group(void **state)
{
	char file[] = "/tmp/moat-spawn-pid-XXXXXX", script[256], buf[32];
	struct spawn_opts o = { .path = "/bin/sh", .out = SPAWN_OUT_CAPTURE, .timeout_ms = 200 };
	struct spawn_result r;
	uint64_t t0;
	ssize_t n;
	int fd;

	fd = mkstemp(file);
	assert_true(fd >= 0);
	snprintf(script, sizeof(script), "sleep 30 & echo $! > %s; echo started; wait", file);
	o.argv = ARGV("sh", "-c", script);
	t0 = clock_now_ns(CLOCK_MONOTONIC);
	assert_int_equal(spawn_run(&o, &r), -ETIMEDOUT);
	assert_true(clock_now_ns(CLOCK_MONOTONIC) - t0 < 5 * CLOCK_NS_PER_SEC);
	n = read(fd, buf, sizeof(buf) - 1);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_true(pid_gone((pid_t)atoi(buf)));	/* the grandchild too */
	close(fd);
	unlink(file);
}

static void
test_capture_cap(void **state)
{
	struct spawn_opts o = {
		.path = "/bin/sh", .argv = ARGV("sh", "-c", "head -c 300000 /dev/zero; echo done >&2"),
		.out = SPAWN_OUT_CAPTURE, .err = SPAWN_OUT_CAPTURE, .capture_max = 1000,
		.timeout_ms = 10000,
	};
	struct spawn_result r;

	assert_int_equal(spawn_run(&o, &r), 0);
	assert_int_equal(spawn_exit_code(r.status), 0);	/* never blocked on the pipe */
	assert_int_equal(r.out_len, 1000);
	assert_true(r.out_truncated);
	assert_string_equal(r.err, "done\n");
	assert_false(r.err_truncated);
	spawn_result_fini(&r);
}

static void
test_child_hygiene(void **state)
{
	char fdpath[64];
	struct spawn_opts o = { .out = SPAWN_OUT_CAPTURE };
	struct spawn_result r;
	sigset_t block, old;
	/* No CLOEXEC, as careless code elsewhere in the process might leave. */
	int leak = fcntl(STDERR_FILENO, F_DUPFD, 100);

	assert_true(leak >= 100);
	/* The program itself (no shell in between) is checked. */
	snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", leak);
	o.path = "test";
	o.argv = ARGV("test", "-e", fdpath);
	assert_int_equal(spawn_run(&o, &r), 0);
	assert_int_equal(spawn_exit_code(r.status), 1);	/* not there */
	spawn_result_fini(&r);
	o.argv = ARGV("test", "-e", "/proc/self/fd/2");
	assert_int_equal(spawn_run(&o, &r), 0);
	assert_int_equal(spawn_exit_code(r.status), 0);	/* the test can see */
	spawn_result_fini(&r);

	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	assert_int_equal(pthread_sigmask(SIG_BLOCK, &block, &old), 0);
	signal(SIGPIPE, SIG_IGN);
	o.path = "grep";
	o.argv = ARGV("grep", "-E", "^Sig(Blk|Ign)", "/proc/self/status");
	assert_int_equal(spawn_run(&o, &r), 0);
	signal(SIGPIPE, SIG_DFL);
	assert_int_equal(pthread_sigmask(SIG_SETMASK, &old, NULL), 0);
	close(leak);
	if (!strstr(r.out, "SigBlk:\t0000000000000000") ||
	    !strstr(r.out, "SigIgn:\t0000000000000000"))
		fail_msg("the child's signal state is not clean:\n%s", r.out);
	spawn_result_fini(&r);
}

static void
test_envp(void **state)
{
	struct spawn_opts o = {
		.path = "/bin/sh", .argv = ARGV("sh", "-c", "echo \"$FOO:$HOME\""),
		.envp = ARGV("FOO=bar"), .out = SPAWN_OUT_CAPTURE,
	};
	struct spawn_result r;

	assert_int_equal(spawn_run(&o, &r), 0);
	assert_string_equal(r.out, "bar:\n");
	spawn_result_fini(&r);
}

static void
test_new_netns(void **state)
{
	struct spawn_opts o = {
		.path = "/bin/sh", .argv = ARGV("sh", "-c", "tail -n +3 /proc/self/net/dev | wc -l"),
		.out = SPAWN_OUT_CAPTURE, .flags = SPAWN_NEW_NETNS,
	};
	struct spawn_result r;
	int rc = spawn_run(&o, &r);

	if (rc == -EPERM) {
		skip();
		return;
	}
	assert_int_equal(rc, 0);
	assert_string_equal(r.out, "1\n");	/* only lo */
	spawn_result_fini(&r);
}

/* ---- spawn_start on an event loop ---- */

struct watch {
	struct spawn_proc *p;
	char out[64];
	size_t len;
	int status;
	bool done;
};

static void
on_exit_fd(struct evloop_io *io, int fd, unsigned revents, void *arg)
{
	struct watch *w = arg;
	ssize_t n;

	while ((n = read(w->p->out_fd, w->out + w->len, sizeof(w->out) - 1 - w->len)) > 0)
		w->len += (size_t)n;
	w->out[w->len] = '\0';
	evloop_io_del(io);
	assert_int_equal(spawn_reap(w->p, &w->status), 0);
	w->done = true;
}

static void
test_start_on_a_loop(void **state)
{
	struct spawn_opts o = {
		.path = "/bin/sh", .argv = ARGV("sh", "-c", "echo hi; exit 5"),
		.out = SPAWN_OUT_CAPTURE,
	};
	struct spawn_proc p;
	struct watch w = { .p = &p };
	struct evloop *loop;

	assert_int_equal(evloop_new(&loop), 0);
	assert_int_equal(spawn_start(&o, &p), 0);
	assert_true(p.pid > 0);
	assert_true(p.pidfd >= 0);
	assert_true(p.out_fd >= 0);
	assert_int_equal(p.err_fd, -1);
	assert_int_equal(evloop_add_fd(loop, p.pidfd, EVLOOP_IN, on_exit_fd, &w, NULL), 0);
	for (int i = 0; i < 100 && !w.done; i++)
		assert_true(evloop_run_once(loop, 100) >= 0);
	assert_true(w.done);
	assert_int_equal(spawn_exit_code(w.status), 5);
	assert_string_equal(w.out, "hi\n");
	assert_int_equal(p.pidfd, -1);
	assert_int_equal(p.out_fd, -1);
	evloop_free(loop);
}

static void
test_start_reap_kill(void **state)
{
	struct spawn_opts o = {
		.path = "sleep", .argv = ARGV("sleep", "30"), .flags = SPAWN_NEW_PGRP,
	};
	struct spawn_proc p;
	int status;

	assert_int_equal(spawn_start(&o, &p), 0);
	assert_int_equal(spawn_reap(&p, &status), -EAGAIN);
	assert_int_equal(spawn_kill(&p, SIGTERM), 0);
	assert_int_equal(spawn_wait(&p, &status), 0);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(spawn_exit_code(status), 128 + SIGTERM);
	assert_int_equal(spawn_wait(&p, &status), -ECHILD);
	assert_int_equal(spawn_kill(&p, SIGTERM), -ESRCH);

	o.flags = 0;
	assert_int_equal(spawn_start(&o, &p), 0);
	assert_int_equal(spawn_kill(&p, SIGKILL), 0);	/* pidfd_send_signal */
	assert_int_equal(spawn_wait(&p, &status), 0);
	assert_int_equal(spawn_exit_code(status), 128 + SIGKILL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_echo_by_name),
		cmocka_unit_test(test_stdout_stderr_and_status),
		cmocka_unit_test(test_stdin),
		cmocka_unit_test(test_exec_errors_are_errno),
		cmocka_unit_test(test_timeout_kills_the_group),
		cmocka_unit_test(test_capture_cap),
		cmocka_unit_test(test_child_hygiene),
		cmocka_unit_test(test_envp),
		cmocka_unit_test(test_new_netns),
		cmocka_unit_test(test_start_on_a_loop),
		cmocka_unit_test(test_start_reap_kill),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
