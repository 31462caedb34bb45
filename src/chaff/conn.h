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

/* CONN_FIN_WAIT: we sent our FIN first and wait for theirs; CONN_LAST_ACK:
 * they closed, we answered with our FIN and wait for its ACK. Both keep the
 * entry so the last segments of a normal close are not taken for scans. */
enum conn_state { CONN_FREE, CONN_SYN_RCVD, CONN_ESTABLISHED, CONN_FIN_WAIT, CONN_LAST_ACK };

struct conn {
	uint32_t saddr, daddr;
	uint16_t sport, dport;
	uint8_t state;		/* enum conn_state */
	uint8_t service;	/* service kind index, set by the service layer */
	uint16_t win;		/* our advertised window */
	uint8_t peer_mac[6];	/* where our segments go */
	uint32_t snd_nxt;	/* next sequence number we send */
	uint32_t rcv_nxt;	/* next sequence number we expect */
	uint32_t bytes_in;
	int32_t session;	/* service session slot, -1 for none */
	uint16_t vlan;		/* 802.1Q id the connection arrived with, 0 = none */
	uint64_t start_ns, last_ns;
};

struct conn_table {
	struct conn *v;
	uint32_t mask;
	uint64_t seed;
	size_t used;
};

/* A table of at least `want` slots (rounded up to a power of two). */
int conn_table_init(struct conn_table *t, size_t want, uint64_t seed);
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
