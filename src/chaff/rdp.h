/*
 * rdp: the first exchange of an RDP server (MS-RDPBCGR 2.2.1.1-2): a TPKT
 * X.224 Connection Request in, a Connection Confirm out with the RDP_NEG_RSP
 * a Windows of the decoy's version sends (CredSSP when the client offers it;
 * Windows 8/2012 and later refuse a client without it, as NLA is their
 * default), or RDP_NEG_FAILURE.
 *
 * After a confirm selecting TLS or CredSSP, service.c runs the TLS
 * handshake (tls.h) with the decoy's Remote Desktop certificate, then
 * CredSSP's NTLM exchange (ntlm.h, in rdp_tsrequest()'s TSRequests) as far
 * as the client's AUTHENTICATE, which it captures and refuses; a TLS
 * ClientHello sent with no request before it is handshaken too, as Windows
 * does (rdp_is_client_hello()). The routing cookie ("Cookie: mstshash=USER")
 * is handed back: clients put the user name there.
 */
#ifndef MOAT_CHAFF_RDP_H
#define MOAT_CHAFF_RDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/limits.h"

#define RDP_PROTO_SSL		0x1u
#define RDP_PROTO_HYBRID	0x2u

/* A parsed Connection Request. */
struct rdp_cr {
	bool has_neg;		/* an RDP_NEG_REQ was present */
	uint32_t requested;	/* its requestedProtocols */
	char cookie[LIMIT_CHAFF_CRED];	/* mstshash value, printable, or "" */
};

/*
 * Parse one TPKT-framed X.224 Connection Request from the start of buf.
 * Returns the TPKT length consumed, 0 when more bytes are needed, or
 * -EINVAL when it is not a Connection Request. *ret is written on success.
 */
long rdp_parse_cr(const uint8_t *buf, size_t len, struct rdp_cr *ret);

/*
 * The Connection Confirm for cr from a Windows of version major.minor
 * (major 0: not Windows, answered as xrdp does). Returns its length, 0 if
 * cap is too small; *ret_close when the server refuses (negotiation failure).
 */
size_t rdp_confirm(const struct rdp_cr *cr, unsigned major, unsigned minor, uint8_t *out,
		   size_t cap, bool *ret_close);

/*
 * Whether buf starts with a TLS record carrying a ClientHello of TLS 1.0 or
 * later (its first 11 bytes): what Windows' RDP listener handshakes when it
 * comes in place of a Connection Request. SChannel drops SSL 3.0's (nmap's
 * SSLSessionReq) without an alert.
 */
bool rdp_is_client_hello(const uint8_t *buf, size_t len);

#define RDP_CREDSSP_VERSION	6	/* CredSSP of a Windows patched for CVE-2018-0886 */

/*
 * A CredSSP TSRequest (MS-CSSP 2.2.1, DER) of that version carrying token
 * (NULL: none) as its one negoToken, and with logon_failure the errorCode
 * STATUS_LOGON_FAILURE a server sends before closing on bad credentials.
 * token may lie inside out. Returns the length, 0 when cap is too small.
 */
size_t rdp_tsrequest(unsigned version, const uint8_t *token, size_t tlen, bool logon_failure,
		     uint8_t *out, size_t cap);

#endif
