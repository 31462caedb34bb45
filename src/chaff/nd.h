/*
 * nd: IPv6 neighbour discovery and ICMPv6 for the decoys — the frame
 * builders (Ethernet + IPv6 with the upper-layer checksum over the
 * pseudo-header, Neighbor Solicitation/Advertisement, echo reply,
 * destination unreachable), the parser of NS/NA bodies (through the
 * cursor, options bounded by the ICMPv6 length), multicast address
 * helpers, and which interface identifier each personality uses.
 *
 * Builders write into a caller's buffer of cap bytes and return the
 * length, 0 when it does not fit. Nothing allocates or logs.
 */
#ifndef MOAT_CHAFF_ND_H
#define MOAT_CHAFF_ND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chaff/decoy.h"
#include "chaff/frame.h"
#include "chaff/persona.h"

#define ND_NS		135
#define ND_NA		136
#define ND_ECHO_REQ	128
#define ND_ECHO_REP	129
#define ND_UNREACH	1
#define ND_HLIM		255	/* every ND message (RFC 4861 7.1) */

#define ND_NA_ROUTER	0x80
#define ND_NA_SOLICITED	0x40
#define ND_NA_OVERRIDE	0x20

extern const uint8_t nd_all_nodes[16];	/* ff02::1 */

/* Ethernet + IPv6 around l4[0..len); the TCP, UDP or ICMPv6 checksum is
 * filled in (next 6, 17, 58). hlim: the hop limit. */
size_t nd_emit6(uint8_t *buf, size_t cap, const uint8_t eth_dst[6], const uint8_t eth_src[6],
		const uint8_t src[16], const uint8_t dst[16], uint8_t hlim, uint8_t tc,
		uint8_t next, const uint8_t *l4, size_t len);

/* ICMPv6 bodies (checksum left 0 for nd_emit6). mac: the link-layer
 * address option (target for NA, source for NS), NULL for none. */
size_t nd_build_na(uint8_t *buf, size_t cap, const uint8_t target[16], uint8_t flags,
		   const uint8_t *mac);
size_t nd_build_ns(uint8_t *buf, size_t cap, const uint8_t target[16], const uint8_t *mac);

/* An NS or NA as the frame carries it: the target and the link-layer
 * address option (source for NS, target for NA). */
struct nd_msg {
	uint8_t type;
	uint8_t flags;		/* NA: R/S/O */
	uint8_t target[16];
	bool has_lla;
	uint8_t lla[6];
};

/* Parse an NS/NA frame (f->kind FRAME_ICMP, v6) as RFC 4861 7.1.1/7.1.2
 * validates it: hop limit 255, code 0, at least 24 bytes, no multicast
 * target, options of nonzero length within the message; an NS from ::
 * must go to a solicited-node group and carry no source link-layer
 * address. -EINVAL for what a host silently discards. */
int nd_parse(const struct frame *f, struct nd_msg *ret);

/* ff02::1:ffXX:XXXX for addr, and the Ethernet group of an IPv6 group. */
void nd_solicited_node(const uint8_t addr[16], uint8_t ret[16]);
void nd_mcast_mac(const uint8_t group[16], uint8_t ret_mac[6]);
bool nd_is_mcast(const uint8_t a[16]);
bool nd_is_unspecified(const uint8_t a[16]);
bool nd_is_link_local(const uint8_t a[16]);

/* The interface identifier a personality's OS gives its SLAAC addresses
 * (docs/chaff.md, "IPv6"): stable opaque ones for Windows (randomized
 * since Vista), macOS (RFC 7217 since 10.12), OpenBSD (since 6.2) and
 * Linux 4.15 on (NetworkManager's stable-privacy); the EUI-64 of the MAC
 * for older Linux, FreeBSD and devices (routers, printers, cameras). */
enum decoy_iid nd_iid_for(const struct persona *p);

/* Whether the OS answers an echo request sent to a multicast group
 * (ping ff02::1): Linux, the BSDs, macOS and devices do, Windows does not. */
bool nd_answers_mcast_echo(const struct persona *p);

#endif
