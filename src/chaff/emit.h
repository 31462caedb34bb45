/*
 * emit: building the frames decoys send (Ethernet + ARP or IPv4 + L4).
 *
 * Every builder writes into a caller's buffer of `cap` bytes and returns the
 * frame length, or 0 when it does not fit. Checksums are computed here (IP
 * header, TCP/UDP pseudo-header); ICMP bodies come checksummed from the
 * caller because some personalities quote deliberately broken checksums.
 */
#ifndef MOAT_CHAFF_EMIT_H
#define MOAT_CHAFF_EMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EMIT_FRAME_MAX	1514

struct emit_ip {
	uint32_t src, dst;	/* host order */
	uint8_t ttl, tos, proto;
	bool df;
	uint16_t id;
};

size_t emit_arp(uint8_t *buf, size_t cap, const uint8_t eth_dst[6], uint16_t op,
		const uint8_t sha[6], uint32_t spa, const uint8_t tha[6], uint32_t tpa);

/* Ethernet + IPv4 around l4[0..l4_len). TCP and UDP checksums are filled in. */
size_t emit_ipv4(uint8_t *buf, size_t cap, const uint8_t eth_dst[6], const uint8_t eth_src[6],
		 const struct emit_ip *ip, const uint8_t *l4, size_t l4_len);

/* A TCP header for emit_ipv4(); opt must be a multiple of 4 bytes. */
struct emit_tcp {
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags, reserved;
	uint16_t win, urp;
	const uint8_t *opt;
	size_t opt_len;
	const uint8_t *data;
	size_t data_len;
};
size_t emit_tcp(uint8_t *buf, size_t cap, const struct emit_tcp *t);

/*
 * Encode an nmap option string ("M5B4ST11NW7") as TCP options: M<hex> MSS,
 * N NOP, S SACK permitted, T<a><b> timestamps (a/b: 1 = tsval/tsecr
 * nonzero), W<hex> window scale, L end of list; padded with EOL to 4 bytes.
 * Returns the length or -EINVAL for an unknown letter or no room.
 */
int emit_tcp_options(const char *s, uint32_t tsval, uint32_t tsecr, uint8_t *buf, size_t cap);

#endif
