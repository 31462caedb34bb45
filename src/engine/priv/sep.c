/*
 * privsep: the split of moatd into a privileged supervisor that runs the
 * mitigation drivers and an unprivileged engine. See sep.h.
 */
#include "engine/priv/sep.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cfg.h"
#include "common/evloop.h"
#include "common/log.h"
#include "common/sandbox.h"
#include "engine/core/settings.h"
#include "engine/priv/server.h"

const char *const privsep_engine_syscalls[] = {
	/* the store and state files: SQLite, backups, restores, api.url */
	"openat", "open", "unlinkat", "unlink", "renameat", "renameat2", "rename", "mkdirat",
	"fsync", "fdatasync", "ftruncate", "fallocate", "flock", "getdents64", "statx",
	"fstatfs", "fchmod", "fchmodat", "fchown", "readlink", "readlinkat", "access",
	"faccessat", "faccessat2", "getcwd", "umask", "utimensat",
	/* the REST API and, on reload, collector listeners; syslog reconnects */
	"socket", "bind", "listen", "accept", "accept4", "connect", "setsockopt",
	"getsockopt", "getsockname", "getpeername", "socketpair",
	/* threads the collector starts again on a reload */
	"clone", "clone3", "set_tid_address", "sched_getaffinity", "prctl", "mprotect",
	"getrusage", "prlimit64", "uname", "getppid", "kill", "wait4",
	/* libevent and the loop */
	"epoll_pwait2", "signalfd4", "eventfd", "timerfd_create",
	NULL,
};

/* The user's ids; -ENOENT (logged) if there is no such user. */
static int
privsep_lookup(const char *user, struct privsep_user *ret)
{
	struct passwd *pw;

	errno = 0;
	if ((pw = getpwnam(user)) == NULL) {
		log_errx("privsep: no user '%s' (create it, e.g. with systemd-sysusers and "
		    "dist/moat.sysusers, or name another with --user)", user);
		return -ENOENT;
	}
	if (pw->pw_uid == 0) {
		log_errx("privsep: user '%s' is root: the engine must run as another user", user);
		return -EINVAL;
	}
	ret->uid = pw->pw_uid;
	ret->gid = pw->pw_gid;
	return 0;
}

/* Can the user reach (search) every directory above path? Names the first
 * that it cannot. */
static int
privsep_reachable(const char *path, const struct privsep_user *u)
{
	char buf[4096];
	struct stat st;
	char *p;

	if (strlen(path) >= sizeof(buf) || path[0] != '/')
		return -EINVAL;
	snprintf(buf, sizeof(buf), "%s", path);
	for (p = strrchr(buf, '/'); p != NULL; p = strrchr(buf, '/')) {
		*p = '\0';
		if (stat(buf[0] ? buf : "/", &st) < 0)
			return -errno;
		if (!(st.st_mode & S_IXOTH) && !(st.st_uid == u->uid && (st.st_mode & S_IXUSR)) &&
		    !(st.st_gid == u->gid && (st.st_mode & S_IXGRP))) {
			log_errx("privsep: the engine's user cannot reach %s: %s is mode %03o, "
			    "owner %u (use a state directory below directories others may search)",
			    path, buf[0] ? buf : "/", (unsigned)(st.st_mode & 0777), (unsigned)st.st_uid);
			return -EACCES;
		}
	}
	return 0;
}

/* Make the state directory the user's: created 0700 if missing; the
 * directory and the files directly in it change owner (never following a
 * link: a name planted there is not a way to chown something else). */
static int
privsep_state_dir(const char *dir, const struct privsep_user *u)
{
	struct dirent *de;
	DIR *d;
	int fd, r = 0;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		r = -errno;
		log_errx("privsep: state directory %s: %s", dir, strerror(-r));
		return r;
	}
	if ((r = privsep_reachable(dir, u)) < 0)
		return r;
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0 ||
	    fchown(fd, u->uid, u->gid) < 0 || fchmod(fd, 0700) < 0) {
		r = -errno;
		log_errx("privsep: state directory %s: %s", dir, strerror(-r));
		if (fd >= 0)
			close(fd);
		return r;
	}
	if ((d = fdopendir(fd)) == NULL) {
		r = -errno;
		close(fd);
		return r;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (fchownat(dirfd(d), de->d_name, u->uid, u->gid, AT_SYMLINK_NOFOLLOW) < 0 &&
		    r == 0)
			r = -errno;
	}
	closedir(d);
	if (r < 0)
		log_errx("privsep: state directory %s: cannot give its files to the engine's "
		    "user: %s", dir, strerror(-r));
	return r;
}

/* The drivers' configuration: the file moatd runs on, else the defaults. */
static int
privsep_conf(const char *path, struct cfg_doc **ret)
{
	struct cfg_error err = { "" };
	struct stat st;
	int r;

	if (path == NULL && stat(SETTINGS_DEFAULT_PATH, &st) == 0)
		path = SETTINGS_DEFAULT_PATH;
	if (path != NULL)
		r = cfg_load_file(path, ret, &err);
	else
		r = cfg_load_buffer("<defaults>", settings_defaults_yaml,
		    strlen(settings_defaults_yaml), ret, &err);
	if (r < 0)
		log_errx("privsep: %s", err.msg);
	return r;
}

struct privsep {
	const struct privsep_opts *o;
	struct cfg_doc *conf;
	struct evloop *loop;
	struct priv_server *srv;
	struct evloop_io *chan_io;
	int chan;
	pid_t child;
	bool stopping;		/* SIGTERM/SIGINT seen: the engine's end is moatd's */
	bool child_done;
	int child_status;
};

static void
privsep_on_chan(struct evloop_io *io, int fd, unsigned revents, void *arg)
{
	struct privsep *p = arg;
	int r = priv_server_serve(p->srv, fd);

	if (r == 0 || r == -EAGAIN || r == -EINTR)
		return;
	/* The engine closed its end (it is exiting) or the socket failed:
	 * stop listening; SIGCHLD tells the rest. */
	evloop_io_del(io);
	p->chan_io = NULL;
}

static void
privsep_on_signal(struct evloop *loop, int signo, void *arg)
{
	struct privsep *p = arg;
	int status;

	switch (signo) {
	case SIGCHLD:
		if (p->child > 0 && waitpid(p->child, &status, WNOHANG) == p->child) {
			p->child_done = true;
			p->child_status = status;
			evloop_break(loop);
		}
		return;
	case SIGHUP: {
		struct cfg_doc *conf = NULL;

		/* Drivers opened from now on see the new file; the engine reloads. */
		if (privsep_conf(p->o->conf_path, &conf) == 0) {
			if (p->srv)
				priv_server_set_conf(p->srv, conf);
			cfg_free(p->conf);
			p->conf = conf;
		}
		break;
	}
	default:
		p->stopping = true;
		break;
	}
	if (p->child > 0)
		kill(p->child, signo);
}

/* In the engine after fork: nothing of the supervisor's remains but the
 * channel; files it makes are the user's. */
static void
privsep_child(struct privsep *p, const struct privsep_user *u)
{
	sigset_t none;

	evloop_free(p->loop);
	p->loop = NULL;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	cfg_free(p->conf);
	setfsgid(u->gid);
	setfsuid(u->uid);
}

/* Start an engine; 1 in it (with *ret_fd), 0 in the supervisor. */
static int
privsep_spawn(struct privsep *p, const struct privsep_user *u, int *ret_fd)
{
	int sv[2], r;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	if ((p->child = fork()) < 0) {
		r = -errno;
		close(sv[0]);
		close(sv[1]);
		return r;
	}
	if (p->child == 0) {
		close(sv[0]);
		privsep_child(p, u);
		*ret_fd = sv[1];
		return 1;
	}
	close(sv[1]);
	p->chan = sv[0];
	p->child_done = false;
	if ((r = priv_server_new(p->o->table, p->o->ntable, p->conf, &p->srv)) < 0 ||
	    (r = evloop_add_fd(p->loop, p->chan, EVLOOP_IN, privsep_on_chan, p, &p->chan_io)) < 0)
		return r;
	log_info("privsep: engine %d started as uid %u", (int)p->child, (unsigned)u->uid);
	return 0;
}

/* After an engine is gone: close its channel and drivers (rules stay). */
static void
privsep_reap(struct privsep *p)
{
	if (p->chan_io)
		evloop_io_del(p->chan_io);
	p->chan_io = NULL;
	close(p->chan);
	p->chan = -1;
	priv_server_free(p->srv);
	p->srv = NULL;
	p->child = 0;
}

/* How moatd ends after the engine's status; -1 to start another engine. */
static int
privsep_verdict(struct privsep *p, time_t *deaths, unsigned *ndeaths)
{
	int st = p->child_status;
	time_t now = time(NULL);
	unsigned n = 0;

	if (p->stopping)
		return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	if (WIFSIGNALED(st))
		log_warnx("privsep: the engine died of signal %d; its rules stay in force",
		    WTERMSIG(st));
	else
		log_warnx("privsep: the engine exited with %d; its rules stay in force",
		    WEXITSTATUS(st));
	for (unsigned i = 0; i < *ndeaths; i++)
		if (now - deaths[i] < (time_t)PRIVSEP_RESPAWN_WINDOW_S)
			deaths[n++] = deaths[i];
	if (n >= PRIVSEP_MAX_RESPAWNS) {
		log_errx("privsep: %u engine deaths within %u s: stopping", n + 1,
		    PRIVSEP_RESPAWN_WINDOW_S);
		return 1;
	}
	deaths[n++] = now;
	*ndeaths = n;
	return -1;
}

int
privsep_split(const struct privsep_opts *o, int *ret_fd, int *ret_exit)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGCHLD };
	struct privsep p = { .o = o, .chan = -1 };
	struct privsep_user u;
	time_t deaths[PRIVSEP_MAX_RESPAWNS];
	unsigned ndeaths = 0;
	int r, code = 1;

	if ((r = privsep_lookup(o->user, &u)) < 0 || (r = privsep_state_dir(o->state_dir, &u)) < 0 ||
	    (r = privsep_conf(o->conf_path, &p.conf)) < 0)
		return r;
	if ((r = evloop_new(&p.loop)) < 0)
		goto fail;
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if ((r = evloop_add_signal(p.loop, sigs[i], privsep_on_signal, &p)) < 0)
			goto fail;
	for (;;) {
		if ((r = privsep_spawn(&p, &u, ret_fd)) != 0) {
			if (r == 1)
				return 1;	/* the engine */
			log_errx("privsep: cannot start the engine: %s", strerror(-r));
			break;
		}
		while (!p.child_done)
			if ((r = evloop_run_once(p.loop, -1)) < 0 && r != -EINTR)
				break;
		privsep_reap(&p);
		if (!p.child_done)
			break;
		if ((code = privsep_verdict(&p, deaths, &ndeaths)) >= 0)
			break;
		sleep(1);	/* a crash loop costs one start a second at most */
	}
	evloop_free(p.loop);
	cfg_free(p.conf);
	*ret_exit = code;
	return 0;
fail:
	log_errx("privsep: %s", strerror(-r));
	evloop_free(p.loop);
	cfg_free(p.conf);
	return r;
}

int
privsep_drop(const char *user, char *errbuf, size_t errbuf_len)
{
	struct sandbox_opts so = {
		.user = user,
		.seccomp = true,
		.syscalls = privsep_engine_syscalls,
		.deny = SANDBOX_DENY_EPERM,
		.errbuf = errbuf,
		.errbuf_len = errbuf_len,
	};

	/* The file system identity goes back to ours first: sandbox_enter
	 * changes every id itself. */
	setfsuid(0);
	setfsgid(0);
	return sandbox_enter(&so);
}
