/*
 * l2: the AF_PACKET socket moat-chaff owns on its interface.
 *
 * One raw socket (ETH_P_ALL) bound to the interface, non-blocking and
 * close-on-exec, in promiscuous mode so frames for the decoys' MACs arrive,
 * ignoring our own outgoing frames, with PACKET_AUXDATA so each received
 * frame says whether the kernel ever computed its L4 checksum (on veth and
 * other offloading paths it may not have: TP_STATUS_CSUMNOTREADY).
 */
#ifndef MOAT_CHAFF_L2_H
#define MOAT_CHAFF_L2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct l2 {
	int fd;
	int ifindex;
	unsigned mtu;		/* the interface's MTU when opened */
	uint64_t rx, tx, tx_errors;
};

/* Open and configure the socket; needs CAP_NET_RAW. Negative errno on failure. */
int l2_open(const char *ifname, struct l2 *ret);
void l2_close(struct l2 *l);

/* Receive one frame: 0 and its length, -EAGAIN when none is queued.
 * *ret_vlan is the 802.1Q id the kernel took off the frame (0: none). */
int l2_recv(struct l2 *l, uint8_t *buf, size_t cap, size_t *ret_len, bool *ret_csum_unverified,
	    uint16_t *ret_vlan);
/* The socket's pending error (negative errno; 0 if none), cleared by
 * reading it: -ENETDOWN when the interface went down. The socket stays
 * bound to the interface and receives again when it comes back up. */
int l2_error(struct l2 *l);
/* 0 when an interface of that name exists, -ENODEV otherwise. */
int l2_check(const char *ifname);
/* Send one frame; -EAGAIN when the socket buffer is full (the frame is dropped). */
int l2_send(struct l2 *l, const uint8_t *frame, size_t len);
/* Kernel drop counter since the last call (PACKET_STATISTICS). */
uint64_t l2_drops(struct l2 *l);

#endif
