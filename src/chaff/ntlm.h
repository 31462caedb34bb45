/*
 * ntlm: the server side of NTLMSSP (MS-NLMP) as a decoy speaks it, and the
 * SPNEGO (RFC 4178) wrapping SMB2 and friends carry it in.
 *
 * A decoy never authenticates anyone: it answers a NEGOTIATE_MESSAGE with a
 * CHALLENGE_MESSAGE (the caller's random server challenge, target info with
 * the decoy's NetBIOS and DNS names, the Windows version it claims) and
 * takes from an AUTHENTICATE_MESSAGE the domain, user and workstation and
 * the NTLMv1/v2 response, formatted as hashcat/John would take it (modes
 * 5500/5600, the form Responder and OpenCanary log). Every offset and
 * length in a message is checked against the message through the cursor;
 * strings are cut at LIMIT_CHAFF_CRED and anything non-printable becomes
 * '?'. Nothing here allocates or logs.
 */
#ifndef MOAT_CHAFF_NTLM_H
#define MOAT_CHAFF_NTLM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/limits.h"

/* Who the decoy says it is in a CHALLENGE_MESSAGE. */
struct ntlm_ident {
	char nb_name[16];	/* NetBIOS computer name, upper case */
	char nb_domain[16];	/* NetBIOS domain or workgroup */
	char dns_name[64];	/* DNS computer name */
	char dns_domain[64];	/* DNS domain (the computer name for a workgroup host) */
	uint8_t ver_major, ver_minor;
	uint16_t ver_build;
};

/* What an AUTHENTICATE_MESSAGE gave away. hash is empty for an anonymous one. */
struct ntlm_auth {
	char domain[LIMIT_CHAFF_CRED];
	char user[LIMIT_CHAFF_CRED];
	char workstation[LIMIT_CHAFF_CRED];
	uint8_t version;	/* 1 or 2; 0 for anonymous (no NT response) */
	char hash[LIMIT_CHAFF_NTLM_HASH];	/* hashcat 5500/5600 line */
};

enum ntlm_type { NTLM_NONE = 0, NTLM_NEGOTIATE = 1, NTLM_CHALLENGE = 2, NTLM_AUTHENTICATE = 3 };

/*
 * Find the NTLMSSP message in a security blob (raw, or inside any SPNEGO
 * token: the signature is searched for, as Windows-compatible servers
 * effectively do) and return its type, or NTLM_NONE. *ret_off is where the
 * message starts within blob; it runs to the blob's end.
 */
enum ntlm_type ntlm_find(const uint8_t *blob, size_t len, size_t *ret_off);

/* The client's NegotiateFlags from a NEGOTIATE_MESSAGE (0 when short). */
uint32_t ntlm_negotiate_flags(const uint8_t *msg, size_t len);

/*
 * Write a CHALLENGE_MESSAGE answering client flags cflags with challenge
 * and FILETIME now into out; returns its length, 0 if cap is too small.
 */
size_t ntlm_challenge(const struct ntlm_ident *id, uint32_t cflags, const uint8_t challenge[8],
		      uint64_t filetime, uint8_t *out, size_t cap);

/*
 * Parse an AUTHENTICATE_MESSAGE against the challenge that was sent.
 * -EINVAL when a field points outside the message or the type is wrong;
 * *ret is written only on success.
 */
int ntlm_parse_auth(const uint8_t *msg, size_t len, const uint8_t challenge[8],
		    struct ntlm_auth *ret);

/*
 * Fill a->version and a->hash from raw LM and NT responses to challenge
 * (a->user and a->domain already set): SMB1's basic session setup carries
 * them outside NTLMSSP. nt_len 24 is NTLMv1, more is NTLMv2, less nothing.
 */
void ntlm_format(struct ntlm_auth *a, const uint8_t *lm, size_t lm_len, const uint8_t *nt,
		 size_t nt_len, const uint8_t challenge[8]);

/* A wire string (UTF-16LE or OEM) as printable ASCII, cut to cap. */
void ntlm_text(const uint8_t *p, size_t len, bool unicode, char *out, size_t cap);

/*
 * SPNEGO wrappers (DER). ntlm_spnego_init: the negTokenInit2 a server puts
 * in its SMB2 NEGOTIATE response, offering NTLMSSP only (a workgroup
 * host). ntlm_spnego_resp: a negTokenResp with negState accept-incomplete,
 * supportedMech NTLMSSP and token as responseToken. Both return the length
 * written, 0 when cap is too small.
 */
size_t ntlm_spnego_init(uint8_t *out, size_t cap);
size_t ntlm_spnego_resp(const uint8_t *token, size_t tlen, uint8_t *out, size_t cap);

/* Unix seconds to a Windows FILETIME (100 ns since 1601). */
uint64_t ntlm_filetime(uint64_t unix_ns);

#endif
