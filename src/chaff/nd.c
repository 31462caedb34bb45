/* nd: IPv6 neighbour discovery and ICMPv6 builders, parser and helpers. */
#include "chaff/nd.h"

#include <errno.h>
#include <string.h>

#include "common/cursor.h"
#include "common/wbuf.h"

const uint8_t nd_all_nodes[16] = { 0xff, 0x02, [15] = 1 };

bool
nd_is_mcast(const uint8_t a[16])
{
	return a[0] == 0xff;
}

bool
nd_is_unspecified(const uint8_t a[16])
{
	static const uint8_t zero[16];

	return memcmp(a, zero, 16) == 0;
}

bool
nd_is_link_local(const uint8_t a[16])
{
	return a[0] == 0xfe && (a[1] & 0xc0) == 0x80;
}

void
nd_solicited_node(const uint8_t addr[16], uint8_t ret[16])
{
	static const uint8_t pfx[13] = { 0xff, 0x02, [11] = 0x01, [12] = 0xff };

	memcpy(ret, pfx, 13);
	memcpy(ret + 13, addr + 13, 3);
}

void
nd_mcast_mac(const uint8_t group[16], uint8_t ret_mac[6])
{
	ret_mac[0] = 0x33;
	ret_mac[1] = 0x33;
	memcpy(ret_mac + 2, group + 12, 4);
}

size_t
nd_emit6(uint8_t *buf, size_t cap, const uint8_t eth_dst[6], const uint8_t eth_src[6],
	 const uint8_t src[16], const uint8_t dst[16], uint8_t hlim, uint8_t tc, uint8_t next,
	 const uint8_t *l4, size_t len)
{
	struct wbuf w = wb_init(buf, cap);
	size_t csum_off;
	uint8_t *body;
	uint32_t sum;

	if (len > 0xffff)
		return 0;
	wb_bytes(&w, eth_dst, 6);
	wb_bytes(&w, eth_src, 6);
	wb_u16(&w, FRAME_ETH_IPV6);
	wb_u32(&w, 6u << 28 | (uint32_t)tc << 20);
	wb_u16(&w, (uint16_t)len);
	wb_u8(&w, next);
	wb_u8(&w, hlim);
	wb_bytes(&w, src, 16);
	wb_bytes(&w, dst, 16);
	body = wb_reserve(&w, len);
	if (!wb_ok(&w))
		return 0;
	memcpy(body, l4, len);
	switch (next) {
	case 6: csum_off = 16; break;
	case 17: csum_off = 6; break;
	case FRAME_IPPROTO_ICMP6: csum_off = 2; break;
	default: return wb_len(&w);
	}
	if (len < csum_off + 2)
		return 0;
	wb_patch_u16(body + csum_off, 0);
	sum = frame_csum_pseudo6(src, dst, (uint32_t)len, next);
	sum = frame_csum_fold(frame_csum_add(sum, body, len));
	if (next == 17 && sum == 0)
		sum = 0xffff;	/* UDP over IPv6: 0 means none, which is not allowed */
	wb_patch_u16(body + csum_off, (uint16_t)sum);
	return wb_len(&w);
}

static size_t
build_nd(uint8_t *buf, size_t cap, uint8_t type, uint8_t flags, const uint8_t target[16],
	 uint8_t opt, const uint8_t *mac)
{
	struct wbuf w = wb_init(buf, cap);

	wb_u8(&w, type);
	wb_u8(&w, 0);
	wb_u16(&w, 0);		/* checksum: nd_emit6 */
	wb_u8(&w, flags);
	wb_u8(&w, 0);
	wb_u16(&w, 0);
	wb_bytes(&w, target, 16);
	if (mac) {
		wb_u8(&w, opt);
		wb_u8(&w, 1);	/* 8 bytes */
		wb_bytes(&w, mac, 6);
	}
	return wb_ok(&w) ? wb_len(&w) : 0;
}

size_t
nd_build_na(uint8_t *buf, size_t cap, const uint8_t target[16], uint8_t flags,
	    const uint8_t *mac)
{
	return build_nd(buf, cap, ND_NA, flags, target, 2, mac);
}

size_t
nd_build_ns(uint8_t *buf, size_t cap, const uint8_t target[16], const uint8_t *mac)
{
	return build_nd(buf, cap, ND_NS, 0, target, 1, mac);
}

int
nd_parse(const struct frame *f, struct nd_msg *ret)
{
	struct cursor c, opts;
	struct nd_msg m;
	uint8_t type, code, sn[16];

	if (!f->v6 || f->kind != FRAME_ICMP)
		return -EINVAL;
	memset(&m, 0, sizeof(m));
	c = cur_init(f->ip.l4, f->ip.l4_len);
	if (!cur_u8(&c, &type) || !cur_u8(&c, &code) || !cur_skip(&c, 2) ||
	    !cur_u8(&c, &m.flags) || !cur_skip(&c, 3) || !cur_bytes(&c, m.target, 16))
		return -EINVAL;
	if ((type != ND_NS && type != ND_NA) || code != 0 || f->ip6.hlim != ND_HLIM ||
	    nd_is_mcast(m.target))
		return -EINVAL;
	m.type = type;
	opts = cur_rest(&c);
	while (!cur_empty(&opts)) {
		uint8_t otype, olen;
		struct cursor body;

		if (!cur_u8(&opts, &otype) || !cur_u8(&opts, &olen) || olen == 0 ||
		    !cur_sub(&opts, (size_t)olen * 8 - 2, &body))
			return -EINVAL;
		/* Source (NS) or target (NA) link-layer address. */
		if (otype == (type == ND_NS ? 1 : 2) && olen == 1) {
			m.has_lla = cur_bytes(&body, m.lla, 6);
		}
	}
	if (type == ND_NS && nd_is_unspecified(f->ip6.src)) {
		nd_solicited_node(m.target, sn);
		if (memcmp(f->ip6.dst, sn, 16) != 0 || m.has_lla)
			return -EINVAL;
	}
	if (type == ND_NA && nd_is_mcast(f->ip6.dst) && (m.flags & ND_NA_SOLICITED))
		return -EINVAL;
	*ret = m;
	return 0;
}

static bool
os_has(const struct persona *p, const char *s)
{
	return strstr(p->os, s) != NULL || strstr(p->name, s) != NULL;
}

enum decoy_iid
nd_iid_for(const struct persona *p)
{
	static const char *const stable[] = {
		"Windows", "windows", "macOS", "Mac OS X 10.1", "macos", "iOS", "OpenBSD",
		"openbsd", "linux-4.15", "linux-5", "Linux 4.15", "Linux 5", "Linux 6", NULL
	};

	for (size_t i = 0; stable[i]; i++)
		if (os_has(p, stable[i]))
			return DECOY_IID_STABLE;
	return DECOY_IID_EUI64;
}

bool
nd_answers_mcast_echo(const struct persona *p)
{
	return !os_has(p, "Windows") && !os_has(p, "windows");
}
