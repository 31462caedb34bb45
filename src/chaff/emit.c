/* emit: frame builders with checksums. */
#include "chaff/emit.h"

#include <errno.h>
#include <string.h>

#include "chaff/frame.h"
#include "common/wbuf.h"

size_t
emit_arp(uint8_t *buf, size_t cap, const uint8_t eth_dst[6], uint16_t op,
	 const uint8_t sha[6], uint32_t spa, const uint8_t tha[6], uint32_t tpa)
{
	struct wbuf w = wb_init(buf, cap);

	wb_bytes(&w, eth_dst, 6);
	wb_bytes(&w, sha, 6);
	wb_u16(&w, FRAME_ETH_ARP);
	wb_u16(&w, 1);			/* hardware: Ethernet */
	wb_u16(&w, FRAME_ETH_IPV4);
	wb_u8(&w, 6);
	wb_u8(&w, 4);
	wb_u16(&w, op);
	wb_bytes(&w, sha, 6);
	wb_u32(&w, spa);
	wb_bytes(&w, tha, 6);
	wb_u32(&w, tpa);
	/* Ethernet minimum payload is 46 bytes: pad with zeros like a NIC. */
	wb_zero(&w, 60 - wb_len(&w));
	return wb_ok(&w) ? wb_len(&w) : 0;
}

static void
l4_checksum(uint8_t *ip, uint8_t *l4, size_t l4_len)
{
	uint8_t pseudo[12];
	struct wbuf w = wb_init(pseudo, sizeof(pseudo));
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
	wb_patch_u16(l4 + at, 0);
	wb_bytes(&w, ip + 12, 8);	/* source and destination */
	wb_u8(&w, 0);
	wb_u8(&w, ip[9]);
	wb_u16(&w, (uint16_t)l4_len);
	sum = frame_csum_add(0, pseudo, sizeof(pseudo));
	sum = frame_csum_add(sum, l4, l4_len);
	c = frame_csum_fold(sum);
	if (ip[9] == 17 && c == 0)
		c = 0xffff;
	wb_patch_u16(l4 + at, c);
}

size_t
emit_ipv4(uint8_t *buf, size_t cap, const uint8_t eth_dst[6], const uint8_t eth_src[6],
	  const struct emit_ip *ip, const uint8_t *l4, size_t l4_len)
{
	struct wbuf w = wb_init(buf, cap);
	uint8_t *h, *csum, *body;

	if (20 + l4_len > 0xffff)
		return 0;
	wb_bytes(&w, eth_dst, 6);
	wb_bytes(&w, eth_src, 6);
	wb_u16(&w, FRAME_ETH_IPV4);
	h = wb_reserve(&w, 0);
	wb_u8(&w, 0x45);
	wb_u8(&w, ip->tos);
	wb_u16(&w, (uint16_t)(20 + l4_len));
	wb_u16(&w, ip->id);
	wb_u16(&w, ip->df ? 0x4000 : 0);
	wb_u8(&w, ip->ttl);
	wb_u8(&w, ip->proto);
	csum = wb_reserve(&w, 2);
	wb_patch_u16(csum, 0);
	wb_u32(&w, ip->src);
	wb_u32(&w, ip->dst);
	/* l4 may already sit in buf (built in place): moved, not copied. */
	body = wb_reserve(&w, l4_len);
	if (!wb_ok(&w))
		return 0;
	wb_patch_u16(csum, frame_csum_fold(frame_csum_add(0, h, 20)));
	memmove(body, l4, l4_len);
	l4_checksum(h, body, l4_len);
	/* Pad to the Ethernet minimum. */
	if (wb_len(&w) < 60 && !wb_zero(&w, 60 - wb_len(&w)))
		return 0;
	return wb_len(&w);
}

size_t
emit_tcp(uint8_t *buf, size_t cap, const struct emit_tcp *t)
{
	struct wbuf w = wb_init(buf, cap);
	size_t hl = 20 + t->opt_len;

	if (t->opt_len % 4 != 0 || hl > 60)
		return 0;
	wb_u16(&w, t->sport);
	wb_u16(&w, t->dport);
	wb_u32(&w, t->seq);
	wb_u32(&w, t->ack);
	wb_u8(&w, (uint8_t)((hl / 4) << 4 | (t->reserved & 0x0f)));
	wb_u8(&w, t->flags);
	wb_u16(&w, t->win);
	wb_u16(&w, 0);			/* checksum: emit_ipv4() fills it in */
	wb_u16(&w, t->urp);
	if (t->opt_len)
		wb_bytes(&w, t->opt, t->opt_len);
	if (t->data_len)
		wb_bytes(&w, t->data, t->data_len);
	return wb_ok(&w) ? wb_len(&w) : 0;
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
	struct wbuf w = wb_init(buf, cap);
	uint32_t v;

	while (*s) {
		switch (*s++) {
		case 'M':
			if (hex_run(&s, &v) == 0)
				return -EINVAL;
			wb_u8(&w, 2);
			wb_u8(&w, 4);
			wb_u16(&w, (uint16_t)v);
			break;
		case 'W':
			/* W takes one hex digit (a scale is 0..14), then more letters follow. */
			if (!((*s >= '0' && *s <= '9') || (*s >= 'A' && *s <= 'F')))
				return -EINVAL;
			v = (uint32_t)(*s <= '9' ? *s - '0' : *s - 'A' + 10);
			s++;
			wb_u8(&w, 3);
			wb_u8(&w, 3);
			wb_u8(&w, (uint8_t)v);
			break;
		case 'T':
			if (s[0] < '0' || s[0] > '1' || s[1] < '0' || s[1] > '1')
				return -EINVAL;
			wb_u8(&w, 8);
			wb_u8(&w, 10);
			wb_u32(&w, s[0] == '1' ? (tsval ? tsval : 1) : 0);
			wb_u32(&w, s[1] == '1' ? (tsecr ? tsecr : 1) : 0);
			s += 2;
			break;
		case 'S':
			wb_u8(&w, 4);
			wb_u8(&w, 2);
			break;
		case 'N':
			wb_u8(&w, 1);
			break;
		case 'L':
			wb_u8(&w, 0);
			break;
		default:
			return -EINVAL;
		}
		if (!wb_ok(&w))
			return -EINVAL;
	}
	while (wb_len(&w) % 4 && wb_u8(&w, 0))
		;
	return wb_ok(&w) ? (int)wb_len(&w) : -EINVAL;
}
