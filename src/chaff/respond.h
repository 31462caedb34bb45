/*
 * respond: the decoys' network stack — ARP, ICMP echo, TCP and UDP — in
 * user space, every header field taken from the decoy's personality.
 *
 * respond_frame() takes one received Ethernet frame, decides whether a decoy
 * answers and how (see the persona probe classes), sends the answer through
 * the send hook, and reports the contact (who touched which decoy, how)
 * through the contact hook for alarms. Frames a real stack would drop (bad
 * checksums, malformed ARP) are dropped silently; IPv4 fragments are
 * reassembled (a few datagrams per decoy, 30 s). TCP handshakes are tracked
 * in a bounded conn table; data on an established connection is handed to
 * the service hooks, which never run anything; unacknowledged data and
 * SYN/ACKs are retransmitted with the personality's timers, and answers to
 * a peer a decoy does not know wait for its ARP resolution.
 */
#ifndef MOAT_CHAFF_RESPOND_H
#define MOAT_CHAFF_RESPOND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chaff/conn.h"
#include "chaff/decoy.h"
#include "chaff/emit.h"
#include "chaff/frame.h"
#include "chaff/persona.h"
#include "common/limits.h"

enum respond_contact_kind {
	CONTACT_ARP,		/* ARP request for a decoy */
	CONTACT_PING,		/* ICMP echo */
	CONTACT_SYN,		/* SYN (half-open or start of a connect) */
	CONTACT_CONNECT,	/* completed handshake */
	CONTACT_NULL,		/* no flags */
	CONTACT_FIN,		/* FIN alone */
	CONTACT_XMAS,		/* FIN+PSH+URG */
	CONTACT_ACK,		/* stray ACK (ACK scan) */
	CONTACT_OSPROBE,	/* one of nmap's OS detection probes */
	CONTACT_UDP,
	CONTACT_SERVICE,	/* data to a service */
	CONTACT_LOGIN,		/* credentials offered to a service */
	CONTACT_CONFLICT,	/* ARP from a decoy's address with another MAC */
	CONTACT_ND,		/* IPv6 neighbour solicitation for a decoy */
	CONTACT_ND_CONFLICT,	/* NA for a decoy's IPv6 address from another MAC */
	CONTACT_NKINDS
};

const char *respond_contact_name(enum respond_contact_kind k);

/* Whether a contact of this kind proves its source address: only a completed
 * TCP handshake (the peer acked our SYN/ACK's ISN, which it could only see
 * at that address) and what follows on that connection. ARP, ICMP, UDP and
 * single TCP segments can carry any source address. */
bool respond_contact_proven(enum respond_contact_kind k);

struct respond_contact {
	enum respond_contact_kind kind;
	uint32_t src, decoy;	/* host order */
	uint8_t src_mac[6];
	uint8_t proto;		/* 6, 17, 1, or 0 for ARP */
	uint16_t sport, dport;
	const char *detail;	/* e.g. request line; may be NULL */
	const char *user, *pass;	/* login attempts */
	/* IPv6 contacts: src is then a token in 0.0.0.0/8 (an identity for
	 * keying, never an address), decoy the decoy's IPv4 identity, and
	 * these the real addresses (decoy6: the address touched). */
	bool v6;
	uint8_t src6[16], decoy6[16];
};


/* A decoy group: the open ports of its decoys. */
struct respond_group {
	uint16_t tcp_ports[64];
	uint8_t n_tcp;
	uint16_t udp_ports[64];
	uint8_t n_udp;
};

struct respond_hooks {
	void (*send)(void *arg, const uint8_t *frame, size_t len);
	void (*contact)(void *arg, const struct respond_contact *c);
	/* Services: bytes to send when a connection is established / when data
	 * arrives (written to out, at most cap); *close asks to end it. Optional. */
	size_t (*svc_open)(void *arg, struct conn *c, const struct decoy *d, uint8_t *out, size_t cap);
	size_t (*svc_data)(void *arg, struct conn *c, const struct decoy *d, const uint8_t *data,
			   size_t len, uint8_t *out, size_t cap, bool *close);
	void (*svc_close)(void *arg, struct conn *c);
	/* A datagram to an open UDP port: the answer's payload (sent back from
	 * that port to the sender's), at most cap; 0 for none. Optional. */
	size_t (*udp_data)(void *arg, const struct decoy *d, uint32_t src, uint16_t sport,
			   uint16_t dport, const uint8_t *data, size_t len, uint8_t *out,
			   size_t cap);
	/* Every well-formed ARP frame no decoy answered (for claiming unused
	 * addresses). Optional. */
	void (*arp_other)(void *arg, const uint8_t src_mac[6], const struct frame_arp *arp);
	/* ARP (request or reply) whose sender is decoy d's address with another
	 * MAC: a real host holds it (a claimed address's owner came back); or,
	 * probe = true, an RFC 5227 probe (sender 0.0.0.0) for d's address: a
	 * host is about to take it. Returns true when it removed d from the
	 * table (the frame is then not answered). Optional. */
	bool (*arp_conflict)(void *arg, struct decoy *d, const uint8_t sha[6], bool probe);
	/* Decoy d gave up its IPv6 address addr to the host at mac: its DAD
	 * probe (dad) or its advertisement. For logging; optional. */
	void (*nd_released)(void *arg, const struct decoy *d, const uint8_t addr[16],
			    const uint8_t mac[6], bool dad);
	void *arg;
};

struct respond_stats {
	uint64_t frames, dropped_malformed, dropped_csum, not_ours, sent, icmp_limited;
	uint64_t vlan_refused;	/* tagged with an id not configured */
	uint64_t retransmits;	/* SYN/ACKs and data segments sent again */
	uint64_t rtx_dropped;	/* connections dropped after their last retransmission */
	uint64_t sndbuf_short;	/* data sent without a send buffer (pool empty) or cut at its size */
	uint64_t arp_requests;	/* ARP requests decoys sent for unknown peers */
	uint64_t held_dropped;	/* held frames dropped (pool full, or the decoy went away) */
	uint64_t reassembled;	/* IPv4 datagrams reassembled from fragments */
	uint64_t frag_dropped;	/* fragments of datagrams dropped (overlap, size, timeout, evicted) */
	uint64_t frag6_dropped;	/* IPv6 fragments (never reassembled) */
	uint64_t nd_released;	/* IPv6 addresses given up: a DAD probe or NA from another host */
	uint64_t mcast_echo_capped;	/* multicast echoes answered by the first decoys only */
};

/* A decoy's neighbour (ARP cache) entry: the MAC of a peer address as
 * that decoy learned it (from the peer's ARP request for it, or the reply
 * to its own request). While incomplete, mac is the MAC the peer's frame
 * came from (used if the peer never answers: it is behind a router). */
enum respond_neigh_state { NEIGH_FREE, NEIGH_INCOMPLETE, NEIGH_REACHABLE };

struct respond_neigh {
	uint32_t decoy, ip;
	uint8_t mac[6];
	uint8_t state;		/* enum respond_neigh_state */
	uint8_t probes;		/* ARP requests sent while incomplete */
	uint16_t vlan;
	uint64_t ns;		/* learned / last request sent */
};

/* An outgoing frame held until its neighbour is resolved. */
struct respond_held {
	int32_t neigh;		/* slot in the neighbour table, -1 = free */
	uint16_t len, vlan;
	uint8_t frame[EMIT_FRAME_MAX];
};

/* An IPv4 datagram being reassembled (respond.c). */
struct respond_frag {
	bool used;
	uint8_t proto, ihl;	/* ihl: 0 until the first fragment is in */
	uint16_t id;
	uint32_t src, dst;
	uint16_t len;		/* payload length once the last fragment is in, else 0 */
	uint16_t have;		/* payload bytes in */
	uint64_t first_ns;
	uint8_t mac_dst[6], mac_src[6];
	uint8_t hdr[60];	/* the first fragment's IP header */
	uint8_t got[(LIMIT_CHAFF_FRAG_BYTES / 8 + 8) / 8];	/* 8-byte blocks in */
	uint8_t data[LIMIT_CHAFF_FRAG_BYTES];
};

/* The addresses of an IPv6 connection (CONN_F_V6), by conn slot: calloc'd
 * pages that only IPv6 connections touch. */
struct respond_conn6 {
	uint8_t peer[16], self[16];
};

/* One pending retransmission: a min-heap entry (respond.c). */
struct respond_timer {
	uint64_t due;
	uint32_t slot;		/* index in the conn table */
};

struct respond {
	struct decoy_table *decoys;
	const struct persona *personas;
	size_t n_personas;
	const struct respond_group *groups;
	size_t n_groups;
	struct conn_table conns;
	struct respond_hooks hooks;
	struct respond_stats stats;
	uint64_t now_ns;	/* set by the caller before each frame */
	double icmp_tokens;	/* ICMP error budget (LIMIT_CHAFF_ICMP_ERR_*) */
	uint64_t icmp_last_ns;
	unsigned mtu;		/* the interface's MTU (0: 1500), for the MSS of SYN/ACKs */
	/* 802.1Q: tagged frames are answered only for these ids, tagged alike;
	 * rx_vlan is the tag the kernel took off the next frame (0: none). */
	const uint16_t *vlans;
	size_t n_vlans;
	uint16_t rx_vlan;
	uint16_t tx_vlan;	/* the tag of what is being answered (internal) */
	/* Retransmission: send buffers (LIMIT_CHAFF_SNDBUFS, a LIFO of free
	 * ones) and a min-heap of due times (stale entries skipped). */
	uint8_t *sndbufs;
	int32_t *sndbuf_free;
	uint32_t n_sndbufs, n_sndbuf_free;
	struct respond_timer *timers;
	uint32_t n_timers, cap_timers;
	int64_t wall_off_ns;	/* wall clock minus now_ns (ICMP timestamps); 0 in tests */
	/* ARP resolution before answering (as a kernel does): on when set
	 * (moat-chaff sets it; unit tests of other behaviour leave it off and
	 * answer the frame's source MAC). Tables of LIMIT_CHAFF_NEIGH
	 * entries (by address, and by MAC: a router that resolved the decoy)
	 * and LIMIT_CHAFF_ARP_PENDING held frames. */
	bool arp_resolve;
	struct respond_neigh *neigh;
	struct respond_neigh *neigh_mac;	/* (decoy, MAC) seen asking for the decoy */
	struct respond_held *held;
	uint32_t n_held;
	struct respond_frag *frags;	/* LIMIT_CHAFF_FRAGS */
	struct respond_conn6 *conn6;	/* per conn slot: an IPv6 connection's addresses */
};

int respond_init(struct respond *r, struct decoy_table *decoys, const struct persona *personas,
		 size_t n_personas, const struct respond_group *groups, size_t n_groups,
		 size_t max_conns, const struct respond_hooks *hooks);
void respond_free(struct respond *r);

/* Handle one frame. csum_unverified: the kernel never computed the L4
 * checksum (TP_STATUS_CSUMNOTREADY), so it must not be checked. */
void respond_frame(struct respond *r, const uint8_t *buf, size_t len, bool csum_unverified);

/* Send a gratuitous ARP (announce) for decoy d. */
void respond_announce(struct respond *r, struct decoy *d);

/* Send an address probe (RFC 5227: sender 0.0.0.0) for addr from mac: its
 * owner, if any, answers to mac (claim.h). */
void respond_arp_probe(struct respond *r, const uint8_t mac[6], uint32_t addr);

/* A contact reported by a service (keyed by its connection) on an IPv6
 * connection: fill in the addresses (nothing for an IPv4 one). */
void respond_contact_conn(struct respond *r, struct respond_contact *rc);

/* Drop idle connections (and their sessions). Connections with a
 * retransmission outstanding are left to their retransmission timer. */
void respond_expire(struct respond *r, uint64_t idle_ns);

/* When the next retransmission (or zero-window probe) is due, 0 for none:
 * the caller arms its timer for it, and none while nothing is outstanding. */
uint64_t respond_next_due(struct respond *r);
/* Retransmit what is due at r->now_ns; a connection whose retries are
 * exhausted (the personality's count) is dropped. */
void respond_timers(struct respond *r);

/* Send a FIN and forget the connection (its service session is closed). */
void respond_tcp_close(struct respond *r, struct conn *c);

/* Send data on an established connection (services answering later). It is
 * queued in the connection's send buffer (up to LIMIT_CHAFF_SNDBUF_BYTES;
 * more is cut and the connection closed after it), sent in segments of the
 * peer's MSS while its window allows, and retransmitted until acked. fin
 * closes our side after the data. */
void respond_tcp_send(struct respond *r, struct conn *c, const uint8_t *data, size_t len, bool fin);

#endif
