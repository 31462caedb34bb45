/*
 * broker: the moat-ins daemon core — an epoll loop serving shim clients on a
 * Unix control socket, creating sockets for them under policy, and owning
 * their listeners (lsn.h).
 *
 * Everything runs on one thread and never blocks, except name resolution,
 * which runs on resolver threads (resolv.h) and comes back through the loop. A malformed message drops that client
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
#include "ins/policy.h"
#include "ins/srctab.h"

struct broker;

/* An epoll registration: fn runs with the ready events. */
struct bk_ev {
	int fd;
	void (*fn)(struct broker *b, struct bk_ev *ev, uint32_t events);
};

struct broker_stats {
	uint64_t clients, sockets, binds, listens, refused;
	uint64_t accepted, handed, held, held_dropped, denied_drops, capped_drops, pending_drops;
	uint64_t resolves, admin_denies;
};

struct lsn;
struct client;
struct obs;
struct insipfix;
struct resolv;

struct broker {
	int epfd;
	struct bk_ev ctl;		/* listening control socket */
	char ctl_path[108];
	uid_t owner_uid;		/* without a clients policy: this uid or root ... */
	bool any_client;		/* ... or, in run mode, any user (broker_client_allowed) */
	struct policy pol;
	uint32_t sock_mark;		/* SO_MARK for every socket handed out; 0 = none (insnft.h) */
	struct clock clk;
	struct srctab src;
	struct lsn *lsns;		/* list of listeners */
	unsigned nlsn;
	struct client *clients;		/* list of control clients */
	uint64_t next_client_id;
	struct resolv *resolv;		/* resolver threads, or NULL: resolve inline */
	struct bk_ev resolv_ev;
	unsigned nclients;
	unsigned nheld;
	uint64_t next_conn_id;
	uint64_t last_sweep_ms;
	struct obs *obs;		/* NULL when observation is off or unavailable */
	struct bk_ev obs_ev;		/* its destroy-event subscription */
	uint64_t last_obs_ms;
	struct insipfix *ipfix;		/* telemetry exporter, or NULL */
	uint32_t ipfix_flush_s;
	bool stop;
	struct broker_stats st;
	uint8_t peek[LIMIT_INS_PEEK];	/* scratch for MSG_PEEK on held connections */
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

/* Close everything (listeners, held connections, clients) and remove the socket file. */
void broker_free(struct broker *b);

/* Log the counters (at exit, and on demand). */
void broker_log_stats(const struct broker *b);

/* Run the loop until broker_stop() or a fatal error. Returns 0 or a negative errno. */
int broker_run(struct broker *b);
void broker_stop(struct broker *b);
/* One loop iteration waiting at most timeout_ms; for tests and the loop itself. */
int broker_poll(struct broker *b, int timeout_ms);

/* Register/modify/remove an fd with the loop. */
int broker_ev_add(struct broker *b, struct bk_ev *ev, uint32_t events);
int broker_ev_mod(struct broker *b, struct bk_ev *ev, uint32_t events);
void broker_ev_del(struct broker *b, struct bk_ev *ev);

/* Export telemetry to an IPFIX collector at dest ("ADDR:PORT"); the broker owns it. */
int broker_set_ipfix(struct broker *b, const char *dest);

/*
 * Report a connection dropped before handoff (event: an enum insie_event
 * such as INSIE_HOLD_TIMEOUT); held_ms is how long it was held.
 */
void broker_report_drop(struct broker *b, uint8_t event, const struct ins_addr *peer,
			const struct ins_addr *local, uint64_t conn_id, uint64_t held_ms);

/* Monotonic milliseconds of the broker's clock. */
uint64_t broker_now_ms(const struct broker *b);

#endif
