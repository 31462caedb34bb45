/*
 * spawn: run a helper program without a shell.
 *
 * The one way moat starts other programs (gobgp for the BGP driver, the
 * notify script, the command under moat-ins). The program gets exactly the
 * argv given (no shell, so no quoting bugs), stdin from /dev/null unless
 * asked otherwise, default signal dispositions and an empty signal mask
 * (daemons block signals for signalfd and ignore SIGPIPE; a helper must not
 * inherit that), and no descriptor of ours beyond 0, 1 and 2, whatever
 * CLOEXEC discipline the rest of the process kept.
 *
 * spawn_run() waits, with an optional timeout after which the child's whole
 * process group is killed. spawn_start() returns at once with a pidfd that
 * becomes readable when the child exits, so an event loop can wait for it.
 *
 * Children are reaped by pid (never waitpid(-1)); a process that also reaps
 * with waitpid(-1, ...) from a SIGCHLD handler must not use this module.
 *
 * Library code: returns a negative errno and never logs.
 */
#ifndef MOAT_SPAWN_H
#define MOAT_SPAWN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* What becomes of the child's stdout or stderr. */
enum spawn_output {
	SPAWN_OUT_NULL = 0,	/* /dev/null */
	SPAWN_OUT_PASS,		/* our own descriptor, shared */
	SPAWN_OUT_CAPTURE,	/* a pipe: into spawn_result (run) or out_fd/err_fd (start) */
	SPAWN_OUT_MERGE,	/* stderr only: the same pipe or file as stdout */
};

enum {
	/* Put the child in a process group of its own, so a kill reaches its
	   descendants too. Implied by a timeout. Not for interactive commands:
	   they would lose the terminal. */
	SPAWN_NEW_PGRP = 1u << 0,
	/* Give the child an empty network namespace of its own (needs
	   CAP_SYS_ADMIN): moat-ins's isolated commands. */
	SPAWN_NEW_NETNS = 1u << 1,
	/* Share our stdin instead of /dev/null. */
	SPAWN_STDIN_PASS = 1u << 2,
};

struct spawn_opts {
	/* The program: a path, or a bare name looked up in $PATH (ours, at
	   the time of the call). */
	const char *path;
	char *const *argv;		/* argv[0] included; NULL-terminated */
	char *const *envp;		/* NULL: our environment */
	unsigned flags;
	enum spawn_output out;
	enum spawn_output err;
	/* Bytes fed to the child's stdin, which then sees EOF (e.g. the notify
	   script's JSON). They are written before the child starts, so they
	   must fit in a pipe: at most SPAWN_STDIN_MAX. NULL: /dev/null. */
	const void *stdin_data;
	size_t stdin_len;
	/* spawn_run(): captured bytes kept per stream (the rest is read and
	   dropped, so the child never blocks on a full pipe); 0: 64 KiB. */
	size_t capture_max;
	/* spawn_run(): kill the process group with SIGKILL after this long;
	   0: wait for ever. */
	uint64_t timeout_ms;
};

/* Largest stdin_data: one default pipe buffer. */
#define SPAWN_STDIN_MAX 65536u

struct spawn_result {
	int status;		/* as from waitpid(): WIFEXITED() etc. */
	char *out;		/* captured stdout (stdout + stderr when merged), */
	size_t out_len;		/* NUL-terminated, or NULL if not captured */
	bool out_truncated;
	char *err;		/* captured stderr, or NULL */
	size_t err_len;
	bool err_truncated;
};

/*
 * Run the program and wait for it. Returns 0 once it ran, whatever its exit
 * status (see result->status and spawn_exit_code()); -ENOENT, -EACCES,
 * -ENOEXEC etc. when it could not be executed at all (the error of execve
 * itself, not an exit status 127); -ETIMEDOUT when it was killed at the
 * timeout; -EMSGSIZE for stdin_data over SPAWN_STDIN_MAX; or another
 * negative errno. *ret_result is written only on success; free it with
 * spawn_result_fini().
 */
int spawn_run(const struct spawn_opts *o, struct spawn_result *ret_result);

/* Free the buffers of a result; accepts a zeroed or finished one. */
void spawn_result_fini(struct spawn_result *r);

/* A running child of spawn_start(). */
struct spawn_proc {
	pid_t pid;
	int pidfd;		/* readable once the child has exited; CLOEXEC */
	int out_fd;		/* read ends of captured streams, NONBLOCK|CLOEXEC, */
	int err_fd;		/* or -1; the caller reads them (e.g. on its loop) */
	bool own_pgrp;
};

/*
 * Start the program and return at once (timeout_ms and capture_max are not
 * used: the caller reads out_fd/err_fd and decides when to give up). The
 * same start-up errors as spawn_run(). *ret_proc is written only on
 * success; the caller must end it with spawn_wait() or spawn_reap().
 */
int spawn_start(const struct spawn_opts *o, struct spawn_proc *ret_proc);

/* Send sig to the child (its whole process group if it has its own). */
int spawn_kill(const struct spawn_proc *p, int sig);

/*
 * Reap the child if it has exited: 0 with *ret_status set, and the proc's
 * descriptors closed (read out_fd/err_fd to their end first); -EAGAIN while
 * it still runs (poll pidfd); or another negative errno.
 */
int spawn_reap(struct spawn_proc *p, int *ret_status);

/* spawn_reap(), waiting as long as it takes. */
int spawn_wait(struct spawn_proc *p, int *ret_status);

/* A shell-style exit code for a wait status: the exit status, or 128 + the
   signal that killed it. */
int spawn_exit_code(int status);

#endif
