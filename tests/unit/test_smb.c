/* Unit tests for src/chaff/smb.c: identities, SMB1/SMB2 negotiate, NTLMSSP session setup. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "chaff/smb.h"
#include "common/wbuf.h"

struct rec {
	int auths, requests;
	struct ntlm_auth last;
	char what[64];
};

static void
on_auth(void *arg, const struct ntlm_auth *a)
{
	struct rec *r = arg;

	r->auths++;
	r->last = *a;
}

static void
on_request(void *arg, const char *what)
{
	struct rec *r = arg;

	r->requests++;
	snprintf(r->what, sizeof(r->what), "%s", what);
}

struct fx {
	struct smb_ident id;
	struct smb_conn sc;
	struct rec rec;
	struct smb_io io;
	uint8_t out[8192];
};

static struct fx *
fx_new(const char *persona, const char *os, bool nbt)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	smb_ident_init(&f->id, persona, os, "DESKTOP-T3ST0AB", 42);
	smb_conn_open(&f->sc, nbt);
	memcpy(f->sc.challenge, "\x01\x23\x45\x67\x89\xab\xcd\xef", 8);
	f->io = (struct smb_io){ .id = &f->id, .now_ns = 1700000000000000000ULL,
				 .on_auth = on_auth, .on_request = on_request, .arg = &f->rec };
	return f;
}

static uint16_t
rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t
rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* A NetBIOS-framed message around body. */
static size_t
frame(uint8_t *out, const uint8_t *body, size_t n)
{
	out[0] = 0;
	out[1] = (uint8_t)(n >> 16);
	out[2] = (uint8_t)(n >> 8);
	out[3] = (uint8_t)n;
	memcpy(out + 4, body, n);
	return n + 4;
}

static size_t
smb1_negotiate_f(uint8_t *out, const char *const *dialects, size_t nd, uint16_t flags2)
{
	uint8_t b[512];
	struct wbuf w = wb_init(b, sizeof(b));
	uint8_t *bc;
	size_t start;

	wb_bytes(&w, "\xffSMBr", 5);
	wb_zero(&w, 4);
	wb_u8(&w, 0x18);
	wb_u16_le(&w, flags2);
	wb_zero(&w, 12);
	wb_u16_le(&w, 0);		/* TID */
	wb_u16_le(&w, 0xfeff);		/* PID */
	wb_u16_le(&w, 0);
	wb_u16_le(&w, 0);		/* MID */
	wb_u8(&w, 0);
	bc = wb_reserve(&w, 2);
	start = wb_len(&w);
	for (size_t i = 0; i < nd; i++) {
		wb_u8(&w, 2);
		wb_bytes(&w, dialects[i], strlen(dialects[i]) + 1);
	}
	wb_patch_u16_le(bc, (uint16_t)(wb_len(&w) - start));
	assert_true(wb_ok(&w));
	return frame(out, b, wb_len(&w));
}

/* Extended security asked, as smbclient asks. */
static size_t
smb1_negotiate(uint8_t *out, const char *const *dialects, size_t nd)
{
	return smb1_negotiate_f(out, dialects, nd, 0xc853);
}

/* SMB1 SESSION_SETUP_ANDX: wc 12 with blob, or wc 13 with LM/NT responses and account. */
static size_t
smb1_setup(uint8_t *out, const uint8_t *blob, size_t bl, const char *user, size_t nt_len)
{
	uint8_t b[1024];
	struct wbuf w = wb_init(b, sizeof(b));
	uint8_t *bc;
	size_t st;

	wb_bytes(&w, "\xffSMBs", 5);
	wb_zero(&w, 4);
	wb_u8(&w, 0x18);
	wb_u16_le(&w, blob ? 0xc807 : 0x0001);
	wb_zero(&w, 12);
	wb_u16_le(&w, 0);
	wb_u16_le(&w, 0x1234);
	wb_u16_le(&w, 0);
	wb_u16_le(&w, 2);
	wb_u8(&w, blob ? 12 : 13);
	wb_u8(&w, 0xff);
	wb_u8(&w, 0);
	wb_u16_le(&w, 0);
	wb_u16_le(&w, 4356);
	wb_u16_le(&w, 50);
	wb_u16_le(&w, 0);
	wb_u32_le(&w, 0);
	if (blob) {
		wb_u16_le(&w, (uint16_t)bl);
		wb_u32_le(&w, 0);
		wb_u32_le(&w, 0x800000d4);
		bc = wb_reserve(&w, 2);
		st = wb_len(&w);
		wb_bytes(&w, blob, bl);
	} else {
		wb_u16_le(&w, nt_len ? 24 : 0);
		wb_u16_le(&w, (uint16_t)nt_len);
		wb_u32_le(&w, 0);
		wb_u32_le(&w, 0xd4);
		bc = wb_reserve(&w, 2);
		st = wb_len(&w);
		for (size_t i = 0; nt_len && i < 24; i++)
			wb_u8(&w, 0x11);
		for (size_t i = 0; i < nt_len; i++)
			wb_u8(&w, 0x22);
		wb_bytes(&w, user, strlen(user) + 1);
		wb_bytes(&w, "CORP", 5);
	}
	wb_bytes(&w, "Unix\0Samba\0", 11);
	wb_patch_u16_le(bc, (uint16_t)(wb_len(&w) - st));
	assert_true(wb_ok(&w));
	return frame(out, b, wb_len(&w));
}

static void
smb2_hdr(struct wbuf *w, uint16_t cmd, uint64_t mid, uint64_t sid)
{
	wb_bytes(w, "\xfeSMB", 4);
	wb_u16_le(w, 64);
	wb_u16_le(w, 1);
	wb_u32_le(w, 0);
	wb_u16_le(w, cmd);
	wb_u16_le(w, 31);
	wb_u32_le(w, 0);
	wb_u32_le(w, 0);
	wb_u64_le(w, mid);
	wb_u32_le(w, 0xfeff);
	wb_u32_le(w, 0);
	wb_u64_le(w, sid);
	wb_zero(w, 16);
}

/* SMB2 NEGOTIATE with dialects and (when any is 0x0311) the two 3.1.1 contexts. */
static size_t
smb2_negotiate(uint8_t *out, const uint16_t *d, size_t nd)
{
	uint8_t b[512], *ctx;
	struct wbuf w = wb_init(b, sizeof(b));
	bool v311 = false;

	for (size_t i = 0; i < nd; i++)
		v311 |= d[i] == 0x0311;
	smb2_hdr(&w, 0, 0, 0);
	wb_u16_le(&w, 36);
	wb_u16_le(&w, (uint16_t)nd);
	wb_u16_le(&w, 1);
	wb_u16_le(&w, 0);
	wb_u32_le(&w, 0x7f);
	wb_zero(&w, 16);
	ctx = wb_reserve(&w, 4);
	wb_u16_le(&w, v311 ? 2 : 0);
	wb_u16_le(&w, 0);
	for (size_t i = 0; i < nd; i++)
		wb_u16_le(&w, d[i]);
	if (v311) {
		while (wb_len(&w) % 8)
			wb_u8(&w, 0);
		wb_patch_u32_le(ctx, (uint32_t)wb_len(&w));
		wb_u16_le(&w, 1);
		wb_u16_le(&w, 38);
		wb_u32_le(&w, 0);
		wb_u16_le(&w, 1);
		wb_u16_le(&w, 32);
		wb_u16_le(&w, 1);
		wb_zero(&w, 32);
		while (wb_len(&w) % 8)
			wb_u8(&w, 0);
		wb_u16_le(&w, 2);
		wb_u16_le(&w, 6);
		wb_u32_le(&w, 0);
		wb_u16_le(&w, 2);
		wb_u16_le(&w, 1);	/* CCM first: Windows still picks GCM */
		wb_u16_le(&w, 2);
	} else {
		wb_patch_u32_le(ctx, 0);
	}
	assert_true(wb_ok(&w));
	return frame(out, b, wb_len(&w));
}

static size_t
session_setup(uint8_t *out, const uint8_t *blob, size_t n, uint64_t mid, uint64_t sid)
{
	uint8_t b[2048];
	struct wbuf w = wb_init(b, sizeof(b));

	smb2_hdr(&w, 1, mid, sid);
	wb_u16_le(&w, 25);
	wb_u8(&w, 0);
	wb_u8(&w, 1);
	wb_u32_le(&w, 1);
	wb_u32_le(&w, 0);
	wb_u16_le(&w, 64 + 24);
	wb_u16_le(&w, (uint16_t)n);
	wb_u64_le(&w, 0);
	wb_bytes(&w, blob, n);
	assert_true(wb_ok(&w));
	return frame(out, b, wb_len(&w));
}

static const uint8_t ntlm_negotiate[] = "NTLMSSP\0\x01\0\0\0\x15\x82\x08\x62"
					"\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0";

static void
utf16(struct wbuf *w, const char *s)
{
	for (; *s; s++)
		wb_u16_le(w, (uint8_t)*s);
}

/* An AUTHENTICATE_MESSAGE with an NTLMv2 response of nt_len bytes. */
static size_t
ntlm_auth(uint8_t *out, size_t cap, const char *dom, const char *user, const char *ws,
	  size_t nt_len)
{
	struct wbuf w = wb_init(out, cap);
	size_t off = 72, lens[5] = { 24, nt_len, 2 * strlen(dom), 2 * strlen(user), 2 * strlen(ws) };

	wb_bytes(&w, "NTLMSSP\0", 8);
	wb_u32_le(&w, 3);
	for (int i = 0; i < 5; i++) {
		wb_u16_le(&w, (uint16_t)lens[i]);
		wb_u16_le(&w, (uint16_t)lens[i]);
		wb_u32_le(&w, (uint32_t)off);
		off += lens[i];
	}
	wb_u16_le(&w, 0);
	wb_u16_le(&w, 0);
	wb_u32_le(&w, (uint32_t)off);
	wb_u32_le(&w, 0x62088215);
	wb_zero(&w, 72 - wb_len(&w));
	for (size_t i = 0; i < 24; i++)
		wb_u8(&w, 0);
	for (size_t i = 0; i < nt_len; i++)
		wb_u8(&w, (uint8_t)(0xa0 + i));
	utf16(&w, dom);
	utf16(&w, user);
	utf16(&w, ws);
	assert_true(wb_ok(&w));
	return wb_len(&w);
}

static size_t
feed(struct fx *f, const uint8_t *in, size_t n, bool *close)
{
	*close = false;
	return smb_input(&f->sc, &f->io, in, n, f->out, sizeof(f->out), close);
}

static void
test_ident(void **state)
{
	struct smb_ident a, b, c, l;

	(void)state;
	smb_ident_init(&a, "windows-10", "Microsoft Windows 10 1607", "desktop-ab12cd3", 1);
	smb_ident_init(&b, "windows-10", "Microsoft Windows 10 1607", "desktop-ab12cd3", 1);
	smb_ident_init(&c, "windows-10", "Microsoft Windows 10 1607", "desktop-ab12cd3", 2);
	assert_memory_equal(&a, &b, sizeof(a));
	assert_memory_not_equal(a.guid, c.guid, 16);
	/* The host's own name, as NetBIOS writes it. */
	assert_string_equal(a.ntlm.nb_name, "DESKTOP-AB12CD3");
	assert_int_equal(a.max_dialect, 0x0311);
	assert_int_equal(a.ntlm.ver_major, 10);
	assert_true(a.windows);
	assert_false(a.server);
	/* No name given (tests): a derived one, per seed. */
	smb_ident_init(&a, "windows-10", "Microsoft Windows 10 1607", NULL, 1);
	smb_ident_init(&c, "windows-10", "Microsoft Windows 10 1607", NULL, 2);
	assert_int_equal(strncmp(a.ntlm.nb_name, "WIN-", 4), 0);
	assert_string_not_equal(a.ntlm.nb_name, c.ntlm.nb_name);

	smb_ident_init(&a, "windows-7", "Microsoft Windows 7 SP1", "ANNA-PC", 1);
	assert_int_equal(a.max_dialect, 0x0210);
	assert_int_equal(a.ntlm.ver_build, 7601);
	assert_string_equal(a.ntlm.nb_name, "ANNA-PC");
	assert_true(a.smb1);
	assert_false(a.server);

	/* The edition comes from the version, never from the name. */
	smb_ident_init(&a, "fp", "Microsoft Windows Server 2012 R2", "DESKTOP-X", 1);
	assert_int_equal(a.max_dialect, 0x0302);
	assert_int_equal(a.ntlm.ver_minor, 3);
	assert_true(a.server);
	smb_ident_init(&a, "fp", "Microsoft Windows 8 Pro", "WIN-ABCDEFGHIJK", 1);
	assert_false(a.server);
	/* "2016" in a non-Windows name is not Windows. */
	smb_ident_init(&l, "linux-5.4", "Linux 5.0 - 5.4 (2016)", NULL, 1);
	assert_false(l.windows);
	assert_false(l.smb1);
	assert_int_equal(strncmp(l.ntlm.nb_name, "FILES", 5), 0);
}

static void
test_smb1_to_smb2(void **state)
{
	static const char *const dialects[] = { "NT LM 0.12", "SMB 2.002", "SMB 2.???" };
	struct fx *f = fx_new("windows-10", "Microsoft Windows 10 1607", false);
	uint8_t in[512];
	size_t n = smb1_negotiate(in, dialects, 3), o;
	bool close;

	(void)state;
	o = feed(f, in, n, &close);
	assert_false(close);
	assert_true(o > 4 + 64 + 64);
	assert_memory_equal(f->out + 4, "\xfeSMB", 4);
	assert_int_equal(rd16(f->out + 4 + 12), 0);		/* NEGOTIATE */
	assert_int_equal(rd16(f->out + 4 + 64), 65);
	assert_int_equal(rd16(f->out + 4 + 64 + 4), 0x02ff);	/* wildcard */
	assert_memory_equal(f->out + 4 + 64 + 8, f->id.guid, 16);
	/* The security buffer: SPNEGO offering NTLMSSP. */
	assert_int_equal(rd16(f->out + 4 + 64 + 56), 128);
	assert_int_equal(f->out[4 + 128], 0x60);
	assert_non_null(memmem(f->out, o, "\x2b\x06\x01\x04\x01\x82\x37\x02\x02\x0a", 10));

	/* Then the SMB2 NEGOTIATE: 3.1.1 with its two contexts and GCM. */
	{
		static const uint16_t d[] = { 0x0202, 0x0210, 0x0300, 0x0302, 0x0311 };

		n = smb2_negotiate(in, d, 5);
	}
	o = feed(f, in, n, &close);
	assert_false(close);
	assert_int_equal(rd16(f->out + 4 + 64 + 4), 0x0311);
	assert_int_equal(rd16(f->out + 4 + 64 + 6), 2);
	{
		uint32_t ctx = rd32(f->out + 4 + 64 + 60);
		const uint8_t *enc;

		assert_int_equal(ctx % 8, 0);
		assert_int_equal(rd16(f->out + 4 + ctx), 1);
		enc = f->out + 4 + ctx + 48;	/* 8 + 38, padded to 8 */
		assert_int_equal(rd16(enc), 2);
		assert_int_equal(rd16(enc + 8 + 2), 2);	/* AES-128-GCM */
		assert_int_equal(4 + ctx + 48 + 12, o);
	}
	assert_string_equal(f->rec.what, "smb2 negotiate 0x0311");
	free(f);
}

static void
test_smb1_only(void **state)
{
	static const char *const dialects[] = { "PC NETWORK PROGRAM 1.0", "LANMAN1.0",
						"NT LM 0.12" };
	struct fx *f = fx_new("windows-7", "Microsoft Windows 7 SP1", false);
	uint8_t in[1024];
	size_t n = smb1_negotiate_f(in, dialects, 3, 0x4001), o;	/* nmap's: no extended security */
	bool close;

	(void)state;
	o = feed(f, in, n, &close);
	assert_false(close);
	assert_memory_equal(f->out + 4, "\xffSMBr", 5);
	assert_int_equal(f->out[4 + 32], 17);
	assert_int_equal(rd16(f->out + 4 + 33), 2);		/* NT LM 0.12's index */
	assert_int_equal(rd32(f->out + 4 + 52), 0x0001e3fc);
	assert_memory_equal(f->out + 4 + 69, f->sc.challenge, 8);
	assert_true(o > 4 + 78 + 20);
	/* Another negotiate is not spoken. */
	o = feed(f, in, n, &close);
	assert_true(close);
	free(f);

	/* A null session (basic security): granted, with the OS strings. */
	f = fx_new("windows-7", "Microsoft Windows 7 SP1", false);
	o = feed(f, in, n, &close);
	n = smb1_setup(in, NULL, 0, "", 0);
	o = feed(f, in, n, &close);
	assert_false(close);
	assert_int_equal(rd32(f->out + 4 + 5), 0);
	assert_int_equal(f->out[4 + 32], 3);
	assert_string_equal((char *)f->out + 4 + 32 + 9,
			    "Windows 7 Professional 7601 Service Pack 1");
	assert_non_null(memmem(f->out, o, "Windows 7 Professional 6.1\0WORKGROUP\0", 37));
	/* Credentials (NTLMv1 responses to the negotiate's challenge): recorded, refused. */
	n = smb1_setup(in, NULL, 0, "admin", 24);
	o = feed(f, in, n, &close);
	assert_int_equal(rd32(f->out + 4 + 5), 0xc000006d);
	assert_int_equal(f->rec.auths, 1);
	assert_string_equal(f->rec.last.user, "admin");
	assert_string_equal(f->rec.last.domain, "CORP");
	assert_int_equal(f->rec.last.version, 1);
	assert_non_null(strstr(f->rec.last.hash, ":0123456789abcdef"));
	free(f);

	/* Extended security: GUID and SPNEGO, then NTLMSSP in SESSION_SETUP_ANDX. */
	f = fx_new("windows-10", "Microsoft Windows 10 1607", false);
	n = smb1_negotiate(in, dialects, 3);
	o = feed(f, in, n, &close);
	assert_int_equal(rd32(f->out + 4 + 52), 0x8001e3fc);
	assert_int_equal(f->out[4 + 66], 0);
	assert_memory_equal(f->out + 4 + 69, f->id.guid, 16);
	assert_int_equal(f->out[4 + 85], 0x60);
	n = smb1_setup(in, ntlm_negotiate, sizeof(ntlm_negotiate) - 1, NULL, 0);
	o = feed(f, in, n, &close);
	assert_false(close);
	assert_int_equal(rd32(f->out + 4 + 5), 0xc0000016);
	assert_non_null(memmem(f->out, o, "NTLMSSP\0\x02", 9));
	assert_non_null(memmem(f->out, o, "W\0i\0n\0d\0o\0w\0s\0 \0001\0000\0 \0P\0r\0o\0", 28));
	{
		uint8_t blob[256];
		size_t bl = ntlm_auth(blob, sizeof(blob), "", "", "", 0);

		n = smb1_setup(in, blob, bl, NULL, 0);
	}
	o = feed(f, in, n, &close);
	assert_int_equal(rd32(f->out + 4 + 5), 0);	/* anonymous: a null session */
	assert_int_equal(f->rec.auths, 0);
	free(f);
	n = smb1_negotiate(in, dialects, 3);

	/* Samba has no SMB1: closed. */
	f = fx_new("linux-5.4", "Linux 5.0 - 5.4", false);
	o = feed(f, in, n, &close);
	assert_true(close);
	assert_int_equal(o, 0);
	free(f);
}

static void
test_session_setup(void **state)
{
	static const uint16_t d[] = { 0x0202, 0x0210, 0x0300 };
	struct fx *f = fx_new("windows-7", "Microsoft Windows 7 SP1", false);
	uint8_t in[4096], blob[2048];
	size_t n = smb2_negotiate(in, d, 3), o, bl;
	const uint8_t *chal;
	bool close;

	(void)state;
	o = feed(f, in, n, &close);
	assert_int_equal(rd16(f->out + 4 + 64 + 4), 0x0210);

	n = session_setup(in, ntlm_negotiate, sizeof(ntlm_negotiate) - 1, 1, 0);
	o = feed(f, in, n, &close);
	assert_false(close);
	assert_int_equal(rd32(f->out + 4 + 8), 0xc0000016);	/* MORE_PROCESSING_REQUIRED */
	assert_int_equal(rd16(f->out + 4 + 64), 9);
	chal = f->out + 4 + 64 + 8;
	assert_memory_equal(chal, "NTLMSSP\0\x02\0\0\0", 12);	/* raw in, raw out */
	assert_memory_equal(chal + 24, f->sc.challenge, 8);
	assert_non_null(memmem(f->out, o, "D\0E\0S\0K\0T\0O\0P\0-\0", 16));
	assert_int_equal(chal[48], 6);
	assert_int_equal(chal[49], 1);
	assert_int_equal(rd16(chal + 50), 7601);

	bl = ntlm_auth(blob, sizeof(blob), "CORP", "alice", "KALI", 80);
	n = session_setup(in, blob, bl, 2, f->sc.session_id);
	/* Byte by byte, as the slowest TCP would bring it. */
	o = 0;
	for (size_t i = 0; i < n; i++) {
		o += feed(f, in + i, 1, &close);
		assert_false(close);
	}
	assert_int_equal(o, 4 + 64 + 9);
	assert_int_equal(rd32(f->out + 4 + 8), 0xc000006d);	/* LOGON_FAILURE */
	assert_int_equal(f->rec.auths, 1);
	assert_string_equal(f->rec.last.user, "alice");
	assert_string_equal(f->rec.last.domain, "CORP");
	assert_string_equal(f->rec.last.workstation, "KALI");
	assert_int_equal(f->rec.last.version, 2);
	assert_int_equal(strncmp(f->rec.last.hash, "alice::CORP:0123456789abcdef:a0a1a2a3", 37), 0);
	free(f);
}

static void
test_framing(void **state)
{
	struct fx *f = fx_new("windows-10", "Microsoft Windows 10", true);
	static const uint16_t d[] = { 0x0202 };
	uint8_t in[512];
	size_t n, o;
	bool close;

	(void)state;
	/* Port 139: SMB before the session request gets a negative session response. */
	n = smb2_negotiate(in, d, 1);
	o = feed(f, in, n, &close);
	assert_true(close);
	assert_int_equal(o, 5);
	assert_memory_equal(f->out, "\x83\0\0\x01\x8f", 5);
	free(f);

	f = fx_new("windows-10", "Microsoft Windows 10", true);
	memcpy(in, "\x81\0\0\x44", 4);
	memset(in + 4, 'A', 0x44);
	o = feed(f, in, 4 + 0x44, &close);
	assert_false(close);
	assert_int_equal(o, 4);
	assert_memory_equal(f->out, "\x82\0\0\0", 4);
	n = smb2_negotiate(in, d, 1);
	o = feed(f, in, n, &close);
	assert_false(close);
	assert_int_equal(rd16(f->out + 4 + 64 + 4), 0x0202);
	free(f);

	/* A length past the cap closes before any of it is buffered. */
	f = fx_new("windows-10", "Microsoft Windows 10", false);
	o = feed(f, (const uint8_t *)"\0\x01\0\0", 4, &close);
	assert_true(close);
	/* No dialect in common: STATUS_NOT_SUPPORTED and close. */
	f->sc.have = 0;
	{
		static const uint16_t none[] = { 0x0100 };

		n = smb2_negotiate(in, none, 1);
	}
	o = feed(f, in, n, &close);
	assert_true(close);
	assert_int_equal(rd32(f->out + 4 + 8), 0xc00000bb);
	free(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ident),
		cmocka_unit_test(test_smb1_to_smb2),
		cmocka_unit_test(test_smb1_only),
		cmocka_unit_test(test_session_setup),
		cmocka_unit_test(test_framing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
