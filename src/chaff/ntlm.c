/* ntlm: NTLMSSP challenge out, credentials in (MS-NLMP 2.2.1), SPNEGO wrapping. */
#include "chaff/ntlm.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/cursor.h"
#include "common/wbuf.h"

#define NTLMSSP_SIG		"NTLMSSP"	/* and a NUL: 8 bytes */

/* NegotiateFlags (MS-NLMP 2.2.2.5). */
#define NTLM_F_UNICODE		0x00000001u
#define NTLM_F_OEM		0x00000002u
#define NTLM_F_REQ_TARGET	0x00000004u
#define NTLM_F_SIGN		0x00000010u
#define NTLM_F_SEAL		0x00000020u
#define NTLM_F_NTLM		0x00000200u
#define NTLM_F_ALWAYS_SIGN	0x00008000u
#define NTLM_F_TARGET_SERVER	0x00020000u
#define NTLM_F_ESS		0x00080000u
#define NTLM_F_TARGET_INFO	0x00800000u
#define NTLM_F_VERSION		0x02000000u
#define NTLM_F_128		0x20000000u
#define NTLM_F_KEY_EXCH		0x40000000u
#define NTLM_F_56		0x80000000u

/* AV pair ids (MS-NLMP 2.2.2.1). */
enum { AV_EOL, AV_NB_COMPUTER, AV_NB_DOMAIN, AV_DNS_COMPUTER, AV_DNS_DOMAIN, AV_TIMESTAMP = 7 };

enum ntlm_type
ntlm_find(const uint8_t *blob, size_t len, size_t *ret_off)
{
	for (size_t i = 0; i + 12 <= len; i++) {
		struct cursor c;
		uint32_t type;

		if (blob[i] != 'N' || memcmp(blob + i, NTLMSSP_SIG, 8) != 0)
			continue;
		c = cur_init(blob + i, len - i);
		if (!cur_skip(&c, 8) || !cur_le32(&c, &type))
			return NTLM_NONE;
		if (type < NTLM_NEGOTIATE || type > NTLM_AUTHENTICATE)
			return NTLM_NONE;
		*ret_off = i;
		return (enum ntlm_type)type;
	}
	return NTLM_NONE;
}

uint32_t
ntlm_negotiate_flags(const uint8_t *msg, size_t len)
{
	struct cursor c = cur_init(msg, len);
	uint32_t f;

	if (!cur_skip(&c, 12) || !cur_le32(&c, &f))
		return 0;
	return f;
}

uint64_t
ntlm_filetime(uint64_t unix_ns)
{
	return unix_ns / 100 + 116444736000000000ULL;
}

/* ASCII as UTF-16LE. */
static void
wb_utf16(struct wbuf *w, const char *s)
{
	for (; *s; s++)
		wb_u16_le(w, (uint8_t)*s);
}

static void
av_str(struct wbuf *w, uint16_t id, const char *s)
{
	wb_u16_le(w, id);
	wb_u16_le(w, (uint16_t)(2 * strlen(s)));
	wb_utf16(w, s);
}

size_t
ntlm_challenge(const struct ntlm_ident *id, uint32_t cflags, const uint8_t challenge[8],
	       uint64_t filetime, uint8_t *out, size_t cap)
{
	struct wbuf w = wb_init(out, cap);
	uint8_t *tname, *tinfo;
	size_t tname_off, tname_len, tinfo_off, tinfo_len;
	/* What Windows answers a workgroup client with: Unicode, NTLM with
	 * extended session security, target info and version always; signing,
	 * sealing, key exchange and key strength as the client asked. */
	uint32_t flags = NTLM_F_REQ_TARGET | NTLM_F_NTLM | NTLM_F_ALWAYS_SIGN |
			 NTLM_F_TARGET_SERVER | NTLM_F_ESS | NTLM_F_TARGET_INFO | NTLM_F_VERSION |
			 (cflags & (NTLM_F_SIGN | NTLM_F_SEAL | NTLM_F_128 | NTLM_F_KEY_EXCH |
				    NTLM_F_56));

	flags |= cflags & NTLM_F_UNICODE ? NTLM_F_UNICODE : NTLM_F_OEM;
	wb_bytes(&w, NTLMSSP_SIG, 8);
	wb_u32_le(&w, NTLM_CHALLENGE);
	tname = wb_reserve(&w, 8);
	wb_u32_le(&w, flags);
	wb_bytes(&w, challenge, 8);
	wb_zero(&w, 8);
	tinfo = wb_reserve(&w, 8);
	wb_u8(&w, id->ver_major);
	wb_u8(&w, id->ver_minor);
	wb_u16_le(&w, id->ver_build);
	wb_zero(&w, 3);
	wb_u8(&w, 15);		/* NTLMSSP_REVISION_W2K3 */
	tname_off = wb_len(&w);
	wb_utf16(&w, id->nb_name);
	tname_len = wb_len(&w) - tname_off;
	tinfo_off = wb_len(&w);
	av_str(&w, AV_NB_DOMAIN, id->nb_domain);
	av_str(&w, AV_NB_COMPUTER, id->nb_name);
	av_str(&w, AV_DNS_DOMAIN, id->dns_domain);
	av_str(&w, AV_DNS_COMPUTER, id->dns_name);
	wb_u16_le(&w, AV_TIMESTAMP);
	wb_u16_le(&w, 8);
	wb_u64_le(&w, filetime);
	wb_u16_le(&w, AV_EOL);
	wb_u16_le(&w, 0);
	tinfo_len = wb_len(&w) - tinfo_off;
	if (!wb_ok(&w))
		return 0;
	wb_patch_u16_le(tname, (uint16_t)tname_len);
	wb_patch_u16_le(tname + 2, (uint16_t)tname_len);
	wb_patch_u32_le(tname + 4, (uint32_t)tname_off);
	wb_patch_u16_le(tinfo, (uint16_t)tinfo_len);
	wb_patch_u16_le(tinfo + 2, (uint16_t)tinfo_len);
	wb_patch_u32_le(tinfo + 4, (uint32_t)tinfo_off);
	return wb_len(&w);
}

/* A field descriptor (len, maxlen, offset) cut out of the whole message. */
static bool
field(struct cursor *hdr, const uint8_t *msg, size_t len, struct cursor *ret)
{
	uint16_t flen, fmax;
	uint32_t off;

	if (!cur_le16(hdr, &flen) || !cur_le16(hdr, &fmax) || !cur_le32(hdr, &off))
		return false;
	if ((uint64_t)off + flen > len)
		return false;
	*ret = cur_init(msg + off, flen);
	return true;
}

/* A string field as printable ASCII, cut to the buffer. */
static void
text(struct cursor f, bool unicode, char *out, size_t cap)
{
	size_t n = 0;

	while (!cur_empty(&f) && n + 1 < cap) {
		uint16_t ch;
		uint8_t b;

		if (unicode) {
			if (!cur_le16(&f, &ch))
				break;
		} else {
			if (!cur_u8(&f, &b))
				break;
			ch = b;
		}
		out[n++] = ch >= 0x20 && ch < 0x7f && ch != ':' ? (char)ch : '?';
	}
	out[n] = '\0';
}

/* Append n bytes as hex; false when it does not fit. */
static bool
hex(char *out, size_t cap, size_t *pos, const uint8_t *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";

	if (*pos + 2 * n + 1 > cap)
		return false;
	for (size_t i = 0; i < n; i++) {
		out[(*pos)++] = digits[p[i] >> 4];
		out[(*pos)++] = digits[p[i] & 15];
	}
	out[*pos] = '\0';
	return true;
}

static bool
put(char *out, size_t cap, size_t *pos, const char *s)
{
	size_t n = strlen(s);

	if (*pos + n + 1 > cap)
		return false;
	memcpy(out + *pos, s, n + 1);
	*pos += n;
	return true;
}

int
ntlm_parse_auth(const uint8_t *msg, size_t len, const uint8_t challenge[8],
		struct ntlm_auth *ret)
{
	struct cursor c = cur_init(msg, len), lm, nt, dom, user, ws, key;
	struct ntlm_auth a;
	uint32_t type, flags;
	bool unicode;

	memset(&a, 0, sizeof(a));
	if (len < 8 || memcmp(msg, NTLMSSP_SIG, 8) != 0 || !cur_skip(&c, 8) || !cur_le32(&c, &type) ||
	    type != NTLM_AUTHENTICATE)
		return -EINVAL;
	if (!field(&c, msg, len, &lm) || !field(&c, msg, len, &nt) ||
	    !field(&c, msg, len, &dom) || !field(&c, msg, len, &user) ||
	    !field(&c, msg, len, &ws) || !field(&c, msg, len, &key) || !cur_le32(&c, &flags))
		return -EINVAL;
	unicode = flags & NTLM_F_UNICODE;
	text(dom, unicode, a.domain, sizeof(a.domain));
	text(user, unicode, a.user, sizeof(a.user));
	text(ws, unicode, a.workstation, sizeof(a.workstation));
	ntlm_format(&a, lm.p, lm.len, nt.p, nt.len, challenge);
	*ret = a;
	return 0;
}

void
ntlm_format(struct ntlm_auth *a, const uint8_t *lm, size_t lm_len, const uint8_t *nt,
	    size_t nt_len, const uint8_t challenge[8])
{
	size_t pos = 0;
	bool ok = true;

	a->version = 0;
	a->hash[0] = '\0';
	if (nt_len == 24) {
		/* NTLMv1 (hashcat 5500): user::domain:lm:nt:challenge */
		a->version = 1;
		ok = put(a->hash, sizeof(a->hash), &pos, a->user) &&
		     put(a->hash, sizeof(a->hash), &pos, "::") &&
		     put(a->hash, sizeof(a->hash), &pos, a->domain) &&
		     put(a->hash, sizeof(a->hash), &pos, ":") &&
		     hex(a->hash, sizeof(a->hash), &pos, lm, lm_len) &&
		     put(a->hash, sizeof(a->hash), &pos, ":") &&
		     hex(a->hash, sizeof(a->hash), &pos, nt, nt_len) &&
		     put(a->hash, sizeof(a->hash), &pos, ":") &&
		     hex(a->hash, sizeof(a->hash), &pos, challenge, 8);
	} else if (nt_len > 24) {
		/* NTLMv2 (hashcat 5600): user::domain:challenge:NTProofStr:blob */
		a->version = 2;
		ok = put(a->hash, sizeof(a->hash), &pos, a->user) &&
		     put(a->hash, sizeof(a->hash), &pos, "::") &&
		     put(a->hash, sizeof(a->hash), &pos, a->domain) &&
		     put(a->hash, sizeof(a->hash), &pos, ":") &&
		     hex(a->hash, sizeof(a->hash), &pos, challenge, 8) &&
		     put(a->hash, sizeof(a->hash), &pos, ":") &&
		     hex(a->hash, sizeof(a->hash), &pos, nt, 16) &&
		     put(a->hash, sizeof(a->hash), &pos, ":") &&
		     hex(a->hash, sizeof(a->hash), &pos, nt + 16, nt_len - 16);
	}
	if (!ok)
		a->hash[0] = '\0';	/* too long to be a real response: names only */
}

void
ntlm_text(const uint8_t *p, size_t len, bool unicode, char *out, size_t cap)
{
	text(cur_init(p, len), unicode, out, cap);
}

/* A DER length of n (n < 65536). */
static void
der_len(struct wbuf *w, size_t n)
{
	if (n < 128) {
		wb_u8(w, (uint8_t)n);
	} else if (n < 256) {
		wb_u8(w, 0x81);
		wb_u8(w, (uint8_t)n);
	} else {
		wb_u8(w, 0x82);
		wb_u16(w, (uint16_t)n);
	}
}

static size_t
der_len_size(size_t n)
{
	return n < 128 ? 1 : n < 256 ? 2 : 3;
}

/* tag + length + the n bytes that follow: the header's size. */
static size_t
der_hdr(struct wbuf *w, uint8_t tag, size_t n)
{
	wb_u8(w, tag);
	der_len(w, n);
	return 1 + der_len_size(n);
}

static const uint8_t oid_spnego[] = { 0x06, 0x06, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x02 };
static const uint8_t oid_ntlmssp[] = { 0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37,
				       0x02, 0x02, 0x0a };
static const char neg_hint[] = "not_defined_in_RFC4178@please_ignore";

size_t
ntlm_spnego_init(uint8_t *out, size_t cap)
{
	struct wbuf w = wb_init(out, cap);
	size_t hint = strlen(neg_hint);
	/* Inside out: mechTypes [0] SEQUENCE { ntlmssp }, negHints [3]
	 * SEQUENCE { [0] GeneralString hint }. */
	size_t mech_seq = sizeof(oid_ntlmssp);
	size_t mech = 1 + der_len_size(mech_seq) + mech_seq;
	size_t hint_str = 1 + der_len_size(hint) + hint;
	size_t hint0 = 1 + der_len_size(hint_str) + hint_str;
	size_t hint_seq = 1 + der_len_size(hint0) + hint0;
	size_t a0_body = 1 + der_len_size(mech) + mech + 1 + der_len_size(hint_seq) + hint_seq;
	size_t seq = 1 + der_len_size(a0_body) + a0_body;
	size_t init = sizeof(oid_spnego) + 1 + der_len_size(seq) + seq;

	der_hdr(&w, 0x60, init);
	wb_bytes(&w, oid_spnego, sizeof(oid_spnego));
	der_hdr(&w, 0xa0, seq);
	der_hdr(&w, 0x30, a0_body);
	der_hdr(&w, 0xa0, mech);
	der_hdr(&w, 0x30, mech_seq);
	wb_bytes(&w, oid_ntlmssp, sizeof(oid_ntlmssp));
	der_hdr(&w, 0xa3, hint_seq);
	der_hdr(&w, 0x30, hint0);
	der_hdr(&w, 0xa0, hint_str);
	der_hdr(&w, 0x1b, hint);
	wb_bytes(&w, neg_hint, hint);
	return wb_ok(&w) ? wb_len(&w) : 0;
}

size_t
ntlm_spnego_resp(const uint8_t *token, size_t tlen, uint8_t *out, size_t cap)
{
	struct wbuf w = wb_init(out, cap);
	size_t state = 5;	/* a0 03 0a 01 01 */
	size_t mech = 2 + sizeof(oid_ntlmssp);
	size_t octets = 1 + der_len_size(tlen) + tlen;
	size_t tok = 1 + der_len_size(octets) + octets;
	size_t seq = state + mech + tok;
	static const uint8_t incomplete[] = { 0xa0, 0x03, 0x0a, 0x01, 0x01 };

	if (tlen > 60000)
		return 0;
	der_hdr(&w, 0xa1, 1 + der_len_size(seq) + seq);
	der_hdr(&w, 0x30, seq);
	wb_bytes(&w, incomplete, sizeof(incomplete));
	der_hdr(&w, 0xa1, sizeof(oid_ntlmssp));
	wb_bytes(&w, oid_ntlmssp, sizeof(oid_ntlmssp));
	der_hdr(&w, 0xa2, octets);
	der_hdr(&w, 0x04, tlen);
	wb_bytes(&w, token, tlen);
	return wb_ok(&w) ? wb_len(&w) : 0;
}
