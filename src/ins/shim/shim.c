/*
 * libmoat-shim.so: the LD_PRELOAD half of moat-ins.
 *
 * The shim forwards only control calls to moat-ins and otherwise gets out of
 * the way: socket() for AF_INET/AF_INET6 returns the real kernel socket the
 * broker created in its namespace (on whatever number the kernel gives, never
 * an invented one); bind() and listen() on those sockets are done by the
 * broker (so it can apply policy and own listeners); connect() is checked
 * against policy first; accept()/accept4() on a doorbell receive the next
 * connection from it; getsockname()/getsockopt() on a doorbell describe the
 * listener; getaddrinfo() is answered by the broker. Every other call, and
 * all data transfer, is the kernel's.
 *
 * The control connection: opened lazily on first use from $MOAT_INS_SOCK,
 * moved to a high descriptor number, CLOEXEC (after exec the new image
 * re-connects from the environment), re-opened in a forked child (never
 * shared between processes, whose replies would interleave), and protected
 * from close()/dup2() by the application. Nothing runs between vfork and
 * exec unless the application itself calls socket functions there.
 *
 * A doorbell is recognised without any table (so it survives fork and exec,
 * e.g. nginx's binary upgrade): an AF_UNIX SOCK_SEQPACKET socket whose peer
 * credentials name the broker's pid.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <linux/close_range.h>
#include <linux/netlink.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/ipc.h"
#include "proto/insproto.h"

#define SHIM_EXPORT __attribute__((visibility("default")))

/*
 * With _GNU_SOURCE glibc declares the sockaddr arguments as transparent
 * unions; our definitions must match its prototypes exactly.
 */
#define SHIM_SA(arg) ((arg).__sockaddr__)
#define SHIM_CSA(arg) ((arg).__sockaddr__)

/*
 * The real functions, resolved lazily: another library's constructor may call
 * an interposed function before ours has run (PostgreSQL, su, setpriv and
 * dbus-daemon call close() that early). Each slot is resolved once with
 * dlsym(RTLD_NEXT) and published through an atomic pointer, so any thread
 * may race to fill it (they store the same value). The descriptor calls
 * (close, dup2, dup3, close_range) are async-signal-safe and never call
 * dlsym: until their slot is filled (by the constructor) they are the raw
 * system call.
 */
struct shim_syms {
	_Atomic(void *) socket, bind, listen, accept, accept4, connect, getsockname,
		getpeername, getsockopt, setsockopt, close, dup2, dup3, close_range,
		getaddrinfo, gethostbyname, gethostbyname2, gethostbyname_r, gethostbyname2_r;
};

static struct shim_syms shim_syms;

static void *
shim_sym(_Atomic(void *) *slot, const char *name)
{
	void *p = atomic_load_explicit(slot, memory_order_acquire);

	if (!p) {
		p = dlsym(RTLD_NEXT, name);
		atomic_store_explicit(slot, p, memory_order_release);
	}
	return p;
}

/* dlsym returns an object pointer; POSIX guarantees it converts to a function pointer. */
#define SHIM_FN(var, name)                                                  \
	do {                                                                \
		void *sym_ = shim_sym(&shim_syms.name, #name);               \
		memcpy(&(var), &sym_, sizeof(sym_));                         \
	} while (0)

/* The real function NAME called with the arguments that follow; errno ENOSYS if absent. */
#define SHIM_REAL(name, ...)                                                \
	__extension__({                                                     \
		__typeof__(&name) fn_;                                      \
		SHIM_FN(fn_, name);                                         \
		fn_ ? fn_(__VA_ARGS__) : (errno = ENOSYS, -1);               \
	})

/* A descriptor call: the resolved function if the slot is filled, else the system call. */
#define SHIM_RAW(name, sysno, ...)                                          \
	__extension__({                                                     \
		__typeof__(&name) fn_;                                      \
		void *p_ = atomic_load_explicit(&shim_syms.name, memory_order_acquire); \
		memcpy(&fn_, &p_, sizeof(p_));                               \
		fn_ ? fn_(__VA_ARGS__) : (int)syscall(sysno, __VA_ARGS__);   \
	})

static int
shim_real_close(int fd)
{
	return SHIM_RAW(close, SYS_close, fd);
}

/* dup2 without its slot: dup3, except that dup2(fd, fd) only checks fd. */
static int
shim_real_dup2(int oldfd, int newfd)
{
	void *p = atomic_load_explicit(&shim_syms.dup2, memory_order_acquire);
	int (*fn)(int, int);

	memcpy(&fn, &p, sizeof(p));
	if (fn)
		return fn(oldfd, newfd);
	if (oldfd == newfd)
		return fcntl(oldfd, F_GETFD) < 0 ? -1 : newfd;
	return (int)syscall(SYS_dup3, oldfd, newfd, 0);
}

static int
shim_real_close_range(unsigned first, unsigned last, int flags)
{
	return SHIM_RAW(close_range, SYS_close_range, first, last, flags);
}

/* Per-process state; the atfork child handler and a pid check reset it. */
static struct shim_state {
	pthread_mutex_t lock;	/* one request in flight on ctl at a time */
	int ctl;		/* control socket, or -1 */
	pid_t owner;		/* process that opened ctl */
	pid_t broker;		/* broker pid from SO_PEERCRED on ctl */
	uint32_t next_id;
	/*
	 * $MOAT_INS_SOCK as it was when the shim was loaded (or first used, if
	 * that came earlier): programs that clear their environment afterwards
	 * (nginx's workers) keep their broker. Empty: pass everything through.
	 */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	bool disabled;
} shim = { .lock = PTHREAD_MUTEX_INITIALIZER, .ctl = -1 };

static pthread_once_t shim_env_once = PTHREAD_ONCE_INIT;
static atomic_bool shim_env_read;

static void
shim_read_env(void)
{
	const char *p = getenv(INS_ENV_SOCK);

	if (p && *p && strlen(p) < sizeof(shim.path))
		memcpy(shim.path, p, strlen(p) + 1);
	shim.disabled = shim.path[0] == '\0';
	atomic_store_explicit(&shim_env_read, true, memory_order_release);
}

/* True if the shim passes everything through (no broker in the environment at load). */
static bool
shim_off(void)
{
	if (!atomic_load_explicit(&shim_env_read, memory_order_acquire))
		pthread_once(&shim_env_once, shim_read_env);
	return shim.disabled;
}

static void
shim_atfork_child(void)
{
	/* The control connection belongs to the parent; this process opens its own. */
	pthread_mutex_init(&shim.lock, NULL);
	if (shim.ctl >= 0)
		shim_real_close(shim.ctl);
	shim.ctl = -1;
}

__attribute__((constructor)) static void
shim_init(void)
{
	void *p;

	/* Fill every slot now, so later calls never need the loader. */
	p = shim_sym(&shim_syms.socket, "socket");
	p = shim_sym(&shim_syms.bind, "bind");
	p = shim_sym(&shim_syms.listen, "listen");
	p = shim_sym(&shim_syms.accept, "accept");
	p = shim_sym(&shim_syms.accept4, "accept4");
	p = shim_sym(&shim_syms.connect, "connect");
	p = shim_sym(&shim_syms.getsockname, "getsockname");
	p = shim_sym(&shim_syms.getpeername, "getpeername");
	p = shim_sym(&shim_syms.getsockopt, "getsockopt");
	p = shim_sym(&shim_syms.setsockopt, "setsockopt");
	p = shim_sym(&shim_syms.close, "close");
	p = shim_sym(&shim_syms.dup2, "dup2");
	p = shim_sym(&shim_syms.dup3, "dup3");
	p = shim_sym(&shim_syms.close_range, "close_range");
	p = shim_sym(&shim_syms.getaddrinfo, "getaddrinfo");
	p = shim_sym(&shim_syms.gethostbyname, "gethostbyname");
	p = shim_sym(&shim_syms.gethostbyname2, "gethostbyname2");
	p = shim_sym(&shim_syms.gethostbyname_r, "gethostbyname_r");
	p = shim_sym(&shim_syms.gethostbyname2_r, "gethostbyname2_r");
	(void)p;
	(void)shim_off();
	pthread_atfork(NULL, NULL, shim_atfork_child);
}

/* Move fd to a high number so close-everything loops and dup2 targets rarely meet it. */
static int
shim_hide_fd(int fd)
{
	struct rlimit rl;
	long target = 900;
	int nfd;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur > 64)
		target = (long)rl.rlim_cur - 8;
	if (target > 65000)
		target = 65000;
	nfd = fcntl(fd, F_DUPFD_CLOEXEC, (int)target);
	if (nfd < 0)
		return fd;
	shim_real_close(fd);
	return nfd;
}

/* Open the control connection if this process has none. Call with lock held. */
static int
shim_connect_ctl(void)
{
	const char *path;
	struct ucred cred;
	int fd, r;

	if (shim.ctl >= 0 && shim.owner == getpid())
		return 0;
	if (shim.ctl >= 0)
		shim_real_close(shim.ctl);	/* inherited through a fork without atfork */
	shim.ctl = -1;
	if (shim_off())
		return -ENETDOWN;
	path = shim.path;
	fd = ipc_connect_unix(path);
	if (fd < 0)
		return -ENETDOWN;
	r = ipc_peercred(fd, &cred);
	if (r < 0) {
		shim_real_close(fd);
		return -ENETDOWN;
	}
	shim.ctl = shim_hide_fd(fd);
	shim.owner = getpid();
	shim.broker = cred.pid;
	return 0;
}

/*
 * One request/reply round trip. req may carry one descriptor (fd >= 0). On
 * success *ret_fd gets the reply's descriptor (or -1). Returns the reply's
 * status as a negative errno, or -ENETDOWN if the broker is unreachable.
 */
static int
shim_call(struct ins_msg *req, int fd, struct ins_msg *reply, int *ret_fd)
{
	uint8_t buf[INS_MSG_MAX];
	int fds[1] = { -1 };
	size_t nfds = 0;
	ssize_t n;
	int len, r;

	*ret_fd = -1;
	pthread_mutex_lock(&shim.lock);
	r = shim_connect_ctl();
	if (r < 0)
		goto out;
	req->id = ++shim.next_id;
	len = insproto_encode(req, buf, sizeof(buf));
	if (len < 0) {
		r = len;
		goto out;
	}
	r = ipc_send(shim.ctl, buf, (size_t)len, &fd, fd >= 0 ? 1 : 0);
	if (r < 0) {
		/*
		 * Never delivered: the connection was cut behind our back (a raw
		 * close_range, or the broker restarted). Re-connect and send once more.
		 */
		shim_real_close(shim.ctl);
		shim.ctl = -1;
		if (shim_connect_ctl() < 0)
			goto broken;
		r = ipc_send(shim.ctl, buf, (size_t)len, &fd, fd >= 0 ? 1 : 0);
	}
	if (r < 0)
		goto broken;
	n = ipc_recv(shim.ctl, buf, sizeof(buf), fds, 1, &nfds, 0);
	if (n <= 0)
		goto broken;
	if (insproto_decode(buf, (size_t)n, nfds, reply) < 0 ||
	    reply->type != (req->type | INS_REPLY) || reply->id != req->id) {
		ipc_close_fds(fds, nfds);
		goto broken;
	}
	*ret_fd = nfds ? fds[0] : -1;
	r = -reply->status;
	goto out;
broken:
	if (shim.ctl >= 0)
		shim_real_close(shim.ctl);
	shim.ctl = -1;
	r = -ENETDOWN;
out:
	pthread_mutex_unlock(&shim.lock);
	return r;
}

static int
shim_fail(int neg_errno)
{
	errno = -neg_errno;
	return -1;
}

static bool
shim_is_inet(int domain)
{
	return domain == AF_INET || domain == AF_INET6;
}

static int
shim_sockopt_int(int fd, int opt)
{
	int v = -1;
	socklen_t len = sizeof(v);

	if (SHIM_REAL(getsockopt, fd, SOL_SOCKET, opt, &v, &len) < 0)
		return -1;
	return v;
}

/* True if fd is a doorbell the broker handed out (see the file comment). */
static bool
shim_is_doorbell(int fd)
{
	struct ucred cred;

	if (shim_off() || shim_sockopt_int(fd, SO_DOMAIN) != AF_UNIX)
		return false;
	if (shim_sockopt_int(fd, SO_TYPE) != SOCK_SEQPACKET)
		return false;
	if (ipc_peercred(fd, &cred) < 0)
		return false;
	if (shim.broker == 0) {
		/* A fresh image (after exec) learns the broker pid from its control socket. */
		pthread_mutex_lock(&shim.lock);
		(void)shim_connect_ctl();
		pthread_mutex_unlock(&shim.lock);
	}
	return shim.broker != 0 && cred.pid == shim.broker;
}

/* True if fd is an AF_INET/AF_INET6 socket (brokered, or at least fail-closed). */
static bool
shim_is_inet_fd(int fd)
{
	return !shim_off() && shim_is_inet(shim_sockopt_int(fd, SO_DOMAIN));
}

SHIM_EXPORT int
socket(int domain, int type, int protocol)
{
	struct ins_msg req = { .type = INS_SOCKET }, rep;
	int base = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
	int fd, r;

	if (!shim_off() && domain == AF_NETLINK && protocol == NETLINK_ROUTE &&
	    (base == SOCK_RAW || base == SOCK_DGRAM)) {
		/* Interfaces and addresses as the broker's namespace has them. */
		req.family = INS_AF_NETLINK_ROUTE;
		req.socktype = base == SOCK_RAW ? INS_SOCK_RAW : INS_SOCK_DGRAM;
		protocol = 0;
	} else if (shim_off() || !shim_is_inet(domain) || (base != SOCK_STREAM && base != SOCK_DGRAM)) {
		return SHIM_REAL(socket, domain, type, protocol);
	} else {
		req.family = domain == AF_INET ? INS_AF_INET : INS_AF_INET6;
		req.socktype = base == SOCK_STREAM ? INS_SOCK_STREAM : INS_SOCK_DGRAM;
	}
	req.flags = (uint8_t)(((type & SOCK_NONBLOCK) ? INS_SF_NONBLOCK : 0) |
			      ((type & SOCK_CLOEXEC) ? INS_SF_CLOEXEC : 0));
	req.protocol = (uint32_t)protocol;
	r = shim_call(&req, -1, &rep, &fd);
	if (r < 0 && req.family == INS_AF_NETLINK_ROUTE) {
		/* Refused (the program could hold CAP_NET_ADMIN: see insproto.h) or no
		   broker: the program's own namespace's socket, as without moat-ins. */
		return SHIM_REAL(socket, domain, type, 0);
	}
	if (r < 0)
		return shim_fail(r);
	if (fd < 0)
		return shim_fail(-EPROTO);
	/* Received descriptors are CLOEXEC; keep that only if the application asked. */
	if (!(type & SOCK_CLOEXEC))
		fcntl(fd, F_SETFD, 0);
	return fd;
}

SHIM_EXPORT int
bind(int fd, __CONST_SOCKADDR_ARG arg, socklen_t len)
{
	const struct sockaddr *sa = SHIM_CSA(arg);
	struct ins_msg req = { .type = INS_BIND }, rep;
	int r, nofd;

	if (shim_off() || !sa || len < (socklen_t)sizeof(sa_family_t) ||
	    !shim_is_inet(sa->sa_family))
		return SHIM_REAL(bind, fd, arg, len);
	r = insproto_addr_from_sa(sa, len, &req.addr);
	if (r < 0)
		return shim_fail(r);
	r = shim_call(&req, fd, &rep, &nofd);
	if (nofd >= 0)
		shim_real_close(nofd);
	return r < 0 ? shim_fail(r) : 0;
}

/*
 * Give the doorbell the listening socket's O_NONBLOCK and FD_CLOEXEC (as they
 * were before the broker took the socket: it makes its copy non-blocking,
 * and file status flags are shared), then take the socket's number.
 */
static int
shim_install_doorbell(int bell, int fd, int fl, int fdfl)
{
	if (fl >= 0 && (fl & O_NONBLOCK))
		fcntl(bell, F_SETFL, fcntl(bell, F_GETFL) | O_NONBLOCK);
	if (SHIM_RAW(dup3, SYS_dup3, bell, fd, (fdfl >= 0 && (fdfl & FD_CLOEXEC)) ? O_CLOEXEC : 0) < 0) {
		int e = errno;

		shim_real_close(bell);
		return -e;
	}
	shim_real_close(bell);
	return 0;
}

SHIM_EXPORT int
listen(int fd, int backlog)
{
	struct ins_msg req = { .type = INS_LISTEN }, rep;
	int r, bell, fl, fdfl;

	if (!shim_is_inet_fd(fd) || shim_sockopt_int(fd, SO_TYPE) != SOCK_STREAM) {
		if (shim_is_doorbell(fd))
			return 0;	/* listen() again on a listener: only the backlog would change */
		return SHIM_REAL(listen, fd, backlog);
	}
	req.backlog = backlog < 0 ? 0 : (uint32_t)backlog;
	fl = fcntl(fd, F_GETFL);
	fdfl = fcntl(fd, F_GETFD);
	r = shim_call(&req, fd, &rep, &bell);
	if (r < 0)
		return shim_fail(r);
	if (bell < 0)
		return shim_fail(-EPROTO);
	r = shim_install_doorbell(bell, fd, fl, fdfl);
	return r < 0 ? shim_fail(r) : 0;
}

static void
shim_copy_addr(const struct ins_addr *a, struct sockaddr *sa, socklen_t *len)
{
	struct sockaddr_storage ss;
	socklen_t n;

	if (!sa || !len)
		return;
	n = insproto_addr_to_sa(a, &ss);
	memcpy(sa, &ss, *len < n ? *len : n);
	*len = n;
}

/* Receive the next connection from a doorbell; honours accept4 flags. */
static int
shim_doorbell_accept(int bell, struct sockaddr *sa, socklen_t *len, int flags)
{
	uint8_t buf[INS_MSG_MAX];
	struct ins_msg m;
	int fds[1] = { -1 };
	size_t nfds = 0;
	ssize_t n;
	int fl;

	if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC))
		return shim_fail(-EINVAL);
	n = ipc_recv(bell, buf, sizeof(buf), fds, 1, &nfds, 0);
	if (n < 0)
		return shim_fail(n == -EMSGSIZE ? -ECONNABORTED : (int)n);
	if (n == 0)
		return shim_fail(-EINVAL);	/* broker gone: the listener no longer exists */
	if (insproto_decode(buf, (size_t)n, nfds, &m) < 0 || m.type != INS_CONN) {
		ipc_close_fds(fds, nfds);
		return shim_fail(-ECONNABORTED);
	}
	if (!(flags & SOCK_CLOEXEC))
		fcntl(fds[0], F_SETFD, 0);
	fl = fcntl(fds[0], F_GETFL);
	if (fl >= 0)
		fcntl(fds[0], F_SETFL,
		      (flags & SOCK_NONBLOCK) ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK));
	shim_copy_addr(&m.addr, sa, len);
	return fds[0];
}

SHIM_EXPORT int
accept4(int fd, __SOCKADDR_ARG arg, socklen_t *len, int flags)
{
	struct sockaddr *sa = SHIM_SA(arg);

	if (shim_is_doorbell(fd))
		return shim_doorbell_accept(fd, sa, len, flags);
	return SHIM_REAL(accept4, fd, arg, len, flags);
}

SHIM_EXPORT int
accept(int fd, __SOCKADDR_ARG arg, socklen_t *len)
{
	struct sockaddr *sa = SHIM_SA(arg);

	if (shim_is_doorbell(fd))
		return shim_doorbell_accept(fd, sa, len, 0);
	return SHIM_REAL(accept, fd, arg, len);
}

SHIM_EXPORT int
connect(int fd, __CONST_SOCKADDR_ARG arg, socklen_t len)
{
	const struct sockaddr *sa = SHIM_CSA(arg);
	struct ins_msg req = { .type = INS_CONNECT }, rep;
	int r, nofd;

	if (shim_off() || !sa || len < (socklen_t)sizeof(sa_family_t) ||
	    !shim_is_inet(sa->sa_family))
		return SHIM_REAL(connect, fd, arg, len);
	r = insproto_addr_from_sa(sa, len, &req.addr);
	if (r < 0)
		return shim_fail(r);
	req.socktype = shim_sockopt_int(fd, SO_TYPE) == SOCK_DGRAM ? INS_SOCK_DGRAM
								    : INS_SOCK_STREAM;
	r = shim_call(&req, -1, &rep, &nofd);
	if (nofd >= 0)
		shim_real_close(nofd);
	if (r < 0)
		return shim_fail(r);
	return SHIM_REAL(connect, fd, arg, len);
}

/* The listener's local address for a doorbell, from the broker. */
static int
shim_doorbell_name(int fd, struct ins_addr *ret)
{
	struct ins_msg req = { .type = INS_GETNAME }, rep;
	int r, nofd;

	r = shim_call(&req, fd, &rep, &nofd);
	if (nofd >= 0)
		shim_real_close(nofd);
	if (r < 0)
		return r;
	*ret = rep.addr;
	return 0;
}

SHIM_EXPORT int
getsockname(int fd, __SOCKADDR_ARG arg, socklen_t *len)
{
	struct sockaddr *sa = SHIM_SA(arg);
	struct ins_addr a;
	int r;

	if (!shim_is_doorbell(fd))
		return SHIM_REAL(getsockname, fd, arg, len);
	r = shim_doorbell_name(fd, &a);
	if (r < 0)
		return shim_fail(r);
	shim_copy_addr(&a, sa, len);
	return 0;
}

SHIM_EXPORT int
getpeername(int fd, __SOCKADDR_ARG arg, socklen_t *len)
{
	if (shim_is_doorbell(fd))
		return shim_fail(-ENOTCONN);	/* a listener has no peer */
	return SHIM_REAL(getpeername, fd, arg, len);
}

static int
shim_put_int(void *val, socklen_t *len, int v)
{
	if (!val || !len || *len < (socklen_t)sizeof(int))
		return shim_fail(-EINVAL);
	memcpy(val, &v, sizeof(v));
	*len = sizeof(int);
	return 0;
}

SHIM_EXPORT int
getsockopt(int fd, int level, int opt, void *val, socklen_t *len)
{
	struct ins_addr a;
	int r;

	/* Only the options that describe a listener; SO_PEERCRED etc. pass (ipc.c uses them). */
	if (level != SOL_SOCKET ||
	    (opt != SO_TYPE && opt != SO_ACCEPTCONN && opt != SO_PROTOCOL && opt != SO_DOMAIN) ||
	    !shim_is_doorbell(fd))
		return SHIM_REAL(getsockopt, fd, level, opt, val, len);
	switch (opt) {
	case SO_TYPE:
		return shim_put_int(val, len, SOCK_STREAM);
	case SO_ACCEPTCONN:
		return shim_put_int(val, len, 1);
	case SO_PROTOCOL:
		return shim_put_int(val, len, IPPROTO_TCP);
	case SO_DOMAIN:
		r = shim_doorbell_name(fd, &a);
		if (r < 0)
			return shim_fail(r);
		return shim_put_int(val, len, a.family == INS_AF_INET ? AF_INET : AF_INET6);
	default:
		return SHIM_REAL(getsockopt, fd, level, opt, val, len);
	}
}

SHIM_EXPORT int
setsockopt(int fd, int level, int opt, const void *val, socklen_t len)
{
	/*
	 * TCP/IP options on a listener (TCP_DEFER_ACCEPT, TCP_FASTOPEN, IPV6_V6ONLY
	 * after listen) have no meaning on a doorbell; the broker owns the real
	 * listener. Accept them so the application carries on.
	 */
	if (level != SOL_SOCKET && shim_is_doorbell(fd))
		return 0;
	return SHIM_REAL(setsockopt, fd, level, opt, val, len);
}

/* True if fd is this process's control socket. */
static bool
shim_is_ctl(int fd)
{
	return fd >= 0 && fd == shim.ctl && shim.owner == getpid();
}

SHIM_EXPORT int
close(int fd)
{
	if (shim_is_ctl(fd))
		return 0;	/* pretend: close-everything code must not cut us off */
	return shim_real_close(fd);
}

/* close_range() that spares the control socket (Python's os.closerange uses it). */
SHIM_EXPORT int
close_range(unsigned first, unsigned last, int flags)
{
	unsigned ctl;

	if (shim.ctl < 0 || shim.owner != getpid() || (flags & CLOSE_RANGE_CLOEXEC))
		return shim_real_close_range(first, last, flags);
	ctl = (unsigned)shim.ctl;
	if (ctl < first || ctl > last)
		return shim_real_close_range(first, last, flags);
	if (ctl > first && shim_real_close_range(first, ctl - 1, flags) < 0)
		return -1;
	if (ctl < last && shim_real_close_range(ctl + 1, last, flags) < 0)
		return -1;
	return 0;
}

/* Before the application takes newfd's number, move the control socket away. */
static void
shim_vacate(int newfd)
{
	int moved;

	if (!shim_is_ctl(newfd))
		return;
	pthread_mutex_lock(&shim.lock);
	moved = fcntl(shim.ctl, F_DUPFD_CLOEXEC, newfd + 1);
	if (moved >= 0)
		shim.ctl = moved;	/* dup2 then closes the old number */
	else
		shim.ctl = -1;		/* re-connect on next use */
	pthread_mutex_unlock(&shim.lock);
}

SHIM_EXPORT int
dup2(int oldfd, int newfd)
{
	if (oldfd != newfd)
		shim_vacate(newfd);
	return shim_real_dup2(oldfd, newfd);
}

SHIM_EXPORT int
dup3(int oldfd, int newfd, int flags)
{
	if (oldfd != newfd)
		shim_vacate(newfd);
	return SHIM_RAW(dup3, SYS_dup3, oldfd, newfd, flags);
}

/* --- name resolution through the broker --- */

/*
 * One entry of a RESOLVE reply: its address, and its type and protocol from
 * the reply's ext (else the hints', as before ext: STREAM/TCP by default).
 */
static struct addrinfo *
shim_make_ai(const struct ins_msg *rep, size_t i, const struct addrinfo *hints)
{
	struct addrinfo *ai = calloc(1, sizeof(*ai) + sizeof(struct sockaddr_storage));
	struct sockaddr_storage *ss;

	if (!ai)
		return NULL;
	ss = (struct sockaddr_storage *)(ai + 1);
	ai->ai_addrlen = insproto_addr_to_sa(&rep->addrs[i], ss);
	ai->ai_addr = (struct sockaddr *)ss;
	ai->ai_family = ss->ss_family;
	if (rep->has_ext) {
		ai->ai_socktype = rep->ai_socktype[i] == INS_SOCK_STREAM ? SOCK_STREAM
				: rep->ai_socktype[i] == INS_SOCK_DGRAM ? SOCK_DGRAM : SOCK_RAW;
		ai->ai_protocol = rep->ai_protocol[i];
		return ai;
	}
	ai->ai_socktype = hints && hints->ai_socktype ? hints->ai_socktype : SOCK_STREAM;
	ai->ai_protocol = hints && hints->ai_protocol ? hints->ai_protocol
			: ai->ai_socktype == SOCK_DGRAM ? IPPROTO_UDP : IPPROTO_TCP;
	return ai;
}

static void
shim_free_ai(struct addrinfo *head)
{
	while (head) {
		struct addrinfo *next = head->ai_next;

		free(head->ai_canonname);
		free(head);
		head = next;
	}
}

/*
 * Build the result list. Each node is one allocation (addrinfo followed by its
 * sockaddr), the canonical name (AI_CANONNAME, first node only) one more —
 * the layout glibc's own getaddrinfo uses, so the application's
 * freeaddrinfo() frees it correctly. Entries are filtered by the hints' type
 * and protocol as glibc does (the broker was asked for any type: ext).
 */
static int
shim_build_ai(const struct ins_msg *rep, const char *node, const struct addrinfo *hints,
	      struct addrinfo **res)
{
	struct addrinfo *head = NULL, **tail = &head;
	int want_type = hints ? hints->ai_socktype : 0;
	int want_proto = hints ? hints->ai_protocol : 0;

	for (size_t i = 0; i < rep->naddrs; i++) {
		struct addrinfo *ai = shim_make_ai(rep, i, hints);

		if (!ai) {
			shim_free_ai(head);
			return EAI_MEMORY;
		}
		if (rep->has_ext && ((want_type && ai->ai_socktype != want_type) ||
				     (want_proto && ai->ai_protocol != want_proto))) {
			free(ai);
			continue;
		}
		*tail = ai;
		tail = &ai->ai_next;
	}
	if (!head)
		return rep->has_ext && rep->naddrs ? EAI_SERVICE : EAI_NONAME;
	if (hints && (hints->ai_flags & AI_CANONNAME)) {
		head->ai_canonname = strdup(rep->has_ext && rep->canon[0] ? rep->canon : node);
		if (!head->ai_canonname) {
			shim_free_ai(head);
			return EAI_MEMORY;
		}
	}
	*res = head;
	return 0;
}

/*
 * The broker's getaddrinfo for node/service: family (AF_UNSPEC, AF_INET,
 * AF_INET6), socktype (0: any), AI_* flags. 0 and *rep, or an EAI_* code.
 */
static int
shim_resolve(const char *node, const char *service, int family, int socktype, int flags,
	     struct ins_msg *rep)
{
	struct ins_msg req = { .type = INS_RESOLVE };
	int r, nofd;

	req.family = family == AF_INET ? INS_AF_INET : family == AF_INET6 ? INS_AF_INET6 : 0;
	req.socktype = socktype == SOCK_DGRAM ? INS_SOCK_DGRAM
		     : socktype == SOCK_STREAM ? INS_SOCK_STREAM : 0;
	req.ai_flags = ((uint32_t)flags & ~INS_RESOLVE_EXT) | INS_RESOLVE_EXT;
	snprintf(req.name, sizeof(req.name), "%s", node);
	snprintf(req.service, sizeof(req.service), "%s", service ? service : "");
	r = shim_call(&req, -1, rep, &nofd);
	if (nofd >= 0)
		shim_real_close(nofd);
	if (r == -ENETDOWN)
		return EAI_AGAIN;
	return r;	/* 0, or the broker's EAI_* code, negative as glibc's */
}

SHIM_EXPORT int
getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
	    struct addrinfo **res)
{
	struct ins_msg rep;
	int r;

	/* Numeric hosts (nothing to look up: glibc's answer is exact), passive binds. */
	if (shim_off() || !node || (hints && (hints->ai_flags & AI_NUMERICHOST)))
		return SHIM_REAL(getaddrinfo, node, service, hints, res);
	if (strlen(node) > INS_NAME_MAX || (service && strlen(service) > INS_SERVICE_MAX))
		return SHIM_REAL(getaddrinfo, node, service, hints, res);
	{
		struct addrinfo numeric = { .ai_flags = AI_NUMERICHOST };
		struct addrinfo *tmp;

		if (hints) {
			numeric.ai_family = hints->ai_family;
			numeric.ai_socktype = hints->ai_socktype;
			numeric.ai_protocol = hints->ai_protocol;
			numeric.ai_flags |= hints->ai_flags;
		}
		if (SHIM_REAL(getaddrinfo, node, service, &numeric, &tmp) == 0) {
			*res = tmp;	/* a literal address: nothing to resolve */
			return 0;
		}
	}
	/* A type the wire does not name (SOCK_RAW): ask for any, keep that type. */
	r = shim_resolve(node, service, hints ? hints->ai_family : AF_UNSPEC,
			 hints ? hints->ai_socktype : 0, hints ? hints->ai_flags : 0, &rep);
	if (r < 0)
		return r;
	return shim_build_ai(&rep, node, hints, res);
}

/*
 * gethostbyname*: the same brokered lookup (family's addresses, STREAM only
 * so each address comes once, AI_CANONNAME for h_name), laid out in buf as
 * glibc lays out a hostent: the addresses, then h_addr_list and an empty
 * h_aliases (getaddrinfo has no aliases), then the name. 0 or an errno
 * (ERANGE: buf too small); *herr the resolver's h_errno on failure.
 */
static int
shim_hostent(const char *name, int af, struct hostent *ret, char *buf, size_t buflen,
	     struct hostent **result, int *herr)
{
	struct ins_msg rep;
	size_t alen = af == AF_INET6 ? 16 : 4, n = 0, need, nlen;
	char **list;
	char *p;
	int r;

	*result = NULL;
	if (af != AF_INET && af != AF_INET6) {
		*herr = NETDB_INTERNAL;
		return EAFNOSUPPORT;
	}
	r = shim_resolve(name, NULL, af, SOCK_STREAM, AI_CANONNAME, &rep);
	if (r < 0) {
		*herr = r == EAI_AGAIN ? TRY_AGAIN : r == EAI_NONAME ? HOST_NOT_FOUND
		      : r == EAI_NODATA || r == EAI_ADDRFAMILY ? NO_DATA : NO_RECOVERY;
		return r == EAI_AGAIN ? EAGAIN : r == EAI_MEMORY ? ENOMEM : ENOENT;
	}
	for (size_t i = 0; i < rep.naddrs; i++)
		if (rep.addrs[i].family == (af == AF_INET ? INS_AF_INET : INS_AF_INET6))
			n++;
	if (n == 0) {
		*herr = HOST_NOT_FOUND;
		return ENOENT;
	}
	nlen = strlen(rep.has_ext && rep.canon[0] ? rep.canon : name) + 1;
	/* addresses, then pointers aligned, then the name */
	need = n * alen;
	need = (need + sizeof(char *) - 1) & ~(sizeof(char *) - 1);
	need += (n + 1 + 1) * sizeof(char *) + nlen;
	if (buflen < need + sizeof(char *)) {
		*herr = NETDB_INTERNAL;
		return ERANGE;
	}
	/* align buf itself */
	p = buf + ((sizeof(char *) - ((uintptr_t)buf % sizeof(char *))) % sizeof(char *));
	list = (char **)(void *)(p + ((n * alen + sizeof(char *) - 1) & ~(sizeof(char *) - 1)));
	n = 0;
	for (size_t i = 0; i < rep.naddrs; i++) {
		if (rep.addrs[i].family != (af == AF_INET ? INS_AF_INET : INS_AF_INET6))
			continue;
		memcpy(p + n * alen, rep.addrs[i].addr, alen);
		list[n] = p + n * alen;
		n++;
	}
	list[n] = NULL;
	list[n + 1] = NULL;	/* h_aliases: empty */
	memcpy((char *)&list[n + 2], rep.has_ext && rep.canon[0] ? rep.canon : name, nlen);
	ret->h_name = (char *)&list[n + 2];
	ret->h_aliases = &list[n + 1];
	ret->h_addrtype = af;
	ret->h_length = (int)alen;
	ret->h_addr_list = list;
	*result = ret;
	return 0;
}

SHIM_EXPORT int
gethostbyname2_r(const char *name, int af, struct hostent *ret, char *buf, size_t buflen,
		 struct hostent **result, int *h_errnop)
{
	if (shim_off() || !name || strlen(name) > INS_NAME_MAX)
		return SHIM_REAL(gethostbyname2_r, name, af, ret, buf, buflen, result, h_errnop);
	return shim_hostent(name, af, ret, buf, buflen, result, h_errnop);
}

SHIM_EXPORT int
gethostbyname_r(const char *name, struct hostent *ret, char *buf, size_t buflen,
		struct hostent **result, int *h_errnop)
{
	if (shim_off() || !name || strlen(name) > INS_NAME_MAX)
		return SHIM_REAL(gethostbyname_r, name, ret, buf, buflen, result, h_errnop);
	return shim_hostent(name, AF_INET, ret, buf, buflen, result, h_errnop);
}

/*
 * The non-reentrant forms: one result per thread, as glibc's is per process
 * (a per-thread one is at least as safe), overwritten by the next call.
 */
static __thread struct hostent shim_he;
static __thread char shim_he_buf[INS_RESOLVE_MAX * 16 + (INS_RESOLVE_MAX + 3) * sizeof(char *) +
				 INS_NAME_MAX + 1 + 16];

SHIM_EXPORT struct hostent *
gethostbyname2(const char *name, int af)
{
	struct hostent *res = NULL;
	int herr = 0;

	if (shim_off() || !name || strlen(name) > INS_NAME_MAX) {
		struct hostent *(*fn)(const char *, int);

		SHIM_FN(fn, gethostbyname2);
		return fn ? fn(name, af) : NULL;
	}
	if (shim_hostent(name, af, &shim_he, shim_he_buf, sizeof(shim_he_buf), &res, &herr) != 0)
		h_errno = herr;
	return res;
}

SHIM_EXPORT struct hostent *
gethostbyname(const char *name)
{
	struct hostent *res = NULL;
	int herr = 0;

	if (shim_off() || !name || strlen(name) > INS_NAME_MAX) {
		struct hostent *(*fn)(const char *);

		SHIM_FN(fn, gethostbyname);
		return fn ? fn(name) : NULL;
	}
	if (shim_hostent(name, AF_INET, &shim_he, shim_he_buf, sizeof(shim_he_buf), &res,
			 &herr) != 0)
		h_errno = herr;
	return res;
}
