/*
 * spawn: fork + execve with an exec-error pipe. See spawn.h.
 *
 * fork rather than posix_spawn: the child has to unshare a network
 * namespace for moat-ins and mark every inherited descriptor close-on-exec,
 * which posix_spawn's file actions cannot express portably. Everything the
 * child needs (the resolved path, the environment, the descriptors) is
 * prepared before fork, so between fork and execve the child only makes
 * async-signal-safe calls: the parent may be multi-threaded and another
 * thread may have held the malloc lock at the moment of the fork.
 *
 * The child reports a failed execve (or set-up step) as its errno over a
 * CLOEXEC pipe: EOF means the exec succeeded. So "could not run" is a
 * negative errno from spawn_run()/spawn_start(), never a made-up exit code.
 */
#include "common/spawn.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"

extern char **environ;

/* Default per-stream capture of spawn_run(). */
#define SPAWN_CAPTURE_DEFAULT 65536u
/* Bytes read from one stream per wake-up, so a chatty child cannot keep
   spawn_run() from looking at its deadline. */
#define SPAWN_DRAIN_MAX (1u << 20)

/* Descriptors the child is given, prepared by the parent. -1: keep ours. */
struct spawn_child {
	const char *path;
	char *const *argv;
	char *const *envp;
	unsigned flags;
	int in, out, err;
	bool err_to_out;
	int report;		/* exec-error pipe, write end */
};

/* ---- the child: async-signal-safe calls only ---- */

static _Noreturn void
spawn_child_fail(int report, int err)
{
	ssize_t n;

	do
		n = write(report, &err, sizeof(err));
	while (n < 0 && errno == EINTR);
	_exit(127);
}

/* Mark fds >= 3 close-on-exec by walking /proc/self/fd with getdents64 (no
   malloc, unlike opendir): for kernels or seccomp filters without
   close_range. */
static int
spawn_child_cloexec_walk(void)
{
	_Alignas(struct dirent64) char buf[4096];
	long n;
	int dfd = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (dfd < 0)
		return -1;
	while ((n = syscall(SYS_getdents64, dfd, buf, sizeof(buf))) > 0) {
		for (long off = 0; off < n;) {
			struct dirent64 *d = (struct dirent64 *)(void *)(buf + off);
			int fd = 0;
			bool num = d->d_name[0] != '\0';

			for (const char *c = d->d_name; *c != '\0'; c++) {
				if (*c < '0' || *c > '9' || fd > INT32_MAX / 10 - 1) {
					num = false;
					break;
				}
				fd = fd * 10 + (*c - '0');
			}
			if (num && fd >= 3 && fd != dfd)
				(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
			off += d->d_reclen;
		}
	}
	close(dfd);
	return n < 0 ? -1 : 0;
}

/*
 * glibc refuses sigaction on the signals it reserves for itself (32 and 33),
 * yet an ignored disposition of those is inherited through execve from
 * whoever started us. The kernel call resets them; its struct is the
 * generic one (handler, flags, restorer, mask) on the architectures we
 * build for. SIGKILL and SIGSTOP fail here too, harmlessly.
 */
static void
spawn_child_default_raw(int sig)
{
#if defined(__x86_64__) || defined(__aarch64__)
	struct {
		void (*handler)(int);
		unsigned long flags;
		void (*restorer)(void);
		unsigned long mask;
	} ksa = { .handler = SIG_DFL };

	(void)syscall(SYS_rt_sigaction, sig, &ksa, NULL, sizeof(ksa.mask));
#else
	(void)sig;
#endif
}

static _Noreturn void
spawn_child(const struct spawn_child *c)
{
	struct sigaction sa;
	sigset_t none;

	/* Default dispositions: an ignored SIGPIPE or a handler of ours must
	   not reach the program. Signals stay blocked (the parent blocked all
	   around fork) until just before execve. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (int sig = 1; sig < _NSIG; sig++)
		if (sigaction(sig, &sa, NULL) < 0 && errno == EINVAL)
			spawn_child_default_raw(sig);
	if ((c->flags & SPAWN_NEW_PGRP) && setpgid(0, 0) < 0)
		spawn_child_fail(c->report, errno);
	if ((c->flags & SPAWN_NEW_NETNS) && unshare(CLONE_NEWNET) < 0)
		spawn_child_fail(c->report, errno);
	/* All sources are >= 3 (see spawn_fd_high), so dup2 never clobbers a
	   source it still needs, and dup2 clears CLOEXEC on the copy. */
	if (c->in >= 0 && dup2(c->in, STDIN_FILENO) < 0)
		spawn_child_fail(c->report, errno);
	if (c->out >= 0 && dup2(c->out, STDOUT_FILENO) < 0)
		spawn_child_fail(c->report, errno);
	if (c->err_to_out) {
		if (dup2(STDOUT_FILENO, STDERR_FILENO) < 0)
			spawn_child_fail(c->report, errno);
	} else if (c->err >= 0 && dup2(c->err, STDERR_FILENO) < 0) {
		spawn_child_fail(c->report, errno);
	}
	/* Whatever the rest of the process left open goes at execve; the
	   report pipe is already CLOEXEC and stays usable until then. */
	if (close_range(3, ~0u, CLOSE_RANGE_CLOEXEC) < 0 && spawn_child_cloexec_walk() < 0)
		spawn_child_fail(c->report, errno);
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	execve(c->path, c->argv, c->envp);
	spawn_child_fail(c->report, errno);
}

/* ---- the parent ---- */

static void
spawn_close(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Move *fd above the standard descriptors (a parent that closed 0..2 would
   otherwise hand out a pipe end the child's dup2 overwrites). */
static int
spawn_fd_high(int *fd)
{
	int nfd;

	if (*fd < 0 || *fd > STDERR_FILENO)
		return 0;
	nfd = fcntl(*fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
	if (nfd < 0)
		return -errno;
	close(*fd);
	*fd = nfd;
	return 0;
}

/* A pipe whose ends are both CLOEXEC and >= 3; the read end optionally
   NONBLOCK (the write end, the child's stdout, never is). */
static int
spawn_pipe(int p[2], bool rd_nonblock)
{
	int r;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	if ((r = spawn_fd_high(&p[0])) < 0 || (r = spawn_fd_high(&p[1])) < 0)
		goto fail;
	if (rd_nonblock && fcntl(p[0], F_SETFL, O_NONBLOCK) < 0) {
		r = -errno;
		goto fail;
	}
	return 0;
fail:
	spawn_close(&p[0]);
	spawn_close(&p[1]);
	return r;
}

/* The program to execve: path itself if it has a slash, else the first
   executable regular file named so in $PATH. The caller frees *ret. */
static int
spawn_resolve(const char *path, char **ret)
{
	const char *dirs = getenv("PATH"), *p;
	size_t nlen = strlen(path);
	int r = -ENOENT;

	if (nlen == 0)
		return -ENOENT;
	if (strchr(path, '/') != NULL) {
		*ret = strdup(path);
		return *ret ? 0 : -ENOMEM;
	}
	if (dirs == NULL || *dirs == '\0')
		dirs = "/usr/local/bin:/usr/bin:/bin";
	for (p = dirs;; p++) {
		const char *end = strchrnul(p, ':');
		size_t dlen = (size_t)(end - p);
		struct stat st;
		char *cand;

		if (dlen + 1 + nlen + 1 <= PATH_MAX && (cand = malloc(dlen + nlen + 2)) != NULL) {
			if (dlen == 0)
				cand[0] = '.';	/* an empty element is the current directory */
			else
				memcpy(cand, p, dlen);
			dlen = dlen ? dlen : 1;
			cand[dlen] = '/';
			memcpy(cand + dlen + 1, path, nlen + 1);
			if (stat(cand, &st) == 0 && S_ISREG(st.st_mode)) {
				if (access(cand, X_OK) == 0) {
					*ret = cand;
					return 0;
				}
				r = -EACCES;	/* as execvp: remember, keep looking */
			}
			free(cand);
		}
		if (*end == '\0')
			break;
		p = end;
	}
	return r;
}

/* Fill a pipe with the child's stdin before it starts; closes the write end. */
static int
spawn_feed(int p[2], const void *data, size_t len)
{
	const char *q = data;

	if (fcntl(p[1], F_SETFL, O_NONBLOCK) < 0)
		return -errno;
	while (len > 0) {
		ssize_t n = write(p[1], q, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? -EMSGSIZE : -errno;
		q += n;
		len -= (size_t)n;
	}
	spawn_close(&p[1]);
	return 0;
}

static int
spawn_check(const struct spawn_opts *o)
{
	if (o->path == NULL || o->argv == NULL || o->argv[0] == NULL)
		return -EINVAL;
	if (o->out == SPAWN_OUT_MERGE || o->out > SPAWN_OUT_MERGE || o->err > SPAWN_OUT_MERGE)
		return -EINVAL;
	if (o->stdin_data != NULL && (o->flags & SPAWN_STDIN_PASS))
		return -EINVAL;
	if (o->stdin_len > SPAWN_STDIN_MAX)
		return -EMSGSIZE;
	return 0;
}

int
spawn_start(const struct spawn_opts *o, struct spawn_proc *ret_proc)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 };
	int report[2] = { -1, -1 }, devnull = -1, pidfd = -1, child_err = 0, r;
	struct spawn_child c = { .in = -1, .out = -1, .err = -1 };
	sigset_t all, old;
	char *path = NULL;
	ssize_t n;
	pid_t pid;

	if ((r = spawn_check(o)) < 0)
		return r;
	if ((r = spawn_resolve(o->path, &path)) < 0)
		return r;
	if ((devnull = open("/dev/null", O_RDWR | O_CLOEXEC | O_NOCTTY)) < 0) {
		r = -errno;
		goto out;
	}
	if ((r = spawn_fd_high(&devnull)) < 0)
		goto out;
	if (o->stdin_data != NULL) {
		if ((r = spawn_pipe(in, false)) < 0 ||
		    (r = spawn_feed(in, o->stdin_data, o->stdin_len)) < 0)
			goto out;
		c.in = in[0];
	} else if (!(o->flags & SPAWN_STDIN_PASS)) {
		c.in = devnull;
	}
	if (o->out == SPAWN_OUT_CAPTURE) {
		if ((r = spawn_pipe(out, true)) < 0)
			goto out;
		c.out = out[1];
	} else if (o->out == SPAWN_OUT_NULL) {
		c.out = devnull;
	}
	if (o->err == SPAWN_OUT_CAPTURE) {
		if ((r = spawn_pipe(err, true)) < 0)
			goto out;
		c.err = err[1];
	} else if (o->err == SPAWN_OUT_NULL) {
		c.err = devnull;
	}
	c.err_to_out = o->err == SPAWN_OUT_MERGE;
	if ((r = spawn_pipe(report, false)) < 0)
		goto out;
	c.path = path;
	c.argv = o->argv;
	c.envp = o->envp ? o->envp : environ;
	c.flags = o->flags;
	c.report = report[1];

	/* No handler of ours may run in the child before its dispositions
	   are reset: block everything across fork. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid = fork();
	if (pid == 0)
		spawn_child(&c);
	if (pid < 0)
		r = -errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (pid < 0)
		goto out;

	spawn_close(&report[1]);
	do
		n = read(report[0], &child_err, sizeof(child_err));
	while (n < 0 && errno == EINTR);
	if (n != 0) {
		/* The exec failed (n == sizeof(int)); anything else cannot
		   happen on a pipe only the child writes, and is -EIO. */
		r = n == (ssize_t)sizeof(child_err) && child_err > 0 ? -child_err : -EIO;
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		goto out;
	}
	/* Race-free: the child is not reaped until we wait, so its pid cannot
	   be reused before this. */
	if ((pidfd = pidfd_open(pid, 0)) < 0) {
		r = -errno;
		kill(pid, SIGKILL);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		goto out;
	}
	*ret_proc = (struct spawn_proc){
		.pid = pid,
		.pidfd = pidfd,
		.out_fd = out[0],
		.err_fd = err[0],
		.own_pgrp = (o->flags & SPAWN_NEW_PGRP) != 0,
	};
	out[0] = err[0] = -1;
	r = 0;
out:
	spawn_close(&in[0]);
	spawn_close(&in[1]);
	spawn_close(&out[0]);
	spawn_close(&out[1]);
	spawn_close(&err[0]);
	spawn_close(&err[1]);
	spawn_close(&report[0]);
	spawn_close(&report[1]);
	spawn_close(&devnull);
	free(path);
	return r;
}

int
spawn_kill(const struct spawn_proc *p, int sig)
{
	if (p->pid <= 0)
		return -ESRCH;
	if (p->own_pgrp)
		return kill(-p->pid, sig) < 0 ? -errno : 0;
	return pidfd_send_signal(p->pidfd, sig, NULL, 0) < 0 ? -errno : 0;
}

static int
spawn_waitpid(struct spawn_proc *p, int *ret_status, int options)
{
	int status;
	pid_t w;

	if (p->pid <= 0)
		return -ECHILD;
	do
		w = waitpid(p->pid, &status, options);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		return -errno;
	if (w == 0)
		return -EAGAIN;
	p->pid = -1;
	spawn_close(&p->pidfd);
	spawn_close(&p->out_fd);
	spawn_close(&p->err_fd);
	*ret_status = status;
	return 0;
}

int
spawn_reap(struct spawn_proc *p, int *ret_status)
{
	return spawn_waitpid(p, ret_status, WNOHANG);
}

int
spawn_wait(struct spawn_proc *p, int *ret_status)
{
	return spawn_waitpid(p, ret_status, 0);
}

int
spawn_exit_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 255;
}

/* ---- spawn_run: start, collect, wait ---- */

struct spawn_sink {
	char *buf;		/* cap + 1 bytes, or NULL when not captured */
	size_t cap, len;
	bool truncated;
};

/* Read what fd has now (at most SPAWN_DRAIN_MAX); closes it at EOF or error. */
static void
spawn_drain(int *fd, struct spawn_sink *s)
{
	char scratch[4096];
	size_t total = 0;

	while (*fd >= 0 && total < SPAWN_DRAIN_MAX) {
		size_t room = s->cap - s->len;
		ssize_t n;

		if (room > 0)
			n = read(*fd, s->buf + s->len, room);
		else
			n = read(*fd, scratch, sizeof(scratch));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			spawn_close(fd);
			return;
		}
		total += (size_t)n;
		if (room > 0)
			s->len += (size_t)n;
		else
			s->truncated = true;
	}
}

static int
spawn_sink_init(struct spawn_sink *s, bool on, size_t cap)
{
	*s = (struct spawn_sink){ .cap = cap };
	if (!on)
		return 0;
	s->buf = malloc(cap + 1);
	return s->buf ? 0 : -ENOMEM;
}

static void
spawn_sink_take(struct spawn_sink *s, char **ret_buf, size_t *ret_len, bool *ret_trunc)
{
	if (s->buf != NULL)
		s->buf[s->len] = '\0';
	*ret_buf = s->buf;
	*ret_len = s->len;
	*ret_trunc = s->truncated;
	s->buf = NULL;
}

int
spawn_run(const struct spawn_opts *o, struct spawn_result *ret_result)
{
	struct spawn_opts opts = *o;
	struct spawn_sink out, err;
	struct spawn_proc p;
	uint64_t deadline = 0;
	bool timed_out = false;
	int status, r;

	if (opts.capture_max == 0)
		opts.capture_max = SPAWN_CAPTURE_DEFAULT;
	if (opts.timeout_ms > 0) {
		opts.flags |= SPAWN_NEW_PGRP;	/* the kill must reach descendants */
		/* Saturated: a timeout of centuries is "for ever", not a wrap. */
		deadline = opts.timeout_ms > (UINT64_MAX / 2) / 1000000u ? UINT64_MAX / 2 :
		    clock_now_ns(CLOCK_MONOTONIC) + opts.timeout_ms * 1000000u;
	}
	if ((r = spawn_sink_init(&out, opts.out == SPAWN_OUT_CAPTURE, opts.capture_max)) < 0)
		return r;
	if ((r = spawn_sink_init(&err, opts.err == SPAWN_OUT_CAPTURE, opts.capture_max)) < 0)
		goto out;
	if ((r = spawn_start(&opts, &p)) < 0)
		goto out;
	for (;;) {
		struct pollfd pfd[3] = {
			{ .fd = p.pidfd, .events = POLLIN },
			{ .fd = p.out_fd, .events = POLLIN },
			{ .fd = p.err_fd, .events = POLLIN },
		};
		int wait_ms = -1;

		if (deadline) {
			uint64_t now = clock_now_ns(CLOCK_MONOTONIC), left_ms;

			if (now >= deadline) {
				timed_out = true;
				break;
			}
			left_ms = (deadline - now + 999999u) / 1000000u;
			wait_ms = left_ms > INT32_MAX ? INT32_MAX : (int)left_ms;
		}
		if (poll(pfd, 3, wait_ms) < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			spawn_kill(&p, SIGKILL);
			(void)spawn_wait(&p, &status);
			goto out;
		}
		if (pfd[1].revents)
			spawn_drain(&p.out_fd, &out);
		if (pfd[2].revents)
			spawn_drain(&p.err_fd, &err);
		if (pfd[0].revents) {
			/* Exited: take what is in the pipes now. A descendant
			   that keeps them open is not waited for. */
			spawn_drain(&p.out_fd, &out);
			spawn_drain(&p.err_fd, &err);
			break;
		}
	}
	if (timed_out)
		spawn_kill(&p, SIGKILL);
	if ((r = spawn_wait(&p, &status)) < 0)
		goto out;
	if (timed_out) {
		r = -ETIMEDOUT;
		goto out;
	}
	memset(ret_result, 0, sizeof(*ret_result));
	ret_result->status = status;
	spawn_sink_take(&out, &ret_result->out, &ret_result->out_len, &ret_result->out_truncated);
	spawn_sink_take(&err, &ret_result->err, &ret_result->err_len, &ret_result->err_truncated);
	r = 0;
out:
	free(out.buf);
	free(err.buf);
	return r;
}

void
spawn_result_fini(struct spawn_result *r)
{
	free(r->out);
	free(r->err);
	r->out = r->err = NULL;
	r->out_len = r->err_len = 0;
}
