/* rdp: X.224 Connection Request → Connection Confirm with RDP negotiation. */
#include "chaff/rdp.h"

#include <errno.h>
#include <string.h>

#include "common/cursor.h"
#include "common/wbuf.h"

#define X224_CR		0xe0
#define X224_CC		0xd0
#define RDP_NEG_REQ	0x01
#define RDP_NEG_RSP	0x02
#define RDP_NEG_FAILURE	0x03
#define HYBRID_REQUIRED_BY_SERVER	0x05

long
rdp_parse_cr(const uint8_t *buf, size_t len, struct rdp_cr *ret)
{
	struct cursor c = cur_init(buf, len), pdu, var;
	struct rdp_cr cr;
	uint8_t ver, rsv, li, code;
	uint16_t tlen;

	memset(&cr, 0, sizeof(cr));
	if (len < 4)
		return 0;
	if (!cur_u8(&c, &ver) || !cur_u8(&c, &rsv) || !cur_be16(&c, &tlen) || ver != 3 ||
	    tlen < 11)
		return -EINVAL;
	if (len < tlen)
		return 0;
	if (!cur_sub(&c, tlen - 4u, &pdu) || !cur_u8(&pdu, &li) || !cur_u8(&pdu, &code) ||
	    (code & 0xf0) != X224_CR || li < 6 || !cur_skip(&pdu, 5))
		return -EINVAL;
	/* The variable part: LI counts from the code byte. */
	if (!cur_sub(&pdu, (size_t)li - 6u < cur_left(&pdu) ? (size_t)li - 6u : cur_left(&pdu),
		     &var))
		return -EINVAL;
	if (cur_left(&var) >= 17 && memcmp(cur_ptr(&var), "Cookie: mstshash=", 17) == 0) {
		size_t n = 0;

		(void)cur_skip(&var, 17);
		while (!cur_empty(&var)) {
			uint8_t b;

			(void)cur_u8(&var, &b);
			if (b == '\r' || b == '\n') {
				uint8_t nl;

				if (b == '\r' && cur_peek_u8(&var, 0, &nl) && nl == '\n')
					(void)cur_skip(&var, 1);
				break;
			}
			if (n + 1 < sizeof(cr.cookie))
				cr.cookie[n++] = b >= 0x20 && b < 0x7f ? (char)b : '?';
		}
	} else if (cur_left(&var) >= 2 && memcmp(cur_ptr(&var), "Co", 2) == 0) {
		/* Another token (routing token): skip its line. */
		while (!cur_empty(&var)) {
			uint8_t b;

			(void)cur_u8(&var, &b);
			if (b == '\n')
				break;
		}
	}
	if (cur_left(&var) >= 8 && cur_ptr(&var)[0] == RDP_NEG_REQ) {
		const uint8_t *q = cur_ptr(&var);

		cr.has_neg = true;
		cr.requested = (uint32_t)q[4] | (uint32_t)q[5] << 8 | (uint32_t)q[6] << 16 |
			       (uint32_t)q[7] << 24;
	}
	*ret = cr;
	return tlen;
}

size_t
rdp_confirm(const struct rdp_cr *cr, unsigned major, unsigned minor, uint8_t *out, size_t cap,
	    bool *ret_close)
{
	struct wbuf w = wb_init(out, cap);
	bool windows = major > 0;
	/* Windows 8 / 2012 and later require NLA (CredSSP) by default. */
	bool nla_required = major > 6 || (major == 6 && minor >= 2);
	uint8_t flags = major >= 10 || (major == 6 && minor >= 3) ? 0x1f :
			major == 6 && minor == 2 ? 0x0f : major == 6 && minor == 1 ? 0x01 : 0x00;
	uint32_t sel;

	*ret_close = false;
	wb_u8(&w, 3);
	wb_u8(&w, 0);
	wb_u16(&w, cr->has_neg ? 19 : 11);
	wb_u8(&w, cr->has_neg ? 14 : 6);
	wb_u8(&w, X224_CC);
	wb_u16(&w, 0);				/* dst-ref */
	wb_u16(&w, windows ? 0x1234 : 0);	/* src-ref: Windows' constant */
	wb_u8(&w, 0);
	if (cr->has_neg) {
		if (windows && (cr->requested & RDP_PROTO_HYBRID))
			sel = RDP_PROTO_HYBRID;
		else if (cr->requested & RDP_PROTO_SSL && !nla_required)
			sel = RDP_PROTO_SSL;
		else if (!nla_required || !windows)
			sel = cr->requested & RDP_PROTO_SSL;
		else
			sel = 0xffffffffu;
		if (sel == 0xffffffffu) {
			wb_u8(&w, RDP_NEG_FAILURE);
			wb_u8(&w, 0);
			wb_u16_le(&w, 8);
			wb_u32_le(&w, HYBRID_REQUIRED_BY_SERVER);
			*ret_close = true;
		} else {
			wb_u8(&w, RDP_NEG_RSP);
			wb_u8(&w, windows ? flags : 0);
			wb_u16_le(&w, 8);
			wb_u32_le(&w, sel);
		}
	}
	return wb_ok(&w) ? wb_len(&w) : 0;
}

bool
rdp_is_client_hello(const uint8_t *buf, size_t len)
{
	struct cursor c = cur_init(buf, len);
	uint8_t type, hs, major, minor;

	/* Record header (type, version, length), then the handshake's type,
	 * 24-bit length and client_version. */
	return cur_u8(&c, &type) && type == 0x16 && cur_skip(&c, 4) && cur_u8(&c, &hs) &&
	       hs == 1 && cur_skip(&c, 3) && cur_u8(&c, &major) && cur_u8(&c, &minor) &&
	       major == 3 && minor >= 1;
}

/* Put a DER header (tag, definite length) before *pos in buf; false when
 * it does not fit. */
static bool
der_prepend(uint8_t *buf, size_t *pos, uint8_t tag, size_t len)
{
	uint8_t h[4];
	size_t n = 0;

	h[n++] = tag;
	if (len < 128) {
		h[n++] = (uint8_t)len;
	} else if (len < 256) {
		h[n++] = 0x81;
		h[n++] = (uint8_t)len;
	} else if (len < 65536) {
		h[n++] = 0x82;
		h[n++] = (uint8_t)(len >> 8);
		h[n++] = (uint8_t)len;
	} else {
		return false;
	}
	if (*pos < n)
		return false;
	*pos -= n;
	memcpy(buf + *pos, h, n);
	return true;
}

size_t
rdp_tsrequest(unsigned version, const uint8_t *token, size_t tlen, bool logon_failure,
	      uint8_t *out, size_t cap)
{
	/* errorCode STATUS_LOGON_FAILURE, a negative INTEGER of 4 bytes. */
	static const uint8_t err[] = { 0xa4, 0x06, 0x02, 0x04, 0xc0, 0x00, 0x00, 0x6d };
	size_t pos = cap, end = cap;

	if (logon_failure) {
		if (pos < sizeof(err))
			return 0;
		pos -= sizeof(err);
		memcpy(out + pos, err, sizeof(err));
	}
	if (token) {
		if (pos < tlen)
			return 0;
		pos -= tlen;
		memmove(out + pos, token, tlen);
		/* negoTokens [1] SEQUENCE OF SEQUENCE { negoToken [0] OCTET STRING } */
		if (!der_prepend(out, &pos, 0x04, tlen) ||
		    !der_prepend(out, &pos, 0xa0, end - pos - (logon_failure ? sizeof(err) : 0)) ||
		    !der_prepend(out, &pos, 0x30, end - pos - (logon_failure ? sizeof(err) : 0)) ||
		    !der_prepend(out, &pos, 0x30, end - pos - (logon_failure ? sizeof(err) : 0)) ||
		    !der_prepend(out, &pos, 0xa1, end - pos - (logon_failure ? sizeof(err) : 0)))
			return 0;
	}
	if (pos < 5)
		return 0;
	pos -= 5;
	memcpy(out + pos, (const uint8_t[]){ 0xa0, 0x03, 0x02, 0x01, (uint8_t)version }, 5);
	if (!der_prepend(out, &pos, 0x30, end - pos))
		return 0;
	memmove(out, out + pos, end - pos);
	return end - pos;
}
