/*
 * decode: L2-L4 decoding of one captured or sampled packet into a flow_rec
 * (addresses, protocol, ports, TCP flags, fragment flags, layer-3 length).
 *
 * Handles Ethernet with up to LIMIT_COLLECT_VLAN_TAGS 802.1Q/802.1ad tags,
 * Linux cooked capture (SLL, SLL2), raw IP, IPv4 with options and fragments
 * (only the first fragment has ports), IPv6 with up to
 * LIMIT_COLLECT_IPV6_EXTHDRS extension headers including the fragment header,
 * TCP, UDP, SCTP (ports), ICMP and ICMPv6 (dport = type << 8 | code).
 * A packet cut short inside its L4 header (snap length, sFlow header
 * sampling) still counts, with ports 0. Nothing is allocated.
 */
#ifndef MOAT_DECODE_H
#define MOAT_DECODE_H

#include "collect/flowrec.h"
#include "common/cursor.h"

enum decode_link {
	DECODE_ETHER,		/* DLT_EN10MB, sFlow header protocol 1 */
	DECODE_RAW,		/* IPv4 or IPv6 by the version nibble */
	DECODE_SLL,		/* DLT_LINUX_SLL */
	DECODE_SLL2,		/* DLT_LINUX_SLL2 */
};

/*
 * Decode the packet in c (consumed) into *r: zeroes *r, then fills src, dst,
 * proto, ports, tcp_flags, flags (FLOWREC_PACKET and fragment bits), bytes
 * (the IP header's length; the captured length when that is 0, as for
 * segmentation offload), packets = 1 and syns (SYN without ACK).
 * Returns 0, -ENOENT when the frame is not IP (ARP, LLDP...), -EINVAL when
 * the IP header is malformed or cut short.
 */
int decode_packet(struct cursor *c, enum decode_link link, struct flow_rec *r);

#endif
