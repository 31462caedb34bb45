/*
 * conn: the bounded table of TCP connections decoys hold (handshakes and
 * service sessions).
 *
 * Open addressing over a power-of-two array sized once at start; a key is
 * (source address, source port, decoy address, decoy port). When the probe
 * window for a new key is full, the oldest entry in it is recycled, so a SYN
 * flood costs CPU, never memory, and old half-open entries go first.
 */
#ifndef MOAT_CHAFF_CONN_H
#define MOAT_CHAFF_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/hash.h"

/* CONN_FIN_WAIT: we sent our FIN first and wait for theirs; CONN_LAST_ACK:
 * they closed, we answered with our FIN and wait for its ACK. Both keep the
 * entry so the last segments of a normal close are not taken for scans. */
enum conn_state { CONN_FREE, CONN_SYN_RCVD, CONN_ESTABLISHED, CONN_FIN_WAIT, CONN_LAST_ACK };

/* conn.flags: what the peer's SYN offered (to rebuild our SYN/ACK for its
 * retransmission), what was negotiated, and where our close stands. */
#define CONN_F_PEER_WS		0x01u
#define CONN_F_PEER_SACK	0x02u
#define CONN_F_PEER_TS		0x04u
#define CONN_F_PROBE		0x08u	/* the SYN was one of nmap's probes: its row's options */
#define CONN_F_TS		0x10u	/* timestamps negotiated: on every segment */
#define CONN_F_FIN_QUEUED	0x20u	/* send a FIN after the queued data */
#define CONN_F_FIN_SENT		0x40u
#define CONN_F_V6		0x80u	/* over IPv6: the addresses are in respond.c's conn6 */

struct conn {
	uint32_t saddr, daddr;
	uint16_t sport, dport;
	uint8_t state;		/* enum conn_state */
	uint8_t service;	/* service kind index, set by the service layer */
	uint16_t win;		/* our advertised window */
	uint8_t peer_mac[6];	/* where our segments go */
	uint16_t vlan;		/* 802.1Q id the connection arrived with, 0 = none */
	uint32_t snd_una;	/* oldest sequence number not yet acknowledged */
	uint32_t snd_nxt;	/* next sequence number we send */
	uint32_t rcv_nxt;	/* next sequence number we expect */
	uint32_t snd_wnd;	/* the peer's window, scaled */
	uint32_t ts_recent;	/* the peer's last TSval: our TSecr */
	uint32_t ts_off;	/* added to the decoy's clock for our TSval */
	uint32_t bytes_in;
	int32_t session;	/* service session slot, -1 for none */
	int32_t sndbuf;		/* send buffer slot (respond.c), -1 for none */
	uint16_t snd_len;	/* bytes queued from snd_una (sent or not) */
	uint16_t peer_mss;	/* the MSS the peer's SYN offered, 0 for none */
	uint16_t rto_ms;	/* current retransmission timeout, before backoff */
	uint8_t snd_ws;		/* the peer's window scale, 0 when not negotiated */
	uint8_t flags;		/* CONN_F_* */
	uint8_t syn_row;	/* persona row our SYN/ACK answered (enum persona_probe) */
	uint8_t syn_extra;	/* ECN flags of our SYN/ACK */
	uint8_t rtx_count;	/* retransmissions of what is outstanding */
	uint16_t ip_id;		/* per-connection IP ID counter (persona ipid_per_conn) */
	uint64_t rtx_due;	/* when to retransmit or probe; 0: nothing outstanding */
	uint64_t start_ns, last_ns;
};
/* IPv6 connections (CONN_F_V6): saddr is a token in 0.0.0.0/8 (respond.c:
 * a hash of both addresses; no IPv4 source is there) and daddr the decoy's
 * IPv4 identity, so the table and the services key them as any other; the
 * addresses themselves sit in a side array by slot (respond.c), so IPv4
 * connections never touch their pages. */

struct conn_table {
	struct conn *v;
	uint32_t mask;
	struct hash_key key;	/* slots are keyed: a scanner cannot aim its keys at one window */
	size_t used;
};

/* A table of at least `want` slots (rounded up to a power of two), hashed
   with key (hash_key_init() at start; fixed in tests). */
int conn_table_init(struct conn_table *t, size_t want, const struct hash_key *key);
void conn_table_free(struct conn_table *t);

struct conn *conn_find(struct conn_table *t, uint32_t saddr, uint16_t sport,
		       uint32_t daddr, uint16_t dport);
/* A fresh entry for the key (an existing one is reset); *ret_evicted gets a
 * copy of the entry that was recycled, if any, so its session can be freed. */
struct conn *conn_add(struct conn_table *t, uint32_t saddr, uint16_t sport,
		      uint32_t daddr, uint16_t dport, uint64_t now_ns,
		      struct conn *ret_evicted, bool *ret_did_evict);
void conn_del(struct conn_table *t, struct conn *c);
/* Remove entries idle longer than idle_ns; calls fn for each (may be NULL). */
void conn_expire(struct conn_table *t, uint64_t now_ns, uint64_t idle_ns,
		 void (*fn)(void *arg, struct conn *c), void *arg);

#endif
