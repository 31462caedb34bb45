/*
 * diag: observe every TCP connection of this network namespace through
 * sock_diag (NETLINK_SOCK_DIAG, inet_diag with INET_DIAG_INFO = struct
 * tcp_info) in one dump per family, and destroy one (SOCK_DESTROY, what
 * `ss -K` does; needs CONFIG_INET_DIAG_DESTROY and CAP_NET_ADMIN).
 *
 * Kernel replies are parsed through the cursor like any other wire input:
 * every netlink and attribute length is checked before use. Library-style:
 * returns negative errno values, never logs.
 */
#ifndef MOAT_INS_DIAG_H
#define MOAT_INS_DIAG_H

#include <linux/inet_diag.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/insproto.h"

/* What moat-ins uses of one socket's kernel state. */
struct diag_sock {
	struct inet_diag_sockid id;	/* as the kernel gave it, for SOCK_DESTROY */
	uint8_t family;			/* AF_INET / AF_INET6 */
	uint8_t state;			/* TCP_ESTABLISHED, ... */
	uint64_t cookie;
	uint32_t inode;
	struct ins_addr local, peer;
	uint32_t rqueue, wqueue;
	bool has_info;			/* the fields below are valid */
	uint64_t bytes_received, bytes_acked;
	uint32_t last_data_recv_ms, last_data_sent_ms;
	uint32_t rtt_us, retrans, snd_wnd, rcv_wnd;
	uint8_t probes;
	uint32_t segs_in;
};

/* True once the peer has sent its FIN (CLOSE_WAIT, LAST_ACK, CLOSING, TIME_WAIT). */
bool diag_peer_closed(const struct diag_sock *s);

/* True once our FIN has been acknowledged (FIN_WAIT2, TIME_WAIT): it is in bytes_acked. */
bool diag_fin_acked(const struct diag_sock *s);

/* True when the connection is over (TCP CLOSE: reset, destroyed or done) but
   its socket not yet freed. Nothing to judge any more. */
bool diag_gone(const struct diag_sock *s);

struct diag;

typedef void (*diag_fn)(void *arg, const struct diag_sock *s);

/* Open a sock_diag netlink socket (CLOEXEC, NONBLOCK). */
int diag_open(struct diag **ret);
void diag_close(struct diag *d);

/*
 * Dump the TCP sockets of one family (AF_INET or AF_INET6) in every state but
 * LISTEN and TIME_WAIT (CLOSE included: see diag_gone), calling fn for each; at most max sockets. Returns how
 * many were seen or a negative errno.
 */
int diag_dump(struct diag *d, int family, size_t max, diag_fn fn, void *arg);

/*
 * Dump the LISTEN TCP sockets of one family (no tcp_info: has_info false),
 * calling fn for each; at most max. Returns how many or a negative errno.
 */
int diag_dump_listeners(struct diag *d, int family, size_t max, diag_fn fn, void *arg);

/*
 * Open a socket subscribed to the kernel's TCP destroy broadcasts
 * (SKNLGRP_INET_TCP_DESTROY and the IPv6 one; needs CAP_NET_ADMIN): one
 * message with final TCP_INFO for every TCP socket of the namespace as it
 * goes away (bound, so that the kernel's multicast reaches it; an 8 MiB
 * receive buffer). diag_fd() is then readable when events wait.
 */
int diag_open_events(struct diag **ret);
int diag_fd(const struct diag *d);
/* Read every waiting event, calling fn per socket. Returns how many, or a negative errno. */
int diag_read_events(struct diag *d, size_t max, diag_fn fn, void *arg);

/* Destroy a socket by its identity from a dump. Returns 0 or a negative errno. */
int diag_destroy(struct diag *d, const struct diag_sock *s);

/*
 * Parse one SOCK_DIAG_BY_FAMILY payload (inet_diag_msg and its attributes,
 * without the netlink header). Returns 0 or -EPROTO. Exposed for the fuzzer.
 */
int diag_parse_msg(const void *buf, size_t len, struct diag_sock *ret);

/*
 * Parse a buffer of netlink messages from a dump, calling fn per socket.
 * Returns 1 when NLMSG_DONE was seen, 0 when more is expected, or a negative
 * errno (-EPROTO for a malformed message, the kernel's error for NLMSG_ERROR).
 */
int diag_parse_batch(const void *buf, size_t len, size_t max, size_t *count, diag_fn fn,
		     void *arg);

#endif
