/*
 * frame: the decoder for every frame the decoy network receives.
 *
 * frame_parse() reads an Ethernet frame (optionally one 802.1Q tag) through
 * the bounds-checked cursor and fills a struct frame with what the responder
 * needs: the ARP fields, or the IPv4 header and its TCP, UDP or ICMP header.
 * Pointers in the result point into the caller's buffer and live as long as
 * it does. Nothing allocates or logs.
 *
 * What a real stack would drop is rejected here with -EINVAL, so the decoys
 * behave like real hosts towards malformed input: ARP that is not Ethernet/
 * IPv4 with 6/4 address lengths, IPv4 with a bad version, header length,
 * total length or header checksum, and L4 headers shorter than their minimum
 * or with a data offset past the segment. Fragments are reported as
 * FRAME_IP_FRAG (the responder reassembles those, bounded). L4 checksums are verified by
 * frame_l4_csum_ok(), which the caller skips when the kernel says the
 * checksum was never computed (veth, PACKET_AUXDATA).
 *
 * IPv6 (v6 set): the fixed header, then a bounded chain of extension
 * headers (at most LIMIT_CHAFF_IP6_EXTHDRS; hop-by-hop only first, as RFC
 * 8200 says, else FRAME_IP6_BADHDR; a routing header with segments left is dropped as Linux
 * drops RH0), and the upper layer in ip.proto/ip.l4 as for IPv4 (ICMPv6 is
 * FRAME_ICMP with proto 58). Fragments are FRAME_IP_FRAG with v6 set: the
 * responder drops them (no IPv6 reassembly; nothing a decoy answers needs
 * more than one frame). A payload length past the frame is -EINVAL.
 */
#ifndef MOAT_CHAFF_FRAME_H
#define MOAT_CHAFF_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FRAME_ETH_ARP	0x0806
#define FRAME_ETH_IPV4	0x0800
#define FRAME_ETH_VLAN	0x8100
#define FRAME_ETH_IPV6	0x86dd
#define FRAME_IPPROTO_ICMP6	58

#define FRAME_TCP_FIN	0x01
#define FRAME_TCP_SYN	0x02
#define FRAME_TCP_RST	0x04
#define FRAME_TCP_PSH	0x08
#define FRAME_TCP_ACK	0x10
#define FRAME_TCP_URG	0x20
#define FRAME_TCP_ECE	0x40
#define FRAME_TCP_CWR	0x80

enum frame_kind {
	FRAME_OTHER,	/* valid Ethernet, nothing a decoy answers */
	FRAME_ARP,
	FRAME_IP_FRAG,	/* IPv4 fragment: reassembled by respond.c */
	FRAME_IP_OTHER,	/* IPv4 with a protocol decoys do not speak */
	FRAME_TCP,
	FRAME_UDP,
	FRAME_ICMP,
	FRAME_IP6_BADHDR,	/* IPv6 with hop-by-hop options not first: a host answers
				 * with a parameter problem (ip6.pp_ptr) */
};

struct frame_arp {
	uint16_t op;
	uint8_t sha[6];
	uint32_t spa;		/* host order */
	uint8_t tha[6];
	uint32_t tpa;		/* host order */
};

struct frame_ip {
	uint8_t ihl;		/* header length in bytes */
	uint8_t tos;
	uint16_t total_len;
	uint16_t id;
	uint16_t frag;		/* flags + offset as on the wire */
	uint8_t ttl;
	uint8_t proto;
	uint32_t src, dst;	/* host order */
	const uint8_t *hdr;	/* the IPv4 header (ihl bytes) */
	const uint8_t *l4;	/* the IPv4 payload (total_len - ihl bytes) */
	size_t l4_len;
};

struct frame_ip6 {
	uint8_t src[16], dst[16];
	uint8_t tc;		/* traffic class */
	uint8_t hlim;		/* hop limit (also in ip.ttl) */
	uint16_t plen;		/* payload length, extension headers included */
	uint8_t n_ext;		/* extension headers walked */
	uint16_t pp_ptr;	/* FRAME_IP6_BADHDR: offset of the offending Next Header field */
};

struct frame_tcp {
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t doff;		/* header length in bytes */
	uint8_t reserved;	/* the 4 reserved bits (nmap's Q=R quirk) */
	uint8_t flags;
	uint16_t win, urp;
	const uint8_t *opt;	/* options, doff - 20 bytes */
	size_t opt_len;
	const uint8_t *data;
	size_t data_len;
};

struct frame_udp {
	uint16_t sport, dport, len;
	const uint8_t *data;
	size_t data_len;
};

struct frame_icmp {
	uint8_t type, code;
	uint16_t id, seq;	/* echo only */
	const uint8_t *data;	/* after the 8-byte header */
	size_t data_len;
};

struct frame {
	enum frame_kind kind;
	uint8_t dst[6], src[6];
	uint16_t ethertype;
	uint16_t vlan;		/* 802.1Q id when the frame carried a tag, else 0 */
	bool v6;		/* IPv6: ip6 holds the addresses; ip.hdr is the IPv6 header,
			 * ip.total_len 40 + plen (capped at 65535), ip.proto the upper layer */
	struct frame_arp arp;
	struct frame_ip ip;
	struct frame_ip6 ip6;
	union {
		struct frame_tcp tcp;
		struct frame_udp udp;
		struct frame_icmp icmp;
	};
};

/* TCP options a SYN carries, as far as a responder needs them. */
struct frame_tcpopt {
	bool mss_present, ws_present, sack_ok, ts_present;
	uint16_t mss;
	uint8_t ws;
	uint32_t tsval, tsecr;
	uint8_t first_kind;	/* kind of the first option, 0 if none */
};

/* Decode buf[0..len). Returns 0 and fills *ret, or -EINVAL for a frame a real stack drops. */
int frame_parse(const uint8_t *buf, size_t len, struct frame *ret);

/* Decode TCP options; malformed options end the walk (what was read stays). */
void frame_tcp_options(const struct frame_tcp *t, struct frame_tcpopt *ret);

/* True when the TCP/UDP/ICMP checksum is correct (IPv4: UDP 0 = none; IPv6:
 * pseudo-header of RFC 8200 8.1, UDP 0 is wrong, ICMPv6 has one too). */
bool frame_l4_csum_ok(const struct frame *f);

/* The Internet checksum over buf, continuing from a partial sum. */
uint32_t frame_csum_add(uint32_t sum, const uint8_t *buf, size_t len);
uint16_t frame_csum_fold(uint32_t sum);
/* The IPv6 pseudo-header sum (RFC 8200 8.1) to continue with the L4 bytes. */
uint32_t frame_csum_pseudo6(const uint8_t src[16], const uint8_t dst[16], uint32_t len,
			    uint8_t next);

#endif
