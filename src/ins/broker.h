/*
 * broker: the moat-ins daemon core — an event loop (common/evloop.h) serving
 * shim clients on a Unix control socket, creating sockets for them under
 * policy, and composing the listeners (lsn.h) and the observer (obs.h),
 * which know nothing of it: each gets the loop, policy, source table and
 * exporter it uses as pointers, and the observer reports through a callback.
 *
 * Everything runs on one thread and never blocks, except name resolution,
 * which runs on resolver threads (resolv.h) and comes back through the loop.
 * Periodic work runs on the loop's timers: hold deadlines (lsn), one
 * observer round per policy.observe_ms while there are listeners, and a
 * one-second housekeeping timer (source table sweep, IPFIX flush), so an
 * idle broker wakes once a second. A malformed message drops that client
 * only. All state hangs off struct broker, so tests can create and free as
 * many as they like.
 */
#ifndef MOAT_INS_BROKER_H
#define MOAT_INS_BROKER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/clock.h"
#include "common/limits.h"
#include "ins/lsn.h"
#include "ins/policy.h"
#include "ins/srctab.h"

struct broker_stats {
	uint64_t clients, sockets, binds, listens, refused;
	uint64_t resolves, admin_denies;
};

struct client;
struct evloop;
struct evloop_io;
struct evloop_timer;
struct obs;
struct insipfix;
struct resolv;

struct broker {
	struct evloop *loop;
	int ctl_fd;			/* listening control socket */
	char ctl_path[108];
	uid_t owner_uid;		/* without a clients policy: this uid or root ... */
	bool any_client;		/* ... or, in run mode, any user (broker_client_allowed) */
	struct policy pol;
	uint32_t sock_mark;		/* SO_MARK for every socket handed out; 0 = none (insnft.h) */
	struct clock clk;
	struct srctab src;
	struct lsn_set lsn;		/* the application's listeners */
	struct client *clients;		/* list of control clients */
	uint64_t next_client_id;
	struct resolv *resolv;		/* resolver threads, or NULL: resolve inline */
	struct evloop_io *resolv_io;
	unsigned nclients;
	struct obs *obs;		/* NULL when observation is off or unavailable */
	struct evloop_timer *obs_timer;	/* the next round; armed only while there are listeners */
	struct evloop_timer *second;	/* housekeeping: source sweep, IPFIX flush */
	struct insipfix *ipfix;		/* telemetry exporter, or NULL */
	uint32_t ipfix_flush_s;
	struct broker_stats st;
};

/*
 * Set up a broker listening on path (mode 0600; the directory should be
 * private). pol is copied. Returns 0 or a negative errno.
 */
int broker_init(struct broker *b, const char *path, const struct policy *pol);
/*
 * Start the resolver threads. Separate from broker_init() so a daemon can
 * drop privileges first (capabilities are per thread). Without it RESOLVE
 * is answered inline.
 */
int broker_start_threads(struct broker *b);

/*
 * The system calls moat-ins needs once confined, besides
 * sandbox_base_syscalls (common/sandbox.h): create, bind, mark, listen on and
 * accept sockets for applications and doorbell pairs; netlink for sock_diag
 * (SOCK_DESTROY) and for nftables on a policy reload; read the policy file
 * and what getaddrinfo reads (/etc/hosts, resolv.conf, nsswitch.conf); start
 * resolver threads; wait for and signal the command; remove its socket file
 * and directory at exit; capget/capset (CAP_NET_ADMIN off around a netlink
 * socket for a program: broker_netlink_route_socket). No exec, no ptrace, no mount or namespace changes,
 * no new executable memory. NULL-terminated.
 */
extern const char *const broker_sandbox_syscalls[];

/*
 * A NETLINK_ROUTE socket (type SOCK_RAW or SOCK_DGRAM, plus SOCK_NONBLOCK) in
 * our namespace for a program to read interfaces and addresses with. It is
 * created with CAP_NET_ADMIN out of this thread's effective set and the set is
 * restored before returning, on every path: the kernel checks rtnetlink
 * changes (RTM_NEWADDR, RTM_NEWROUTE, RTM_DELLINK, ...) against the opener's
 * credentials as well as the sender's (netlink_ns_capable), so even a root
 * program gets EPERM for them while dumps work. Close-on-exec.
 */
int broker_netlink_route_socket(int type, int *ret_fd);

/*
 * *ret_may: whether a process whose /proc/PID/status text (NUL-terminated) is
 * status holds or could regain CAP_NET_ADMIN (in its inheritable, permitted
 * or bounding set). Only such a client is refused our NETLINK_ROUTE socket:
 * the kernel does not check the opener's credentials for a message sent with
 * an explicit address (sendto/sendmsg to the kernel, as ip(8), libnl and
 * dnsmasq do), so the sender's own CAP_NET_ADMIN would be enough to change our
 * namespace. -EINVAL when a set is missing or malformed.
 */
int broker_status_may_net_admin(const char *status, bool *ret_may);

/*
 * An AF_INET/AF_INET6 socket for a program, as SOCKET makes one (type with
 * SOCK_NONBLOCK if asked; close-on-exec; our mark): for callers that checked
 * the policy (policy_check_socket) and the protocol. 0 or a negative errno.
 */
int broker_inet_socket(struct broker *b, int af, int type, int protocol, int *ret_fd);

/* Close everything (listeners, held connections, clients) and remove the socket file. */
void broker_free(struct broker *b);

/* Log the counters (at exit, and on demand). */
void broker_log_stats(const struct broker *b);

/* Run the loop until broker_stop() or a fatal error. Returns 0 or a negative errno. */
int broker_run(struct broker *b);
/* Make broker_run() return after the current iteration (from a callback of its loop). */
void broker_stop(struct broker *b);
/* One loop iteration waiting at most timeout_ms (evloop_run_once); for tests. */
int broker_poll(struct broker *b, int timeout_ms);

/* The broker's loop, for its owner's own descriptors, timers and signals. */
struct evloop *broker_loop(struct broker *b);

/* Export telemetry to an IPFIX collector at dest ("ADDR:PORT"); the broker owns it. */
int broker_set_ipfix(struct broker *b, const char *dest);

/* Monotonic milliseconds of the broker's clock. */
uint64_t broker_now_ms(const struct broker *b);

#endif
