/* smb: SMB2 negotiate and NTLMSSP session setup as a Windows (or Samba) host answers them. */
#include "chaff/smb.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "common/cursor.h"
#include "common/wbuf.h"

enum { SMB_S_START, SMB_S_NEGOTIATED, SMB_S_SMB1 };

#define SMB2_NEGOTIATE		0x0000
#define SMB2_SESSION_SETUP	0x0001
#define SMB2_LOGOFF		0x0002
#define SMB2_ECHO		0x000d

#define STATUS_SUCCESS			0x00000000u
#define STATUS_MORE_PROCESSING		0xc0000016u
#define STATUS_ACCESS_DENIED		0xc0000022u
#define STATUS_NOT_SUPPORTED		0xc00000bbu
#define STATUS_LOGON_FAILURE		0xc000006du
#define STATUS_USER_SESSION_DELETED	0xc0000203u

#define SMB2_HDR	64
/* The wildcard dialect of an SMB2 answer to an SMB1 negotiate offering "SMB 2.???". */
#define DIALECT_WILDCARD	0x02ff

static uint64_t
mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* The Windows release a personality names, as (major, minor, build, max dialect, SMB1,
 * server edition). */
static const struct {
	const char *key;
	uint8_t major, minor;
	uint16_t build, dialect;
	bool smb1, server;
	const char *product;	/* the edition SMB1's NativeOS names */
} versions[] = {
	{ "2022", 10, 0, 20348, 0x0311, false, true, "Windows Server 2022 Standard" },
	{ "Windows 11", 10, 0, 22000, 0x0311, false, false, "Windows 11 Pro" },
	{ "2019", 10, 0, 17763, 0x0311, false, true, "Windows Server 2019 Standard" },
	{ "2016", 10, 0, 14393, 0x0311, true, true, "Windows Server 2016 Standard" },
	{ "windows-10", 10, 0, 14393, 0x0311, true, false, "Windows 10 Pro" },
	{ "Windows 10", 10, 0, 14393, 0x0311, true, false, "Windows 10 Pro" },
	{ "2012 R2", 6, 3, 9600, 0x0302, true, true, "Windows Server 2012 R2 Standard" },
	{ "Windows 8.1", 6, 3, 9600, 0x0302, true, false, "Windows 8.1 Pro" },
	{ "2012", 6, 2, 9200, 0x0300, true, true, "Windows Server 2012 Standard" },
	{ "Windows 8", 6, 2, 9200, 0x0300, true, false, "Windows 8 Pro" },
	{ "Windows 7", 6, 1, 7601, 0x0210, true, false, "Windows 7 Professional" },
	{ "windows-7", 6, 1, 7601, 0x0210, true, false, "Windows 7 Professional" },
	{ "2008 R2", 6, 1, 7601, 0x0210, true, true, "Windows Server 2008 R2 Standard" },
	{ "Vista", 6, 0, 6002, 0x0202, true, false, "Windows Vista (TM) Business" },
	{ "2008", 6, 0, 6002, 0x0202, true, true, "Windows Server (R) 2008 Standard" },
	{ "XP", 5, 1, 2600, 0, true, false, "Windows 5.1" },
	{ "2003", 5, 2, 3790, 0, true, true, "Windows Server 2003 3790" },
	{ "Windows", 10, 0, 14393, 0x0311, true, true, "Windows Server 2016 Standard" },
};

static void
rand_name(char *out, size_t n, uint64_t *seed)
{
	static const char chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

	for (size_t i = 0; i < n; i++) {
		*seed = mix(*seed);
		out[i] = chars[*seed % (sizeof(chars) - 1)];
	}
	out[n] = '\0';
}

void
smb_ident_init(struct smb_ident *ret, const char *persona_name, const char *os, const char *name,
	       uint64_t seed)
{
	struct smb_ident id;
	char suffix[16];
	int v = -1;

	memset(&id, 0, sizeof(id));
	for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]) && v < 0; i++)
		if ((persona_name && strstr(persona_name, versions[i].key)) ||
		    (os && strstr(os, versions[i].key)))
			v = (int)i;
	/* "2008"/"2012"/"2016" alone match many non-Windows names: only with Windows. */
	if (v >= 0 && !(persona_name && strstr(persona_name, "windows")) &&
	    !(os && strstr(os, "Windows")))
		v = -1;
	if (v >= 0) {
		id.windows = true;
		id.ntlm.ver_major = versions[v].major;
		id.ntlm.ver_minor = versions[v].minor;
		id.ntlm.ver_build = versions[v].build;
		id.max_dialect = versions[v].dialect;
		id.smb1 = versions[v].smb1;
		snprintf(id.product, sizeof(id.product), "%s", versions[v].product);
		id.server = versions[v].server;
		if (name && name[0]) {
			/* NetBIOS names are upper case, 15 characters at most. */
			for (size_t i = 0; name[i] && i < sizeof(id.ntlm.nb_name) - 1; i++)
				id.ntlm.nb_name[i] = (char)toupper((unsigned char)name[i]);
		} else {
			rand_name(suffix, 11, &seed);
			snprintf(id.ntlm.nb_name, sizeof(id.ntlm.nb_name), "WIN-%.11s", suffix);
		}
		snprintf(id.ntlm.nb_domain, sizeof(id.ntlm.nb_domain), "WORKGROUP");
		/* A workgroup host: its DNS names are its own name. */
		snprintf(id.ntlm.dns_name, sizeof(id.ntlm.dns_name), "%s", id.ntlm.nb_name);
		snprintf(id.ntlm.dns_domain, sizeof(id.ntlm.dns_domain), "%s", id.ntlm.nb_name);
	} else {
		/* Samba 4 as a standalone server: NTLM version 6.1.0, SMB 3.1.1, no SMB1. */
		id.ntlm.ver_major = 6;
		id.ntlm.ver_minor = 1;
		id.max_dialect = 0x0311;
		snprintf(id.product, sizeof(id.product), "Windows 6.1");
		rand_name(suffix, 4, &seed);
		snprintf(id.ntlm.nb_name, sizeof(id.ntlm.nb_name), "FILES%.4s", suffix);
		snprintf(id.ntlm.nb_domain, sizeof(id.ntlm.nb_domain), "WORKGROUP");
		for (size_t i = 0; id.ntlm.nb_name[i]; i++) {
			char ch = id.ntlm.nb_name[i];

			id.ntlm.dns_name[i] = (char)(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
		}
		snprintf(id.ntlm.dns_domain, sizeof(id.ntlm.dns_domain), "localdomain");
	}
	for (int i = 0; i < 2; i++) {
		uint64_t g = mix(seed ^ (0x5342ULL + (uint64_t)i));

		memcpy(id.guid + 8 * i, &g, 8);
	}
	*ret = id;
}

void
smb_conn_open(struct smb_conn *sc, bool nbt)
{
	memset(sc, 0, sizeof(*sc));
	sc->nbt = nbt;
	/* getrandom() of 48 bytes never blocks once the pool is ready and is not
	 * interrupted below 256 bytes; a short read leaves zeros, not a crash. */
	(void)!getrandom(sc->challenge, sizeof(sc->challenge), 0);
	(void)!getrandom(&sc->session_id, sizeof(sc->session_id), 0);
	(void)!getrandom(sc->salt, sizeof(sc->salt), 0);
	/* Windows' session ids: a small index in the low bits, a sequence above. */
	sc->session_id = (sc->session_id & 0x0000ffff00000000ULL) | 0x0000000000000011ULL;
}

static bool
le64(struct cursor *c, uint64_t *ret)
{
	uint32_t lo, hi;

	if (!cur_le32(c, &lo) || !cur_le32(c, &hi))
		return false;
	*ret = (uint64_t)hi << 32 | lo;
	return true;
}

/* The request fields a response echoes. */
struct smb2_req {
	uint16_t credit_charge, command, credits;
	uint64_t message_id, session_id;
};

/* A NetBIOS session message header whose length is patched at the end. */
static uint8_t *
nb_begin(struct wbuf *w)
{
	return wb_reserve(w, 4);
}

static void
nb_end(struct wbuf *w, uint8_t *hdr, size_t start)
{
	size_t n = wb_len(w) - start - 4;

	if (!hdr)
		return;
	hdr[0] = 0;
	hdr[1] = (uint8_t)(n >> 16);
	hdr[2] = (uint8_t)(n >> 8);
	hdr[3] = (uint8_t)n;
}

static void
smb2_hdr(struct wbuf *w, const struct smb2_req *rq, uint32_t status, uint64_t session_id)
{
	wb_bytes(w, "\xfeSMB", 4);
	wb_u16_le(w, SMB2_HDR);
	wb_u16_le(w, rq->credit_charge);
	wb_u32_le(w, status);
	wb_u16_le(w, rq->command);
	wb_u16_le(w, rq->credits ? rq->credits : 1);
	wb_u32_le(w, 0x00000001);	/* SMB2_FLAGS_SERVER_TO_REDIR */
	wb_u32_le(w, 0);		/* NextCommand */
	wb_u64_le(w, rq->message_id);
	wb_u32_le(w, 0x0000feff);	/* Reserved (process id) as Windows fills it */
	wb_u32_le(w, 0);		/* TreeId */
	wb_u64_le(w, session_id);
	wb_zero(w, 16);			/* Signature */
}

static void
smb2_error(struct wbuf *w, const struct smb2_req *rq, uint32_t status, uint64_t session_id)
{
	uint8_t *nb = nb_begin(w);
	size_t start = wb_len(w) - 4;

	smb2_hdr(w, rq, status, session_id);
	wb_u16_le(w, 9);
	wb_u8(w, 0);		/* ErrorContextCount */
	wb_u8(w, 0);
	wb_u32_le(w, 0);	/* ByteCount */
	wb_u8(w, 0);		/* ErrorData */
	nb_end(w, nb, start);
}

static uint32_t
caps_for(uint16_t dialect)
{
	/* DFS; LEASING and LARGE_MTU from 2.1; MULTI_CHANNEL and DIRECTORY_LEASING from 3.0. */
	if (dialect >= 0x0300 && dialect != DIALECT_WILDCARD)
		return 0x0000002f;
	if (dialect >= 0x0210)
		return 0x00000007;
	return 0x00000001;
}

/* The NEGOTIATE response; cipher != 0 adds the 3.1.1 contexts. */
static void
smb2_negotiate_resp(struct wbuf *w, const struct smb_conn *sc, const struct smb_io *io,
		    const struct smb2_req *rq, uint16_t dialect, uint16_t cipher)
{
	uint8_t blob[128], *nb, *ctx_off;
	size_t start = wb_len(w), blen = ntlm_spnego_init(blob, sizeof(blob));
	bool v311 = dialect == 0x0311;
	uint32_t max_io = dialect >= 0x0210 ? 8388608 : 65536;

	if (io->id->windows && io->id->ntlm.ver_major == 6 && io->id->ntlm.ver_minor <= 1 &&
	    dialect >= 0x0210)
		max_io = 1048576;	/* Windows 7 / 2008 R2 */
	nb = nb_begin(w);
	smb2_hdr(w, rq, STATUS_SUCCESS, 0);
	wb_u16_le(w, 65);
	wb_u16_le(w, 0x0001);		/* signing enabled, not required */
	wb_u16_le(w, dialect);
	wb_u16_le(w, v311 ? (cipher ? 2 : 1) : 0);
	wb_bytes(w, io->id->guid, 16);
	wb_u32_le(w, caps_for(dialect));
	wb_u32_le(w, max_io);
	wb_u32_le(w, max_io);
	wb_u32_le(w, max_io);
	wb_u64_le(w, ntlm_filetime(io->now_ns));
	wb_u64_le(w, 0);		/* ServerStartTime: Windows sends 0 */
	wb_u16_le(w, SMB2_HDR + 64);
	wb_u16_le(w, (uint16_t)blen);
	ctx_off = wb_reserve(w, 4);
	wb_bytes(w, blob, blen);
	if (v311) {
		size_t rel;

		while ((wb_len(w) - start - 4) % 8)
			wb_u8(w, 0);
		rel = wb_len(w) - start - 4;
		wb_patch_u32_le(ctx_off, (uint32_t)rel);
		/* SMB2_PREAUTH_INTEGRITY_CAPABILITIES: SHA-512 and a 32-byte salt. */
		wb_u16_le(w, 1);
		wb_u16_le(w, 38);
		wb_u32_le(w, 0);
		wb_u16_le(w, 1);
		wb_u16_le(w, 32);
		wb_u16_le(w, 1);
		wb_bytes(w, sc->salt, 32);
		if (cipher) {
			while ((wb_len(w) - start - 4) % 8)
				wb_u8(w, 0);
			/* SMB2_ENCRYPTION_CAPABILITIES: the one cipher chosen. */
			wb_u16_le(w, 2);
			wb_u16_le(w, 4);
			wb_u32_le(w, 0);
			wb_u16_le(w, 1);
			wb_u16_le(w, cipher);
		}
	} else {
		wb_patch_u32_le(ctx_off, 0);
	}
	nb_end(w, nb, start);
}

/* The cipher Windows 10 picks from the client's 3.1.1 encryption context:
 * AES-128-GCM before AES-128-CCM; 0 when there is no context or no match. */
static uint16_t
pick_cipher(const uint8_t *msg, size_t len, struct cursor body)
{
	uint32_t off;
	uint16_t count, best = 0;
	struct cursor c;

	if (!cur_skip(&body, 28) || !cur_le32(&body, &off) || !cur_le16(&body, &count))
		return 0;
	if (off >= len)
		return 0;
	c = cur_init(msg + off, len - off);
	for (uint16_t i = 0; i < count && i < 16; i++) {
		uint16_t type, dlen, n;
		struct cursor d;

		while (c.off % 8)
			if (!cur_skip(&c, 1))
				return best;
		if (!cur_le16(&c, &type) || !cur_le16(&c, &dlen) || !cur_skip(&c, 4) ||
		    !cur_sub(&c, dlen, &d))
			return best;
		if (type != 2 || !cur_le16(&d, &n))
			continue;
		for (uint16_t k = 0; k < n && k < 16; k++) {
			uint16_t ci;

			if (!cur_le16(&d, &ci))
				break;
			if (ci == 2)
				best = 2;
			else if (ci == 1 && best == 0)
				best = 1;
		}
	}
	return best;
}

static const uint16_t known_dialects[] = { 0x0202, 0x0210, 0x0300, 0x0302, 0x0311 };

static bool
known_dialect(uint16_t d)
{
	for (size_t i = 0; i < sizeof(known_dialects) / sizeof(known_dialects[0]); i++)
		if (known_dialects[i] == d)
			return true;
	return false;
}

/* Tell the caller what was asked: "what", or "what 0xVVVV" when v >= 0. */
static void
request(const struct smb_io *io, const char *what, int v)
{
	char buf[64];

	if (!io->on_request)
		return;
	if (v >= 0)
		snprintf(buf, sizeof(buf), "%s 0x%04x", what, (unsigned)v);
	else
		snprintf(buf, sizeof(buf), "%s", what);
	io->on_request(io->arg, buf);
}

static void
smb2_negotiate(struct smb_conn *sc, const struct smb_io *io, const struct smb2_req *rq,
	       const uint8_t *msg, size_t len, struct cursor body, struct wbuf *w, bool *close)
{
	struct cursor b = body;
	uint16_t size, count, best = 0;

	if (!cur_le16(&b, &size) || size != 36 || !cur_le16(&b, &count) || !cur_skip(&b, 32)) {
		*close = true;
		return;
	}
	for (uint16_t i = 0; i < count && i < 64; i++) {
		uint16_t d;

		if (!cur_le16(&b, &d))
			break;
		if (known_dialect(d) && d <= io->id->max_dialect && d > best)
			best = d;
	}
	request(io, "smb2 negotiate", best);
	if (best == 0) {
		smb2_error(w, rq, STATUS_NOT_SUPPORTED, 0);
		*close = true;
		return;
	}
	sc->dialect = best;
	sc->state = SMB_S_NEGOTIATED;
	smb2_negotiate_resp(w, sc, io, rq, best, best == 0x0311 ? pick_cipher(msg, len, body) : 0);
}

static void
smb2_session_setup(struct smb_conn *sc, const struct smb_io *io, const struct smb2_req *rq,
		   const uint8_t *msg, size_t len, struct cursor body, struct wbuf *w)
{
	uint16_t size, boff, blen;
	uint8_t chal[512], token[640];
	size_t off = 0, clen, tlen;
	const uint8_t *blob;
	struct ntlm_auth auth;
	enum ntlm_type t;
	uint8_t *nb;
	size_t start;

	if (!cur_le16(&body, &size) || size != 25 || !cur_skip(&body, 10) || !cur_le16(&body, &boff) ||
	    !cur_le16(&body, &blen) || (uint32_t)boff + blen > len) {
		smb2_error(w, rq, STATUS_LOGON_FAILURE, 0);
		return;
	}
	blob = msg + boff;
	t = ntlm_find(blob, blen, &off);
	if (t == NTLM_NEGOTIATE) {
		sc->ntlm_flags = ntlm_negotiate_flags(blob + off, blen - off);
		clen = ntlm_challenge(&io->id->ntlm, sc->ntlm_flags, sc->challenge,
				      ntlm_filetime(io->now_ns), chal, sizeof(chal));
		if (off == 0) {
			memcpy(token, chal, clen);	/* raw NTLMSSP in, raw out */
			tlen = clen;
		} else {
			tlen = ntlm_spnego_resp(chal, clen, token, sizeof(token));
		}
		request(io, "smb2 session setup ntlmssp negotiate", -1);
		start = wb_len(w);
		nb = nb_begin(w);
		smb2_hdr(w, rq, STATUS_MORE_PROCESSING, sc->session_id);
		wb_u16_le(w, 9);
		wb_u16_le(w, 0);	/* SessionFlags */
		wb_u16_le(w, SMB2_HDR + 8);
		wb_u16_le(w, (uint16_t)tlen);
		wb_bytes(w, token, tlen);
		nb_end(w, nb, start);
		return;
	}
	if (t == NTLM_AUTHENTICATE && ntlm_parse_auth(blob + off, blen - off, sc->challenge,
						      &auth) == 0) {
		/* An anonymous (null) session offers no credential: a request, not a login. */
		if (auth.version == 0 && auth.user[0] == '\0')
			request(io, "smb2 session setup anonymous", -1);
		else if (io->on_auth)
			io->on_auth(io->arg, &auth);
	} else
		request(io, "smb2 session setup without ntlmssp", -1);
	smb2_error(w, rq, STATUS_LOGON_FAILURE, 0);
}

static void
smb2_message(struct smb_conn *sc, const struct smb_io *io, const uint8_t *msg, size_t len,
	     struct wbuf *w, bool *close)
{
	struct cursor c = cur_init(msg, len), body;
	struct smb2_req rq;
	uint16_t hsize;
	uint32_t status, flags, next;

	if (!cur_skip(&c, 4) || !cur_le16(&c, &hsize) || hsize != SMB2_HDR ||
	    !cur_le16(&c, &rq.credit_charge) || !cur_le32(&c, &status) || !cur_le16(&c, &rq.command) ||
	    !cur_le16(&c, &rq.credits) || !cur_le32(&c, &flags) || !cur_le32(&c, &next) ||
	    !le64(&c, &rq.message_id) || !cur_skip(&c, 8) || !le64(&c, &rq.session_id) ||
	    !cur_skip(&c, 16)) {
		*close = true;
		return;
	}
	body = cur_rest(&c);
	if (rq.credits > 1)
		rq.credits = rq.command == SMB2_NEGOTIATE ? 1 : rq.credits > 32 ? 32 : rq.credits;
	switch (rq.command) {
	case SMB2_NEGOTIATE:
		if (sc->state != SMB_S_START && sc->dialect != DIALECT_WILDCARD) {
			*close = true;	/* a second negotiate: Windows drops the connection */
			return;
		}
		smb2_negotiate(sc, io, &rq, msg, len, body, w, close);
		return;
	case SMB2_SESSION_SETUP:
		if (sc->state != SMB_S_NEGOTIATED || sc->dialect == DIALECT_WILDCARD) {
			*close = true;
			return;
		}
		smb2_session_setup(sc, io, &rq, msg, len, body, w);
		return;
	case SMB2_ECHO: {
		uint8_t *nb = nb_begin(w);
		size_t start = wb_len(w) - 4;

		smb2_hdr(w, &rq, STATUS_SUCCESS, rq.session_id);
		wb_u16_le(w, 4);
		wb_u16_le(w, 0);
		nb_end(w, nb, start);
		return;
	}
	default:
		request(io, "smb2 command", rq.command);
		smb2_error(w, &rq, rq.session_id ? STATUS_USER_SESSION_DELETED :
			   STATUS_ACCESS_DENIED, rq.session_id);
		return;
	}
}

/* The SMB1 header of an answer to req_hdr: its TID, PID and MID, our UID. */
static void
smb1_hdr(struct wbuf *w, const uint8_t *req_hdr, uint8_t cmd, uint32_t status, bool ext,
	 uint16_t uid)
{
	wb_bytes(w, "\xffSMB", 4);
	wb_u8(w, cmd);
	wb_u32_le(w, status);
	wb_u8(w, 0x88);			/* reply, case-insensitive paths */
	/* Unicode, NT status codes, extended security, long names and EAs as Windows
	 * sets them; without extended security, NT status and long names only. */
	wb_u16_le(w, ext ? 0xc853 : 0x4001);
	wb_zero(w, 12);
	wb_bytes(w, req_hdr + 24, 4);	/* TID, PID as asked */
	wb_u16_le(w, uid);
	wb_bytes(w, req_hdr + 30, 2);	/* MID */
}

/*
 * The SMB1 negotiate response Windows 7 to 2016 send (SMB1 enabled):
 * NT LM 0.12 at index; with extended security (what the client asked) the
 * server GUID and the SPNEGO token, else an 8-byte challenge, the workgroup
 * and the server name.
 */
static void
smb1_negotiate_resp(struct wbuf *w, const struct smb_conn *sc, const struct smb_io *io,
		    const uint8_t *req_hdr, uint16_t index)
{
	uint8_t *nb = nb_begin(w), *bc, blob[128];
	size_t start = wb_len(w) - 4, bstart, blen;
	const struct ntlm_ident *id = &io->id->ntlm;
	bool server = io->id->server && id->ver_major == 6 && id->ver_minor >= 2;

	smb1_hdr(w, req_hdr, 0x72, 0, sc->smb1_ext, req_hdr[28] | req_hdr[29] << 8);
	wb_u8(w, 17);
	wb_u16_le(w, index);
	wb_u8(w, 0x03);			/* user level, challenge/response */
	wb_u16_le(w, server ? 50 : 10);	/* MaxMpxCount */
	wb_u16_le(w, 1);
	wb_u32_le(w, 4356);
	wb_u32_le(w, 65536);
	wb_u32_le(w, 0);
	wb_u32_le(w, sc->smb1_ext ? 0x8001e3fc : 0x0001e3fc);
	wb_u64_le(w, ntlm_filetime(io->now_ns));
	wb_u16_le(w, 0);		/* time zone: UTC */
	wb_u8(w, sc->smb1_ext ? 0 : 8);
	bc = wb_reserve(w, 2);
	bstart = wb_len(w);
	if (sc->smb1_ext) {
		blen = ntlm_spnego_init(blob, sizeof(blob));
		wb_bytes(w, io->id->guid, 16);
		wb_bytes(w, blob, blen);
	} else {
		wb_bytes(w, sc->challenge, 8);
		for (const char *s = id->nb_domain; *s; s++)
			wb_u16_le(w, (uint8_t)*s);
		wb_u16_le(w, 0);
		for (const char *s = id->nb_name; *s; s++)
			wb_u16_le(w, (uint8_t)*s);
		wb_u16_le(w, 0);
	}
	wb_patch_u16_le(bc, (uint16_t)(wb_len(w) - bstart));
	nb_end(w, nb, start);
}

static void
wb_utf16z(struct wbuf *w, const char *s)
{
	for (; *s; s++)
		wb_u16_le(w, (uint8_t)*s);
	wb_u16_le(w, 0);
}

/* SMB1's NativeOS and NativeLanMan of the decoy's Windows. */
static void
smb1_os(const struct smb_ident *id, char *os, size_t os_cap, char *lanman, size_t lm_cap)
{
	snprintf(os, os_cap, "%s %u%s", id->product, id->ntlm.ver_build,
		 id->ntlm.ver_build == 7601 ? " Service Pack 1" :
		 id->ntlm.ver_build == 6002 ? " Service Pack 2" : "");
	/* Windows 10 and 2016 still call their LAN Manager 6.3. */
	snprintf(lanman, lm_cap, "%s %u.%u", id->product,
		 id->ntlm.ver_major >= 10 ? 6 : id->ntlm.ver_major,
		 id->ntlm.ver_major >= 10 ? 3 : id->ntlm.ver_minor);
}

/*
 * SMB1 SESSION_SETUP_ANDX without extended security (WordCount 13): the
 * LM/NT responses to the negotiate's challenge. A null session (no account,
 * no password) is granted as Windows grants it, with NativeOS, NativeLanMan
 * and the workgroup (what nmap's smb-os-discovery reads); credentials are
 * recorded and refused.
 */
static void
smb1_basic_setup(struct smb_conn *sc, const struct smb_io *io, const uint8_t *msg,
		 struct cursor words, struct cursor bytes, struct wbuf *w)
{
	uint16_t oem_len, uni_len;
	struct cursor lm, nt;
	struct ntlm_auth a;
	bool unicode = (msg[10] | msg[11] << 8) & 0x8000;
	size_t start = wb_len(w), bstart;
	uint8_t *nb, *bc, *andx;
	char os[80], lanman[80];

	memset(&a, 0, sizeof(a));
	if (!cur_skip(&words, 14) || !cur_le16(&words, &oem_len) || !cur_le16(&words, &uni_len) ||
	    !cur_sub(&bytes, oem_len, &lm) || !cur_sub(&bytes, uni_len, &nt)) {
		request(io, "smb1 session setup malformed", -1);
		goto fail;
	}
	/* Unicode strings start at an even offset from the SMB header. */
	if (unicode && (bytes.p + bytes.off - msg) % 2)
		(void)cur_skip(&bytes, 1);
	for (int f = 0; f < 2; f++) {
		const uint8_t *p = cur_ptr(&bytes);
		size_t n = 0, step = unicode ? 2 : 1;

		while (n + step <= cur_left(&bytes) && (p[n] || (unicode && p[n + 1])))
			n += step;
		ntlm_text(p, n, unicode, f ? a.domain : a.user, f ? sizeof(a.domain) :
			  sizeof(a.user));
		(void)cur_skip(&bytes, n + step <= cur_left(&bytes) ? n + step : cur_left(&bytes));
	}
	if (a.user[0] == '\0' && nt.len <= 1 && lm.len <= 1) {
		request(io, "smb1 session setup null session", -1);
		smb1_os(io->id, os, sizeof(os), lanman, sizeof(lanman));
		nb = nb_begin(w);
		smb1_hdr(w, msg, 0x73, STATUS_SUCCESS, false, 0x0800);
		wb_u8(w, 3);
		wb_u8(w, 0xff);
		wb_u8(w, 0);
		andx = wb_reserve(w, 2);
		wb_u16_le(w, 0);	/* Action: not as guest */
		bc = wb_reserve(w, 2);
		bstart = wb_len(w);
		wb_bytes(w, os, strlen(os) + 1);
		wb_bytes(w, lanman, strlen(lanman) + 1);
		wb_bytes(w, io->id->ntlm.nb_domain, strlen(io->id->ntlm.nb_domain) + 1);
		wb_patch_u16_le(bc, (uint16_t)(wb_len(w) - bstart));
		wb_patch_u16_le(andx, (uint16_t)(wb_len(w) - start - 4));
		nb_end(w, nb, start);
		return;
	}
	ntlm_format(&a, lm.p, lm.len, nt.p, nt.len, sc->challenge);
	if (io->on_auth)
		io->on_auth(io->arg, &a);
fail:
	nb = nb_begin(w);
	smb1_hdr(w, msg, 0x73, STATUS_LOGON_FAILURE, false, 0);
	wb_u8(w, 0);
	wb_u16_le(w, 0);
	nb_end(w, nb, start);
}

/*
 * SMB1 SESSION_SETUP_ANDX with extended security: NTLMSSP as on SMB2, the
 * challenge answered with MORE_PROCESSING_REQUIRED, a UID and Windows'
 * NativeOS/NativeLanMan strings ("Windows 10 Pro 14393", "Windows 10 Pro
 * 6.3"); the AUTHENTICATE with STATUS_LOGON_FAILURE. WordCount 13 (no
 * extended security) goes to smb1_basic_setup().
 */
/* A SESSION_SETUP_ANDX answer with extended security: token, then NativeOS/LanMan. */
static void
smb1_ext_resp(struct wbuf *w, const uint8_t *msg, const struct smb_ident *id, uint32_t status,
	      const uint8_t *token, size_t tlen)
{
	size_t start = wb_len(w), bstart;
	uint8_t *nb, *bc, *andx;
	char os[80], lanman[80];

	smb1_os(id, os, sizeof(os), lanman, sizeof(lanman));
	nb = nb_begin(w);
	smb1_hdr(w, msg, 0x73, status, true, 0x0800);
	wb_u8(w, 4);
	wb_u8(w, 0xff);		/* no further command */
	wb_u8(w, 0);
	andx = wb_reserve(w, 2);
	wb_u16_le(w, 0);	/* Action */
	wb_u16_le(w, (uint16_t)tlen);
	bc = wb_reserve(w, 2);
	bstart = wb_len(w);
	wb_bytes(w, token, tlen);
	if ((wb_len(w) - start - 4) % 2)
		wb_u8(w, 0);	/* Unicode strings start at an even offset */
	wb_utf16z(w, os);
	wb_utf16z(w, lanman);
	wb_patch_u16_le(bc, (uint16_t)(wb_len(w) - bstart));
	wb_patch_u16_le(andx, (uint16_t)(wb_len(w) - start - 4));
	nb_end(w, nb, start);
}

static void
smb1_session_setup(struct smb_conn *sc, const struct smb_io *io, const uint8_t *msg,
		   size_t len, struct wbuf *w)
{
	struct cursor c = cur_init(msg, len), words, bytes;
	uint8_t wc, chal[512], token[640], *nb;
	uint16_t blen = 0, bcount;
	const struct smb_ident *id = io->id;
	size_t start = wb_len(w), off = 0, clen, tlen;
	struct ntlm_auth auth;
	enum ntlm_type t = NTLM_NONE;

	if (cur_skip(&c, 32) && cur_u8(&c, &wc) && cur_sub(&c, 2u * wc, &words) &&
	    cur_le16(&c, &bcount) && cur_sub(&c, bcount < cur_left(&c) ? bcount : cur_left(&c),
					 &bytes)) {
		if (wc == 13 && !sc->smb1_ext) {
			smb1_basic_setup(sc, io, msg, words, bytes, w);
			return;
		}
		if (wc == 12 && cur_skip(&words, 14) && cur_le16(&words, &blen) &&
		    blen <= cur_left(&bytes))
			t = ntlm_find(cur_ptr(&bytes), blen, &off);
	}
	if (t == NTLM_NEGOTIATE) {
		const uint8_t *blob = cur_ptr(&bytes);

		request(io, "smb1 session setup ntlmssp negotiate", -1);
		sc->ntlm_flags = ntlm_negotiate_flags(blob + off, blen - off);
		clen = ntlm_challenge(&id->ntlm, sc->ntlm_flags, sc->challenge,
				      ntlm_filetime(io->now_ns), chal, sizeof(chal));
		if (off == 0) {
			memcpy(token, chal, clen);
			tlen = clen;
		} else {
			tlen = ntlm_spnego_resp(chal, clen, token, sizeof(token));
		}
		smb1_ext_resp(w, msg, id, STATUS_MORE_PROCESSING, token, tlen);
		return;
	}
	if (t == NTLM_AUTHENTICATE && ntlm_parse_auth(cur_ptr(&bytes) + off, blen - off,
						      sc->challenge, &auth) == 0) {
		if (auth.version == 0 && auth.user[0] == '\0') {
			/* A null session, granted as Windows grants it over SMB1:
			 * SPNEGO accept-completed. */
			static const uint8_t done[] = { 0xa1, 0x07, 0x30, 0x05, 0xa0, 0x03,
							0x0a, 0x01, 0x00 };

			request(io, "smb1 session setup anonymous", -1);
			smb1_ext_resp(w, msg, id, STATUS_SUCCESS, done, sizeof(done));
			return;
		}
		if (io->on_auth)
			io->on_auth(io->arg, &auth);
	} else {
		request(io, "smb1 session setup without ntlmssp", -1);
	}
	nb = nb_begin(w);
	smb1_hdr(w, msg, 0x73, STATUS_LOGON_FAILURE, sc->smb1_ext, 0);
	wb_u8(w, 0);
	wb_u16_le(w, 0);
	nb_end(w, nb, start);
}

static void
smb1_message(struct smb_conn *sc, const struct smb_io *io, const uint8_t *msg, size_t len,
	     struct wbuf *w, bool *close)
{
	struct cursor c = cur_init(msg, len), d;
	uint8_t wc;
	uint16_t bytes, index = 0, ntlm = 0xffff;
	bool smb2 = false, smb2_wild = false;

	if (sc->state == SMB_S_SMB1 && len >= 32 && msg[4] == 0x73) {
		smb1_session_setup(sc, io, msg, len, w);
		return;
	}
	if (sc->state != SMB_S_START || len < 35 || msg[4] != 0x72 || !cur_skip(&c, 32) ||
	    !cur_u8(&c, &wc) || !cur_skip(&c, 2u * wc) || !cur_le16(&c, &bytes) ||
	    !cur_sub(&c, bytes, &d)) {
		*close = true;	/* SMB1 past the negotiate: not spoken here */
		return;
	}
	while (!cur_empty(&d)) {
		uint8_t fmt;
		const uint8_t *s;
		size_t n;

		if (!cur_u8(&d, &fmt) || fmt != 0x02)
			break;
		s = cur_ptr(&d);
		n = strnlen((const char *)s, cur_left(&d));
		if (n == cur_left(&d))
			break;
		if (n == 9 && memcmp(s, "SMB 2.002", 9) == 0)
			smb2 = true;
		else if (n == 9 && memcmp(s, "SMB 2.???", 9) == 0)
			smb2_wild = true;
		else if (n == 10 && memcmp(s, "NT LM 0.12", 10) == 0)
			ntlm = index;
		(void)cur_skip(&d, n + 1);
		index++;
	}
	if ((smb2_wild && io->id->max_dialect > 0x0202) || ((smb2 || smb2_wild) &&
							    io->id->max_dialect >= 0x0202)) {
		struct smb2_req rq = { .command = SMB2_NEGOTIATE, .credits = 1 };
		uint16_t dialect = smb2_wild && io->id->max_dialect > 0x0202 ? DIALECT_WILDCARD :
				   0x0202;

		request(io, "smb1 negotiate, smb2", dialect);
		sc->dialect = dialect;
		sc->state = dialect == DIALECT_WILDCARD ? SMB_S_START : SMB_S_NEGOTIATED;
		if (dialect == DIALECT_WILDCARD)
			sc->dialect = DIALECT_WILDCARD;
		smb2_negotiate_resp(w, sc, io, &rq, dialect, 0);
		return;
	}
	if (ntlm != 0xffff && io->id->smb1) {
		request(io, "smb1 negotiate nt lm 0.12", -1);
		sc->state = SMB_S_SMB1;
		sc->smb1_ext = (msg[10] | msg[11] << 8) & 0x0800;
		smb1_negotiate_resp(w, sc, io, msg, ntlm);
		return;
	}
	request(io, "smb1 negotiate refused", -1);
	*close = true;
}

size_t
smb_input(struct smb_conn *sc, const struct smb_io *io, const uint8_t *data, size_t len,
	  uint8_t *out, size_t cap, bool *close)
{
	struct wbuf w = wb_init(out, cap);

	while (len > 0 && !*close) {
		size_t take = sizeof(sc->buf) - sc->have, need;
		uint8_t type;

		if (take > len)
			take = len;
		memcpy(sc->buf + sc->have, data, take);
		sc->have += (uint32_t)take;
		data += take;
		len -= take;
		while (sc->have >= 4 && !*close) {
			type = sc->buf[0];
			need = 4 + ((size_t)sc->buf[1] << 16 | (size_t)sc->buf[2] << 8 |
				    sc->buf[3]);
			if (need > sizeof(sc->buf)) {
				*close = true;
				break;
			}
			if (sc->have < need)
				break;
			if (type == 0x81 && sc->nbt && sc->state == SMB_S_START) {
				/* NetBIOS session request: positive response, any called name. */
				wb_bytes(&w, "\x82\0\0\0", 4);
				sc->nbt = false;
			} else if (type == 0x85) {
				/* keepalive */
			} else if (sc->nbt && type != 0x85) {
				/* Port 139 without a session request: Windows' negative
				 * session response, "unspecified error". */
				wb_bytes(&w, "\x83\0\0\x01\x8f", 5);
				*close = true;
			} else if (type != 0) {
				*close = true;
			} else if (need >= 8 && memcmp(sc->buf + 4, "\xfeSMB", 4) == 0) {
				smb2_message(sc, io, sc->buf + 4, need - 4, &w, close);
			} else if (need >= 8 && memcmp(sc->buf + 4, "\xffSMB", 4) == 0) {
				smb1_message(sc, io, sc->buf + 4, need - 4, &w, close);
			} else {
				*close = true;
			}
			memmove(sc->buf, sc->buf + need, sc->have - need);
			sc->have -= (uint32_t)need;
		}
	}
	if (!wb_ok(&w)) {
		*close = true;
		return 0;
	}
	return wb_len(&w);
}
