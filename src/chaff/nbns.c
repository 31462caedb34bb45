/* nbns: node status and name query answers (RFC 1002 4.2.13, 4.2.18). */
#include "chaff/nbns.h"

#include <string.h>
#include <strings.h>

#include "common/cursor.h"
#include "common/wbuf.h"

#define NBNS_TYPE_NB		0x0020
#define NBNS_TYPE_NBSTAT	0x0021
#define NBNS_CLASS_IN		0x0001

/* A 16-byte NetBIOS name: 15 characters, space-padded, and a suffix byte. */
static void
nb_name(uint8_t out[16], const char *name, uint8_t suffix)
{
	size_t n = strnlen(name, 15);

	memset(out, ' ', 15);
	memcpy(out, name, n);
	out[15] = suffix;
}

size_t
nbns_answer(const struct ntlm_ident *id, const uint8_t mac[6], uint32_t addr,
	    const uint8_t *q, size_t len, uint8_t *out, size_t cap, enum nbns_kind *ret_kind)
{
	struct cursor c = cur_init(q, len);
	struct wbuf w = wb_init(out, cap);
	uint16_t tid, flags, qd, qtype, qclass;
	uint8_t lab, name[16], ours[16];
	const uint8_t *qname = q + 12;
	size_t qname_len, total = 0;

	*ret_kind = NBNS_IGNORED;
	if (!cur_be16(&c, &tid) || !cur_be16(&c, &flags) || !cur_be16(&c, &qd) ||
	    !cur_skip(&c, 6) || (flags & 0xf800) != 0 || qd != 1)
		return 0;	/* a response, an opcode other than query, or no question */
	/* The first label is the encoded name (32 letters); then a scope, if any. */
	if (!cur_u8(&c, &lab) || lab != 32)
		return 0;
	for (int i = 0; i < 16; i++) {
		uint8_t hi, lo;

		if (!cur_u8(&c, &hi) || !cur_u8(&c, &lo) || hi < 'A' || hi > 'P' || lo < 'A' ||
		    lo > 'P')
			return 0;
		name[i] = (uint8_t)((hi - 'A') << 4 | (lo - 'A'));
	}
	total = 33;
	for (;;) {
		if (!cur_u8(&c, &lab) || (lab & 0xc0) || (total += 1u + lab) > 255)
			return 0;
		if (lab == 0)
			break;
		if (!cur_skip(&c, lab))
			return 0;
	}
	qname_len = total;
	if (!cur_be16(&c, &qtype) || !cur_be16(&c, &qclass) || qclass != NBNS_CLASS_IN)
		return 0;

	wb_u16(&w, tid);
	if (qtype == NBNS_TYPE_NBSTAT) {
		static const uint8_t suffix[] = { 0x00, 0x00, 0x20, 0x1e };
		/* Active, M-node bits as Windows reports them (group names: G too). */
		static const uint16_t nflags[] = { 0x4400, 0xc400, 0x4400, 0xc400 };
		uint8_t *rdlen;
		size_t at;

		*ret_kind = NBNS_NODE_STATUS;
		wb_u16(&w, 0x8400);		/* response, authoritative */
		wb_u16(&w, 0);
		wb_u16(&w, 1);
		wb_u16(&w, 0);
		wb_u16(&w, 0);
		wb_bytes(&w, qname, qname_len);
		wb_u16(&w, NBNS_TYPE_NBSTAT);
		wb_u16(&w, NBNS_CLASS_IN);
		wb_u32(&w, 0);
		rdlen = wb_reserve(&w, 2);
		at = wb_len(&w);
		wb_u8(&w, 4);
		for (int i = 0; i < 4; i++) {
			nb_name(name, i == 0 || i == 2 ? id->nb_name : id->nb_domain, suffix[i]);
			wb_bytes(&w, name, 16);
			wb_u16(&w, nflags[i]);
		}
		wb_bytes(&w, mac, 6);		/* unit id */
		wb_zero(&w, 40);		/* the other statistics: zero on Windows */
		wb_patch_u16(rdlen, (uint16_t)(wb_len(&w) - at));
	} else if (qtype == NBNS_TYPE_NB) {
		/* Only our own name: the workstation (00) or server (20) service. */
		nb_name(ours, id->nb_name, name[15]);
		if ((name[15] != 0x00 && name[15] != 0x20) ||
		    strncasecmp((const char *)name, (const char *)ours, 15) != 0)
			return 0;
		*ret_kind = NBNS_NAME_QUERY;
		wb_u16(&w, 0x8500);		/* response, authoritative, recursion desired */
		wb_u16(&w, 0);
		wb_u16(&w, 1);
		wb_u16(&w, 0);
		wb_u16(&w, 0);
		wb_bytes(&w, qname, qname_len);
		wb_u16(&w, NBNS_TYPE_NB);
		wb_u16(&w, NBNS_CLASS_IN);
		wb_u32(&w, 300000);		/* Windows' TTL */
		wb_u16(&w, 6);
		wb_u16(&w, 0x0000);		/* unique, B-node */
		wb_u32(&w, addr);
	} else {
		return 0;
	}
	return wb_ok(&w) ? wb_len(&w) : 0;
}
