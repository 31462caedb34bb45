/*
 * broker: control clients and their requests. See broker.h.
 */
#include "ins/broker.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <linux/netlink.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/evloop.h"
#include "common/fileio.h"
#include "common/ipc.h"
#include "common/log.h"
#include "ins/insipfix.h"
#include "proto/insproto.h"
#include "ins/lsn.h"
#include "ins/obs.h"
#include "ins/resolv.h"

/* Linux 6.5; Debian 12's headers predate it. */
#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif

/* Housekeeping period: source sweep, IPFIX flush (at most this late). */
#define BROKER_HOUSEKEEPING_MS 1000
/* Observer round period if the policy says 0 after a reload (rounds cannot stop once started). */
#define BROKER_OBS_MIN_MS 100
/* Per-source entries idle this long are forgotten. */
#define BROKER_SRC_IDLE_MS 60000

const char *const broker_sandbox_syscalls[] = {
	"socket", "socketpair", "bind", "listen", "accept", "accept4", "connect",
	"getsockopt", "setsockopt", "getsockname", "getpeername",
	"openat", "statx", "faccessat", "faccessat2", "readlink", "uname", "getdents64",
	"clone", "clone3", "prctl", "sched_getaffinity", "getppid", "getrlimit", "prlimit64",
	"wait4", "kill", "signalfd4", "unlink", "rmdir",
	"capget", "capset",
	NULL,
};

struct client {
	struct broker *b;
	int fd;
	struct evloop_io *io;
	struct ucred cred;
	bool netlink_ok;	/* can never hold CAP_NET_ADMIN: may have our NETLINK_ROUTE */
	uint64_t id;		/* tags its deferred RESOLVE replies */
	struct client *prev, *next;
};

uint64_t
broker_now_ms(const struct broker *b)
{
	return clock_mono_ns(&b->clk) / 1000000u;
}

static void broker_obs_schedule(struct broker *b);

struct evloop *
broker_loop(struct broker *b)
{
	return b->loop;
}

static void
client_free(struct broker *b, struct client *c)
{
	evloop_io_del(c->io);
	close(c->fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		b->clients = c->next;
	if (c->next)
		c->next->prev = c->prev;
	free(c);
	b->nclients--;
}

static void
client_drop(struct broker *b, struct client *c, const char *why)
{
	log_ratelimited(10, 1, log_debug, "client pid %d dropped: %s", (int)c->cred.pid, why);
	client_free(b, c);
}

/* Socket domain/type of a descriptor the client sent; -ENOTSOCK if not a socket. */
static int
broker_sock_kind(int fd, int *ret_domain, int *ret_type)
{
	socklen_t len = sizeof(int);

	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, ret_domain, &len) < 0)
		return -errno;
	len = sizeof(int);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, ret_type, &len) < 0)
		return -errno;
	return 0;
}

static bool
broker_is_inet_sock(int fd, int want_type)
{
	int dom, type;

	if (broker_sock_kind(fd, &dom, &type) < 0)
		return false;
	if (dom != AF_INET && dom != AF_INET6)
		return false;
	return want_type == 0 || type == want_type;
}

/* This thread's effective set with CAP_NET_ADMIN on (on) or off. */
static int
broker_net_admin_effective(bool on, bool *ret_was_on)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];
	const uint32_t bit = 1u << (CAP_NET_ADMIN % 32);
	struct __user_cap_data_struct *d = &data[CAP_NET_ADMIN / 32];

	if (syscall(SYS_capget, &hdr, data) < 0)
		return -errno;
	if (ret_was_on)
		*ret_was_on = (d->effective & bit) != 0;
	if (((d->effective & bit) != 0) == on)
		return 0;
	d->effective = on ? d->effective | bit : d->effective & ~bit;
	if (syscall(SYS_capset, &hdr, data) < 0)
		return -errno;
	return 0;
}

int
broker_netlink_route_socket(int type, int *ret_fd)
{
	bool had = false;
	int r, fd, saved;

	r = broker_net_admin_effective(false, &had);
	if (r < 0)
		return r;	/* unchanged: capget failed, or capset refused the drop */
	fd = socket(AF_NETLINK, type | SOCK_CLOEXEC, NETLINK_ROUTE);
	saved = errno;
	if (had) {
		r = broker_net_admin_effective(true, NULL);
		if (r < 0) {
			/* Cannot happen while CAP_NET_ADMIN is permitted; say so loudly. */
			log_warnx("restoring CAP_NET_ADMIN after a netlink socket: %s", strerror(-r));
			if (fd >= 0)
				close(fd);
			return r;
		}
	}
	if (fd < 0)
		return -saved;
	*ret_fd = fd;
	return 0;
}

static int
broker_do_socket(struct broker *b, const struct client *c, const struct ins_msg *req,
		 int *ret_fd)
{
	int af = req->family == INS_AF_INET ? AF_INET : AF_INET6;
	int type = req->socktype == INS_SOCK_STREAM ? SOCK_STREAM : SOCK_DGRAM;
	int want_proto = type == SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP;
	int r;

	r = policy_check_socket(&b->pol, req->family, req->socktype);
	if (r < 0)
		return r;
	if (req->family == INS_AF_NETLINK_ROUTE) {
		/* Reading interfaces in our namespace; never marked (it sends nothing out). */
		if (!c->netlink_ok)
			return -EPERM;	/* the shim opens one in the program's namespace */
		type = req->socktype == INS_SOCK_RAW ? SOCK_RAW : SOCK_DGRAM;
		if (req->flags & INS_SF_NONBLOCK)
			type |= SOCK_NONBLOCK;
		return broker_netlink_route_socket(type, ret_fd);
	}
	if (req->protocol != 0 && req->protocol != (uint32_t)want_proto)
		return -EPROTONOSUPPORT;
	if (req->flags & INS_SF_NONBLOCK)
		type |= SOCK_NONBLOCK;
	return broker_inet_socket(b, af, type, (int)req->protocol, ret_fd);
}

int
broker_inet_socket(struct broker *b, int af, int type, int protocol, int *ret_fd)
{
	int r, fd;

	fd = socket(af, type | SOCK_CLOEXEC, protocol);
	if (fd < 0)
		return -errno;
	/* Fail closed: an unmarked socket would escape the kernel's connect policy. */
	if (b->sock_mark &&
	    setsockopt(fd, SOL_SOCKET, SO_MARK, &b->sock_mark, sizeof(b->sock_mark)) < 0) {
		r = -errno;
		log_ratelimited(5, 1, log_warn, "SO_MARK on a new socket");
		close(fd);
		return r;
	}
	b->st.sockets++;
	*ret_fd = fd;
	return 0;
}

/* "alice" (uid 1000), or "uid 1000" when the user has no name. */
static void
broker_user_name(uid_t uid, char *buf, size_t len)
{
	char pwbuf[1024];
	struct passwd pw, *u = NULL;

	if (getpwuid_r(uid, &pw, pwbuf, sizeof(pwbuf), &u) == 0 && u)
		snprintf(buf, len, "%s (uid %u)", u->pw_name, (unsigned)uid);
	else
		snprintf(buf, len, "uid %u", (unsigned)uid);
}

/* A refused request, by user name and pid. */
static void
broker_log_refusal(const struct client *c, const char *what, unsigned port)
{
	char who[96];

	broker_user_name(c->cred.uid, who, sizeof(who));
	log_ratelimited(5, 1, log_warnx, "refused %s %u to %s, pid %ld: not allowed by the policy "
			"(ports below %u: root or bind.privileged_users)", what, port, who,
			(long)c->cred.pid, POLICY_PRIV_PORT);
}

static int
broker_do_bind(struct broker *b, const struct client *c, const struct ins_msg *req, int fd)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int r;

	if (!broker_is_inet_sock(fd, 0))
		return -ENOTSOCK;
	r = policy_check_bind(&b->pol, &req->addr, (uint32_t)c->cred.uid);
	if (r < 0) {
		broker_log_refusal(c, "bind to port", req->addr.port);
		return r;
	}
	len = insproto_addr_to_sa(&req->addr, &ss);
	if (bind(fd, (struct sockaddr *)&ss, len) < 0)
		return -errno;
	b->st.binds++;
	return 0;
}

static int
broker_do_listen(struct broker *b, const struct client *c, const struct ins_msg *req, int *fd,
		 int *ret_bell)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct ins_addr a;
	int r;

	if (!broker_is_inet_sock(*fd, SOCK_STREAM))
		return -EOPNOTSUPP;
	if (b->lsn.n >= LIMIT_INS_LISTENERS)
		return -ENOBUFS;
	/* listen() on an unbound socket picks a port: check what it would be after the fact. */
	if (getsockname(*fd, (struct sockaddr *)&ss, &len) == 0 &&
	    insproto_addr_from_sa((struct sockaddr *)&ss, len, &a) == 0 && a.port != 0) {
		r = policy_check_bind(&b->pol, &a, (uint32_t)c->cred.uid);
		if (r < 0) {
			broker_log_refusal(c, "listen on port", a.port);
			return r;
		}
	}
	r = lsn_create(&b->lsn, *fd, (int)(req->backlog > 65535 ? 65535 : req->backlog), ret_bell);
	if (r < 0)
		return r;
	*fd = -1;	/* the listener owns it now */
	b->st.listens++;
	broker_obs_schedule(b);
	return 0;
}

/* Deferred: the reply is sent when the lookup finishes (broker_on_resolved). */
#define BROKER_DEFERRED 1

static int
broker_do_resolve(struct broker *b, const struct client *c, const struct ins_msg *req,
		  struct ins_msg *rep)
{
	int r;

	b->st.resolves++;
	log_debug("resolving %s for pid %d", req->name, (int)c->cred.pid);
	if (b->resolv) {
		r = resolv_submit(b->resolv, c->id, req);
		if (r == 0)
			return BROKER_DEFERRED;
		return -EAI_AGAIN;	/* a flood of lookups: try again later */
	}
	r = resolv_lookup(req, rep);
	return r == 0 ? 0 : r;
}

/*
 * An administrator (uid 0: moatd's ins driver, or an operator) denies a source
 * for a while; its new connections are reset at accept and the observer sheds
 * its open ones at the next round. seconds == 0 lifts the deny.
 */
static int
broker_do_deny(struct broker *b, const struct client *c, const struct ins_msg *req)
{
	struct srctab_entry *e;
	uint64_t now = broker_now_ms(b);

	if (c->cred.uid != 0)
		return -EPERM;
	if (req->seconds > 7 * 86400)
		return -EINVAL;
	e = srctab_get(&b->src, req->addr.family, req->addr.addr, req->seconds != 0, now);
	if (!e)
		return req->seconds ? -ENOSPC : 0;
	e->deny_until_ms = req->seconds ? now + (uint64_t)req->seconds * 1000 : 0;
	b->st.admin_denies++;
	log_info("source denied for %us by pid %d", req->seconds, (int)c->cred.pid);
	return 0;
}

/* Handle one request; *fd is the descriptor it carried (set to -1 if consumed). */
static int
broker_dispatch(struct broker *b, const struct client *c, const struct ins_msg *req, int *fd,
		struct ins_msg *rep, int *ret_fd)
{
	switch (req->type) {
	case INS_SOCKET:
		return broker_do_socket(b, c, req, ret_fd);
	case INS_BIND:
		return broker_do_bind(b, c, req, *fd);
	case INS_LISTEN:
		return broker_do_listen(b, c, req, fd, ret_fd);
	case INS_CONNECT:
		return policy_check_connect(&b->pol, req->socktype, &req->addr);
	case INS_GETNAME:
		return lsn_getname(&b->lsn, *fd, &rep->addr);
	case INS_RESOLVE:
		return broker_do_resolve(b, c, req, rep);
	case INS_DENY:
		return broker_do_deny(b, c, req);
	default:
		return -EPROTO;	/* INS_CONN and replies are never requests */
	}
}

/* Status of a reply: 0 or a positive errno; RESOLVE carries -EAI_* (positive). */
static int32_t
broker_status(int r)
{
	return r < 0 ? -r : 0;
}

/* Returns false if the client must be dropped. */
static bool
client_handle(struct broker *b, struct client *c, const uint8_t *buf, size_t len, int fd)
{
	struct ins_msg req, rep;
	uint8_t out[INS_MSG_MAX];
	int r, reply_fd = -1, n;
	bool ok = true;

	r = insproto_decode(buf, len, fd >= 0 ? 1 : 0, &req);
	if (r < 0 || (req.type & INS_REPLY)) {
		log_ratelimited(10, 1, log_warnx, "pid %d: malformed control message (%zu bytes)",
				(int)c->cred.pid, len);
		ok = false;
		goto out;
	}
	memset(&rep, 0, sizeof(rep));
	r = broker_dispatch(b, c, &req, &fd, &rep, &reply_fd);
	if (r == BROKER_DEFERRED)
		goto out;
	if (r < 0 && req.type != INS_RESOLVE)
		b->st.refused++;
	rep.type = req.type | INS_REPLY;
	rep.id = req.id;
	rep.status = broker_status(r);
	if (rep.status != 0 && reply_fd >= 0) {
		close(reply_fd);
		reply_fd = -1;
	}
	n = insproto_encode(&rep, out, sizeof(out));
	if (n < 0 || ipc_send(c->fd, out, (size_t)n, &reply_fd, reply_fd >= 0 ? 1 : 0) < 0)
		ok = false;	/* a client that does not read its replies is dropped */
out:
	if (reply_fd >= 0)
		close(reply_fd);
	if (fd >= 0)
		close(fd);
	return ok;
}

static void
client_event(struct evloop_io *io, int fd, unsigned events, void *arg)
{
	struct client *c = arg;
	struct broker *b = c->b;
	uint8_t buf[INS_MSG_MAX];

	for (unsigned i = 0; i < LIMIT_INS_MSGS_PER_WAKEUP; i++) {
		int fds[1] = { -1 };
		size_t nfds = 0;
		ssize_t n = ipc_recv(fd, buf, sizeof(buf), fds, 1, &nfds, MSG_DONTWAIT);

		if (n == -EAGAIN)
			return;
		if (n <= 0) {
			client_drop(b, c, n == 0 ? "closed" : "bad message");
			return;
		}
		if (!client_handle(b, c, buf, (size_t)n, nfds ? fds[0] : -1)) {
			client_drop(b, c, "protocol error");
			return;
		}
	}
}

/*
 * Authorisation is by the kernel's word on the client (SO_PEERCRED), never
 * by the control socket's file mode: the policy's clients list if it has
 * one, else anyone in run mode (the program's own users: nginx workers,
 * memcached -u, postgres), else root and the broker's own uid.
 */
static bool
broker_client_allowed(const struct broker *b, const struct ucred *cred)
{
	if (cred->uid == 0 || (!b->pol.clients_set && (b->any_client || cred->uid == b->owner_uid)))
		return true;
	return b->pol.clients_set && policy_check_client(&b->pol, (uint32_t)cred->uid,
							 (uint32_t)cred->gid) == 0;
}

int
broker_status_may_net_admin(const char *status, bool *ret_may)
{
	static const char *const sets[] = { "\nCapInh:\t", "\nCapPrm:\t", "\nCapBnd:\t" };
	bool may = false;

	for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
		const char *p = strstr(status, sets[i]);
		char *end;
		unsigned long long v;

		if (!p)
			return -EINVAL;
		p += strlen(sets[i]);
		errno = 0;
		v = strtoull(p, &end, 16);
		if (errno != 0 || end == p || *end != '\n')
			return -EINVAL;
		if (v & (1ull << CAP_NET_ADMIN))
			may = true;
	}
	*ret_may = may;
	return 0;
}

/*
 * Whether the client behind control connection fd can never hold
 * CAP_NET_ADMIN: CAP_NET_ADMIN is in none of its inheritable, permitted and
 * bounding sets (so no exec, set-uid or file capability gives it back), read
 * from /proc/PID/status while its pidfd shows it is still that process.
 * Anything unclear (no pidfd, unreadable status, the client gone) is "no".
 */
static bool
broker_client_netlink_ok(int fd, pid_t pid)
{
	char path[64], *status = NULL;
	struct pollfd pfd = { .events = POLLIN };
	socklen_t len = sizeof(pfd.fd);
	bool may = true;
	size_t n;

	/* The pidfd is not close-on-exec; it is closed below and the broker never execs. */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &pfd.fd, &len) < 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	if (fileio_read(path, LIMIT_INS_PROC_STATUS, 0, &status, &n) < 0 ||
	    broker_status_may_net_admin(status, &may) < 0)
		may = true;
	/* Still alive: the pid was not reused while we read (a pidfd polls readable at exit). */
	if (poll(&pfd, 1, 0) != 0)
		may = true;
	close(pfd.fd);
	free(status);
	return !may;
}

static void
broker_accept_clients(struct evloop_io *io, int lfd, unsigned events, void *arg)
{
	struct broker *b = arg;

	for (unsigned i = 0; i < LIMIT_INS_ACCEPT_BURST; i++) {
		struct client *c;
		struct ucred cred;
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR)
				log_ratelimited(5, 1, log_warn, "accept on control socket");
			return;
		}
		if (ipc_peercred(fd, &cred) < 0) {
			close(fd);
			continue;
		}
		if (!broker_client_allowed(b, &cred) || b->nclients >= LIMIT_INS_CLIENTS) {
			char who[96];

			broker_user_name(cred.uid, who, sizeof(who));
			log_ratelimited(5, 1, log_warnx, "control client %s, pid %ld refused: %s", who,
					(long)cred.pid, b->nclients >= LIMIT_INS_CLIENTS
					? "too many clients" : "not a user the policy's clients allow");
			close(fd);
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->b = b;
		c->fd = fd;
		c->cred = cred;
		c->netlink_ok = broker_client_netlink_ok(fd, cred.pid);
		c->id = ++b->next_client_id;
		if (evloop_add_fd(b->loop, fd, EVLOOP_IN, client_event, c, &c->io) < 0) {
			close(fd);
			free(c);
			continue;
		}
		c->next = b->clients;
		if (c->next)
			c->next->prev = c;
		b->clients = c;
		b->nclients++;
		b->st.clients++;
	}
}

/* A finished lookup: reply to its client if it is still there. */
static void
broker_resolved(void *arg, uint64_t tag, const struct ins_msg *rep)
{
	struct broker *b = arg;
	uint8_t out[INS_MSG_MAX];
	struct client *c;
	int n;

	for (c = b->clients; c && c->id != tag; c = c->next)
		;
	if (!c)
		return;
	n = insproto_encode(rep, out, sizeof(out));
	if (n < 0 || ipc_send(c->fd, out, (size_t)n, NULL, 0) < 0)
		client_drop(b, c, "reply not accepted");
	else
		log_debug("resolved %s: %u addresses", rep->status ? "(failed)" : "name", rep->naddrs);
}

static void
broker_on_resolved(struct evloop_io *io, int fd, unsigned events, void *arg)
{
	struct broker *b = arg;

	resolv_collect(b->resolv, broker_resolved, b);
}

static void
broker_on_obs_events(struct evloop_io *io, int fd, unsigned events, void *arg)
{
	struct broker *b = arg;

	obs_read_events(b->obs, broker_now_ms(b));
}

static bool
broker_owns_local(void *ctx, const struct ins_addr *local)
{
	const struct broker *b = ctx;

	return lsn_owns_local(&b->lsn, local);
}

/* The observer's period: policy.observe_ms, read again at each round (reloads). */
static uint64_t
broker_obs_period_ms(const struct broker *b)
{
	return b->pol.observe_ms ? b->pol.observe_ms : BROKER_OBS_MIN_MS;
}

/*
 * A round every observe_ms while the application has listeners (without
 * them there is nothing to judge and the timer stays disarmed), the first
 * one a period after the first listener: a round before any connection was
 * accepted would find nothing.
 */
static void
broker_obs_schedule(struct broker *b)
{
	if (!b->obs || b->lsn.n == 0 || evloop_timer_armed(b->obs_timer))
		return;
	evloop_timer_arm(b->obs_timer, broker_obs_period_ms(b) * 1000000u, 0);
}

static void
broker_obs_fired(struct evloop_timer *t, void *arg)
{
	struct broker *b = arg;
	uint64_t now = broker_now_ms(b);

	if (b->lsn.n == 0)
		return;		/* re-armed by the next listen */
	obs_round(b->obs, now);
	evloop_timer_arm(t, broker_obs_period_ms(b) * 1000000u, 0);
}

/* Once a second: forget idle sources; flush telemetry (at most a second late). */
static void
broker_housekeeping(struct evloop_timer *t, void *arg)
{
	struct broker *b = arg;

	srctab_sweep(&b->src, broker_now_ms(b), BROKER_SRC_IDLE_MS);
	if (b->ipfix && clock_wall_s(&b->clk) != b->ipfix_flush_s) {
		/* one datagram per second when quiet */
		insipfix_flush(b->ipfix, clock_wall_s(&b->clk));
		b->ipfix_flush_s = (uint32_t)clock_wall_s(&b->clk);
	}
}

/* The observer, when the policy asks for one and sock_diag is there. */
static int
broker_init_obs(struct broker *b)
{
	const struct obs_env env = {
		.src = &b->src, .pol = &b->pol, .clk = &b->clk,
		.owns = broker_owns_local, .owns_ctx = b,
	};
	int r;

	if (!b->pol.observe_ms)
		return 0;
	r = obs_init(&env, &b->obs);
	if (r < 0) {
		log_warnx("sock_diag unavailable (%s): connections will not be observed",
			  strerror(-r));
		b->obs = NULL;
		return 0;
	}
	b->lsn.obs = b->obs;
	r = evloop_timer_new(b->loop, broker_obs_fired, b, &b->obs_timer);
	if (r < 0)
		return r;
	if (obs_events_fd(b->obs) >= 0 &&
	    evloop_add_fd(b->loop, obs_events_fd(b->obs), EVLOOP_IN, broker_on_obs_events, b,
			  NULL) < 0)
		log_warn("epoll for sock_diag events");
	return 0;
}

int
broker_init(struct broker *b, const char *path, const struct policy *pol)
{
	uint64_t seed = 0;
	int r;

	memset(b, 0, sizeof(*b));
	b->ctl_fd = -1;
	clock_init_real(&b->clk);
	b->pol = *pol;
	b->owner_uid = geteuid();
	if (strlen(path) >= sizeof(b->ctl_path))
		return -ENAMETOOLONG;
	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != sizeof(seed))
		seed = (uint64_t)getpid() * 0x9e3779b97f4a7c15ull ^ clock_mono_ns(&b->clk);
	r = srctab_init(&b->src, LIMIT_INS_SOURCES, seed);
	if (r < 0)
		return r;
	r = evloop_new(&b->loop);
	if (r < 0)
		goto fail;
	b->lsn = (struct lsn_set){ .loop = b->loop, .clk = &b->clk, .pol = &b->pol, .src = &b->src };
	r = lsn_set_init(&b->lsn);
	if (r < 0)
		goto fail;
	/* Any local user may connect; broker_client_allowed decides by SO_PEERCRED. */
	r = ipc_listen_unix(path, 0666, 128);
	if (r < 0)
		goto fail;
	memcpy(b->ctl_path, path, strlen(path) + 1);
	b->ctl_fd = r;
	r = evloop_add_fd(b->loop, b->ctl_fd, EVLOOP_IN, broker_accept_clients, b, NULL);
	if (r < 0)
		goto fail;
	r = evloop_timer_new(b->loop, broker_housekeeping, b, &b->second);
	if (r < 0)
		goto fail;
	evloop_timer_arm(b->second, BROKER_HOUSEKEEPING_MS * 1000000ull,
			 BROKER_HOUSEKEEPING_MS * 1000000ull);
	r = broker_init_obs(b);
	if (r < 0)
		goto fail;
	return 0;
fail:
	broker_free(b);
	return r;
}

/* Milliseconds since the epoch of a monotonic time in ms. */
static uint64_t
broker_wall_of(const struct broker *b, uint64_t mono_ms)
{
	uint64_t wall = clock_wall_ns(&b->clk) / 1000000u, now = broker_now_ms(b);

	return now >= mono_ms ? wall - (now - mono_ms) : wall;
}

static const uint8_t broker_verdict_event[] = {
	[SLOW_OK] = INSIE_UPDATE,
	[SLOW_BODY] = INSIE_SLOW_BODY,
	[SLOW_READ] = INSIE_SLOW_READ,
	[SLOW_IDLE] = INSIE_IDLE,
};

/* TCP flags and end reason a collector sees for each event (RFC 5102 flowEndReason). */
static void
broker_event_flags(struct insipfix_rec *r, enum obs_event ev)
{
	switch (ev) {
	case OBS_OPEN:
		r->event = INSIE_OPEN;
		r->tcp_flags = 0x02;	/* SYN: one per connection, for SYN counters */
		break;
	case OBS_CLOSE:
		r->event = INSIE_CLOSE;
		r->tcp_flags = 0x01;	/* FIN */
		r->end_reason = 3;	/* end of flow detected */
		break;
	case OBS_SHED:
		r->tcp_flags = 0x04;	/* RST */
		r->end_reason = 4;	/* forced end */
		break;
	case OBS_UPDATE:
		r->event = INSIE_UPDATE;
		r->end_reason = 0;
		break;
	}
}

static void
broker_obs_event(void *ctx, const struct obs_report *rep)
{
	struct broker *b = ctx;
	const struct diag_sock *s = rep->s;
	struct insipfix_rec r = {
		.conn_id = s->cookie, .peer = s->peer, .local = s->local,
		.start_ms = broker_wall_of(b, rep->first_ms),
		.end_ms = clock_wall_ns(&b->clk) / 1000000u,
		.in_delta = rep->in_delta, .pkts_delta = rep->pkts_delta,
		.in_total = s->bytes_received, .out_total = s->bytes_acked,
		.rtt_us = s->rtt_us, .retrans = s->retrans, .snd_wnd = s->snd_wnd,
		.rcv_wnd = s->rcv_wnd, .rqueue = s->rqueue, .wqueue = s->wqueue,
		.last_recv_ms = s->last_data_recv_ms, .last_sent_ms = s->last_data_sent_ms,
	};

	if (!b->ipfix)
		return;
	r.event = broker_verdict_event[rep->verdict];
	broker_event_flags(&r, rep->event);
	insipfix_add(b->ipfix, &r, clock_wall_s(&b->clk));
}

int
broker_set_ipfix(struct broker *b, const char *dest)
{
	int r = insipfix_open(&b->ipfix, dest, (uint32_t)getpid());

	if (r < 0)
		return r;
	b->lsn.ipfix = b->ipfix;
	if (b->obs)
		obs_set_event_fn(b->obs, broker_obs_event, b);
	return 0;
}

void
broker_log_stats(const struct broker *b)
{
	const struct broker_stats *st = &b->st;
	const struct lsn_stats *ls = &b->lsn.st;

	log_info("stats: clients %llu sockets %llu listens %llu refused %llu accepted %llu "
		 "handed %llu held %llu held_dropped %llu capped %llu denied %llu pending_drops %llu",
		 (unsigned long long)st->clients, (unsigned long long)st->sockets,
		 (unsigned long long)st->listens, (unsigned long long)st->refused,
		 (unsigned long long)ls->accepted, (unsigned long long)ls->handed,
		 (unsigned long long)ls->held, (unsigned long long)ls->held_dropped,
		 (unsigned long long)ls->capped_drops, (unsigned long long)ls->denied_drops,
		 (unsigned long long)ls->pending_drops);
	if (b->obs) {
		const struct obs_stats *o = obs_stats(b->obs);

		log_info("observer: rounds %llu max_tracked %llu (in %llu us) last_round_us %llu destroyed %llu "
			 "(slow-body %llu slow-read %llu idle %llu) destroy_failed %llu",
			 (unsigned long long)o->rounds, (unsigned long long)o->max_tracked,
			 (unsigned long long)o->max_round_us,
			 (unsigned long long)o->last_round_us, (unsigned long long)o->destroyed,
			 (unsigned long long)o->verdicts[SLOW_BODY],
			 (unsigned long long)o->verdicts[SLOW_READ],
			 (unsigned long long)o->verdicts[SLOW_IDLE],
			 (unsigned long long)o->destroy_failed);
	}
}

int
broker_start_threads(struct broker *b)
{
	int r = resolv_init(&b->resolv);

	if (r < 0)
		return r;
	r = evloop_add_fd(b->loop, resolv_fd(b->resolv), EVLOOP_IN, broker_on_resolved, b,
			  &b->resolv_io);
	if (r < 0) {
		resolv_free(b->resolv);
		b->resolv = NULL;
	}
	return r;
}

void
broker_stop(struct broker *b)
{
	evloop_break(b->loop);
}

int
broker_poll(struct broker *b, int timeout_ms)
{
	return evloop_run_once(b->loop, timeout_ms);
}

int
broker_run(struct broker *b)
{
	return evloop_run(b->loop);
}

void
broker_free(struct broker *b)
{
	evloop_io_del(b->resolv_io);	/* before its descriptor closes */
	b->resolv_io = NULL;
	resolv_free(b->resolv);	/* first: its threads must not outlive what they report to */
	b->resolv = NULL;
	while (b->clients)
		client_free(b, b->clients);
	lsn_set_free(&b->lsn);
	/* The loop lets go of the remaining descriptors (control socket,
	   resolver, sock_diag events) and frees the timers before they close. */
	evloop_free(b->loop);
	b->loop = NULL;
	b->obs_timer = b->second = NULL;
	if (b->ctl_fd >= 0) {
		close(b->ctl_fd);
		unlink(b->ctl_path);
	}
	b->ctl_fd = -1;
	srctab_free(&b->src);
	obs_free(b->obs);
	b->obs = NULL;
	if (b->ipfix)
		insipfix_flush(b->ipfix, clock_wall_s(&b->clk));
	insipfix_close(b->ipfix);
	b->ipfix = NULL;
}
