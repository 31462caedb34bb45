/*
 * notif: socket(2) of shim-less programs through seccomp user notification.
 * See notif.h.
 */
#include "ins/notif.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/netlink.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <netinet/in.h>
#include <unistd.h>

#include "common/evloop.h"
#include "common/log.h"
#include "ins/diag.h"

#if defined(__x86_64__)
#define NOTIF_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define NOTIF_ARCH AUDIT_ARCH_AARCH64
#else
#error "notif: no seccomp arch for this target"
#endif

/* Linux 5.14; older headers lack it. */
#ifndef SECCOMP_ADDFD_FLAG_SEND
#define SECCOMP_ADDFD_FLAG_SEND (1UL << 1)
#endif

/* Notifications served per wakeup: the rest on the next one, so the loop stays fair. */
#define NOTIF_BURST 32

/*
 * Brokered TCP sockets watched for listen(2) (notif_watch_tick): how many at
 * once (the oldest is forgotten beyond), for how long (a server listens right
 * after socket(2); a client's socket simply expires), and how often the
 * namespace's listeners are dumped while any is watched.
 */
#define NOTIF_WATCH 64
#define NOTIF_WATCH_NS (5ull * 1000000000ull)
#define NOTIF_WATCH_PERIOD_NS (200ull * 1000000ull)
/* Listeners looked at per dump and family: a namespace has few. */
#define NOTIF_WATCH_MAX_LISTENERS 4096

struct notif_watch {
	uint64_t inode;		/* the socket's, from fstat before it was handed over */
	uint64_t until_ns;	/* CLOCK_MONOTONIC */
	uint32_t pid;
	char comm[16];
};

struct notif {
	int fd;
	struct evloop_io *io;
	notif_socket_fn fn;
	void *ctx;
	struct seccomp_notif *req;	/* sized as the kernel says (SECCOMP_GET_NOTIF_SIZES) */
	struct seccomp_notif_resp *resp;
	size_t req_len, resp_len;
	bool no_send_flag;		/* kernel before 5.14: ADDFD, then SEND */
	struct notif_stats st;
	struct diag *diag;		/* LISTEN dumps (notif_watch_tick), or NULL */
	struct evloop_timer *watch_timer;
	struct notif_watch watch[NOTIF_WATCH];
	size_t nwatch;
};

int
notif_install(int *ret_fd)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NOTIF_ARCH, 0, 8),	/* -> allow */
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_socket, 0, 6),	/* -> allow */
		/* socket's domain is an int: the low word of args[0] (little endian) */
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AF_INET, 5, 0),	/* -> notify */
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AF_INET6, 4, 0),	/* -> notify */
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AF_NETLINK, 0, 2),	/* -> allow */
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args) + 16),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NETLINK_ROUTE, 1, 0),	/* -> notify */
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };
	long fd;

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "notif: the filter reads args[0]'s low word at its first offset"
#endif
	fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
	if (fd < 0)
		return -errno;
	*ret_fd = (int)fd;	/* the kernel makes it close-on-exec */
	return 0;
}

int
notif_confine_ioctl(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NOTIF_ARCH, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),	/* the sandbox's business */
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_ioctl, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		/* the kernel reads the command as an unsigned int: the low word of args[1] */
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args) + 8),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)SECCOMP_IOCTL_NOTIF_RECV, 6, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)SECCOMP_IOCTL_NOTIF_SEND, 5, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)SECCOMP_IOCTL_NOTIF_ID_VALID, 4, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)SECCOMP_IOCTL_NOTIF_ADDFD, 3, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)TCGETS, 2, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)FIONREAD, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };
	long r;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &prog);
	if (r < 0)
		return -errno;
	return r == 0 ? 0 : -EBUSY;	/* > 0: a thread that could not be synchronised */
}

bool
notif_brokerable(int family, int type, int protocol)
{
	int base = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (family == AF_NETLINK)
		return protocol == NETLINK_ROUTE && (base == SOCK_RAW || base == SOCK_DGRAM);
	if (family != AF_INET && family != AF_INET6)
		return false;
	if (base == SOCK_STREAM)
		return protocol == 0 || protocol == IPPROTO_TCP;
	if (base == SOCK_DGRAM)
		return protocol == 0 || protocol == IPPROTO_UDP;
	return false;
}

void
notif_describe(int family, int type, int protocol, char *buf, size_t len)
{
	static const char *const types[] = {
		[SOCK_STREAM] = "SOCK_STREAM", [SOCK_DGRAM] = "SOCK_DGRAM", [SOCK_RAW] = "SOCK_RAW",
		[SOCK_RDM] = "SOCK_RDM", [SOCK_SEQPACKET] = "SOCK_SEQPACKET",
		[SOCK_DCCP] = "SOCK_DCCP", [SOCK_PACKET] = "SOCK_PACKET",
	};
	int base = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
	char fam[16], ty[16];

	if (family == AF_INET || family == AF_INET6 || family == AF_NETLINK)
		snprintf(fam, sizeof(fam), "%s", family == AF_INET ? "AF_INET"
			 : family == AF_INET6 ? "AF_INET6" : "AF_NETLINK");
	else
		snprintf(fam, sizeof(fam), "%d", family);
	if (base >= 0 && (size_t)base < sizeof(types) / sizeof(types[0]) && types[base])
		snprintf(ty, sizeof(ty), "%s", types[base]);
	else
		snprintf(ty, sizeof(ty), "%d", base);
	snprintf(buf, len, "socket(%s, %s, %d)", fam, ty, protocol);
}

const struct notif_stats *
notif_stats(const struct notif *n)
{
	return &n->st;
}

/* Whether the notification is still pending (its caller alive and waiting). */
static bool
notif_valid(const struct notif *n, uint64_t id)
{
	return ioctl(n->fd, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0;
}

/* Reply: val/error, or continue the call in the program's own namespace. */
static void
notif_reply(struct notif *n, uint64_t id, int64_t val, int32_t error, uint32_t flags)
{
	memset(n->resp, 0, n->resp_len);
	n->resp->id = id;
	n->resp->val = val;
	n->resp->error = error;
	n->resp->flags = flags;
	if (ioctl(n->fd, SECCOMP_IOCTL_NOTIF_SEND, n->resp) < 0)
		n->st.gone++;	/* ENOENT: the caller died or a signal interrupted it */
}

/* Put our socket fd into the program as its socket(2)'s result. */
static void
notif_inject(struct notif *n, uint64_t id, int fd, bool cloexec)
{
	struct seccomp_notif_addfd add = {
		.id = id,
		.flags = n->no_send_flag ? 0 : SECCOMP_ADDFD_FLAG_SEND,
		.srcfd = (uint32_t)fd,
		.newfd_flags = cloexec ? O_CLOEXEC : 0,
	};
	int r = ioctl(n->fd, SECCOMP_IOCTL_NOTIF_ADDFD, &add);

	if (r < 0 && errno == EINVAL && !n->no_send_flag) {
		n->no_send_flag = true;		/* before 5.14: add, then reply with the number */
		add.flags = 0;
		r = ioctl(n->fd, SECCOMP_IOCTL_NOTIF_ADDFD, &add);
	}
	if (r < 0) {
		if (errno == ENOENT) {
			n->st.gone++;
			return;
		}
		notif_reply(n, id, 0, -errno, 0);	/* EMFILE and the like: the program's error */
		n->st.refused++;
		return;
	}
	if (n->no_send_flag)
		notif_reply(n, id, r, 0, 0);
	n->st.brokered++;
}

/* The program's name (/proc/PID/comm), printable ASCII only: it names itself (PR_SET_NAME). */
static void
notif_comm(uint32_t pid, char *buf, size_t len)
{
	char path[64];
	ssize_t k;
	int fd;

	snprintf(buf, len, "?");
	snprintf(path, sizeof(path), "/proc/%u/comm", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	k = read(fd, buf, len - 1);
	buf[k > 0 ? k : 0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	close(fd);
	for (char *c = buf; *c; c++)
		if (*c < 0x20 || *c > 0x7e)
			*c = '?';
}

/* A call we do not broker: by name, then on in the program's namespace. */
static void
notif_unbrokered(struct notif *n, const struct seccomp_notif *req)
{
	char comm[32], call[64];

	notif_comm(req->pid, comm, sizeof(comm));
	/* The pid was still the caller's while we read its name. */
	if (!notif_valid(n, req->id)) {
		n->st.gone++;
		return;
	}
	notif_describe((int)req->data.args[0], (int)req->data.args[1], (int)req->data.args[2],
		       call, sizeof(call));
	log_ratelimited(10, 1, log_warnx, "%s (pid %u): %s not brokered: only TCP and UDP "
			"sockets are; it is made in the program's own network namespace", comm,
			req->pid, call);
	n->st.unbrokered++;
	notif_reply(n, req->id, 0, 0, SECCOMP_USER_NOTIF_FLAG_CONTINUE);
}

static uint64_t
notif_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/*
 * Watch a TCP socket we are about to hand over (fd, ours until then) for
 * listen(2): its inode and its program's name, read while the caller is
 * still waiting for us, so the pid is still its.
 */
static void
notif_watch_add(struct notif *n, const struct seccomp_notif *req, int fd)
{
	struct notif_watch *w;
	struct stat st;
	size_t at = n->nwatch;

	if (!n->diag || fstat(fd, &st) < 0)
		return;
	if (at == NOTIF_WATCH) {
		at = 0;		/* full: the oldest goes (its server would have listened by now) */
		for (size_t i = 1; i < n->nwatch; i++)
			if (n->watch[i].until_ns < n->watch[at].until_ns)
				at = i;
	} else {
		n->nwatch++;
	}
	w = &n->watch[at];
	w->inode = (uint64_t)st.st_ino;
	w->until_ns = notif_now_ns() + NOTIF_WATCH_NS;
	w->pid = req->pid;
	notif_comm(req->pid, w->comm, sizeof(w->comm));
	if (!evloop_timer_armed(n->watch_timer))
		evloop_timer_arm(n->watch_timer, NOTIF_WATCH_PERIOD_NS, NOTIF_WATCH_PERIOD_NS);
}

static void
notif_watch_drop(struct notif *n, size_t i)
{
	n->watch[i] = n->watch[--n->nwatch];
}

/* One listener of the namespace: a watched socket of ours that listens is named. */
static void
notif_on_listener(void *arg, const struct diag_sock *s)
{
	struct notif *n = arg;

	for (size_t i = 0; i < n->nwatch; i++) {
		if (n->watch[i].inode != s->inode)
			continue;
		log_warnx("%s (pid %u) listens on port %u with a socket made past the shim "
			  "(seccomp notification): the kernel accepts its connections, not "
			  "moat-ins, so they are not held, shed, capped or denied per source, nor "
			  "exported over IPFIX", n->watch[i].comm, n->watch[i].pid,
			  (unsigned)s->local.port);
		n->st.listeners++;
		notif_watch_drop(n, i);
		return;
	}
}

/* While sockets are watched: forget the expired, dump the listeners, match. */
static void
notif_watch_tick(struct evloop_timer *t, void *arg)
{
	static const int families[] = { AF_INET, AF_INET6 };
	struct notif *n = arg;
	uint64_t now = notif_now_ns();

	for (size_t i = 0; i < n->nwatch;) {
		if (n->watch[i].until_ns <= now)
			notif_watch_drop(n, i);
		else
			i++;
	}
	for (size_t f = 0; f < 2 && n->nwatch > 0; f++) {
		int r = diag_dump_listeners(n->diag, families[f], NOTIF_WATCH_MAX_LISTENERS,
					    notif_on_listener, n);

		if (r < 0)
			log_ratelimited(5, 1, log_warnx, "listeners dump: %s", strerror(-r));
	}
	if (n->nwatch == 0)
		evloop_timer_disarm(t);
}

static void
notif_handle(struct notif *n, const struct seccomp_notif *req)
{
	int family = (int)req->data.args[0], type = (int)req->data.args[1];
	int protocol = (int)req->data.args[2], fd = -1, r;

	if (req->data.arch != NOTIF_ARCH || req->data.nr != SYS_socket) {
		notif_reply(n, req->id, 0, 0, SECCOMP_USER_NOTIF_FLAG_CONTINUE);
		return;
	}
	if (!notif_brokerable(family, type, protocol)) {
		notif_unbrokered(n, req);
		return;
	}
	r = n->fn(n->ctx, (pid_t)req->pid, family, type & ~SOCK_CLOEXEC, protocol, &fd);
	if (r == NOTIF_CONTINUE) {
		n->st.own++;
		notif_reply(n, req->id, 0, 0, SECCOMP_USER_NOTIF_FLAG_CONTINUE);
		return;
	}
	if (r < 0) {
		notif_reply(n, req->id, 0, r, 0);
		n->st.refused++;
		return;
	}
	if (family != AF_NETLINK && (type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) == SOCK_STREAM)
		notif_watch_add(n, req, fd);
	notif_inject(n, req->id, fd, (type & SOCK_CLOEXEC) != 0);
	close(fd);
}

static void
notif_event(struct evloop_io *io, int fd, unsigned events, void *arg)
{
	struct notif *n = arg;

	for (unsigned i = 0; i < NOTIF_BURST; i++) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		/* RECV blocks when nothing is pending: ask first. */
		if (poll(&p, 1, 0) <= 0 || !(p.revents & POLLIN)) {
			if (p.revents & (POLLHUP | POLLERR)) {
				/* Every task under the filter has exited: nothing more will come. */
				evloop_io_del(n->io);
				n->io = NULL;
			}
			return;
		}
		memset(n->req, 0, n->req_len);
		if (ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, n->req) < 0) {
			if (errno != ENOENT && errno != EINTR)
				log_ratelimited(5, 1, log_warn, "seccomp notification");
			continue;	/* ENOENT: its caller is gone */
		}
		notif_handle(n, n->req);
	}
}

int
notif_open(struct evloop *loop, int fd, notif_socket_fn fn, void *ctx, struct notif **ret)
{
	struct seccomp_notif_sizes sz = { 0 };
	struct notif *n;
	int r;

	if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sz) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	n = calloc(1, sizeof(*n));
	if (!n) {
		close(fd);
		return -ENOMEM;
	}
	n->fd = fd;
	n->fn = fn;
	n->ctx = ctx;
	n->req_len = sz.seccomp_notif > sizeof(*n->req) ? sz.seccomp_notif : sizeof(*n->req);
	n->resp_len = sz.seccomp_notif_resp > sizeof(*n->resp) ? sz.seccomp_notif_resp
							       : sizeof(*n->resp);
	n->req = calloc(1, n->req_len);
	n->resp = calloc(1, n->resp_len);
	if (!n->req || !n->resp) {
		r = -ENOMEM;
		goto fail;
	}
	r = evloop_add_fd(loop, fd, EVLOOP_IN, notif_event, n, &n->io);
	if (r < 0)
		goto fail;
	/* Without these only the naming of listeners is lost. */
	if (evloop_timer_new(loop, notif_watch_tick, n, &n->watch_timer) == 0 &&
	    diag_open(&n->diag) < 0)
		n->diag = NULL;
	*ret = n;
	return 0;
fail:
	close(fd);
	free(n->req);
	free(n->resp);
	free(n);
	return r;
}

void
notif_free(struct notif *n)
{
	if (!n)
		return;
	evloop_io_del(n->io);
	evloop_timer_free(n->watch_timer);
	diag_close(n->diag);
	close(n->fd);
	free(n->req);
	free(n->resp);
	free(n);
}
