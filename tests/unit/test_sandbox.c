/*
 * Unit tests for common/sandbox. Every sandbox is entered in a forked child
 * (it cannot be left); the child checks what it can and cannot do and
 * reports the first failed check as its exit status, which the parent
 * asserts on. Children end with _exit() so that no sanitizer exit hook runs
 * inside the filter. Tests that change ids or capabilities need root and
 * are skipped otherwise.
 */
#include <cap-ng.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <grp.h>
#include <seccomp.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <netinet/in.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/sandbox.h"

#define NOBODY_UID 65534u

/* In the child: the first failing check exits with its line number (mod 256
 * clash is harmless: any non-zero fails the test) and says which. */
#define CHECK(cond)                                                                     \
	do {                                                                            \
		if (!(cond)) {                                                          \
			dprintf(2, "child check failed: %s (line %d, errno %d)\n", #cond, \
				__LINE__, errno);                                       \
			_exit(__LINE__ % 250 + 1);                                      \
		}                                                                       \
	} while (0)

typedef void (*child_fn)(const void *arg);

/* Run fn(arg) in a child; return its raw wait status. */
static int
run_child(child_fn fn, const void *arg)
{
	pid_t pid;
	int status;

	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		fn(arg);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static void
assert_child_ok(child_fn fn, const void *arg)
{
	int status = run_child(fn, arg);

	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("child failed: status 0x%x", status);
}

static void
skip_unless_root(void)
{
	if (geteuid() != 0)
		skip();
}

static bool
holds_cap(unsigned cap)
{
	return capng_get_caps_process() == 0 && capng_have_capability(CAPNG_EFFECTIVE, cap);
}

/* ---- seccomp ---- */

static void
child_seccomp_eperm(const void *arg)
{
	static const char *const extra[] = { "getppid", NULL };
	const pid_t *parent = arg;
	char err[256] = "";
	struct sandbox_opts o = {
		.seccomp = true, .syscalls = extra, .deny = SANDBOX_DENY_EPERM,
		.errbuf = err, .errbuf_len = sizeof(err),
	};
	int p[2], avail = 0;
	void *mem;

	CHECK(pipe2(p, O_CLOEXEC) == 0);
	CHECK(sandbox_enter(&o) == 0);
	/* Allowed: the caller's extra name and the base list. */
	CHECK(getppid() == *parent);
	CHECK(write(p[1], "x", 1) == 1);
	/* Denied with EPERM: socket creation and opening files. */
	errno = 0;
	CHECK(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0) == -1);
	CHECK(errno == EPERM);
	errno = 0;
	CHECK(open("/dev/null", O_RDONLY | O_CLOEXEC) == -1 && errno == EPERM);
	/* Memory yes, executable memory no (W^X). */
	mem = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(mem != MAP_FAILED);
	errno = 0;
	CHECK(mprotect(mem, 4096, PROT_READ | PROT_EXEC) == -1 && errno == EPERM);
	CHECK(mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) ==
	      MAP_FAILED);
	CHECK(munmap(mem, 4096) == 0);
	/* ioctl: FIONREAD yes, anything else no. */
	CHECK(ioctl(p[0], FIONREAD, &avail) == 0 && avail == 1);
	errno = 0;
	CHECK(ioctl(p[0], FIONBIO, &avail) == -1 && errno == EPERM);
}

static void
test_seccomp_eperm(void **state)
{
	pid_t self = getpid();

	assert_child_ok(child_seccomp_eperm, &self);
}

/* Under a KILL filter what the base list promises works: time zone (loaded
 * by sandbox_enter), memory, writing to an open descriptor. */
static void
child_seccomp_kill_allowed(const void *arg)
{
	struct sandbox_opts o = { .seccomp = true };
	time_t now = time(NULL);
	struct tm tm;
	char buf[64];
	void *p;

	CHECK(sandbox_enter(&o) == 0);
	CHECK(localtime_r(&now, &tm) != NULL);
	CHECK(strftime(buf, sizeof(buf), "%F %T %Z", &tm) > 0);
	CHECK((p = malloc(1 << 20)) != NULL);
	free(p);
	CHECK(write(2, "", 0) == 0);
}

static void
test_seccomp_kill_allowed(void **state)
{
	assert_child_ok(child_seccomp_kill_allowed, NULL);
}

/* A thread already running before sandbox_enter is filtered too (TSYNC). */
struct thread_pipes {
	int ready[2];	/* thread -> main: running */
	int go[2];	/* main -> thread: the sandbox is on */
};

static void *
thread_try_socket(void *arg)
{
	struct thread_pipes *tp = arg;
	intptr_t denied;
	char c;

	if (write(tp->ready[1], "r", 1) != 1 || read(tp->go[0], &c, 1) != 1)
		return (void *)(intptr_t)0;
	errno = 0;
	denied = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0) == -1 &&
		 errno == EPERM;
	return (void *)denied;
}

static void
child_seccomp_threads(const void *arg)
{
	struct sandbox_opts o = { .seccomp = true, .deny = SANDBOX_DENY_EPERM };
	struct thread_pipes tp;
	void *denied = NULL;
	pthread_t t;
	char c;

	CHECK(pipe2(tp.ready, O_CLOEXEC) == 0 && pipe2(tp.go, O_CLOEXEC) == 0);
	CHECK(pthread_create(&t, NULL, thread_try_socket, &tp) == 0);
	CHECK(read(tp.ready[0], &c, 1) == 1);
	CHECK(sandbox_enter(&o) == 0);
	CHECK(write(tp.go[1], "g", 1) == 1);
	CHECK(pthread_join(t, &denied) == 0);
	CHECK(denied == (void *)1);
}

static void
test_seccomp_threads(void **state)
{
	assert_child_ok(child_seccomp_threads, NULL);
}

static void
child_seccomp_kill(const void *arg)
{
	struct sandbox_opts o = { .seccomp = true };	/* deny defaults to kill */

	CHECK(sandbox_enter(&o) == 0);
	(void)socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	_exit(99);	/* not reached */
}

static void
test_seccomp_kill(void **state)
{
	int status = run_child(child_seccomp_kill, NULL);

	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGSYS);
}

/* ---- ids and capabilities ---- */

static void
child_drop_to_nobody(const void *arg)
{
	struct sandbox_opts o = { .user = "nobody" };
	gid_t groups[4];

	CHECK(sandbox_enter(&o) == 0);
	CHECK(prctl(PR_GET_NO_NEW_PRIVS, 0L, 0L, 0L, 0L) == 1);
	CHECK(getuid() == NOBODY_UID && geteuid() == NOBODY_UID);
	CHECK(getgid() == 65534 && getegid() == 65534);
	CHECK(getgroups(4, groups) == 1 && groups[0] == 65534);
	errno = 0;
	CHECK(setuid(0) == -1 && errno == EPERM);
	CHECK(setgid(0) == -1);
	CHECK(setgroups(0, NULL) == -1);
	CHECK(!holds_cap(CAP_SETUID) && !holds_cap(CAP_NET_RAW));
	/* DAC now applies: shadow is root:shadow 0640. */
	CHECK(open("/etc/shadow", O_RDONLY | O_CLOEXEC) == -1 && errno == EACCES);
}

static void
test_drop_to_nobody(void **state)
{
	skip_unless_root();
	assert_child_ok(child_drop_to_nobody, NULL);
}

static void
child_keep_net_raw(const void *arg)
{
	struct sandbox_opts o = {
		.user = "nobody", .group = "nogroup", .keep_caps = SANDBOX_CAP(CAP_NET_RAW),
	};
	int fd;

	CHECK(sandbox_enter(&o) == 0);
	CHECK(getuid() == NOBODY_UID);
	CHECK(holds_cap(CAP_NET_RAW));
	CHECK(!holds_cap(CAP_NET_ADMIN) && !holds_cap(CAP_SETUID) && !holds_cap(CAP_SETPCAP));
	CHECK(!capng_have_capability(CAPNG_BOUNDING_SET, CAP_SYS_ADMIN));
	CHECK(capng_have_capability(CAPNG_BOUNDING_SET, CAP_NET_RAW));
	/* The kept capability works: a raw socket, which nobody may not open. */
	fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, IPPROTO_ICMP);
	CHECK(fd >= 0);
	close(fd);
	CHECK(setuid(0) == -1);
}

static void
test_keep_net_raw(void **state)
{
	skip_unless_root();
	assert_child_ok(child_keep_net_raw, NULL);
}

static void
child_chroot(const void *arg)
{
	struct sandbox_opts o = { .chroot_dir = arg, .user = "nobody" };
	char cwd[64];

	CHECK(sandbox_enter(&o) == 0);
	CHECK(access("/etc/passwd", F_OK) == -1 && errno == ENOENT);
	CHECK(getcwd(cwd, sizeof(cwd)) != NULL && strcmp(cwd, "/") == 0);
	CHECK(chroot("/") == -1);
}

static void
test_chroot(void **state)
{
	char dir[] = "/tmp/test_sandbox.XXXXXX";

	skip_unless_root();
	assert_non_null(mkdtemp(dir));
	assert_int_equal(chmod(dir, 0755), 0);
	assert_child_ok(child_chroot, dir);
	assert_int_equal(rmdir(dir), 0);
}

/* ---- errors are found before anything changes ---- */

struct bad_case {
	struct sandbox_opts opts;
	int want;
	const char *msg;
};

static void
child_bad_opts(const void *arg)
{
	const struct bad_case *c = arg;
	struct sandbox_opts o = c->opts;
	char err[256] = "";
	uid_t uid = getuid();
	int fd;

	o.errbuf = err;
	o.errbuf_len = sizeof(err);
	CHECK(sandbox_enter(&o) == c->want);
	CHECK(strstr(err, c->msg) != NULL);
	/* Still unconfined: same uid, sockets and files still open. */
	CHECK(getuid() == uid);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	CHECK(fd >= 0);
	close(fd);
}

static void
test_errors_change_nothing(void **state)
{
	static const char *const bogus[] = { "getppid", "no_such_call", NULL };
	const struct bad_case cases[] = {
		{ { .seccomp = true, .syscalls = bogus, .user = "nobody" }, -EINVAL,
		  "unknown system call 'no_such_call': " },
		{ { .user = "no-such-user-h2" }, -ENOENT, "no user 'no-such-user-h2'" },
		{ { .user = "nobody", .group = "no-such-group-h2" }, -ENOENT,
		  "no group 'no-such-group-h2'" },
		{ { .group = "nogroup" }, -EINVAL, "group 'nogroup' without a user" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_child_ok(child_bad_opts, &cases[i]);
}

static void
test_base_list_resolves(void **state)
{
	size_t n = 0;

	for (; sandbox_base_syscalls[n] != NULL; n++) {
		if (seccomp_syscall_resolve_name(sandbox_base_syscalls[n]) == __NR_SCMP_ERROR)
			fail_msg("base list: unknown '%s'", sandbox_base_syscalls[n]);
	}
	assert_true(n > 20);
}

static void
test_cap_parse(void **state)
{
	unsigned cap = 999;

	assert_int_equal(sandbox_cap_parse("net_raw", &cap), 0);
	assert_int_equal(cap, CAP_NET_RAW);
	assert_int_equal(sandbox_cap_parse("CAP_NET_BIND_SERVICE", &cap), 0);
	assert_int_equal(cap, CAP_NET_BIND_SERVICE);
	assert_int_equal(sandbox_cap_parse("net_rawx", &cap), -EINVAL);
	assert_int_equal(sandbox_cap_parse("", &cap), -EINVAL);
	assert_int_equal(sandbox_cap_parse("cap_", &cap), -EINVAL);
	assert_int_equal(cap, CAP_NET_BIND_SERVICE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seccomp_eperm),
		cmocka_unit_test(test_seccomp_kill_allowed),
		cmocka_unit_test(test_seccomp_kill),
		cmocka_unit_test(test_seccomp_threads),
		cmocka_unit_test(test_drop_to_nobody),
		cmocka_unit_test(test_keep_net_raw),
		cmocka_unit_test(test_chroot),
		cmocka_unit_test(test_errors_change_nothing),
		cmocka_unit_test(test_base_list_resolves),
		cmocka_unit_test(test_cap_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
