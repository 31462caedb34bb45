/* emit: frame builders with checksums. */
#include "chaff/emit.h"

#include <errno.h>
#include <string.h>

#include "chaff/frame.h"

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

size_t
emit_arp(uint8_t *buf, size_t cap, const uint8_t eth_dst[6], uint16_t op,
	 const uint8_t sha[6], uint32_t spa, const uint8_t tha[6], uint32_t tpa)
{
	/* Ethernet minimum payload is 46 bytes: pad with zeros like a NIC. */
	const size_t len = 60;

	if (cap < len)
		return 0;
	memset(buf, 0, len);
	memcpy(buf, eth_dst, 6);
	memcpy(buf + 6, sha, 6);
	put16(buf + 12, FRAME_ETH_ARP);
	put16(buf + 14, 1);
	put16(buf + 16, FRAME_ETH_IPV4);
	buf[18] = 6;
	buf[19] = 4;
	put16(buf + 20, op);
	memcpy(buf + 22, sha, 6);
	put32(buf + 28, spa);
	memcpy(buf + 32, tha, 6);
	put32(buf + 38, tpa);
	return len;
}

static void
l4_checksum(uint8_t *ip, uint8_t *l4, size_t l4_len)
{
	uint8_t pseudo[12];
	uint32_t sum;
	uint16_t c;
	size_t at;

	if (ip[9] == 6)
		at = 16;
	else if (ip[9] == 17)
		at = 6;
	else
		return;
	if (l4_len < at + 2)
		return;
	l4[at] = l4[at + 1] = 0;
	memcpy(pseudo, ip + 12, 8);
	pseudo[8] = 0;
	pseudo[9] = ip[9];
	put16(pseudo + 10, (uint16_t)l4_len);
	sum = frame_csum_add(0, pseudo, sizeof(pseudo));
	sum = frame_csum_add(sum, l4, l4_len);
	c = frame_csum_fold(sum);
	if (ip[9] == 17 && c == 0)
		c = 0xffff;
	put16(l4 + at, c);
}

size_t
emit_ipv4(uint8_t *buf, size_t cap, const uint8_t eth_dst[6], const uint8_t eth_src[6],
	  const struct emit_ip *ip, const uint8_t *l4, size_t l4_len)
{
	size_t len = 14 + 20 + l4_len;
	uint8_t *h = buf + 14;

	if (len > cap || 20 + l4_len > 0xffff)
		return 0;
	memcpy(buf, eth_dst, 6);
	memcpy(buf + 6, eth_src, 6);
	put16(buf + 12, FRAME_ETH_IPV4);
	h[0] = 0x45;
	h[1] = ip->tos;
	put16(h + 2, (uint16_t)(20 + l4_len));
	put16(h + 4, ip->id);
	put16(h + 6, ip->df ? 0x4000 : 0);
	h[8] = ip->ttl;
	h[9] = ip->proto;
	h[10] = h[11] = 0;
	put32(h + 12, ip->src);
	put32(h + 16, ip->dst);
	put16(h + 10, frame_csum_fold(frame_csum_add(0, h, 20)));
	memmove(h + 20, l4, l4_len);
	l4_checksum(h, h + 20, l4_len);
	/* Pad to the Ethernet minimum. */
	if (len < 60) {
		memset(buf + len, 0, 60 - len);
		len = 60;
	}
	return len;
}

size_t
emit_tcp(uint8_t *buf, size_t cap, const struct emit_tcp *t)
{
	size_t hl = 20 + t->opt_len, len = hl + t->data_len;

	if (len > cap || t->opt_len % 4 != 0 || hl > 60)
		return 0;
	put16(buf, t->sport);
	put16(buf + 2, t->dport);
	put32(buf + 4, t->seq);
	put32(buf + 8, t->ack);
	buf[12] = (uint8_t)((hl / 4) << 4 | (t->reserved & 0x0f));
	buf[13] = t->flags;
	put16(buf + 14, t->win);
	put16(buf + 16, 0);
	put16(buf + 18, t->urp);
	if (t->opt_len)
		memcpy(buf + 20, t->opt, t->opt_len);
	if (t->data_len)
		memcpy(buf + hl, t->data, t->data_len);
	return len;
}

static int
hex_run(const char **s, uint32_t *ret)
{
	uint32_t v = 0;
	int n = 0;

	for (;; (*s)++, n++) {
		char c = **s;

		if (c >= '0' && c <= '9')
			v = v << 4 | (uint32_t)(c - '0');
		else if (c >= 'A' && c <= 'F')
			v = v << 4 | (uint32_t)(c - 'A' + 10);
		else
			break;
	}
	*ret = v;
	return n;
}

int
emit_tcp_options(const char *s, uint32_t tsval, uint32_t tsecr, uint8_t *buf, size_t cap)
{
	size_t n = 0;
	uint32_t v;

	while (*s) {
		char c = *s++;
		size_t need = c == 'M' ? 4 : c == 'W' ? 3 : c == 'T' ? 10 : c == 'S' ? 2 : 1;

		if (n + need > cap)
			return -EINVAL;
		switch (c) {
		case 'M':
			if (hex_run(&s, &v) == 0)
				return -EINVAL;
			buf[n] = 2, buf[n + 1] = 4;
			put16(buf + n + 2, (uint16_t)v);
			break;
		case 'W':
			/* W takes one hex digit (a scale is 0..14), then more letters follow. */
			if (!((*s >= '0' && *s <= '9') || (*s >= 'A' && *s <= 'F')))
				return -EINVAL;
			v = (uint32_t)(*s <= '9' ? *s - '0' : *s - 'A' + 10);
			s++;
			buf[n] = 3, buf[n + 1] = 3, buf[n + 2] = (uint8_t)v;
			break;
		case 'T':
			if (s[0] < '0' || s[0] > '1' || s[1] < '0' || s[1] > '1')
				return -EINVAL;
			buf[n] = 8, buf[n + 1] = 10;
			put32(buf + n + 2, s[0] == '1' ? (tsval ? tsval : 1) : 0);
			put32(buf + n + 6, s[1] == '1' ? (tsecr ? tsecr : 1) : 0);
			s += 2;
			break;
		case 'S':
			buf[n] = 4, buf[n + 1] = 2;
			break;
		case 'N':
			buf[n] = 1;
			break;
		case 'L':
			buf[n] = 0;
			break;
		default:
			return -EINVAL;
		}
		n += need;
	}
	while (n % 4) {
		if (n >= cap)
			return -EINVAL;
		buf[n++] = 0;
	}
	return (int)n;
}
