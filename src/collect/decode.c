#include "collect/decode.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "common/limits.h"

#define ETH_P_IPV4	0x0800u
#define ETH_P_IPV6	0x86ddu
#define ETH_P_8021Q	0x8100u
#define ETH_P_8021AD	0x88a8u
#define ETH_P_QINQ_OLD	0x9100u

#define IPPROTO_HOPOPTS_	0
#define IPPROTO_ICMP_		1
#define IPPROTO_TCP_		6
#define IPPROTO_UDP_		17
#define IPPROTO_ROUTING_	43
#define IPPROTO_FRAGMENT_	44
#define IPPROTO_AH_		51
#define IPPROTO_ICMPV6_		58
#define IPPROTO_NONE_		59
#define IPPROTO_DSTOPTS_	60
#define IPPROTO_MH_		135
#define IPPROTO_SCTP_		132
#define IPPROTO_UDPLITE_	136

#define TCP_SYN 0x02u
#define TCP_ACK 0x10u

/* L4 header: ports, ICMP type/code, TCP flags. A short header leaves zeros. */
static void
decode_l4(struct cursor *c, struct flow_rec *r)
{
	uint8_t type, code, flags;

	switch (r->proto) {
	case IPPROTO_TCP_:
		if (!cur_be16(c, &r->sport) || !cur_be16(c, &r->dport))
			break;
		if (cur_skip(c, 9) && cur_u8(c, &flags)) {
			r->tcp_flags = flags;
			r->syns = (flags & (TCP_SYN | TCP_ACK)) == TCP_SYN;
		}
		break;
	case IPPROTO_UDP_:
	case IPPROTO_SCTP_:
	case IPPROTO_UDPLITE_:
		if (!cur_be16(c, &r->sport) || !cur_be16(c, &r->dport))
			r->sport = r->dport = 0;
		break;
	case IPPROTO_ICMP_:
	case IPPROTO_ICMPV6_:
		if (cur_u8(c, &type) && cur_u8(c, &code))
			r->dport = (uint16_t)(type << 8 | code);
		break;
	default:
		break;
	}
}

static void
take_addr(struct cursor *c, struct ipaddr *a, int af, size_t n)
{
	memset(a, 0, sizeof(*a));
	a->af = (uint8_t)af;
	cur_bytes(c, a->a, n);
}

static int
decode_ipv4(struct cursor *c, struct flow_rec *r)
{
	uint8_t vhl, tos, ttl, proto;
	uint16_t total, id, frag, csum;
	size_t hlen, captured = cur_left(c);
	struct cursor opts, l4;

	if (!cur_u8(c, &vhl) || (vhl >> 4) != 4)
		return -EINVAL;
	hlen = (size_t)(vhl & 0x0f) * 4;
	if (hlen < 20 || !cur_u8(c, &tos) || !cur_be16(c, &total) || !cur_be16(c, &id) ||
	    !cur_be16(c, &frag) || !cur_u8(c, &ttl) || !cur_u8(c, &proto) || !cur_be16(c, &csum))
		return -EINVAL;
	if (cur_left(c) < 8)
		return -EINVAL;
	take_addr(c, &r->src, AF_INET, 4);
	take_addr(c, &r->dst, AF_INET, 4);
	if (!cur_sub(c, hlen - 20, &opts))
		return -EINVAL;
	/* Segmentation offload hands up packets with total length 0. */
	if (total != 0 && total < hlen)
		return -EINVAL;
	r->bytes = total ? total : captured;
	r->proto = proto;
	if (frag & 0x3fffu) {		/* MF set or offset != 0 */
		r->flags |= FLOWREC_FRAG;
		if (frag & 0x1fffu)
			return 0;	/* a later fragment: no L4 header */
		r->flags |= FLOWREC_FRAG_FIRST;
	}
	l4 = cur_rest(c);
	if (total != 0 && (size_t)total - hlen < cur_left(&l4))
		l4.len = (size_t)total - hlen;	/* drop Ethernet trailer padding */
	decode_l4(&l4, r);
	return 0;
}

/* Extension headers that are followed by another header, and their length. */
static bool
ipv6_is_ext(uint8_t nh)
{
	return nh == IPPROTO_HOPOPTS_ || nh == IPPROTO_ROUTING_ || nh == IPPROTO_DSTOPTS_ ||
	    nh == IPPROTO_MH_ || nh == IPPROTO_AH_ || nh == IPPROTO_FRAGMENT_;
}

static size_t
ipv6_ext_len(uint8_t nh, uint8_t hdrlen)
{
	if (nh == IPPROTO_AH_)
		return ((size_t)hdrlen + 2) * 4;
	return ((size_t)hdrlen + 1) * 8;
}

/*
 * Skip one extension header; *nh becomes the next header. Returns false when
 * the walk must stop: truncated, or a fragment that is not the first.
 */
static bool
ipv6_skip_ext(struct cursor *c, struct flow_rec *r, uint8_t *nh)
{
	uint8_t next, hdrlen;
	uint16_t offflags;

	if (*nh == IPPROTO_FRAGMENT_) {
		if (!cur_u8(c, &next) || !cur_skip(c, 1) || !cur_be16(c, &offflags) ||
		    !cur_skip(c, 4))
			return false;
		r->flags |= FLOWREC_FRAG;
		*nh = next;
		if (offflags & 0xfff8u)
			return false;	/* a later fragment: no L4 header */
		r->flags |= FLOWREC_FRAG_FIRST;
		return true;
	}
	if (!cur_u8(c, &next) || !cur_u8(c, &hdrlen) ||
	    !cur_skip(c, ipv6_ext_len(*nh, hdrlen) - 2))
		return false;
	*nh = next;
	return true;
}

/* Walk extension headers; leaves r->proto at the upper-layer protocol. */
static void
ipv6_walk(struct cursor *c, struct flow_rec *r, uint8_t nh)
{
	for (unsigned i = 0; ipv6_is_ext(nh); i++) {
		if (i == LIMIT_COLLECT_IPV6_EXTHDRS || !ipv6_skip_ext(c, r, &nh)) {
			r->proto = nh;
			return;
		}
	}
	r->proto = nh;
	decode_l4(c, r);
}

static int
decode_ipv6(struct cursor *c, struct flow_rec *r)
{
	uint32_t vtcfl;
	uint16_t plen;
	uint8_t nh, hop;
	size_t captured = cur_left(c);
	struct cursor rest;

	if (!cur_be32(c, &vtcfl) || (vtcfl >> 28) != 6 || !cur_be16(c, &plen) ||
	    !cur_u8(c, &nh) || !cur_u8(c, &hop) || cur_left(c) < 32)
		return -EINVAL;
	take_addr(c, &r->src, AF_INET6, 16);
	take_addr(c, &r->dst, AF_INET6, 16);
	r->bytes = plen ? (uint64_t)plen + 40 : captured;
	rest = cur_rest(c);
	if (plen && plen < cur_left(&rest))
		rest.len = plen;
	ipv6_walk(&rest, r, nh);
	return 0;
}

static int
decode_ip_by_type(struct cursor *c, uint16_t ethertype, struct flow_rec *r)
{
	if (ethertype == ETH_P_IPV4)
		return decode_ipv4(c, r);
	if (ethertype == ETH_P_IPV6)
		return decode_ipv6(c, r);
	return -ENOENT;
}

static bool
is_vlan(uint16_t type)
{
	return type == ETH_P_8021Q || type == ETH_P_8021AD || type == ETH_P_QINQ_OLD;
}

static int
decode_ether(struct cursor *c, struct flow_rec *r)
{
	uint16_t type;

	if (!cur_skip(c, 12) || !cur_be16(c, &type))
		return -ENOENT;
	for (unsigned i = 0; is_vlan(type); i++) {
		if (i == LIMIT_COLLECT_VLAN_TAGS || !cur_skip(c, 2) || !cur_be16(c, &type))
			return -ENOENT;
	}
	return decode_ip_by_type(c, type, r);
}

static int
decode_raw(struct cursor *c, struct flow_rec *r)
{
	uint8_t v;

	if (!cur_peek_u8(c, 0, &v))
		return -EINVAL;
	if (v >> 4 == 4)
		return decode_ipv4(c, r);
	if (v >> 4 == 6)
		return decode_ipv6(c, r);
	return -ENOENT;
}

int
decode_packet(struct cursor *c, enum decode_link link, struct flow_rec *r)
{
	uint16_t type;

	memset(r, 0, sizeof(*r));
	r->packets = 1;
	r->flags = FLOWREC_PACKET;
	switch (link) {
	case DECODE_ETHER:
		return decode_ether(c, r);
	case DECODE_RAW:
		return decode_raw(c, r);
	case DECODE_SLL:
		if (!cur_skip(c, 14) || !cur_be16(c, &type))
			return -ENOENT;
		return decode_ip_by_type(c, type, r);
	case DECODE_SLL2:
		if (!cur_be16(c, &type) || !cur_skip(c, 18))
			return -ENOENT;
		return decode_ip_by_type(c, type, r);
	}
	return -ENOENT;
}
