/*
 * policy: what moat-ins allows a protected application to do, and how it
 * treats incoming connections before handoff.
 *
 * A policy is a plain value: policy_default() gives the built-in one, a YAML
 * file may override parts of it (policy_load), and the broker only ever asks
 * the check functions. Checks return 0 or a negative errno the shim hands to
 * the application (EACCES for a refused socket/bind, ENETUNREACH for a
 * refused destination) so a refusal looks like an ordinary network error.
 */
#ifndef MOAT_INS_POLICY_H
#define MOAT_INS_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ins/srctab.h"
#include "proto/insproto.h"

/* Destination prefixes a policy may list for connect. */
#define POLICY_MAX_PREFIXES 64
/*
 * SO_MARK moat-ins puts on every socket it hands out, so that its nftables
 * rules (insnft.h) can enforce the connect policy on them whatever the
 * application does with the socket. Without connect.mark each moat-ins takes
 * the first mark of POLICY_MARK_BASE + 0..POLICY_MARK_COUNT-1 that no live
 * moat-ins holds in its network namespace (insnft_mark_claim), so that
 * several of them never share a mark. "MI" in the high half and the index in
 * the low byte: far from the small values and single low bits that policy
 * routing and firewalls (wg-quick, kube-proxy, Cilium, Istio) use, and
 * matched only exactly.
 */
#define POLICY_MARK_BASE 0x4d490000u
#define POLICY_MARK_COUNT 256u

enum policy_hold {
	POLICY_HOLD_NONE,	/* hand every connection over at once */
	POLICY_HOLD_DATA,	/* until the first bytes arrive */
	POLICY_HOLD_HTTP,	/* until the request headers are complete */
};

struct policy_prefix {
	uint8_t family;		/* INS_AF_INET or INS_AF_INET6 */
	uint8_t len;		/* bits */
	uint8_t addr[16];
};

/* Users or groups a policy may list (clients, privileged binds). */
#define POLICY_MAX_IDS 32
/* Ports below this need uid 0 or bind.privileged_users, as in the kernel. */
#define POLICY_PRIV_PORT 1024

struct policy_ids {
	unsigned n;
	uint32_t id[POLICY_MAX_IDS];
};

/* Per-listener overrides a policy may list (listeners:). */
#define POLICY_MAX_LISTENERS 64
/* Prefix lengths per family sources are counted at (sources:). */
#define POLICY_MAX_SRC_LEVELS SRCTAB_PREFIXES

struct policy_listener {
	uint16_t port;			/* the listener's local port */
	enum policy_hold hold;
};

struct policy {
	bool allow_udp;
	uint16_t bind_port_min, bind_port_max;
	/*
	 * Who may use the broker, by the client's SO_PEERCRED: uid 0, and the
	 * listed users or primary groups. clients_set false: the broker's own
	 * default (moat-ins: any user in run mode, its own uid in --socket mode).
	 */
	bool clients_set;
	struct policy_ids client_uids, client_gids;
	struct policy_ids priv_uids;	/* may bind ports < POLICY_PRIV_PORT besides uid 0 */
	/* Empty list: any destination. */
	unsigned nconnect;
	struct policy_prefix connect_allow[POLICY_MAX_PREFIXES];
	uint32_t mark;			/* SO_MARK of handed-out sockets; 0 = no kernel enforcement */
	bool mark_auto;			/* connect.mark not set: mark is picked at start */
	/* Connections before handoff. */
	enum policy_hold hold;
	uint32_t hold_timeout_ms;	/* drop a held connection after this */
	uint32_t max_held_per_source;	/* held at once from one address */
	uint32_t max_conns_per_source;	/* open (held or handed over) from one address; 0 = no cap */
	uint32_t deny_after_drops;	/* slow drops from one address before it is denied */
	uint32_t deny_seconds;		/* how long a denied address stays denied */
	/* Observation and slow-connection shedding of handed-off connections. */
	uint32_t observe_ms;		/* sock_diag interval; 0 = off */
	uint32_t idle_timeout_s;	/* destroy connections without data for this long; 0 = off */
	uint32_t slow_grace_ms;		/* no slow verdict on a connection younger than this */
	uint32_t slow_window_ms;	/* rate measurement window */
	uint32_t min_rate;		/* bytes/s below which a one-way trickle is slow; 0 = off */
	uint32_t read_pause_ms;		/* a reader may stall this long mid-download; 0 = never */
	uint32_t read_pause_min_bytes;	/* once it has taken this much */
	/*
	 * Per-source accounting: an address counts at each of these prefix
	 * lengths (finest first), and caps and denies apply at every level, so
	 * rotating addresses within a prefix is one source. Default IPv4 /32,
	 * /24 and IPv6 /64, /48.
	 */
	unsigned nsrc4, nsrc6;
	uint8_t src4_len[POLICY_MAX_SRC_LEVELS], src6_len[POLICY_MAX_SRC_LEVELS];
	/* Listeners with a hold mode of their own (by port); others use `hold`. */
	unsigned nlisteners;
	struct policy_listener listeners[POLICY_MAX_LISTENERS];
};

/* The prefix lengths sources are counted at, for srctab_lookup (points into p). */
struct srctab_prefixes policy_src_prefixes(const struct policy *p);

/* The hold mode of a listener on port: its listeners: entry, else p->hold. */
enum policy_hold policy_hold_for(const struct policy *p, uint16_t port);

/* The built-in policy: TCP+UDP, any port, any destination, no hold. */
void policy_default(struct policy *p);

/* "none", "data", "http". */
int policy_hold_parse(const char *s, enum policy_hold *ret);
const char *policy_hold_name(enum policy_hold h);

/* Parse "ADDR/LEN" (or a bare address) into a prefix; host bits must be zero. */
int policy_prefix_parse(const char *s, struct policy_prefix *ret);

/*
 * Load a YAML policy file over the defaults in *p. On error *p is unchanged
 * and err holds "FILE:LINE:COL: what is wrong".
 */
struct cfg_error;
int policy_load(const char *path, struct policy *p, struct cfg_error *err);
/* The same from len bytes at buf (name is the FILE in messages): the fuzz entry. */
int policy_load_buffer(const char *name, const char *buf, size_t len, struct policy *p,
		       struct cfg_error *err);

int policy_check_socket(const struct policy *p, uint8_t family, uint8_t socktype);
/* uid is the requesting client's (SO_PEERCRED): privileged ports need 0 or priv_uids. */
int policy_check_bind(const struct policy *p, const struct ins_addr *a, uint32_t uid);
/* 0 if a client of this uid/gid is listed (or uid 0); -EACCES if the policy lists others. */
int policy_check_client(const struct policy *p, uint32_t uid, uint32_t gid);
int policy_check_connect(const struct policy *p, uint8_t socktype, const struct ins_addr *a);

#endif
