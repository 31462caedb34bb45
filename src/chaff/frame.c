/* frame: Ethernet/ARP/IPv4/TCP/UDP/ICMP decoding through the cursor. */
#include "chaff/frame.h"

#include <errno.h>
#include <string.h>

#include "common/cursor.h"
#include "common/limits.h"
#include "common/wbuf.h"

#define ETH_HLEN	14
#define IP_MF		0x2000
#define IP_OFFMASK	0x1fff

uint32_t
frame_csum_add(uint32_t sum, const uint8_t *buf, size_t len)
{
	uint64_t s = sum;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		s += (uint32_t)buf[i] << 8 | buf[i + 1];
	if (i < len)
		s += (uint32_t)buf[i] << 8;
	while (s >> 32)
		s = (s & 0xffffffffu) + (s >> 32);
	return (uint32_t)s;
}

uint16_t
frame_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static bool
parse_arp(struct cursor *c, struct frame *f)
{
	uint16_t htype, ptype;
	uint8_t hlen, plen;
	struct frame_arp *a = &f->arp;

	/* Real stacks (Linux arp_rcv) drop anything but Ethernet/IPv4 ARP
	 * with 6/4 address lengths and a request or reply opcode. */
	if (!cur_be16(c, &htype) || !cur_be16(c, &ptype) || !cur_u8(c, &hlen) ||
	    !cur_u8(c, &plen) || !cur_be16(c, &a->op))
		return false;
	if (htype != 1 || ptype != FRAME_ETH_IPV4 || hlen != 6 || plen != 4)
		return false;
	if (a->op != 1 && a->op != 2)
		return false;
	return cur_bytes(c, a->sha, 6) && cur_be32(c, &a->spa) &&
	       cur_bytes(c, a->tha, 6) && cur_be32(c, &a->tpa);
}

static bool
parse_tcp(struct cursor *c, struct frame *f)
{
	struct frame_tcp *t = &f->tcp;
	uint8_t off_byte, flags;
	struct cursor opt;

	if (!cur_be16(c, &t->sport) || !cur_be16(c, &t->dport) ||
	    !cur_be32(c, &t->seq) || !cur_be32(c, &t->ack) ||
	    !cur_u8(c, &off_byte) || !cur_u8(c, &flags) ||
	    !cur_be16(c, &t->win) || !cur_skip(c, 2) || !cur_be16(c, &t->urp))
		return false;
	t->doff = (uint8_t)((off_byte >> 4) * 4);
	t->reserved = off_byte & 0x0f;
	t->flags = flags;
	if (t->doff < 20 || !cur_sub(c, (size_t)t->doff - 20, &opt))
		return false;
	t->opt = cur_ptr(&opt);
	t->opt_len = cur_left(&opt);
	t->data = cur_ptr(c);
	t->data_len = cur_left(c);
	return true;
}

static bool
parse_udp(struct cursor *c, struct frame *f)
{
	struct frame_udp *u = &f->udp;
	struct cursor body;

	if (!cur_be16(c, &u->sport) || !cur_be16(c, &u->dport) ||
	    !cur_be16(c, &u->len) || !cur_skip(c, 2))
		return false;
	if (u->len < 8 || !cur_sub(c, (size_t)u->len - 8, &body))
		return false;
	u->data = cur_ptr(&body);
	u->data_len = cur_left(&body);
	return true;
}

static bool
parse_icmp(struct cursor *c, struct frame *f)
{
	struct frame_icmp *ic = &f->icmp;

	if (!cur_u8(c, &ic->type) || !cur_u8(c, &ic->code) || !cur_skip(c, 2) ||
	    !cur_be16(c, &ic->id) || !cur_be16(c, &ic->seq))
		return false;
	ic->data = cur_ptr(c);
	ic->data_len = cur_left(c);
	return true;
}

static bool parse_l4(struct cursor *l4, struct frame *f);

static bool
parse_ipv4(struct cursor *c, struct frame *f)
{
	struct frame_ip *ip = &f->ip;
	struct cursor pkt, hdr, l4;
	uint8_t vihl, tl_hi, tl_lo;

	ip->hdr = cur_ptr(c);
	if (!cur_peek_u8(c, 0, &vihl) || !cur_peek_u8(c, 2, &tl_hi) ||
	    !cur_peek_u8(c, 3, &tl_lo) || vihl >> 4 != 4)
		return false;
	ip->ihl = (uint8_t)((vihl & 0x0f) * 4);
	ip->total_len = (uint16_t)(tl_hi << 8 | tl_lo);
	/* Ethernet pads short frames: the IP total length decides, and it may
	 * neither undercut the header nor overrun the frame. */
	if (ip->total_len < ip->ihl || !cur_sub(c, ip->total_len, &pkt))
		return false;
	if (!cur_sub(&pkt, ip->ihl, &hdr))
		return false;
	if (frame_csum_fold(frame_csum_add(0, ip->hdr, ip->ihl)) != 0)
		return false;
	if (!cur_skip(&hdr, 1) || !cur_u8(&hdr, &ip->tos) || !cur_skip(&hdr, 2) ||
	    !cur_be16(&hdr, &ip->id) || !cur_be16(&hdr, &ip->frag) ||
	    !cur_u8(&hdr, &ip->ttl) || !cur_u8(&hdr, &ip->proto) ||
	    !cur_skip(&hdr, 2) || !cur_be32(&hdr, &ip->src) || !cur_be32(&hdr, &ip->dst))
		return false;
	l4 = cur_rest(&pkt);
	ip->l4 = cur_ptr(&l4);
	ip->l4_len = cur_left(&l4);
	if ((ip->frag & IP_MF) || (ip->frag & IP_OFFMASK)) {
		f->kind = FRAME_IP_FRAG;
		return true;
	}
	return parse_l4(&l4, f);
}

static bool
parse_l4(struct cursor *l4, struct frame *f)
{
	switch (f->ip.proto) {
	case 6:
		f->kind = FRAME_TCP;
		return parse_tcp(l4, f);
	case 17:
		f->kind = FRAME_UDP;
		return parse_udp(l4, f);
	case 1:
	case FRAME_IPPROTO_ICMP6:
		if ((f->ip.proto == 1) == f->v6) {
			f->kind = FRAME_IP_OTHER;	/* ICMPv4 in IPv6 or the reverse */
			return true;
		}
		f->kind = FRAME_ICMP;
		return parse_icmp(l4, f);
	default:
		f->kind = FRAME_IP_OTHER;
		return true;
	}
}

/*
 * IPv6: the fixed header, then extension headers as far as the upper
 * layer, at most LIMIT_CHAFF_IP6_EXTHDRS of them. Hop-by-hop options are
 * only valid first; a routing header with segments left would have to be
 * forwarded (RH0, deprecated: Linux drops it); ESP/AH and "no next header"
 * are nothing a decoy speaks; a fragment header makes it FRAME_IP_FRAG.
 */
static bool
parse_ipv6(struct cursor *c, struct frame *f)
{
	struct frame_ip6 *ip6 = &f->ip6;
	struct cursor hdr, pkt;
	uint32_t vtf;
	uint8_t nh;

	f->v6 = true;
	f->ip.hdr = cur_ptr(c);
	if (!cur_sub(c, 40, &hdr) || !cur_be32(&hdr, &vtf) || vtf >> 28 != 6 ||
	    !cur_be16(&hdr, &ip6->plen) || !cur_u8(&hdr, &nh) || !cur_u8(&hdr, &ip6->hlim) ||
	    !cur_bytes(&hdr, ip6->src, 16) || !cur_bytes(&hdr, ip6->dst, 16))
		return false;
	/* The payload length decides (Ethernet pads); it may not overrun. */
	if (!cur_sub(c, ip6->plen, &pkt))
		return false;
	ip6->tc = (uint8_t)(vtf >> 20);
	f->ip.tos = ip6->tc;
	f->ip.ttl = ip6->hlim;
	f->ip.ihl = 40;
	f->ip.total_len = (uint16_t)(ip6->plen > 65535 - 40 ? 65535 : 40 + ip6->plen);
	size_t nh_off = 6;	/* where the current Next Header value sits */

	for (;;) {
		uint8_t next, hlen, rtype, segleft;
		struct cursor ext;

		switch (nh) {
		case 0:		/* hop-by-hop */
		case 43:	/* routing */
		case 60:	/* destination options */
		case 44:	/* fragment */
			break;
		default:
			f->ip.proto = nh;
			f->ip.l4 = cur_ptr(&pkt);
			f->ip.l4_len = cur_left(&pkt);
			return parse_l4(&pkt, f);
		}
		if (ip6->n_ext >= LIMIT_CHAFF_IP6_EXTHDRS)
			return false;
		if (nh == 0 && ip6->n_ext > 0) {
			/* Linux answers a parameter problem (code 1) pointing here. */
			f->kind = FRAME_IP6_BADHDR;
			ip6->pp_ptr = (uint16_t)nh_off;
			f->ip.proto = nh;
			f->ip.l4 = cur_ptr(&pkt);
			f->ip.l4_len = cur_left(&pkt);
			return true;
		}
		ip6->n_ext++;
		if (!cur_peek_u8(&pkt, 0, &next) || !cur_peek_u8(&pkt, 1, &hlen))
			return false;
		if (nh == 44) {
			f->ip.proto = next;
			f->ip.l4 = cur_ptr(&pkt);
			f->ip.l4_len = cur_left(&pkt);
			f->kind = FRAME_IP_FRAG;
			return cur_left(&pkt) >= 8;
		}
		nh_off = 40 + (size_t)(cur_ptr(&pkt) - (f->ip.hdr + 40));
		if (!cur_sub(&pkt, ((size_t)hlen + 1) * 8, &ext))
			return false;
		if (nh == 43 && (!cur_peek_u8(&ext, 2, &rtype) || !cur_peek_u8(&ext, 3, &segleft) ||
				 segleft != 0))
			return false;
		nh = next;
	}
}

int
frame_parse(const uint8_t *buf, size_t len, struct frame *ret)
{
	struct cursor c = cur_init(buf, len);
	struct frame f;
	bool ok;

	memset(&f, 0, sizeof(f));
	if (!cur_bytes(&c, f.dst, 6) || !cur_bytes(&c, f.src, 6) ||
	    !cur_be16(&c, &f.ethertype))
		return -EINVAL;
	if (f.ethertype == FRAME_ETH_VLAN) {
		uint16_t tci;

		if (!cur_be16(&c, &tci) || !cur_be16(&c, &f.ethertype))
			return -EINVAL;
		f.vlan = tci & 0x0fff;
	}
	switch (f.ethertype) {
	case FRAME_ETH_ARP:
		f.kind = FRAME_ARP;
		ok = parse_arp(&c, &f);
		break;
	case FRAME_ETH_IPV4:
		ok = parse_ipv4(&c, &f);
		break;
	case FRAME_ETH_IPV6:
		ok = parse_ipv6(&c, &f);
		break;
	default:
		f.kind = FRAME_OTHER;
		ok = true;
		break;
	}
	if (!ok)
		return -EINVAL;
	*ret = f;
	return 0;
}

static void
read_option(uint8_t kind, struct cursor *body, struct frame_tcpopt *o)
{
	switch (kind) {
	case 2:
		o->mss_present = cur_be16(body, &o->mss);
		break;
	case 3:
		o->ws_present = cur_u8(body, &o->ws);
		break;
	case 4:
		o->sack_ok = true;
		break;
	case 8:
		o->ts_present = cur_be32(body, &o->tsval) && cur_be32(body, &o->tsecr);
		break;
	default:
		break;
	}
}

void
frame_tcp_options(const struct frame_tcp *t, struct frame_tcpopt *ret)
{
	struct cursor c = cur_init(t->opt, t->opt_len);
	struct frame_tcpopt o;
	uint8_t kind, olen;

	memset(&o, 0, sizeof(o));
	while (cur_u8(&c, &kind)) {
		struct cursor body;

		if (o.first_kind == 0)
			o.first_kind = kind;
		if (kind == 0)
			break;
		if (kind == 1)
			continue;
		if (!cur_u8(&c, &olen) || olen < 2 || !cur_sub(&c, (size_t)olen - 2, &body))
			break;
		read_option(kind, &body, &o);
	}
	*ret = o;
}

uint32_t
frame_csum_pseudo6(const uint8_t src[16], const uint8_t dst[16], uint32_t len, uint8_t next)
{
	uint8_t tail[8] = { (uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8),
			    (uint8_t)len, 0, 0, 0, next };
	uint32_t sum = frame_csum_add(0, src, 16);

	sum = frame_csum_add(sum, dst, 16);
	return frame_csum_add(sum, tail, sizeof(tail));
}

bool
frame_l4_csum_ok(const struct frame *f)
{
	uint8_t pseudo[12];
	struct wbuf w = wb_init(pseudo, sizeof(pseudo));
	uint32_t sum;

	if (f->v6) {
		/* Every IPv6 upper layer has a checksum over the pseudo-header:
		 * UDP's may not be 0 (RFC 8200 8.1), ICMPv6 includes it. */
		if (f->kind != FRAME_TCP && f->kind != FRAME_UDP && f->kind != FRAME_ICMP)
			return true;
		if (f->kind == FRAME_UDP && f->ip.l4_len >= 8 &&
		    f->ip.l4[6] == 0 && f->ip.l4[7] == 0)
			return false;
		sum = frame_csum_pseudo6(f->ip6.src, f->ip6.dst, (uint32_t)f->ip.l4_len, f->ip.proto);
		return frame_csum_fold(frame_csum_add(sum, f->ip.l4, f->ip.l4_len)) == 0;
	}
	if (f->kind == FRAME_ICMP)
		return frame_csum_fold(frame_csum_add(0, f->ip.l4, f->ip.l4_len)) == 0;
	if (f->kind != FRAME_TCP && f->kind != FRAME_UDP)
		return true;
	if (f->kind == FRAME_UDP && f->ip.l4_len >= 8 &&
	    f->ip.l4[6] == 0 && f->ip.l4[7] == 0)
		return true;
	wb_bytes(&w, f->ip.hdr + 12, 8);	/* source and destination */
	wb_u8(&w, 0);
	wb_u8(&w, f->ip.proto);
	wb_u16(&w, (uint16_t)f->ip.l4_len);
	sum = frame_csum_add(0, pseudo, sizeof(pseudo));
	sum = frame_csum_add(sum, f->ip.l4, f->ip.l4_len);
	return frame_csum_fold(sum) == 0;
}
